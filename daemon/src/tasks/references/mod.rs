//! Task `references` (cross-schema references): a restore leaves out the reference attributes
//! into other schemas (the plan's drop reason says so); once those schemas are on the target
//! too, this task creates the missing attributes and sets their values, mapping old ids to new
//! through the id maps of the restores that put each schema there (`resolve`).
//!
//! - Without `outbound`: the references that objects of the named schemas hold into the
//!   restored schema (attributes of those schemas' backups into this backup's types); only
//!   for schemas restored by assetark (an original schema keeps its own references).
//! - With `outbound`, also those the restored schema's objects hold into the named schemas.
//!
//! A named schema not on the target yet is reported `missing` and its attributes are not
//! created; running the task again once it is there completes the work.
//!
//! Requests: the schema lookups of `resolve`; one `list_attributes` per object type that owns
//! such attributes (plus one `create_attribute` per attribute missing); one AQL page per 500
//! objects of each schema whose objects hold such references (their current values); then
//! **one `PUT /object/{id}` per object that gains a value**, with all its values, and none for
//! objects whose values are right already (a second run writes nothing). The PUTs go out
//! [`Ctx::fan_out`] at a time; the client's limiter and pool pace them.

mod links;
mod original;
mod resolve;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};

use super::{Ctx, Error, TaskSummary};
use crate::assets::AqlPager;
use crate::model::{Object, ObjectAttributeIn, ObjectIn, ValueIn};
use crate::restore::id_kinds;
use crate::store::{BackupId, ItemOutcome, RestoreId, kind};

use links::{Direction, Link};
use resolve::Mapping;
pub use resolve::{ReferencedSchema, SchemaState};

/// Progress stage names.
const STAGE_ATTRS: &str = "reference attributes";
const STAGE_OBJECTS: &str = "object references";
/// Objects per AQL page when reading the target's current values.
const AQL_PAGE: usize = 500;

/// What the task found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReferencesSummary {
    /// Whether the restored schema's own references into the named schemas were set too.
    pub outbound: bool,
    /// The schemas named, in order, with how each stood.
    pub referenced_schemas: Vec<ReferencedSchema>,
    /// Reference attributes created.
    pub attributes_created: u64,
    /// Reference attributes that were on the target already.
    pub attributes_unchanged: u64,
    /// Reference attributes not created (their schema missing, a type not restored).
    pub attributes_skipped: u64,
    /// Reference attributes the target refused.
    pub attributes_failed: u64,
    /// Objects that gained values (one request each).
    pub objects_updated: u64,
    /// Objects whose values were right already (no request).
    pub objects_unchanged: u64,
    /// Objects left alone (not restored, gone from the target).
    pub objects_skipped: u64,
    /// Objects the target refused to update.
    pub objects_failed: u64,
}

/// What one object of the target should hold.
#[derive(Debug, Default)]
struct Want {
    /// The source object's key, for the report.
    label: String,
    /// The schema on the target that holds it.
    schema: String,
    /// New attribute id -> the new ids of the objects it should reference.
    attrs: BTreeMap<String, BTreeSet<String>>,
    /// Values whose object was not restored.
    dropped: Vec<String>,
}

/// A backup object's own id.
#[derive(Deserialize)]
struct SourceObject {
    id: crate::model::Id,
}

