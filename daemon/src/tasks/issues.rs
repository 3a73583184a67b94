//! Task `issues` (objects in issues): the backup captured which Jira issues point at the
//! schema's objects through Assets fields (`backup::issues`); this task rewrites those field
//! values on the target site to the restored objects' new ids, keeping the field's other
//! values. Issues are matched by key on the target.
//!
//! Per issue of the backup: one `get_issue` on the target (its Assets fields), then, when a
//! field does not hold the restored objects yet, one `edit_issue` setting every such field of
//! the issue. A field is reported per issue as `updated`, `unchanged` (a second run), `skipped`
//! (issue not found, field missing on the target, object not restored: such an issue is left
//! as it is) or `failed` (the target refused; its answer is the message), and counted per field
//! in the summary with the reasons: the seed's "fields validation results".
//!
//! Object ids: the issues hold the source's object ids; the restore's id map is keyed by the
//! objects' manifest ids (their `ORIGINAL_ID`), so the backup's objects are read once to map
//! one to the other.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Ctx, Error, TaskSummary};
use crate::model::{AssetsFieldValue, Id, IssueEdit, Nullable, StoredIssue};
use crate::restore::id_kinds;
use crate::store::{ItemOutcome, PhaseStatus, kind};

/// Progress stage name.
const STAGE: &str = "issues";

/// Why a field of an issue was skipped.
const NOT_FOUND: &str = "issue not found on the target";
const FIELD_MISSING: &str = "field missing on the target";
const NOT_RESTORED: &str = "object not restored";
const NO_KEY: &str = "the backup has no key for the issue";

/// The results of one Assets field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldResult {
    /// Field id (`customfield_10191`).
    pub field: String,
    /// Its name on the target (absent when the target lacks it).
    pub name: Option<String>,
    /// Issues whose field now points at the restored objects.
    pub updated: u64,
    /// Issues whose field did already (an earlier run).
    pub unchanged: u64,
    /// Issues left alone.
    pub skipped: u64,
    /// Issues the target refused to update.
    pub failed: u64,
    /// Skips and failures by reason.
    pub reasons: BTreeMap<String, u64>,
}

/// What the task did, per field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuesSummary {
    /// Issues in the backup.
    pub issues: u64,
    /// Per Assets field, by id.
    pub fields: Vec<FieldResult>,
}

/// An object id of a field descriptor: `objectId`, else the tail of `id` (`ws:88`).
fn object_id(v: &AssetsFieldValue) -> Option<String> {
    if let Some(id) = v.object_id.get().and_then(Id::non_empty) {
        return Some(id.to_owned());
    }
    let global = v.id.as_deref()?;
    global.rsplit_once(':').map(|(_, id)| id.to_owned())
}

/// The field value as descriptors (none for null or a value of another shape).
fn descriptors(v: &serde_json::Value) -> Vec<AssetsFieldValue> {
    Vec::<AssetsFieldValue>::deserialize(v).unwrap_or_default()
}

/// A backup object's own id (the issues point at it by this id).
#[derive(Deserialize)]
struct ObjectId {
    id: Id,
}

/// What becomes of an object id of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    /// It was restored to this id.
    New(String),
    /// It is an object of the restored backup that was not restored.
    NotRestored,
    /// No restore here knows it: another schema's object, kept as it is.
    Other,
}

/// Source object id -> new id (`None`: not restored) for the `wanted` objects of `backup`,
/// through the id map of `restore`.
async fn object_map(
    ctx: &Ctx<'_>,
    restore: crate::store::RestoreId,
    backup: crate::store::BackupId,
    wanted: &HashSet<String>,
) -> Result<HashMap<String, Option<String>>, Error> {
    let mut manifest: HashMap<String, String> = HashMap::new();
    ctx.for_each_entry(backup, kind::OBJECT, |orig, o: ObjectId| {
        if wanted.contains(o.id.as_str()) {
            manifest.insert(o.id.as_str().to_owned(), orig);
        }
        Ok(())
    })
    .await?;
    let ids = ctx.id_map(restore, id_kinds::OBJECT).await?;
    Ok(manifest
        .into_iter()
        .map(|(old, orig)| {
            let new = ids.get(&orig).filter(|n| !n.is_empty()).cloned();
            (old, new)
        })
        .collect())
}

