//! Renders workspace entities into the API's JSON shapes (reference §3-§10): ids as strings,
//! `globalId = ws:id`, ISO timestamps with milliseconds, links under the site's API base.

use serde_json::{Map, Value, json};

use crate::clock::iso;
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
    pub fn schema(&self, s: &Schema, counts: bool) -> Value {
        let ws = self.ws;
        let (oc, tc) = if counts {
            (ws.schema_object_count(s.id), ws.schema_type_count(s.id))
        } else {
            (0, 0)
        };
        let mut v = json!({
            "workspaceId": ws.ws_id, "globalId": gid(ws, s.id), "id": s.id.to_string(),
            "name": s.name, "objectSchemaKey": s.key, "status": "Ok",
            "created": iso(s.created), "updated": iso(s.updated),
            "objectCount": oc, "objectTypeCount": tc, "canManage": true,
        });
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
            "id": i.id.to_string(), "name": i.name,
            "url16": format!("{}/icon/{}/icon.png?size=16", self.base, i.id),
            "url48": format!("{}/icon/{}/icon.png?size=48", self.base, i.id),
        })
    }

    /// An object type; `count` is the object count to show (lists show 0, as the API does).
    pub fn object_type(&self, t: &ObjectType, count: u32) -> Value {
        let ws = self.ws;
        let icon = ws.icons.get(&t.icon_id).map(|i| {
            json!({
                "id": i.id.to_string(), "name": i.name,
                "url16": format!("{}/objecttype/{}/icon.png?size=16", self.base, t.id),
                "url48": format!("{}/objecttype/{}/icon.png?size=48", self.base, t.id),
            })
        });
        let mut v = json!({
            "workspaceId": ws.ws_id, "globalId": gid(ws, t.id), "id": t.id.to_string(),
            "name": t.name, "type": 0, "icon": icon.unwrap_or(Value::Null), "position": t.position,
            "created": iso(t.created), "updated": iso(t.updated), "objectCount": count,
            "objectSchemaId": t.schema_id.to_string(), "inherited": t.inherited,
            "abstractObjectType": t.abstract_type, "parentObjectTypeInherited": ws.parent_inherited(t),
        });
        if let Some(d) = &t.description {
            v["description"] = json!(d);
        }
        if let Some(p) = t.parent {
            v["parentObjectTypeId"] = json!(p);
        }
        v
    }

    pub fn ref_type(&self, r: &ReferenceType) -> Value {
        let ws = self.ws;
        let mut v = json!({
            "id": r.id.to_string(), "name": r.name, "color": r.color,
            "url16": format!("{}/config/referencetype/{}/image.png?size=16", self.base, r.id),
            "removable": r.removable,
            "workspaceId": ws.ws_id, "globalId": gid(ws, r.id),
        });
        // Global types carry no schema id (the document types it as a non-null string).
        if let Some(s) = r.schema_id {
            v["objectSchemaId"] = json!(s.to_string());
        }
        if let Some(d) = &r.description {
            v["description"] = json!(d);
        }
        v
    }

    pub fn status(&self, s: &Status, with_ids: bool) -> Value {
        let mut v = json!({
            "id": s.id.to_string(), "name": s.name, "category": s.category,
        });
        if let Some(x) = s.schema_id {
            v["objectSchemaId"] = json!(x.to_string());
        }
        if with_ids {
            v["workspaceId"] = json!(self.ws.ws_id);
            v["globalId"] = json!(gid(self.ws, s.id));
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
            "workspaceId": ws.ws_id, "globalId": gid(ws, a.id), "id": a.id.to_string(),
            "name": a.name, "label": a.label, "type": a.kind.type_code(),
            "editable": a.editable(), "system": a.system.is_some(), "sortable": true,
            "summable": a.summable, "indexed": true,
            "minimumCardinality": a.min_cardinality, "maximumCardinality": a.max_cardinality,
            "removable": a.system.is_none() && !a.label, "hidden": a.hidden,
            "includeChildObjectTypes": a.include_child_object_types, "uniqueAttribute": a.unique,
            "options": a.options, "position": position,
        });
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
            m.insert(
                "referenceObjectTypeId".into(),
                json!(target_type.to_string()),
            );
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
            "actor": actor, "id": h.id.to_string(), "type": h.kind,
            "created": iso(h.created), "objectId": object_id.to_string(),
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
