//! Object bodies for the target: a backup object (API shape, as `POST /object/aql` returned
//! it) becomes an `ObjectIn` whose attribute ids, references, statuses, users and groups are
//! those of the target.
//!
//! Value rules per attribute kind:
//! - Default: the stored `value`, as it is (a Text over the target's limit — 255 characters on
//!   Assets Cloud, 450 on Data Center — is sent as it is and refused by the API; the object's
//!   failure is logged; the `transform_attribute` hook point converts such an attribute to
//!   Textarea, `scripts/text_to_textarea.rhai`);
//! - Object: the new id of the referenced object; references inside a cycle are left for the
//!   object references stage, references to an object that could not be restored are dropped
//!   with a note;
//! - Status: the mapped status id; User: on the backup's own site the value's accountId when
//!   the site still has it (see `accounts`), else the target account with the same display
//!   name (from the plan; none or several leave the value empty, with a note naming the user);
//!   Group: the name, when the group exists on the target;
//! - `ORIGINAL_ID` / `ORIGINAL_KEY`: the object's identity from the backup (its manifest id,
//!   which already honours an earlier `ORIGINAL_ID`; its earlier `ORIGINAL_KEY` or its key).

use std::collections::HashMap;

use super::accounts::account_of;
use super::ctx::{Ctx, ObjectIds};
use super::idmap::kinds;
use super::order::ObjectGraph;
use super::source::{ORIGINAL_ID, ORIGINAL_KEY};
use crate::model::{
    ApiErrors, AttributeKind, AttributeValue, Id, Object, ObjectAttributeIn, ObjectIn, Scalar,
    ValueIn, ValueKind,
};

/// What the object stages need to know about one backup attribute.
#[derive(Debug, Clone)]
struct AttrInfo {
    /// Id on the target; `None` when dropped or refused.
    new_id: Option<String>,
    kind: AttributeKind,
    name: String,
    system: bool,
}

/// Lookup tables built once per stage from the plan and the id map.
#[derive(Debug)]
pub(crate) struct Lookup {
    attrs: HashMap<String, AttrInfo>,
    types: HashMap<String, String>,
    /// Per old type: the new `ORIGINAL_ID` and `ORIGINAL_KEY` attribute ids it sees.
    identity: HashMap<String, (Option<String>, Option<String>)>,
    statuses: HashMap<String, String>,
    /// Display name -> target account id (`None`: no or several matches) and why.
    users: HashMap<String, (Option<String>, String)>,
    /// On the backup's own site: accountId -> whether the site still has it.
    accounts: HashMap<String, bool>,
    /// Accounts sharing a display name, decided one by one by `match_user` hooks: account ->
    /// target account id (`None`: left empty) and why.
    per_account: HashMap<String, (Option<String>, String)>,
    groups: HashMap<String, bool>,
    /// New ids of User and Group attributes -> name: values the target may refuse (a user
    /// outside the attribute's groups); the create is retried without them.
    pub droppable: HashMap<String, String>,
}

/// A body to send and the notes that go with the object.
#[derive(Debug)]
pub(crate) struct Built {
    pub body: ObjectIn,
    pub notes: Vec<String>,
}

