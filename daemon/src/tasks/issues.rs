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
//! Object ids: the issues hold the source's object ids (a Data Center source: object keys);
//! the restore's id map is keyed by the objects' manifest ids (their `ORIGINAL_ID`), so the
//! backup's objects are read once to map one to the other.
//!
//! The target's form ([`Form`], reference §18.4 and §19): Assets Cloud fields hold
//! `{workspaceId, id, objectId}` descriptors; Data Center fields hold object keys
//! (`[{"key": "ITSM-12"}]`, Jira's v2 API). On a Data Center target the objects of the schemas
//! restored here are listed once (one AQL scan per schema, without attribute values) to turn
//! their keys into ids and back; a key outside them is another object, kept as it is, and an
//! empty key (the field names an object the site does not have) is dropped when the field is
//! rewritten.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{Ctx, Error, TaskSummary};
use crate::assets::{AqlPager, Flavor};
use crate::model::{AssetsFieldValue, Id, IssueEdit, Nullable, StoredIssue};
use crate::restore::id_kinds;
use crate::store::{ItemOutcome, PhaseStatus, kind};

/// Progress stage name.
const STAGE: &str = "issues";

/// Objects per AQL page when listing a Data Center target's keys.
const KEY_PAGE: usize = 500;

/// Why a field of an issue was skipped.
const NOT_FOUND: &str = "issue not found on the target";
const FIELD_MISSING: &str = "field missing on the target";
const NOT_RESTORED: &str = "object not restored";
const NO_KEY: &str = "the backup has no key for the issue";
const GONE: &str = "restored object no longer on the target";

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

/// How a descriptor names its object: its id (Cloud), else its key (Data Center).
fn object_ref(v: &AssetsFieldValue) -> Option<String> {
    object_id(v).or_else(|| v.key.get().filter(|k| !k.is_empty()).cloned())
}

/// The field value as descriptors (none for null or a value of another shape).
fn descriptors(v: &serde_json::Value) -> Vec<AssetsFieldValue> {
    Vec::<AssetsFieldValue>::deserialize(v).unwrap_or_default()
}

/// A backup object's own id and key (the issues point at it by one of them).
#[derive(Deserialize)]
struct ObjectId {
    id: Id,
    #[serde(default, rename = "objectKey")]
    key: Option<String>,
}

/// What becomes of an object a field names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lookup {
    /// The object with this id on the source was restored to the new id.
    New { old: String, new: String },
    /// It is an object of the restored backup that was not restored.
    NotRestored,
    /// No restore here knows it: another schema's object, kept as it is.
    Other,
}

/// What a field names (a source object id or key) -> (the source object's id, its new id;
/// `None`: not restored) for the `wanted` objects of `backup`, through the id map of
/// `restore`.
async fn object_map(
    ctx: &Ctx<'_>,
    restore: crate::store::RestoreId,
    backup: crate::store::BackupId,
    wanted: &HashSet<String>,
) -> Result<HashMap<String, (String, Option<String>)>, Error> {
    // Name -> (source id, manifest id).
    let mut manifest: HashMap<String, (String, String)> = HashMap::new();
    ctx.for_each_entry(backup, kind::OBJECT, |orig, o: ObjectId| {
        let id = o.id.as_str().to_owned();
        for name in std::iter::once(id.clone()).chain(o.key) {
            if wanted.contains(&name) {
                manifest.insert(name, (id.clone(), orig.clone()));
            }
        }
        Ok(())
    })
    .await?;
    let ids = ctx.id_map(restore, id_kinds::OBJECT).await?;
    Ok(manifest
        .into_iter()
        .map(|(name, (old, orig))| {
            let new = ids.get(&orig).filter(|n| !n.is_empty()).cloned();
            (name, (old, new))
        })
        .collect())
}

/// How the target's Assets fields name objects.
#[derive(Debug)]
enum Form {
    /// Assets Cloud: descriptors by object id in this workspace.
    Cloud { workspace: String },
    /// Data Center: object keys; key <-> id of the objects of the schemas restored here.
    Dc {
        by_key: HashMap<String, String>,
        by_id: HashMap<String, String>,
    },
}

/// What a descriptor of a field's current value names on the target.
#[derive(Debug, PartialEq, Eq)]
enum Current {
    /// The object with this id.
    Object(String),
    /// An object the task does not know (another schema's): kept as it is.
    Unknown,
    /// No object at all (an empty key): dropped when the field is rewritten.
    Dangling,
}

