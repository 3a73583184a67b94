//! Into an existing schema, the backup objects the plan found there already (see `existing`)
//! are skipped: each is mapped to the existing object — so references to it point there — and
//! logged once as `Skipped (duplicate of KEY)`, in one store transaction with its mapping
//! ([`kinds::OBJECT_SKIPPED`]), so a resumed restore neither logs nor creates it again. So
//! are the objects whose unique value the schema holds already (`unique`): mapped to the
//! object holding it, logged as `Skipped (unique NAME "VALUE" is held by KEY)`.
//!
//! The existing objects of the plan are also what the "never twice" lookups of the object
//! stage must not take for objects of this restore: with `--duplicates` an existing object
//! carries the same `ORIGINAL_ID` as the one being created ([`preexisting`]).

use std::collections::HashSet;

use super::ctx::{Ctx, ObjectIds};
use super::idmap::{self, kinds};
use super::order::ObjectGraph;
use super::{Error, log};
use crate::store::IdMapping;

/// Ids of the target objects that existed when the restore was planned and carry a backup
/// object's identity.
pub(super) fn preexisting(ctx: &Ctx<'_>) -> HashSet<u64> {
    ctx.plan
        .existing
        .iter()
        .flat_map(|e| &e.duplicates)
        .filter_map(|d| d.existing_id.parse().ok())
        .collect()
}

/// Marks the duplicates an earlier run recorded as skipped.
pub(super) async fn load(ctx: &Ctx<'_>, g: &ObjectGraph, ids: &mut ObjectIds) -> Result<(), Error> {
    idmap::for_each(ctx.store, ctx.id, kinds::OBJECT_SKIPPED, |old, new| {
        if let (Some(i), Ok(n)) = (g.index_of_orig(&old), new.parse::<u64>()) {
            ids.new_ids[i as usize] = n;
            ids.skipped[i as usize] = true;
        }
    })
    .await?;
    Ok(())
}

/// Skips (maps and logs) every planned duplicate not skipped yet, unless the plan creates
/// duplicates anyway, and every object whose unique value the schema holds (see `unique`).
/// Returns how many it skipped now.
pub(super) async fn skip(
    ctx: &Ctx<'_>,
    g: &ObjectGraph,
    ids: &mut ObjectIds,
) -> Result<u64, Error> {
    let Some(existing) = ctx.plan.existing.as_ref() else {
        return Ok(0);
    };
    // (identity, the object it maps to, its log line); the lines are few dozen bytes each.
    let duplicates = existing
        .duplicates
        .iter()
        .filter(|_| existing.skips())
        .map(|d| {
            let e = log::object_skipped(&d.key, &d.existing_key);
            (&d.identity, &d.existing_id, e)
        });
    let taken = existing.unique_taken.iter().map(|u| {
        let e = log::object_unique_taken(&u.key, &u.attribute, &u.value, &u.taken_by);
        (&u.identity, &u.taken_by_id, e)
    });
    let all: Vec<_> = duplicates.chain(taken).collect();
    let mut n = 0;
    for chunk in all.chunks(super::objects::CHUNK * 4) {
        let mut maps = Vec::new();
        let mut entries = Vec::new();
        for (identity, existing_id, entry) in chunk {
            let (Some(i), Ok(new)) = (g.index_of_orig(identity), existing_id.parse::<u64>()) else {
                continue;
            };
            let i = i as usize;
            if ids.skipped[i] || ids.new_ids[i] != 0 {
                continue;
            }
            ids.new_ids[i] = new;
            ids.skipped[i] = true;
            maps.push(IdMapping {
                kind: kinds::OBJECT_SKIPPED.to_owned(),
                old_id: (*identity).clone(),
                new_id: (*existing_id).clone(),
            });
            ctx.event(log::event(entry));
            entries.push(entry.clone());
            n += 1;
        }
        ctx.record_batch(maps, entries).await?;
    }
    Ok(n)
}
