//! Incremental capture: which objects' history an incremental backup takes over from its
//! parent (the previous complete backup of the same site and schema) by reference, without a
//! request.
//!
//! The objects themselves are always read (AQL pages, 500 objects a request). An object's
//! history is taken over when, conservatively:
//!
//! 1. its stored JSON has the same content hash as in the parent — the same `updated`
//!    timestamp *and* the same values, status, label, avatar and the labels/keys of the
//!    objects it references (a reference's display changes without `updated` moving, and so
//!    does an object whose referenced object was deleted: the hash sees both) — or only what
//!    it shows of the objects it references changed: same `updated`, same references
//!    (attribute and target), so nothing was written to its own history;
//! 2. no object that is new or gone references it, and no changed object added or removed a
//!    reference to it (same attribute, same target in both versions counts as kept): a
//!    reference added, changed or removed on the *other* object can add entries to this
//!    object's history without its own JSON changing; a reference kept cannot;
//! 3. the parent has a history entry for it (a parent whose history phase failed or was
//!    partial passes on only what it has).
//!
//! Everything else is read. What still cannot be seen without reading history — a user's
//! profile shown in old entries changing, entries Assets adds for reasons outside the
//! object and its references — is refreshed by the full backup every `full_every` backups
//! (schedules; default 7) or by `backup run --full`.
//!
//! Nothing is chained: a taken-over history is the parent's blob referenced by this backup's
//! own manifest row, so deleting the parent (or any backup) leaves this one whole.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Deserialize;

use super::{Ctx, Error};
use crate::model::Object;
use crate::store::{BackupId, kind};

/// `(original_id, hash)` pairs read per store query.
const PAGE: usize = 1000;

/// What changed since the parent, as far as histories go. Memory is proportional to the
/// changes, not to the schema.
#[derive(Debug, Default)]
pub(super) struct Changes {
    /// Object ids (on the source site) whose history must be read even if their own JSON did
    /// not change: objects changed, new or gone, and the objects whose references to them
    /// came or went.
    touched: HashSet<String>,
    /// Identities of objects whose JSON changed with the same `updated` and the same
    /// references: only what they show of a referenced object moved (its label, say), which
    /// writes nothing to their own history.
    quiet: HashSet<String>,
}

/// The [`Changes`] since `parent`.
pub(super) async fn touched(ctx: &Ctx<'_>, parent: BackupId) -> Result<Changes, Error> {
    let mut changes = Changes::default();
    // Changed and new objects: this backup's version (and the parent's, for changed ones).
    each_difference(ctx, ctx.backup, parent, true, &mut changes).await?;
    // Gone objects: the parent's version.
    each_difference(ctx, parent, ctx.backup, false, &mut changes).await?;
    Ok(changes)
}

/// Pages through the objects of `of`, compares each with `other`, and adds the ids of those
/// that differ (with their references, in both versions where there are two) to `touched`.
/// `changes` = count objects whose hash differs; otherwise only objects `other` lacks.
async fn each_difference(
    ctx: &Ctx<'_>,
    of: BackupId,
    other: BackupId,
    changes: bool,
    found: &mut Changes,
) -> Result<(), Error> {
    let mut after: Option<String> = None;
    loop {
        let cursor = after.clone();
        let page = ctx
            .store
            .run(move |s| s.entry_hashes(of, kind::OBJECT, cursor.as_deref(), PAGE))
            .await?;
        let full = page.len() == PAGE;
        after = page.last().map(|(id, _)| id.clone());
        let ids: Vec<String> = page.iter().map(|(id, _)| id.clone()).collect();
        let theirs: HashMap<String, String> = ctx
            .store
            .run(move |s| s.entry_hashes_of(other, kind::OBJECT, &ids))
            .await?
            .into_iter()
            .collect();
        let differ: Vec<String> = page
            .into_iter()
            .filter(|(id, hash)| match theirs.get(id) {
                None => true,
                Some(h) => changes && h != hash,
            })
            .map(|(id, _)| id)
            .collect();
        if !differ.is_empty() {
            let changed: Vec<String> = differ
                .iter()
                .filter(|id| theirs.contains_key(*id))
                .cloned()
                .collect();
            let mine = references(ctx, of, differ).await?;
            let before = references(ctx, other, changed).await?;
            for (identity, now) in mine {
                match before.get(&identity) {
                    // Changed, but neither modified (same `updated`) nor re-referenced.
                    Some(old)
                        if old.updated.is_some()
                            && old.updated == now.updated
                            && old.refs == now.refs =>
                    {
                        found.quiet.insert(identity);
                    }
                    // Changed: only a reference added or removed on it writes to the other
                    // object's history; references it kept cannot have.
                    Some(old) => {
                        found.touched.insert(now.id);
                        let moved = now.refs.symmetric_difference(&old.refs);
                        found.touched.extend(moved.map(|(_, t)| t.clone()));
                    }
                    // New (or gone, when `of` is the parent): every reference came or went.
                    None => {
                        found.touched.insert(now.id);
                        found.touched.extend(now.refs.into_iter().map(|(_, t)| t));
                    }
                }
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// What [`Changes`] compares of one version of an object.
struct Version {
    /// Its id at the source.
    id: String,
    /// Its `updated` timestamp.
    updated: Option<String>,
    /// Its references as `(attribute id, referenced object id)`.
    refs: BTreeSet<(String, String)>,
}

/// The [`Version`]s of objects `ids` (identities) of `backup`.
async fn references(
    ctx: &Ctx<'_>,
    backup: BackupId,
    ids: Vec<String>,
) -> Result<HashMap<String, Version>, Error> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let entries = ctx.store.entries_by_id(backup, kind::OBJECT, ids).await?;
    for e in entries {
        let obj: Object = serde_json::from_slice(&e.json)?;
        let refs = obj
            .attributes()
            .iter()
            .flat_map(|a| {
                let attr = a.object_type_attribute_id.as_str().to_owned();
                a.values()
                    .iter()
                    .filter_map(move |v| Some((attr.clone(), v.referenced_id()?.to_owned())))
            })
            .collect();
        let version = Version {
            id: obj.id.as_str().to_owned(),
            updated: obj.updated.get().cloned(),
            refs,
        };
        out.insert(e.original_id, version);
    }
    Ok(out)
}

/// All the history phase reads of a stored object: its id at the source.
#[derive(Deserialize)]
pub(super) struct StoredObjectId {
    pub id: crate::model::Id,
}

/// Of one page of objects (`(identity, object id, hash)`), those whose history is taken
/// over from `parent`: same hash there (or changed quietly), not touched.
pub(super) async fn take_over(
    ctx: &Ctx<'_>,
    parent: BackupId,
    changes: &Changes,
    page: &[(String, String, String)],
) -> Result<u64, Error> {
    let ids: Vec<String> = page
        .iter()
        .map(|(identity, _, _)| identity.clone())
        .collect();
    let theirs: HashMap<String, String> = ctx
        .store
        .run(move |s| s.entry_hashes_of(parent, kind::OBJECT, &ids))
        .await?
        .into_iter()
        .collect();
    let same: Vec<String> = page
        .iter()
        .filter(|(identity, object_id, hash)| {
            let same = theirs.get(identity) == Some(hash)
                || (theirs.contains_key(identity) && changes.quiet.contains(identity));
            same && !changes.touched.contains(object_id)
        })
        .map(|(identity, _, _)| identity.clone())
        .collect();
    if same.is_empty() {
        return Ok(0);
    }
    let backup = ctx.backup;
    Ok(ctx
        .store
        .run(move |s| s.copy_entries(parent, backup, kind::HISTORY, &same))
        .await?)
}