impl Lookup {
    pub fn new(ctx: &Ctx<'_>) -> Lookup {
        let src = &ctx.source;
        let attrs: HashMap<String, AttrInfo> = src
            .attrs
            .iter()
            .map(|a| {
                let info = AttrInfo {
                    new_id: ctx.ids.get(kinds::ATTR, &a.id).map(str::to_owned),
                    kind: a.kind.clone(),
                    name: a.name.clone(),
                    system: a.system,
                };
                (a.id.clone(), info)
            })
            .collect();
        let types = src
            .types
            .iter()
            .filter_map(|t| Some((t.id.clone(), ctx.ids.get(kinds::TYPE, &t.id)?.to_owned())))
            .collect();
        let identity = src
            .types
            .iter()
            .map(|t| {
                let root = src.attr_root(&t.id);
                let find = |name: &str| {
                    ctx.plan
                        .attributes
                        .iter()
                        .find(|p| p.identity && p.object_type == root && p.name == name)
                        .and_then(|p| ctx.ids.get(kinds::ATTR, &p.map_key()))
                        .map(str::to_owned)
                };
                (t.id.clone(), (find(ORIGINAL_ID), find(ORIGINAL_KEY)))
            })
            .collect();
        let statuses = src
            .statuses
            .iter()
            .filter_map(|s| Some((s.id.clone(), ctx.ids.get(kinds::STATUS, &s.id)?.to_owned())))
            .collect();
        let users = ctx
            .plan
            .users
            .iter()
            .map(|u| {
                (
                    u.display_name.clone(),
                    (u.account_id.clone(), u.reason.clone()),
                )
            })
            .collect();
        let accounts = ctx
            .plan
            .accounts
            .iter()
            .map(|a| (a.account_id.clone(), a.exists))
            .collect();
        let per_account = ctx
            .plan
            .hooks
            .accounts
            .iter()
            .map(|a| (a.account.clone(), (a.account_id.clone(), a.reason.clone())))
            .collect();
        let groups = ctx
            .plan
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.exists))
            .collect();
        let droppable = attrs
            .values()
            .filter(|a| matches!(a.kind, AttributeKind::User | AttributeKind::Group))
            .filter_map(|a| Some((a.new_id.clone()?, a.name.clone())))
            .collect();
        Lookup {
            attrs,
            types,
            identity,
            statuses,
            users,
            accounts,
            per_account,
            groups,
            droppable,
        }
    }

    /// The target type of a backup object.
    pub fn new_type(&self, obj: &Object) -> Option<&str> {
        self.types.get(obj.type_id()?).map(String::as_str)
    }

    /// The `POST /object/create` body of object `i`, or why it cannot be created (an error
    /// body in the API's shape, for the log).
    pub fn create_body(
        &self,
        g: &ObjectGraph,
        ids: &ObjectIds,
        i: u32,
        obj: &Object,
    ) -> Result<Built, ApiErrors> {
        let old_type = obj.type_id().unwrap_or_default();
        let Some(new_type) = self.types.get(old_type) else {
            return Err(ApiErrors::message(format!(
                "The object type {old_type} of this object was not restored"
            )));
        };
        let mut notes = Vec::new();
        let mut attrs = Vec::new();
        let mut original_key: Option<String> = None;
        for a in obj.attributes() {
            let Some(info) = self.attrs.get(a.object_type_attribute_id.as_str()) else {
                continue;
            };
            let values = a.values();
            if info.name == ORIGINAL_KEY {
                original_key = values
                    .first()
                    .and_then(|v| v.value.get())
                    .and_then(Scalar::as_str)
                    .map(str::to_owned);
            }
            if info.system || info.name == ORIGINAL_ID || info.name == ORIGINAL_KEY {
                continue;
            }
            let Some(new_id) = &info.new_id else { continue };
            let out: Vec<ValueIn> = values
                .iter()
                .filter_map(|v| self.value(g, ids, i, info, v, false, &mut notes))
                .map(|value| ValueIn { value })
                .collect();
            if !out.is_empty() {
                attrs.push(ObjectAttributeIn {
                    object_type_attribute_id: Id::new(new_id.as_str()),
                    object_attribute_values: out,
                });
            }
        }
        let (id_attr, key_attr) = self.identity.get(old_type).cloned().unwrap_or_default();
        let key = original_key.unwrap_or_else(|| obj.key().to_owned());
        for (attr, value) in [(id_attr, g.orig_id(i).to_owned()), (key_attr, key)] {
            if let Some(attr) = attr {
                attrs.push(ObjectAttributeIn {
                    object_type_attribute_id: Id::new(attr),
                    object_attribute_values: vec![ValueIn { value }],
                });
            }
        }
        Ok(Built {
            body: ObjectIn {
                object_type_id: Id::new(new_type.as_str()),
                attributes: attrs,
            },
            notes,
        })
    }

    /// The `PUT /object/{id}` body setting the references of object `i` that sit in cycles:
    /// every attribute holding one, with *all* its values (an update replaces an attribute's
    /// values). `None` when there is nothing to set.
    pub fn references_body(
        &self,
        g: &ObjectGraph,
        ids: &ObjectIds,
        i: u32,
        obj: &Object,
    ) -> Option<Built> {
        let new_type = self.new_type(obj)?;
        let mut notes = Vec::new();
        let mut attrs = Vec::new();
        for a in obj.attributes() {
            let Some(info) = self.attrs.get(a.object_type_attribute_id.as_str()) else {
                continue;
            };
            let (Some(new_id), AttributeKind::Object { .. }) = (&info.new_id, &info.kind) else {
                continue;
            };
            let values = a.object_attribute_values.get()?;
            let deferred = values.iter().any(|v| {
                v.referenced_id()
                    .and_then(|s| g.index_of_source(s))
                    .is_some_and(|j| g.deferred(i, j))
            });
            if !deferred {
                continue;
            }
            let out: Vec<ValueIn> = values
                .iter()
                .filter_map(|v| self.value(g, ids, i, info, v, true, &mut notes))
                .map(|value| ValueIn { value })
                .collect();
            attrs.push(ObjectAttributeIn {
                object_type_attribute_id: Id::new(new_id.as_str()),
                object_attribute_values: out,
            });
        }
        (!attrs.is_empty()).then(|| Built {
            body: ObjectIn {
                object_type_id: Id::new(new_type),
                attributes: attrs,
            },
            notes,
        })
    }

    /// One value on the target, or `None` (with a note when data is lost). `with_deferred`:
    /// include references inside cycles (the object references stage) or skip them (create).
    #[allow(clippy::too_many_arguments)]
    fn value(
        &self,
        g: &ObjectGraph,
        ids: &ObjectIds,
        i: u32,
        info: &AttrInfo,
        v: &AttributeValue,
        with_deferred: bool,
        notes: &mut Vec<String>,
    ) -> Option<String> {
        let attr = &info.name;
        match v.kind(&info.kind) {
            ValueKind::Reference { id: src, label } => {
                let Some(j) = g.index_of_source(src) else {
                    notes.push(format!(
                        "Reference {attr:?} to {label:?} (object {src}) not set: that object is not in the backup."
                    ));
                    return None;
                };
                if g.deferred(i, j) && !with_deferred {
                    return None;
                }
                match ids.new_ids[j as usize] {
                    0 => {
                        notes.push(format!(
                            "Reference {attr:?} to {label:?} not set: that object was not restored."
                        ));
                        None
                    }
                    id => Some(id.to_string()),
                }
            }
            ValueKind::Status(old) => {
                let new = self.statuses.get(old).cloned();
                if new.is_none() {
                    notes.push(format!(
                        "Status {old} of {attr:?} has no counterpart on the target; left empty."
                    ));
                }
                new
            }
            ValueKind::User(name) => {
                let account = account_of(v);
                match account.and_then(|a| Some((a, *self.accounts.get(a)?))) {
                    Some((a, true)) => return Some(a.to_owned()),
                    Some((a, false)) => notes.push(format!(
                        "User {name:?} (account {a}) of attribute {attr:?} no longer exists on \
                         this site: matched by display name."
                    )),
                    None => {}
                }
                if let Some((target, why)) = account.and_then(|a| self.per_account.get(a)) {
                    if target.is_none() {
                        notes.push(format!(
                            "User {name:?} (account {}) of attribute {attr:?} left empty: {why}.",
                            account.unwrap_or_default()
                        ));
                    }
                    return target.clone();
                }
                self.user_by_name(name, attr, notes)
            }
            ValueKind::Group(name) => {
                if self.groups.get(name).copied().unwrap_or(false) {
                    Some(name.to_owned())
                } else {
                    notes.push(format!(
                        "Group {name:?} of attribute {attr:?} does not exist on the target; left empty."
                    ));
                    None
                }
            }
            ValueKind::Plain(value) => Some(value.to_text()),
            ValueKind::Empty => None,
        }
    }

    /// The target account of a user by display name (the rule for another site), or `None`
    /// with a note.
    fn user_by_name(&self, name: &str, attr: &str, notes: &mut Vec<String>) -> Option<String> {
        match self.users.get(name) {
            Some((Some(account), _)) => Some(account.clone()),
            Some((None, why)) => {
                notes.push(format!(
                    "User {name:?} of attribute {attr:?} left empty: {why}."
                ));
                None
            }
            None => {
                notes.push(format!(
                    "User {name:?} of attribute {attr:?} left empty: not matched by the plan."
                ));
                None
            }
        }
    }
}