pub(super) async fn run(
    ctx: &Ctx<'_>,
    from_schemas: &[String],
    outbound: bool,
) -> Result<(TaskSummary, String), Error> {
    let own = ctx.store.get_backup(ctx.backup()).await?;
    let own_schema = ctx.new_schema_id()?.to_owned();
    let (rows, resolved) = resolve::resolve(ctx, &own, from_schemas, outbound).await?;
    let mut s = ReferencesSummary {
        outbound,
        referenced_schemas: rows,
        ..ReferencesSummary::default()
    };
    let mut links = links::collect(ctx, &own, &resolved, outbound, &s).await?;
    for k in links.iter().filter_map(|l| l.schema) {
        s.referenced_schemas[k].attributes += 1;
    }
    links::ensure(ctx, &mut links, &mut s).await?;

    // Old object id -> new id: this restore's objects, and each resolved schema's.
    let own_ids = object_ids(ctx, ctx.restore.id, own.id).await?;
    let mut other_ids: HashMap<usize, HashMap<String, String>> = HashMap::new();
    for r in &resolved {
        match &r.mapping {
            Mapping::Restore { restore, backup } => {
                other_ids.insert(r.index, object_ids(ctx, *restore, backup.id).await?);
            }
            Mapping::OriginalId { ids, .. } => {
                other_ids.insert(r.index, ids.clone());
            }
            Mapping::Original => {}
        }
    }
    let lookup = |schema: Option<usize>, old: &str| -> Option<String> {
        match schema {
            None => own_ids.get(old).cloned(),
            Some(k) => match other_ids.get(&k) {
                Some(m) => m.get(old).cloned(),
                // An original schema: the backup's ids are the target's.
                None => Some(old.to_owned()),
            },
        }
    };

    // What each object should hold, from the backups' values.
    let mut wants: BTreeMap<String, Want> = BTreeMap::new();
    let out: Vec<&Link> = links
        .iter()
        .filter(|l| l.dir == Direction::Outbound && l.new_id.is_some())
        .collect();
    if !out.is_empty() {
        gather(
            ctx,
            own.id,
            &own_schema,
            &out,
            &own_ids,
            &lookup,
            &mut wants,
        )
        .await?;
    }
    for r in &resolved {
        let backup = match &r.mapping {
            Mapping::Restore { backup, .. }
            | Mapping::OriginalId {
                backup: Some(backup),
                ..
            } => backup,
            _ => continue,
        };
        let inbound: Vec<&Link> = links
            .iter()
            .filter(|l| {
                l.dir == Direction::Inbound && l.schema == Some(r.index) && l.new_id.is_some()
            })
            .collect();
        if inbound.is_empty() {
            continue;
        }
        let holder = other_ids.get(&r.index).cloned().unwrap_or_default();
        gather(
            ctx,
            backup.id,
            &r.schema_id,
            &inbound,
            &holder,
            &lookup,
            &mut wants,
        )
        .await?;
    }
    set_values(ctx, &wants, &mut s).await?;
    let message = message(&s);
    Ok((TaskSummary::References(s), message))
}

/// The result message: the counts and the schemas that did not take part.
fn message(s: &ReferencesSummary) -> String {
    let mut m = format!(
        "{} reference attributes created, {} unchanged, {} skipped, {} failed; {} objects \
         updated, {} unchanged, {} skipped, {} failed",
        s.attributes_created,
        s.attributes_unchanged,
        s.attributes_skipped,
        s.attributes_failed,
        s.objects_updated,
        s.objects_unchanged,
        s.objects_skipped,
        s.objects_failed
    );
    let names = |state: SchemaState| -> Vec<String> {
        s.referenced_schemas
            .iter()
            .filter(|r| r.state == state)
            .map(|r| r.key.clone())
            .collect()
    };
    let missing = names(SchemaState::Missing);
    if !missing.is_empty() {
        m.push_str(&format!(
            "; missing on the target: {} (restore it there, then run the task again)",
            missing.join(", ")
        ));
    }
    let refused = names(SchemaState::Refused);
    if !refused.is_empty() {
        m.push_str(&format!("; not usable: {}", refused.join(", ")));
    }
    m
}

/// Source object id -> new id for the objects of `backup` restored by `restore` (the id map is
/// keyed by manifest id, the backup's objects say which source id each has).
async fn object_ids(
    ctx: &Ctx<'_>,
    restore: RestoreId,
    backup: BackupId,
) -> Result<HashMap<String, String>, Error> {
    let map = ctx.id_map(restore, id_kinds::OBJECT).await?;
    let mut out = HashMap::new();
    ctx.for_each_entry(backup, kind::OBJECT, |orig, o: SourceObject| {
        if let Some(new) = map.get(&orig).filter(|n| !n.is_empty()) {
            out.insert(o.id.as_str().to_owned(), new.clone());
        }
        Ok(())
    })
    .await?;
    Ok(out)
}

