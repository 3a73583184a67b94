//! Renders workspace entities into the API's JSON shapes (reference §3-§10): on Cloud ids as
//! strings with `workspaceId` and `globalId = ws:id`, on Data Center ids as numbers and no
//! workspace (§19); ISO timestamps with milliseconds, links under the site's API base.

use serde_json::{Map, Value, json};

use crate::clock::iso;
use crate::config::Flavor;
use crate::model::*;
use crate::ws::Workspace;

/// What a renderer needs besides the workspace: where links point.
pub struct Ctx<'a> {
    pub ws: &'a Workspace,
    /// `{url}/jsm/assets/workspace/{ws}/v1` (no trailing slash).
    pub base: &'a str,
}

mod objects;

pub use objects::PageCache;

/// Attribute values of rendered objects: none, or with/without the nested definition.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AttrMode {
    None,
    /// `GET /object/{id}`: each attribute embeds its `objectTypeAttribute`.
    WithDefinitions,
    /// AQL results: definitions are listed once in `objectTypeAttributes`.
    Bare,
}

fn gid(ws: &Workspace, id: u32) -> String {
    format!("{}:{id}", ws.ws_id)
}

impl Ctx<'_> {
    pub fn dc(&self) -> bool {
        self.ws.flavor == Flavor::Dc
    }

    /// An id as the site spells it: a string on Cloud, a number on Data Center.
    pub fn id(&self, id: u32) -> Value {
        if self.dc() {
            json!(id)
        } else {
            json!(id.to_string())
        }
    }

    /// Sets an entity's `id` and, on Cloud, its `workspaceId` and `globalId`.
    pub fn identify(&self, v: &mut Value, id: u32) {
        v["id"] = self.id(id);
        if !self.dc() {
            v["workspaceId"] = json!(self.ws.ws_id);
            v["globalId"] = json!(gid(self.ws, id));
        }
    }

    pub fn schema(&self, s: &Schema, counts: bool) -> Value {
        let ws = self.ws;
        let (oc, tc) = if counts {
            (ws.schema_object_count(s.id), ws.schema_type_count(s.id))
        } else {
            (0, 0)
        };
        let mut v = json!({
            "name": s.name, "objectSchemaKey": s.key, "status": "Ok",
            "created": iso(s.created), "updated": iso(s.updated),
            "objectCount": oc, "objectTypeCount": tc,
        });
        self.identify(&mut v, s.id);
        if !self.dc() {
            v["canManage"] = json!(true);
        }
        if let Some(d) = &s.description {
            v["description"] = json!(d);
        }
        v
    }

    pub fn schema_config(&self, c: &SchemaConfig) -> Value {
        json!({
            "allowOtherObjectSchema": c.allow_other_object_schema,
            "validateQuickCreate": c.validate_quick_create,
            "quickCreateObjects": c.quick_create_objects,
        })
    }

    pub fn icon(&self, i: &Icon) -> Value {
        json!({
            "id": self.id(i.id), "name": i.name,
            "url16": format!("{}/icon/{}/icon.png?size=16", self.base, i.id),
            "url48": format!("{}/icon/{}/icon.png?size=48", self.base, i.id),
        })
    }

    /// An object type; `count` is the object count to show (lists show 0, as the API does).
    pub fn object_type(&self, t: &ObjectType, count: u32) -> Value {
        let ws = self.ws;
        let icon = ws.icons.get(&t.icon_id).map(|i| {
            json!({
                "id": self.id(i.id), "name": i.name,
                "url16": format!("{}/objecttype/{}/icon.png?size=16", self.base, t.id),
                "url48": format!("{}/objecttype/{}/icon.png?size=48", self.base, t.id),
            })
        });
        let mut v = json!({
            "name": t.name, "type": 0, "icon": icon.unwrap_or(Value::Null), "position": t.position,
            "created": iso(t.created), "updated": iso(t.updated), "objectCount": count,
            "objectSchemaId": self.id(t.schema_id), "inherited": t.inherited,
            "abstractObjectType": t.abstract_type, "parentObjectTypeInherited": ws.parent_inherited(t),
        });
        self.identify(&mut v, t.id);
        if let Some(d) = &t.description {
            v["description"] = json!(d);
        }
        if let Some(p) = t.parent {
            v["parentObjectTypeId"] = json!(p);
        }
        v
    }

    pub fn ref_type(&self, r: &ReferenceType) -> Value {
        let mut v = json!({
            "name": r.name, "color": r.color,
            "url16": format!("{}/config/referencetype/{}/image.png?size=16", self.base, r.id),
            "removable": r.removable,
        });
        self.identify(&mut v, r.id);
        // Global types carry no schema id (the document types it as a non-null string).
        if let Some(s) = r.schema_id {
            v["objectSchemaId"] = self.id(s);
        }
        if let Some(d) = &r.description {
            v["description"] = json!(d);
        }
        v
    }

    pub fn status(&self, s: &Status, with_ids: bool) -> Value {
        let mut v = json!({"name": s.name, "category": s.category});
        if with_ids {
            self.identify(&mut v, s.id);
        } else {
            v["id"] = self.id(s.id);
        }
        if let Some(x) = s.schema_id {
            v["objectSchemaId"] = self.id(x);
        }
        if let Some(d) = &s.description {
            v["description"] = json!(d);
        }
        v
    }

    /// An attribute definition; `position` is its place in the list being rendered.
    pub fn attribute(&self, a: &Attribute, position: i32, with_type: bool) -> Value {
        let ws = self.ws;
        let mut v = json!({
            "name": a.name, "label": a.label, "type": a.kind.type_code(),
            "editable": a.editable(), "system": a.system.is_some(), "sortable": true,
            "summable": a.summable, "indexed": true,
            "minimumCardinality": a.min_cardinality, "maximumCardinality": a.max_cardinality,
            "removable": a.system.is_none() && !a.label, "hidden": a.hidden,
            "includeChildObjectTypes": a.include_child_object_types, "uniqueAttribute": a.unique,
            "options": a.options, "position": position,
        });
        self.identify(&mut v, a.id);
        let m = v.as_object_mut().expect("object literal");
        if let Some(d) = &a.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(dt) = a.kind.default_type() {
            m.insert(
                "defaultType".into(),
                json!({"id": dt.id(), "name": dt.name()}),
            );
        }
        if let AttrKind::Object {
            target_type,
            ref_type,
        } = a.kind
        {
            m.insert("typeValue".into(), json!(target_type.to_string()));
            m.insert("additionalValue".into(), json!(ref_type.to_string()));
            m.insert("referenceObjectTypeId".into(), self.id(target_type));
            if let Some(t) = ws.types.get(&target_type) {
                m.insert("referenceObjectType".into(), self.object_type(t, 0));
            }
            if let Some(r) = ws.ref_types.get(&ref_type) {
                m.insert("referenceType".into(), self.ref_type(r));
            }
        } else if let Some(av) = &a.additional_value {
            m.insert("additionalValue".into(), json!(av));
        }
        if matches!(a.kind, AttrKind::User | AttrKind::Status) {
            m.insert("typeValueMulti".into(), json!(a.type_value_multi));
        }
        for (k, val) in [("suffix", &a.suffix), ("qlQuery", &a.ql_query)] {
            if let Some(x) = val {
                m.insert(k.into(), json!(x));
            }
        }
        if let Some(re) = &a.regex_validation {
            m.insert("regexValidation".into(), json!(re.as_str()));
        }
        if let Some(q) = &a.ql_query {
            m.insert("iql".into(), json!(q));
        }
        if with_type && let Some(t) = ws.types.get(&a.object_type_id) {
            m.insert("objectType".into(), self.object_type(t, 0));
        }
        v
    }

    /// Attribute definitions of a type in visible order (inherited first).
    pub fn type_attributes(&self, type_id: u32, with_type: bool) -> Vec<Value> {
        self.ws
            .visible_attrs(type_id)
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                self.ws
                    .attrs
                    .get(id)
                    .map(|a| self.attribute(a, i as i32, with_type))
            })
            .collect()
    }

    pub fn user(&self, u: &User) -> Value {
        if self.dc() {
            // Data Center: `key` is the user key, `name` the username.
            let site = self.base.split("/rest/").next().unwrap_or(self.base);
            return json!({
                "avatarUrl": format!("{site}/secure/useravatar?ownerId={}", u.username),
                "displayName": u.display_name, "name": u.username, "key": u.account_id,
                "emailAddress": u.email, "html": format!("{} ({})", u.display_name, u.username),
                "renderedLink": format!("<a href=\"{site}/secure/ViewProfile.jspa?name={0}\">{1}</a>", u.username, u.display_name),
                "isDeleted": !u.active, "lastSeenVersion": "",
            });
        }
        let mut v = json!({
            "avatarUrl": format!("{}/avatar/{}", self.base, u.account_id),
            "displayName": u.display_name, "name": u.display_name, "key": u.account_id,
            "html": format!("{} ({})", u.display_name, u.account_id),
            "renderedLink": format!("<a href=\"/people/{0}\">{1}</a>", u.account_id, u.display_name),
            "isDeleted": !u.active, "lastSeenVersion": "", "self": format!("/rest/api/3/user?accountId={}", u.account_id),
        });
        if let Some(e) = &u.email {
            v["emailAddress"] = json!(e);
        }
        v
    }

    pub fn history(&self, object_id: u32, h: &HistoryEntry) -> Value {
        let ws = self.ws;
        let actor = ws
            .users
            .get(h.actor as usize)
            .map(|u| self.user(u))
            .unwrap_or(Value::Null);
        let mut v = json!({
            "actor": actor, "id": self.id(h.id), "type": h.kind,
            "created": iso(h.created), "objectId": self.id(object_id),
        });
        let m: &mut Map<String, Value> = v.as_object_mut().expect("object literal");
        if let Some(a) = &h.attr_name {
            m.insert("affectedAttribute".into(), json!(a.as_str()));
            m.insert(
                "oldValue".into(),
                json!(h.old_value.as_deref().unwrap_or("")),
            );
            m.insert(
                "newValue".into(),
                json!(h.new_value.as_deref().unwrap_or("")),
            );
        }
        v
    }
}