impl Form {
    /// The form of `ctx`'s target: Cloud's workspace, or the keys of the Data Center target's
    /// objects in `schemas` (one AQL scan each).
    async fn of(ctx: &Ctx<'_>, schemas: &BTreeSet<String>) -> Result<Form, Error> {
        if ctx.target.flavor() == Flavor::Cloud {
            let workspace = ctx.target.discover_workspace().await?;
            return Ok(Form::Cloud { workspace });
        }
        let (mut by_key, mut by_id) = (HashMap::new(), HashMap::new());
        for schema in schemas {
            let ql = format!("objectSchemaId = {schema}");
            let mut pager = AqlPager::new(ctx.target, &ql, KEY_PAGE).without_attributes();
            while let Some(page) = pager.next_page().await? {
                for o in page.values {
                    let (id, key) = (o.id.as_str().to_owned(), o.key().to_owned());
                    if !key.is_empty() {
                        by_key.insert(key.clone(), id.clone());
                        by_id.insert(id, key);
                    }
                }
            }
        }
        Ok(Form::Dc { by_key, by_id })
    }

    /// What `d`, a descriptor of a field on the target, names.
    fn current(&self, d: &AssetsFieldValue) -> Current {
        match self {
            Form::Cloud { .. } => object_id(d).map_or(Current::Unknown, Current::Object),
            Form::Dc { by_key, .. } => {
                match (d.key.get().filter(|k| !k.is_empty()), object_id(d)) {
                    (Some(k), _) => by_key
                        .get(k)
                        .map_or(Current::Unknown, |id| Current::Object(id.clone())),
                    (None, Some(id)) => Current::Object(id),
                    (None, None) => Current::Dangling,
                }
            }
        }
    }

