//! The cross-schema reference attributes between the restored schema and the resolved ones
//! ([`Link`]s, from the backups' attribute definitions), and making sure each exists on the
//! target: found by name on its object type (an earlier run made it), else created with the
//! backup's configuration, its referenced type and reference type mapped.

use std::collections::HashMap;

use serde::Deserialize;

use super::super::{Ctx, Error};
use super::original;
use super::resolve::{Mapping, Resolved};
use super::{ReferencesSummary, STAGE_ATTRS};
use crate::model::{AttributeIn, AttributeKind, Id, ObjectType, ObjectTypeAttribute};
use crate::restore::id_kinds;
use crate::store::{Backup, BackupId, ItemOutcome, kind};

/// Which way a reference goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Objects of a named schema into the restored schema.
    Inbound,
    /// Objects of the restored schema into a named schema.
    Outbound,
}

/// One cross-schema reference attribute.
#[derive(Debug, Clone)]
pub(super) struct Link {
    pub dir: Direction,
    /// The resolved schema on the other side (its index in the summary's rows); `None` for an
    /// outbound attribute into a schema that is not among them.
    pub schema: Option<usize>,
    /// Its id in its backup.
    pub old_attr: String,
    pub name: String,
    /// The key of the schema that owns it on the target, and its object type's name.
    pub owner_schema: String,
    pub owner_name: String,
    /// The owning object type on the target.
    pub owner_new: Option<String>,
    /// The referenced object type, in the backup and on the target.
    pub target_old: String,
    pub target_new: Option<String>,
    /// The reference type on the target (`Err`: the backup's one is not mapped).
    pub ref_new: Result<Option<String>, String>,
    /// Why it cannot be created, when that is known before looking at the target.
    pub skip: Option<String>,
    /// The backup's definition.
    pub def: ObjectTypeAttribute,
    /// Its id on the target, once found or created.
    pub new_id: Option<String>,
}

impl Link {
    /// Whose objects the values reference: a resolved schema's (outbound) or the restored
    /// schema's (`None`, inbound).
    pub fn target_schema(&self) -> Option<usize> {
        match self.dir {
            Direction::Outbound => self.schema,
            Direction::Inbound => None,
        }
    }

    /// The report line's item.
    fn item(&self) -> String {
        format!(
            "attribute {}/{}.{}",
            self.owner_schema, self.owner_name, self.name
        )
    }
}

/// An object type of a backup: id and name.
#[derive(Deserialize)]
struct TypeName {
    id: Id,
    #[serde(default)]
    name: Option<String>,
}

