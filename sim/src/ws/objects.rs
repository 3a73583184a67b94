//! Object rules: create, update and delete with every value check gathered into one error body
//! (cardinality, required, unique, editable, type membership), plus history entries.

use std::collections::HashMap;

use compact_str::{CompactString, ToCompactString};
use serde_json::{Map, Value};

use super::{RESERVED_CHARS, Workspace, parse_id, values};
use crate::error::{ApiError, ApiResult, attr_key};
use crate::model::*;

/// One `{objectTypeAttributeId, objectAttributeValues}` entry of a create or update body.
#[derive(Debug, Clone)]
pub struct AttrInput {
    pub attr_id: String,
    pub values: Vec<String>,
}

struct Checked {
    /// attr id -> new values (only attributes listed in the request).
    values: Vec<(u32, Vec<Val>)>,
}

impl Workspace {
    /// Validates the attribute entries of a create (`existing = None`) or update body.
    fn check_inputs(
        &self,
        type_id: u32,
        existing: Option<&Object>,
        inputs: &[AttrInput],
    ) -> ApiResult<Checked> {
        let visible = self.visible_attrs(type_id);
        let mut general = Vec::new();
        let mut errors: Vec<(String, String)> = Vec::new();
        let mut merged: Vec<(u32, Vec<&str>)> = Vec::new();
        for inp in inputs {
            let Some(id) = parse_id(&inp.attr_id).filter(|id| visible.contains(id)) else {
                general.push(format!(
                    "The object type attribute with id {} does not exist on object type {type_id}",
                    inp.attr_id
                ));
                continue;
            };
            let vals: Vec<&str> = inp
                .values
                .iter()
                .map(String::as_str)
                .filter(|v| !v.is_empty())
                .collect();
            match merged.iter_mut().find(|(a, _)| *a == id) {
                Some((_, v)) => v.extend(vals),
                None => merged.push((id, vals)),
            }
        }
        let mut out = Vec::new();
        for (id, raws) in &merged {
            let a = &self.attrs[id];
            if a.system.is_some() {
                errors.push((attr_key(a.id), format!("{} is not editable", a.name)));
                continue;
            }
            if a.max_cardinality != -1 && raws.len() as i64 > a.max_cardinality {
                errors.push((
                    attr_key(a.id),
                    format!(
                        "{} can only contain max {} value(s)",
                        a.name, a.max_cardinality
                    ),
                ));
                continue;
            }
            let mut vals = Vec::with_capacity(raws.len());
            for raw in raws {
                match self.parse_value(a, raw) {
                    Ok(v) => vals.push(v),
                    Err(m) => {
                        errors.push((attr_key(a.id), m));
                        break;
                    }
                }
            }
            if vals.len() != raws.len() {
                continue;
            }
            if a.label
                && let Some(Val::Text(t)) = vals.first()
                && t.contains(RESERVED_CHARS)
            {
                errors.push((
                    attr_key(a.id),
                    format!("{} contains reserved characters (= ; : ? . \")", a.name),
                ));
                continue;
            }
            if a.unique {
                let mut seen = std::collections::HashSet::new();
                let own = existing.map(|o| o.id);
                let dup = vals.iter().find(|v| {
                    let k = values::unique_key(v);
                    let taken = self
                        .unique_index
                        .get(&(a.id, k.clone()))
                        .is_some_and(|o| Some(*o) != own);
                    taken || !seen.insert(k)
                });
                if let Some(v) = dup {
                    errors.push((
                        attr_key(a.id),
                        format!("{} has duplicated value {}", a.name, self.display_value(v)),
                    ));
                    continue;
                }
            }
            out.push((*id, vals));
        }
        // Required attributes: those listed must meet the minimum; on create, so must the rest.
        for id in &visible {
            let a = &self.attrs[id];
            if a.min_cardinality < 1
                || a.system.is_some()
                || errors.iter().any(|(k, _)| *k == attr_key(a.id))
            {
                continue;
            }
            let n = match out.iter().find(|(x, _)| x == id) {
                Some((_, v)) => v.len(),
                None if existing.is_none() => 0,
                None => continue,
            };
            if (n as i64) < a.min_cardinality {
                let msg = if a.min_cardinality == 1 {
                    format!("{} is required", a.name)
                } else {
                    format!("{} must have at least {} values", a.name, a.min_cardinality)
                };
                errors.push((attr_key(a.id), msg));
            }
        }
        if !general.is_empty() || !errors.is_empty() {
            let map: Map<String, Value> = errors
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                general,
                map,
            ));
        }
        Ok(Checked { values: out })
    }

    pub fn create_object(
        &mut self,
        type_id: u32,
        inputs: &[AttrInput],
        actor: u32,
        now: Millis,
    ) -> ApiResult<u32> {
        let t = self.types.get(&type_id).ok_or_else(|| {
            ApiError::not_found(format!("ObjectType with id {type_id} was not found"))
        })?;
        if t.abstract_type {
            return Err(ApiError::bad_request(format!(
                "Objects cannot be created in the abstract object type {}",
                t.name
            )));
        }
        let checked = self.check_inputs(type_id, None, inputs)?;
        self.next.object += 1;
        let id = self.next.object;
        let mut o = Object {
            id,
            type_id,
            created: now,
            updated: now,
            values: Vec::with_capacity(checked.values.len()),
        };
        for (attr_id, vals) in checked.values {
            if vals.is_empty() {
                continue;
            }
            self.next.row += 1;
            o.values.push(AttrValues {
                attr_id,
                row_id: self.next.row,
                vals: vals.into_boxed_slice(),
            });
        }
        self.insert_object(o, actor);
        Ok(id)
    }

    /// Stores a validated object: slab, counts, unique index, a "created" history entry.
    pub(crate) fn insert_object(&mut self, o: Object, actor: u32) {
        let id = o.id as usize;
        for av in &o.values {
            if self.attrs.get(&av.attr_id).is_some_and(|a| a.unique) {
                for v in av.vals.iter() {
                    self.unique_index
                        .insert((av.attr_id, values::unique_key(v)), o.id);
                }
            }
        }
        *self.type_object_counts.entry(o.type_id).or_default() += 1;
        self.push_history(
            o.id,
            history_kind::CREATED,
            actor,
            None,
            None,
            None,
            o.created,
        );
        if self.objects.len() <= id {
            self.objects.resize(id + 1, None);
        }
        self.objects[id] = Some(o);
        self.object_count += 1;
        self.next.object = self.next.object.max(id as u32);
        self.touch();
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_history(
        &mut self,
        object_id: u32,
        kind: u8,
        actor: u32,
        attr: Option<&str>,
        old: Option<CompactString>,
        new: Option<CompactString>,
        at: Millis,
    ) {
        self.next.history += 1;
        let e = HistoryEntry {
            id: self.next.history,
            kind,
            actor,
            attr_name: attr.map(CompactString::from),
            old_value: old,
            new_value: new,
            created: at,
        };
        self.history.entry(object_id).or_default().push(e);
    }

    pub fn update_object(
        &mut self,
        id: u32,
        type_id: Option<u32>,
        inputs: &[AttrInput],
        actor: u32,
        now: Millis,
    ) -> ApiResult<()> {
        let o = self.object(id)?.clone();
        if let Some(t) = type_id
            && t != o.type_id
        {
            if !self.types.contains_key(&t) {
                return Err(ApiError::not_found(format!(
                    "ObjectType with id {t} was not found"
                )));
            }
            return Err(ApiError::field(
                "objectTypeId",
                "The object type of an existing object cannot be changed",
            ));
        }
        let checked = self.check_inputs(o.type_id, Some(&o), inputs)?;
        let mut changes = Vec::new();
        let mut obj = o;
        for (attr_id, vals) in checked.values {
            let old: Vec<Val> = obj.values_of(attr_id).to_vec();
            if old == vals {
                continue;
            }
            let a = self.attrs[&attr_id].clone();
            if a.unique {
                for v in &old {
                    self.unique_index.remove(&(attr_id, values::unique_key(v)));
                }
                for v in &vals {
                    self.unique_index
                        .insert((attr_id, values::unique_key(v)), id);
                }
            }
            let show = |ws: &Workspace, vs: &[Val]| -> Option<CompactString> {
                (!vs.is_empty()).then(|| {
                    vs.iter()
                        .map(|v| ws.display_value(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                        .to_compact_string()
                })
            };
            let kind = match (old.is_empty(), vals.is_empty()) {
                (true, _) => history_kind::VALUE_ADDED,
                (_, true) => history_kind::VALUE_REMOVED,
                _ => history_kind::VALUE_CHANGED,
            };
            changes.push((kind, a.name.clone(), show(self, &old), show(self, &vals)));
            match obj.values.iter_mut().find(|v| v.attr_id == attr_id) {
                Some(av) => av.vals = vals.into_boxed_slice(),
                None => {
                    self.next.row += 1;
                    obj.values.push(AttrValues {
                        attr_id,
                        row_id: self.next.row,
                        vals: vals.into_boxed_slice(),
                    });
                }
            }
        }
        obj.values.retain(|v| !v.vals.is_empty());
        if changes.is_empty() {
            return Ok(());
        }
        obj.updated = now;
        for (kind, name, old, new) in changes {
            self.push_history(id, kind, actor, Some(&name), old, new, now);
        }
        self.objects[id as usize] = Some(obj);
        self.touch();
        Ok(())
    }

    /// Deletes an object and every reference other objects hold to it.
    pub fn delete_object(&mut self, id: u32) -> ApiResult<Object> {
        self.object(id)?;
        let o = self.remove_object(id).expect("checked above");
        for other in self.objects.iter_mut().flatten() {
            for av in other.values.iter_mut() {
                if av.vals.contains(&Val::Ref(id)) {
                    av.vals = av
                        .vals
                        .iter()
                        .filter(|v| **v != Val::Ref(id))
                        .cloned()
                        .collect();
                }
            }
            other.values.retain(|v| !v.vals.is_empty());
        }
        for issue in self.issues.values_mut() {
            for (_, ids) in issue.assets.iter_mut() {
                ids.retain(|x| *x != id);
            }
        }
        self.comments.remove(&id);
        self.attachments.remove(&id);
        self.touch();
        Ok(o)
    }

    pub(super) fn remove_object(&mut self, id: u32) -> Option<Object> {
        let o = self.objects.get_mut(id as usize)?.take()?;
        self.object_count -= 1;
        if let Some(c) = self.type_object_counts.get_mut(&o.type_id) {
            *c = c.saturating_sub(1);
        }
        for av in &o.values {
            for v in av.vals.iter() {
                let k = (av.attr_id, values::unique_key(v));
                if self.unique_index.get(&k) == Some(&id) {
                    self.unique_index.remove(&k);
                }
            }
        }
        self.history.remove(&id);
        Some(o)
    }

    /// Objects that reference `id`, grouped by their object type: (type id, reference type ids, count).
    pub fn inbound_references(&self, id: u32) -> Vec<(u32, Vec<u32>, u32)> {
        let mut by_type: HashMap<u32, (Vec<u32>, u32)> = HashMap::new();
        for o in self.objects() {
            let mut hit = false;
            for av in &o.values {
                if av.vals.contains(&Val::Ref(id))
                    && let Some(AttrKind::Object { ref_type, .. }) =
                        self.attrs.get(&av.attr_id).map(|a| &a.kind)
                {
                    let e = by_type.entry(o.type_id).or_default();
                    if !e.0.contains(ref_type) {
                        e.0.push(*ref_type);
                    }
                    hit = true;
                }
            }
            if hit {
                by_type.entry(o.type_id).or_default().1 += 1;
            }
        }
        let mut v: Vec<_> = by_type.into_iter().map(|(t, (r, n))| (t, r, n)).collect();
        v.sort_by_key(|x| x.0);
        v
    }
}