/// Adds to `wants` what the objects of `backup` (held on the target in `schema`, their new ids
/// in `holder`) should reference through `links`.
async fn gather(
    ctx: &Ctx<'_>,
    backup: BackupId,
    schema: &str,
    links: &[&Link],
    holder: &HashMap<String, String>,
    lookup: &(dyn Fn(Option<usize>, &str) -> Option<String> + Sync),
    wants: &mut BTreeMap<String, Want>,
) -> Result<(), Error> {
    let by_attr: HashMap<&str, &Link> = links.iter().map(|l| (l.old_attr.as_str(), *l)).collect();
    let mut skipped: Vec<String> = Vec::new();
    ctx.for_each_entry(backup, kind::OBJECT, |_, o: Object| {
        let mut got: Vec<(&Link, Vec<String>)> = Vec::new();
        for a in o.attributes.get().map_or(&[][..], Vec::as_slice) {
            let Some(link) = by_attr.get(a.object_type_attribute_id.as_str()) else {
                continue;
            };
            let ids: Vec<String> = a
                .values()
                .iter()
                .filter_map(|v| v.referenced_id().map(str::to_owned))
                .collect();
            if !ids.is_empty() {
                got.push((link, ids));
            }
        }
        if got.is_empty() {
            return Ok(());
        }
        let label = o
            .object_key
            .get()
            .cloned()
            .unwrap_or_else(|| o.id.as_str().to_owned());
        let Some(new_obj) = holder.get(o.id.as_str()) else {
            skipped.push(label);
            return Ok(());
        };
        let w = wants.entry(new_obj.clone()).or_insert_with(|| Want {
            label,
            schema: schema.to_owned(),
            ..Want::default()
        });
        for (link, ids) in got {
            let Some(attr) = &link.new_id else { continue };
            let set = w.attrs.entry(attr.clone()).or_default();
            for old in ids {
                match lookup(link.target_schema(), &old) {
                    Some(new) => {
                        set.insert(new);
                    }
                    None => w.dropped.push(format!("{} -> object {old}", link.name)),
                }
            }
        }
        Ok(())
    })
    .await?;
    for label in skipped {
        ctx.item(
            format!("object {label}"),
            ItemOutcome::Skipped,
            "not restored on the target (no id in the restore's id map)",
        )
        .await?;
    }
    Ok(())
}