    /// The descriptor naming the target's object `id` (`None`: a Data Center target that
    /// does not list it).
    fn descriptor(&self, id: &str) -> Option<AssetsFieldValue> {
        match self {
            Form::Cloud { workspace } => Some(AssetsFieldValue {
                workspace_id: Nullable::Value(workspace.clone()),
                id: Nullable::Value(format!("{workspace}:{id}")),
                object_id: Nullable::Value(Id::new(id)),
                ..AssetsFieldValue::default()
            }),
            Form::Dc { by_id, .. } => by_id.get(id).map(|key| AssetsFieldValue {
                key: Nullable::Value(key.clone()),
                ..AssetsFieldValue::default()
            }),
        }
    }
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
        .filter_map(|d| object_ref(&d))
        .collect();
    let own = object_map(ctx, ctx.restore.id, backup.id, &wanted).await?;
    let mut schemas: BTreeSet<String> = ctx.restore.new_schema_id.iter().cloned().collect();
    let mut others: HashMap<String, (String, Option<String>)> = HashMap::new();
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
        schemas.extend(r.new_schema_id.clone());
        for (name, found) in object_map(ctx, r.id, r.backup_id, &wanted).await? {
            others.entry(name).or_insert(found);
        }
    }
    let new_id = |name: &str| -> Lookup {
        let found = |(old, new): &(String, Option<String>)| {
            new.as_ref().map(|n| Lookup::New {
                old: old.clone(),
                new: n.clone(),
            })
        };
        match own.get(name) {
            Some(f) => found(f).unwrap_or(Lookup::NotRestored),
            None => others.get(name).and_then(found).unwrap_or(Lookup::Other),
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
    let form = Form::of(ctx, &schemas).await?;

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
                        &form,
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
                    let ids: Vec<String> = v.iter().filter_map(object_ref).collect();
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
/// With `B` the source ids of the backup's objects that a restore here knows, `M` their new
/// ids and `C` the ids the target's value names now, the field is done when `M ⊆ C`, every id
/// of `B` still in `C` is one of `M` (a new id may equal an old one on another site) and no
/// descriptor names nothing; otherwise it becomes `(C \ B) ∪ M`, with the descriptors of
/// objects the task does not know kept and those naming nothing dropped.
fn decide(
    backup: &[AssetsFieldValue],
    current: &[AssetsFieldValue],
    new_id: &impl Fn(&str) -> Lookup,
    form: &Form,
) -> Decision {
    let mut old: BTreeSet<String> = BTreeSet::new();
    let mut mapped: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    for o in backup.iter().filter_map(object_ref) {
        match new_id(&o) {
            Lookup::New { old: o, new } => {
                old.insert(o);
                if !mapped.contains(&new) {
                    mapped.push(new);
                }
            }
            Lookup::NotRestored => missing.push(o),
            Lookup::Other => {}
        }
    }
    if !missing.is_empty() {
        return Decision::Skipped(format!("{NOT_RESTORED}: {}", missing.join(", ")));
    }
    let named: Vec<Current> = current.iter().map(|d| form.current(d)).collect();
    let now: BTreeSet<&str> = named
        .iter()
        .filter_map(|c| match c {
            Current::Object(id) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let done = !named.contains(&Current::Dangling)
        && mapped.iter().all(|n| now.contains(n.as_str()))
        && now
            .iter()
            .filter(|c| old.contains(**c))
            .all(|c| mapped.iter().any(|m| m == c));
    if done {
        return Decision::Unchanged;
    }
    let mut added = Vec::with_capacity(mapped.len());
    for n in &mapped {
        match form.descriptor(n) {
            Some(d) => added.push(d),
            None => return Decision::Skipped(format!("{GONE}: {n}")),
        }
    }
    let mut out: Vec<AssetsFieldValue> = current
        .iter()
        .zip(&named)
        .filter(|(_, c)| match c {
            Current::Object(id) => !old.contains(id) && !mapped.contains(id),
            Current::Unknown => true,
            Current::Dangling => false,
        })
        .map(|(d, _)| d.clone())
        .collect();
    out.extend(added);
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
            Decision::Set(v) => v.iter().filter_map(object_ref).collect(),
            Decision::Unchanged => vec!["unchanged".into()],
            Decision::Skipped(why) => vec![why.clone()],
        }
    }

    fn new(old: &str, new: &str) -> Lookup {
        Lookup::New {
            old: old.to_owned(),
            new: new.to_owned(),
        }
    }

    fn cloud() -> Form {
        Form::Cloud {
            workspace: "w".to_owned(),
        }
    }

    #[test]
    fn old_objects_become_new_ones_and_a_second_run_changes_nothing() {
        let map = |o: &str| match o {
            "1" => new("1", "101"),
            "2" => new("2", "1"),
            "3" => Lookup::NotRestored,
            _ => Lookup::Other,
        };
        let backup = vals(json!([{"objectId": "1"}, {"objectId": "2"}]));
        // The copied issue holds the old ids and an object of another schema.
        let current = vals(json!([{"objectId": "1"}, {"objectId": "77"}, {"id": "w:2"}]));
        let first = decide(&backup, &current, &map, &cloud());
        assert_eq!(ids(&first), ["77", "101", "1"]);
        let Decision::Set(now) = first else { panic!() };
        assert_eq!(
            serde_json::to_value(&now[1]).unwrap(),
            json!({"workspaceId": "w", "id": "w:101", "objectId": "101"})
        );
        // New id "1" equals an old id: still nothing to change the second time.
        assert_eq!(ids(&decide(&backup, &now, &map, &cloud())), ["unchanged"]);
        let lost = vals(json!([{"objectId": "3"}]));
        assert_eq!(
            ids(&decide(&lost, &current, &map, &cloud())),
            ["object not restored: 3"]
        );
        // Objects missing from the target's value are added; another schema's stay.
        assert_eq!(ids(&decide(&backup, &[], &map, &cloud())), ["101", "1"]);
        let mixed = vals(json!([{"objectId": "1"}, {"objectId": "9"}]));
        assert_eq!(ids(&decide(&mixed, &mixed, &map, &cloud())), ["9", "101"]);
    }

    #[test]
    fn data_center_fields_name_objects_by_key() {
        // Source keys ITSM-1 (id 1) and LOC-2 (id 2) were restored as ids 5 and 1, whose keys
        // on the target are NEW-5 and NEWL-1.
        let map = |o: &str| match o {
            "ITSM-1" => new("1", "5"),
            "LOC-2" => new("2", "1"),
            "ITSM-3" => Lookup::NotRestored,
            _ => Lookup::Other,
        };
        let pairs = [("NEW-5", "5"), ("NEWL-1", "1"), ("NEWL-2", "2")];
        let dc = Form::Dc {
            by_key: pairs
                .iter()
                .map(|(k, i)| ((*k).to_owned(), (*i).to_owned()))
                .collect(),
            by_id: pairs
                .iter()
                .map(|(k, i)| ((*i).to_owned(), (*k).to_owned()))
                .collect(),
        };
        let backup = vals(json!([{"key": "ITSM-1"}, {"key": "LOC-2"}]));
        // The copied issue names the old ids 1 and 2, shown as the target's keys of those
        // ids; one old id has no object there (empty key); OTHER-9 is not a restored object.
        let current =
            vals(json!([{"key": "NEWL-1"}, {"key": "NEWL-2"}, {"key": ""}, {"key": "OTHER-9"}]));
        let first = decide(&backup, &current, &map, &dc);
        assert_eq!(ids(&first), ["OTHER-9", "NEW-5", "NEWL-1"]);
        let Decision::Set(now) = first else { panic!() };
        assert_eq!(
            serde_json::to_value(&now[1]).unwrap(),
            json!({"key": "NEW-5"})
        );
        assert_eq!(ids(&decide(&backup, &now, &map, &dc)), ["unchanged"]);
        // Only a dangling key left to drop: still a rewrite.
        let mut stale = now.clone();
        stale.push(AssetsFieldValue {
            key: Nullable::Value(String::new()),
            ..AssetsFieldValue::default()
        });
        assert_eq!(
            ids(&decide(&backup, &stale, &map, &dc)),
            ["OTHER-9", "NEW-5", "NEWL-1"]
        );
        let lost = vals(json!([{"key": "ITSM-3"}]));
        assert_eq!(
            ids(&decide(&lost, &current, &map, &dc)),
            ["object not restored: ITSM-3"]
        );
        // A restored object the target no longer lists.
        let gone = |_: &str| new("1", "77");
        assert_eq!(
            ids(&decide(&backup, &[], &gone, &dc)),
            ["restored object no longer on the target: 77"]
        );
    }
}