/// What one field of one issue comes to.
enum Decision {
    /// Set the field to this value.
    Set(Vec<AssetsFieldValue>),
    Unchanged,
    Skipped(String),
}

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(TaskSummary, String), Error> {
    let backup = ctx.store.get_backup(ctx.backup()).await?;
    if backup.issues.status != PhaseStatus::Done {
        return Err(Error::Invalid(format!(
            "backup {} holds no objects in issues: its issues phase is {}{}",
            backup.id,
            backup.issues.status,
            backup
                .issues
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )));
    }
    let mut issues: Vec<StoredIssue> = Vec::new();
    ctx.for_each_entry(backup.id, kind::ISSUE, |_, i: StoredIssue| {
        issues.push(i);
        Ok(())
    })
    .await?;
    // Source object id -> new id, for the objects the issues point at: through this restore,
    // then through the other completed restores to this target of backups of the same source
    // site (newest first), so that the objects of other schemas the fields hold move too.
    let wanted: HashSet<String> = issues
        .iter()
        .flat_map(|i| i.fields.values())
        .flat_map(descriptors)
        .filter_map(|d| object_id(&d))
        .collect();
    let own = object_map(ctx, ctx.restore.id, backup.id, &wanted).await?;
    let mut others: HashMap<String, Option<String>> = HashMap::new();
    let page = crate::store::PageRequest {
        limit: 10_000,
        offset: 0,
    };
    for r in ctx
        .store
        .list_restores(Some(&ctx.restore.target_site), page)
        .await?
    {
        if r.id == ctx.restore.id || r.status != crate::store::RestoreStatus::Completed {
            continue;
        }
        match ctx.store.get_backup(r.backup_id).await {
            Ok(b) if b.site == backup.site && b.schema_id != backup.schema_id => {}
            _ => continue,
        }
        for (old, new) in object_map(ctx, r.id, r.backup_id, &wanted).await? {
            others.entry(old).or_insert(new);
        }
    }
    let new_id = |old: &str| -> Lookup {
        match own.get(old) {
            Some(Some(n)) => Lookup::New(n.clone()),
            Some(None) => Lookup::NotRestored,
            None => match others.get(old) {
                Some(Some(n)) => Lookup::New(n.clone()),
                _ => Lookup::Other,
            },
        }
    };
    let target_fields: BTreeMap<String, Option<String>> = ctx
        .target
        .fields()
        .await?
        .into_iter()
        .filter(|f| f.is_assets())
        .map(|f| (f.id, f.name))
        .collect();
    let workspace = ctx.target.discover_workspace().await?;

    let mut results: BTreeMap<String, FieldResult> = BTreeMap::new();
    let total = issues.len() as u64;
    ctx.progress(STAGE, 0, total);
    for (n, issue) in issues.iter().enumerate() {
        ctx.check_cancel()?;
        let label = issue.key.clone().unwrap_or_else(|| issue.id.clone());
        let mut decided: Vec<(String, Decision)> = Vec::new();
        let current = match &issue.key {
            None => None,
            Some(key) => {
                let present: Vec<String> = issue
                    .fields
                    .keys()
                    .filter(|f| target_fields.contains_key(*f))
                    .cloned()
                    .collect();
                if present.is_empty() {
                    None
                } else {
                    match ctx.target.get_issue(key, &present).await {
                        Ok(i) => Some(Some(i)),
                        Err(e) if e.status() == Some(404) => Some(None),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        };
        for (field, value) in &issue.fields {
            let d = if issue.key.is_none() {
                Decision::Skipped(NO_KEY.to_owned())
            } else if !target_fields.contains_key(field) {
                Decision::Skipped(FIELD_MISSING.to_owned())
            } else {
                match &current {
                    Some(Some(target_issue)) => decide(
                        &descriptors(value),
                        &descriptors(
                            target_issue
                                .fields
                                .get(field)
                                .unwrap_or(&serde_json::Value::Null),
                        ),
                        &new_id,
                        &workspace,
                    ),
                    _ => Decision::Skipped(NOT_FOUND.to_owned()),
                }
            };
            decided.push((field.clone(), d));
        }
        // One edit per issue, with every field that changes.
        let edit = IssueEdit {
            fields: decided
                .iter()
                .filter_map(|(f, d)| match d {
                    Decision::Set(v) => Some((f.clone(), v.clone())),
                    _ => None,
                })
                .collect(),
        };
        let sent = match (&issue.key, edit.fields.is_empty()) {
            (Some(key), false) => match ctx.target.edit_issue(key, &edit).await {
                Ok(()) => Ok(()),
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => Err(format!(
                    "{}{}",
                    crate::error::error_chain(&e),
                    e.api_body().map(|b| format!(": {b}")).unwrap_or_default()
                )),
            },
            _ => Ok(()),
        };
        for (field, d) in decided {
            let r = results.entry(field.clone()).or_insert_with(|| FieldResult {
                field: field.clone(),
                name: target_fields.get(&field).cloned().flatten(),
                ..FieldResult::default()
            });
            let (outcome, message) = match (d, &sent) {
                (Decision::Set(v), Ok(())) => {
                    r.updated += 1;
                    let ids: Vec<String> = v.iter().filter_map(object_id).collect();
                    (
                        ItemOutcome::Updated,
                        format!("set to objects {}", ids.join(", ")),
                    )
                }
                (Decision::Set(_), Err(m)) => {
                    r.failed += 1;
                    *r.reasons
                        .entry("refused by the target".to_owned())
                        .or_default() += 1;
                    (ItemOutcome::Failed, m.clone())
                }
                (Decision::Unchanged, _) => {
                    r.unchanged += 1;
                    (
                        ItemOutcome::Unchanged,
                        "points at the restored objects already".to_owned(),
                    )
                }
                (Decision::Skipped(why), _) => {
                    r.skipped += 1;
                    let reason = why.split(':').next().unwrap_or(&why).to_owned();
                    *r.reasons.entry(reason).or_default() += 1;
                    (ItemOutcome::Skipped, why)
                }
            };
            ctx.item(format!("{label} {field}"), outcome, message)
                .await?;
        }
        ctx.progress(STAGE, n as u64 + 1, total);
    }
    let fields: Vec<FieldResult> = results.into_values().collect();
    let sum = |f: fn(&FieldResult) -> u64| fields.iter().map(f).sum::<u64>();
    let message = format!(
        "{} issues: {} field values updated, {} unchanged, {} skipped, {} failed",
        total,
        sum(|f| f.updated),
        sum(|f| f.unchanged),
        sum(|f| f.skipped),
        sum(|f| f.failed)
    );
    Ok((
        TaskSummary::Issues(IssuesSummary {
            issues: total,
            fields,
        }),
        message,
    ))
}

/// What one field of one issue should hold: the objects of the backup's value replaced by
/// their restored objects, the field's other values kept; a skip when an object of the
/// restored backup was not restored.
///
/// With `B` the backup's object ids that a restore here knows, `M` their new ids and `C` the
/// target's current ids, the field is done when `M ⊆ C` and every id of `B` still in `C` is
/// one of `M` (a new id may equal an old one on another site); otherwise it becomes
/// `(C \ B) ∪ M`.
fn decide(
    backup: &[AssetsFieldValue],
    current: &[AssetsFieldValue],
    new_id: &impl Fn(&str) -> Lookup,
    workspace: &str,
) -> Decision {
    let mut old: BTreeSet<String> = BTreeSet::new();
    let mut mapped: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    for o in backup.iter().filter_map(object_id) {
        match new_id(&o) {
            Lookup::New(n) => {
                old.insert(o);
                if !mapped.contains(&n) {
                    mapped.push(n);
                }
            }
            Lookup::NotRestored => missing.push(o),
            Lookup::Other => {}
        }
    }
    if !missing.is_empty() {
        return Decision::Skipped(format!("{NOT_RESTORED}: {}", missing.join(", ")));
    }
    let now: BTreeSet<String> = current.iter().filter_map(object_id).collect();
    let done = mapped.iter().all(|n| now.contains(n))
        && now
            .iter()
            .filter(|c| old.contains(*c))
            .all(|c| mapped.contains(c));
    if done {
        return Decision::Unchanged;
    }
    let descriptor = |id: &str| AssetsFieldValue {
        workspace_id: Nullable::Value(workspace.to_owned()),
        id: Nullable::Value(format!("{workspace}:{id}")),
        object_id: Nullable::Value(Id::new(id)),
        extra: Default::default(),
    };
    let mut out: Vec<AssetsFieldValue> = current
        .iter()
        .filter(|d| object_id(d).is_none_or(|id| !old.contains(&id) && !mapped.contains(&id)))
        .cloned()
        .collect();
    out.extend(mapped.iter().map(|n| descriptor(n)));
    Decision::Set(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vals(v: serde_json::Value) -> Vec<AssetsFieldValue> {
        descriptors(&v)
    }

    fn ids(d: &Decision) -> Vec<String> {
        match d {
            Decision::Set(v) => v.iter().filter_map(object_id).collect(),
            Decision::Unchanged => vec!["unchanged".into()],
            Decision::Skipped(why) => vec![why.clone()],
        }
    }

    #[test]
    fn old_objects_become_new_ones_and_a_second_run_changes_nothing() {
        let map = |o: &str| match o {
            "1" => Lookup::New("101".to_owned()),
            "2" => Lookup::New("1".to_owned()),
            "3" => Lookup::NotRestored,
            _ => Lookup::Other,
        };
        let backup = vals(json!([{"objectId": "1"}, {"objectId": "2"}]));
        // The copied issue holds the old ids and an object of another schema.
        let current = vals(json!([{"objectId": "1"}, {"objectId": "77"}, {"id": "w:2"}]));
        let first = decide(&backup, &current, &map, "w");
        assert_eq!(ids(&first), ["77", "101", "1"]);
        let Decision::Set(now) = first else { panic!() };
        assert_eq!(
            serde_json::to_value(&now[1]).unwrap(),
            json!({"workspaceId": "w", "id": "w:101", "objectId": "101"})
        );
        // New id "1" equals an old id: still nothing to change the second time.
        assert_eq!(ids(&decide(&backup, &now, &map, "w")), ["unchanged"]);
        let lost = vals(json!([{"objectId": "3"}]));
        assert_eq!(
            ids(&decide(&lost, &current, &map, "w")),
            ["object not restored: 3"]
        );
        // Objects missing from the target's value are added; another schema's stay.
        assert_eq!(ids(&decide(&backup, &[], &map, "w")), ["101", "1"]);
        let mixed = vals(json!([{"objectId": "1"}, {"objectId": "9"}]));
        assert_eq!(ids(&decide(&mixed, &mixed, &map, "w")), ["9", "101"]);
    }
}