/// Object type id -> name of a backup.
async fn types_of(ctx: &Ctx<'_>, backup: BackupId) -> Result<HashMap<String, String>, Error> {
    let mut out = HashMap::new();
    ctx.for_each_entry(backup, kind::OBJECT_TYPE, |_, t: TypeName| {
        out.insert(t.id.as_str().to_owned(), t.name.unwrap_or_default());
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The reference attributes of a backup: (definition, owner type, referenced type, reference
/// type).
async fn references_of(
    ctx: &Ctx<'_>,
    backup: BackupId,
) -> Result<Vec<(ObjectTypeAttribute, String, String, Option<String>)>, Error> {
    let mut out = Vec::new();
    ctx.for_each_entry(backup, kind::ATTRIBUTE, |_, a: ObjectTypeAttribute| {
        if let (AttributeKind::Object { target, ref_type }, Some(owner)) =
            (a.kind(), a.object_type_id().map(str::to_owned))
        {
            out.push((a, owner, target, ref_type));
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The links the task handles: with `outbound`, the restored backup's references out of its
/// schema (those into no resolved schema are kept, to be reported); for every schema resolved
/// through a restore, its backup's references into the restored backup's types.
pub(super) async fn collect(
    ctx: &Ctx<'_>,
    own: &Backup,
    resolved: &[Resolved],
    outbound: bool,
    s: &ReferencesSummary,
) -> Result<Vec<Link>, Error> {
    let own_types = types_of(ctx, own.id).await?;
    let own_type_map = ctx.id_map(ctx.restore.id, id_kinds::TYPE).await?;
    let own_ref_map = ctx.id_map(ctx.restore.id, id_kinds::REF_TYPE).await?;
    let own_key = ctx
        .restore
        .new_schema_key
        .clone()
        .unwrap_or_else(|| own.schema_key.clone());
    let own_refs = references_of(ctx, own.id).await?;
    // Old type id -> new type id of each resolved schema.
    let mut their_types: Vec<HashMap<String, String>> = Vec::new();
    for r in resolved {
        their_types.push(match &r.mapping {
            Mapping::Restore { restore, .. } => ctx.id_map(*restore, id_kinds::TYPE).await?,
            Mapping::OriginalId { backup, .. } => {
                let types = ctx.target.list_object_types(&r.schema_id).await?;
                let mut m = match backup {
                    Some(b) => original::backup_types(ctx, b.id, &types).await?,
                    None => HashMap::new(),
                };
                if outbound {
                    for (old, new) in referenced_types(&own_refs, &own_types, &types) {
                        m.entry(old).or_insert(new);
                    }
                }
                m
            }
            Mapping::Original => ctx
                .target
                .list_object_types(&r.schema_id)
                .await?
                .into_iter()
                .filter_map(|t| {
                    let id = t.id.non_empty()?.to_owned();
                    Some((id.clone(), id))
                })
                .collect(),
        });
    }
    let missing: Vec<&str> = s
        .referenced_schemas
        .iter()
        .filter(|r| !r.state.is_resolved())
        .map(|r| r.key.as_str())
        .collect();
    let map_ref = |map: &HashMap<String, String>, r: Option<String>, via: &str| match r {
        None => Ok(None),
        Some(r) => map
            .get(&r)
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("its reference type {r} is not in {via}")),
    };
    let own_via = format!("the id map of restore {}", ctx.restore.id);
    let mut links = Vec::new();
    if outbound {
        for (def, owner, target, ref_type) in own_refs {
            if own_types.contains_key(&target) {
                continue;
            }
            let found = resolved
                .iter()
                .zip(&their_types)
                .find(|(_, t)| t.contains_key(&target));
            let target_name = def
                .reference_object_type
                .get()
                .and_then(|t| t.name.non_empty())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let skip = found.is_none().then(|| {
                format!(
                    "it references object type {target}{target_name} of a schema not among \
                     those resolved{}",
                    if missing.is_empty() {
                        String::new()
                    } else {
                        format!(" (not usable or missing: {})", missing.join(", "))
                    }
                )
            });
            links.push(Link {
                dir: Direction::Outbound,
                schema: found.map(|(r, _)| r.index),
                old_attr: def.id.as_str().to_owned(),
                name: def.name().to_owned(),
                owner_schema: own_key.clone(),
                owner_name: own_types.get(&owner).cloned().unwrap_or_default(),
                owner_new: own_type_map.get(&owner).cloned(),
                target_new: found.and_then(|(_, t)| t.get(&target).cloned()),
                target_old: target,
                ref_new: map_ref(&own_ref_map, ref_type, &own_via),
                skip,
                def,
                new_id: None,
            });
        }
    }
    for (r, types) in resolved.iter().zip(&their_types) {
        let (backup, ref_map, via) = match &r.mapping {
            Mapping::Restore { restore, backup } => (
                backup,
                ctx.id_map(*restore, id_kinds::REF_TYPE).await?,
                format!("the id map of restore {restore}"),
            ),
            Mapping::OriginalId {
                backup: Some(backup),
                ..
            } => (
                backup,
                original::reference_types(ctx, backup.id, &r.schema_id).await?,
                format!("the reference types of schema {} on the target", r.key),
            ),
            _ => continue,
        };
        let names = types_of(ctx, backup.id).await?;
        for (def, owner, target, ref_type) in references_of(ctx, backup.id).await? {
            if !own_types.contains_key(&target) || own_types.contains_key(&owner) {
                continue;
            }
            links.push(Link {
                dir: Direction::Inbound,
                schema: Some(r.index),
                old_attr: def.id.as_str().to_owned(),
                name: def.name().to_owned(),
                owner_schema: r.key.clone(),
                owner_name: names.get(&owner).cloned().unwrap_or_default(),
                owner_new: types.get(&owner).cloned(),
                target_new: own_type_map.get(&target).cloned(),
                target_old: target,
                ref_new: map_ref(&ref_map, ref_type, &via),
                skip: None,
                def,
                new_id: None,
            });
        }
    }
    Ok(links)
}

/// Old type id -> id in `types` (a schema without a restore record here) of the object types
/// the restored backup's references point at outside it (see [`original::match_types`]).
fn referenced_types(
    refs: &[(ObjectTypeAttribute, String, String, Option<String>)],
    own_types: &HashMap<String, String>,
    types: &[ObjectType],
) -> HashMap<String, String> {
    let old = refs
        .iter()
        .filter(|(_, _, target, _)| !own_types.contains_key(target))
        .map(|(def, _, target, _)| {
            let name = def
                .reference_object_type
                .get()
                .and_then(|t| t.name.non_empty());
            (target.as_str(), name)
        });
    original::match_types(old, types)
}

/// What becomes of one link.
enum Decision {
    Skip(String),
    Found(String),
    Conflict(String),
    Create {
        owner: String,
        body: Box<AttributeIn>,
    },
}

/// Makes sure every link's attribute exists on the target, reporting each.
pub(super) async fn ensure(
    ctx: &Ctx<'_>,
    links: &mut [Link],
    s: &mut ReferencesSummary,
) -> Result<(), Error> {
    let total = links.len() as u64;
    ctx.progress(STAGE_ATTRS, 0, total);
    // The target's attributes per object type, listed once.
    let mut listed: HashMap<String, Vec<ObjectTypeAttribute>> = HashMap::new();
    for (n, l) in links.iter_mut().enumerate() {
        ctx.check_cancel()?;
        let decision = match (&l.skip, &l.owner_new, &l.target_new, &l.ref_new) {
            (Some(why), ..) => Decision::Skip(why.clone()),
            (_, None, ..) => Decision::Skip(format!(
                "its object type {} was not restored on the target",
                l.owner_name
            )),
            (_, _, None, _) => Decision::Skip(format!(
                "the object type it references ({}) was not restored on the target",
                l.target_old
            )),
            (_, _, _, Err(why)) => Decision::Skip(why.clone()),
            (None, Some(owner), Some(target), Ok(ref_type)) => {
                if !listed.contains_key(owner) {
                    let attrs = ctx.target.list_attributes(owner).await?;
                    listed.insert(owner.clone(), attrs);
                }
                let existing = listed
                    .get(owner)
                    .into_iter()
                    .flatten()
                    .find(|a| a.name() == l.name);
                match existing {
                    Some(a) => match a.kind() {
                        AttributeKind::Object { target: t, .. } if t == *target => {
                            Decision::Found(a.id.as_str().to_owned())
                        }
                        _ => Decision::Conflict(format!(
                            "object type {owner} has an attribute {:?} already ({}), which is \
                             not a reference to object type {target}",
                            l.name,
                            a.id.as_str()
                        )),
                    },
                    None => Decision::Create {
                        owner: owner.clone(),
                        body: Box::new(body(&l.def, target, ref_type.clone())),
                    },
                }
            }
        };
        let (outcome, message) = match decision {
            Decision::Skip(why) => {
                s.attributes_skipped += 1;
                (ItemOutcome::Skipped, why)
            }
            Decision::Found(id) => {
                s.attributes_unchanged += 1;
                let m = format!("on the target already (attribute {id})");
                l.new_id = Some(id);
                (ItemOutcome::Unchanged, m)
            }
            Decision::Conflict(why) => {
                s.attributes_failed += 1;
                (ItemOutcome::Failed, why)
            }
            Decision::Create { owner, body } => {
                match ctx.target.create_attribute(&owner, &body).await {
                    Ok(a) => {
                        s.attributes_created += 1;
                        let id = a.id.as_str().to_owned();
                        let m = format!(
                            "created as attribute {id} of object type {owner}, referencing \
                             object type {}",
                            body.type_value.as_ref().map_or("?", Id::as_str)
                        );
                        listed.entry(owner).or_default().push(a);
                        l.new_id = Some(id);
                        (ItemOutcome::Updated, m)
                    }
                    Err(e) if e.is_retryable() => return Err(e.into()),
                    Err(e) => {
                        s.attributes_failed += 1;
                        (
                            ItemOutcome::Failed,
                            format!(
                                "{}{}",
                                crate::error::error_chain(&e),
                                e.api_body().map(|b| format!(": {b}")).unwrap_or_default()
                            ),
                        )
                    }
                }
            }
        };
        ctx.item(l.item(), outcome, message).await?;
        ctx.progress(STAGE_ATTRS, n as u64 + 1, total);
    }
    Ok(())
}

/// The create body of a backup reference attribute on the target.
fn body(def: &ObjectTypeAttribute, target: &str, ref_type: Option<String>) -> AttributeIn {
    AttributeIn {
        name: def.name().to_owned(),
        description: def.description.non_empty().map(str::to_owned),
        r#type: 1,
        type_value: Some(Id::new(target)),
        additional_value: ref_type,
        minimum_cardinality: def.minimum_cardinality.get().copied(),
        maximum_cardinality: def.maximum_cardinality.get().copied(),
        hidden: def.hidden.get().copied(),
        ql_query: def.ql_query.get().cloned(),
        include_child_object_types: def.include_child_object_types.get().copied(),
        ..AttributeIn::default()
    }
}
