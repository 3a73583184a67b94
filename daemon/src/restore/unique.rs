//! Into an existing schema: the backup objects whose create the target would refuse because a
//! value of a unique attribute (`uniqueAttribute`, "values must be unique within the object
//! type") is already held by an object there — above all the copies `--duplicates` creates,
//! which carry the very values of the objects they duplicate.
//!
//! Assets refuses such a create with a 400. Rather than spend a create request (of the
//! tightest budget, 2,000 a minute) on each refusal, the plan names them, and the object
//! stage skips each like a duplicate: it is mapped to the object holding the value — so
//! references to it point there — and logged once as `Skipped (unique NAME "VALUE" is held by
//! KEY)`. The values come from the one AQL scan of the target schema the duplicate matching
//! reads anyway (no extra request), and from one walk over the backup's objects, made only
//! when an attribute the restore writes is unique on the target and holds values there.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::Error;
use super::order::ObjectGraph;
use super::plan::{AttrAction, RestorePlan};
use super::source::Source;
use crate::model::{Object, ObjectTypeAttribute, Scalar};
use crate::store::{AsyncStore, kind};

/// A backup object the target would refuse, so skipped: a unique attribute's value is taken
/// there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueTaken {
    /// Its identity (`ORIGINAL_ID`, else its id in the backup).
    pub identity: String,
    /// Its key in the backup.
    pub key: String,
    /// The unique attribute's name.
    pub attribute: String,
    /// The value (as the backup has it).
    pub value: String,
    /// The key of the target object holding it.
    pub taken_by: String,
    /// That object's id.
    pub taken_by_id: String,
}

/// The target attributes a restore writes into that are unique there: target attribute id ->
/// (backup attribute id, name). Only matched attributes: one the restore creates holds no
/// values yet.
pub(super) fn unique_attributes(
    plan: &RestorePlan,
    target_attrs: &HashMap<String, Vec<ObjectTypeAttribute>>,
) -> HashMap<String, (String, String)> {
    let unique: HashSet<&str> = target_attrs
        .values()
        .flatten()
        .filter(|a| a.unique_attribute.get().copied().unwrap_or(false))
        .map(|a| a.id.as_str())
        .collect();
    plan.attributes
        .iter()
        .filter(|a| a.action == AttrAction::Existing)
        .filter_map(|a| {
            let target = a.existing_id.as_deref()?;
            let old = a.old_id.as_deref()?;
            unique
                .contains(target)
                .then(|| (target.to_owned(), (old.to_owned(), a.name.clone())))
        })
        .collect()
}

/// Values of the unique attributes held in the target schema, as the scan reads them:
/// (target attribute id, value folded to lower case, as Assets compares) -> holder's (id, key).
#[derive(Debug, Default)]
pub(super) struct Taken {
    attrs: HashMap<String, (String, String)>,
    values: HashMap<(String, String), (String, String)>,
}

impl Taken {
    /// Collects the values of `attrs` (see [`unique_attributes`]).
    pub(super) fn new(attrs: HashMap<String, (String, String)>) -> Taken {
        Taken {
            attrs,
            values: HashMap::new(),
        }
    }

    /// Notes the unique values of one target object.
    pub(super) fn note(&mut self, o: &Object) {
        if self.attrs.is_empty() {
            return;
        }
        for a in o.attributes() {
            let id = a.object_type_attribute_id.as_str();
            if !self.attrs.contains_key(id) {
                continue;
            }
            for v in a.values() {
                if let Some(s) = v.value.get().and_then(Scalar::as_str) {
                    self.values
                        .entry((id.to_owned(), s.to_lowercase()))
                        .or_insert_with(|| (o.id.as_str().to_owned(), o.key().to_owned()));
                }
            }
        }
    }

    /// The backup objects the restore would create whose unique values are taken. `skipped`:
    /// identities of duplicates the restore skips anyway.
    pub(super) async fn refusals(
        &self,
        store: &AsyncStore,
        source: &Source,
        graph: &ObjectGraph,
        skipped: &HashSet<&str>,
    ) -> Result<Vec<UniqueTaken>, Error> {
        if self.values.is_empty() {
            return Ok(Vec::new());
        }
        // Backup attribute id -> (target attribute id, name).
        let by_old: HashMap<&str, (&str, &str)> = self
            .attrs
            .iter()
            .map(|(t, (old, name))| (old.as_str(), (t.as_str(), name.as_str())))
            .collect();
        let mut out = Vec::new();
        store
            .for_each_entry_as(source.backup.id, kind::OBJECT, |id, o: Object| {
                if graph.index_of_orig(&id).is_none() || skipped.contains(id.as_str()) {
                    return Ok::<(), Error>(());
                }
                let hit = o.attributes().iter().find_map(|a| {
                    let (target, name) = by_old.get(a.object_type_attribute_id.as_str())?;
                    a.values().iter().find_map(|v| {
                        let s = v.value.get().and_then(Scalar::as_str)?;
                        let holder = self.values.get(&((*target).to_owned(), s.to_lowercase()))?;
                        Some((*name, s, holder))
                    })
                });
                if let Some((attribute, value, holder)) = hit {
                    out.push(UniqueTaken {
                        identity: id.clone(),
                        key: o.key().to_owned(),
                        attribute: attribute.to_owned(),
                        value: value.to_owned(),
                        taken_by: holder.1.clone(),
                        taken_by_id: holder.0.clone(),
                    });
                }
                Ok(())
            })
            .await?;
        Ok(out)
    }
}