/// Reads the current values of the wanted objects (AQL pages of their schemas) and sends one
/// `PUT /object/{id}` per object whose values differ.
async fn set_values(
    ctx: &Ctx<'_>,
    wants: &BTreeMap<String, Want>,
    s: &mut ReferencesSummary,
) -> Result<(), Error> {
    // New object id -> (object type id, attribute id -> referenced ids) on the target now.
    let mut current: HashMap<String, (String, HashMap<String, BTreeSet<String>>)> = HashMap::new();
    let schemas: BTreeSet<&str> = wants.values().map(|w| w.schema.as_str()).collect();
    for schema in schemas {
        let ql = format!("objectSchemaId = {schema}");
        let mut pager = AqlPager::new(ctx.target, &ql, AQL_PAGE);
        while let Some(page) = pager.next_page().await? {
            for o in page.values {
                let Some(w) = wants.get(o.id.as_str()) else {
                    continue;
                };
                let type_id = o
                    .object_type
                    .get()
                    .and_then(|t| t.id.non_empty())
                    .unwrap_or_default()
                    .to_owned();
                let mut attrs: HashMap<String, BTreeSet<String>> = HashMap::new();
                for a in o.attributes.get().map_or(&[][..], Vec::as_slice) {
                    let id = a.object_type_attribute_id.as_str();
                    if w.attrs.contains_key(id) {
                        attrs.insert(
                            id.to_owned(),
                            a.values()
                                .iter()
                                .filter_map(|v| v.referenced_id().map(str::to_owned))
                                .collect(),
                        );
                    }
                }
                current.insert(o.id.as_str().to_owned(), (type_id, attrs));
            }
        }
    }
    let total = wants.len() as u64;
    ctx.progress(STAGE_OBJECTS, 0, total);
    // Objects whose values differ are written `fan_out` at a time, their results reported as
    // they come; a temporary failure or a shutdown stops new writes, lets those in flight end
    // (each reported) and then fails the run, which resumes by reading the target again.
    let limit = ctx.fan_out();
    let mut todo = wants.iter();
    let mut in_flight = FuturesUnordered::new();
    let (mut done, mut fatal) = (0u64, None::<Error>);
    loop {
        while fatal.is_none() && in_flight.len() < limit {
            if let Err(e) = ctx.check_cancel() {
                fatal = Some(e);
                break;
            }
            let Some((id, w)) = todo.next() else { break };
            let item = format!("object {}", w.label);
            let notes = notes(w);
            let Some((type_id, now)) = current.get(id) else {
                s.objects_skipped += 1;
                done += 1;
                let m = format!("object {id} is no longer on the target");
                ctx.item(item, ItemOutcome::Skipped, m).await?;
                ctx.progress(STAGE_OBJECTS, done, total);
                continue;
            };
            let Some(body) = differing(type_id, &w.attrs, now) else {
                s.objects_unchanged += 1;
                done += 1;
                let m = format!("object {id} holds its references already{notes}");
                ctx.item(item, ItemOutcome::Unchanged, m).await?;
                ctx.progress(STAGE_OBJECTS, done, total);
                continue;
            };
            let target = ctx.target;
            in_flight.push(async move {
                let r = target.update_object(id, &body).await;
                (id, item, notes, body, r)
            });
        }
        let Some((id, item, notes, body, result)) = in_flight.next().await else {
            break;
        };
        done += 1;
        let (outcome, message) = match result {
            Ok(()) => {
                s.objects_updated += 1;
                let refs: usize = body
                    .attributes
                    .iter()
                    .map(|a| a.object_attribute_values.len())
                    .sum();
                (
                    ItemOutcome::Updated,
                    format!("object {id}: {refs} references set{notes}"),
                )
            }
            Err(e) if e.is_retryable() => {
                // Not reported: the resumed run decides this object again.
                fatal.get_or_insert(e.into());
                continue;
            }
            Err(e) => {
                s.objects_failed += 1;
                (
                    ItemOutcome::Failed,
                    format!(
                        "object {id}: {}{}",
                        crate::error::error_chain(&e),
                        e.api_body().map(|b| format!(": {b}")).unwrap_or_default()
                    ),
                )
            }
        };
        ctx.item(item, outcome, message).await?;
        ctx.progress(STAGE_OBJECTS, done, total);
    }
    match fatal {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The report's note on values left out of an object.
fn notes(w: &Want) -> String {
    if w.dropped.is_empty() {
        String::new()
    } else {
        format!(
            " ({} values left out, their objects not restored: {})",
            w.dropped.len(),
            w.dropped.join(", ")
        )
    }
}

/// The update of an object of type `type_id` holding `now` so that it holds `want`: the
/// attributes that differ, each with all its values (`None`: nothing differs).
fn differing(
    type_id: &str,
    want: &BTreeMap<String, BTreeSet<String>>,
    now: &HashMap<String, BTreeSet<String>>,
) -> Option<ObjectIn> {
    let attributes: Vec<ObjectAttributeIn> = want
        .iter()
        .filter(|(a, want)| now.get(*a).map_or(!want.is_empty(), |have| have != *want))
        .map(|(a, want)| ObjectAttributeIn {
            object_type_attribute_id: crate::model::Id::new(a),
            object_attribute_values: want.iter().map(|v| ValueIn { value: v.clone() }).collect(),
        })
        .collect();
    (!attributes.is_empty()).then(|| ObjectIn {
        object_type_id: crate::model::Id::new(type_id),
        attributes,
    })
}
