//! Background phase `history`: `GET /object/{id}/history?asc=true` for every object of the
//! backup, read back from the store one page at a time (so the phase never holds more than a
//! page of objects), fetched concurrently. Each history is stored as an [`ObjectHistory`]
//! (`{"objectId", "entries"}`) under the same identity as its object (its `ORIGINAL_ID` when
//! it has one); `objectId` is the id on the source site.
//!
//! Objects that already have a history entry in this backup are not read: after a kill the
//! job resumes the phase, and the histories written before it stay (each entry is one
//! object's whole history, written in the same transaction as the rest of its round).

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use super::incremental::{self, StoredObjectId};
use super::{Ctx, Error, new_entry, stage};
use crate::model::ObjectHistory;
use crate::store::kind;

/// Objects read from the store per round: one store page, and one `put_entries` batch.
const ROUND: usize = 500;

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let total = ctx.store.count_entries(ctx.backup, kind::OBJECT).await?;
    ctx.report(stage::HISTORY, 0, total);
    let (mut done, mut entries_total, mut kept, mut taken) = (0u64, 0u64, 0u64, 0u64);
    let backup = ctx.backup;
    let touched = match ctx.parent {
        Some(parent) => Some(incremental::touched(ctx, parent).await?),
        None => None,
    };
    let mut after: Option<String> = None;
    loop {
        let page = ctx
            .store
            .entry_page(ctx.backup, kind::OBJECT, after.as_deref(), ROUND)
            .await?;
        let full = page.len() == ROUND;
        after = page.last().map(|e| e.original_id.clone());
        let targets = page
            .into_iter()
            .map(|e| {
                let obj: StoredObjectId = serde_json::from_slice(&e.json)?;
                Ok((e.original_id, obj.id.as_str().to_owned(), e.hash))
            })
            .collect::<Result<Vec<(String, String, String)>, Error>>()?;
        let n = targets.len() as u64;
        // An incremental backup takes unchanged objects' histories over from its parent.
        let taken_here = match (ctx.parent, &touched) {
            (Some(parent), Some(touched)) => {
                incremental::take_over(ctx, parent, touched, &targets).await?
            }
            _ => 0,
        };
        taken += taken_here;
        let targets: Vec<(String, String)> = targets
            .into_iter()
            .map(|(identity, object_id, _)| (identity, object_id))
            .collect();
        // Objects whose history is stored already (written before a kill, the phase resumed)
        // are not read again.
        let ids: Vec<String> = targets
            .iter()
            .map(|(identity, _)| identity.clone())
            .collect();
        let have: HashSet<String> = ctx
            .store
            .run(move |s| s.existing_entries(backup, kind::HISTORY, &ids))
            .await?
            .into_iter()
            .collect();
        kept += (have.len() as u64).saturating_sub(taken_here);
        let targets: Vec<(String, String)> = targets
            .into_iter()
            .filter(|(identity, _)| !have.contains(identity))
            .collect();
        let fetched: Vec<(String, ObjectHistory)> = futures::stream::iter(targets)
            .map(|(identity, object_id)| async move {
                let entries = ctx.api(ctx.api.object_history(&object_id)).await?;
                let history = ObjectHistory { object_id, entries };
                Ok::<_, Error>((identity, history))
            })
            .buffer_unordered(ctx.fan_out())
            .try_collect()
            .await?;
        entries_total += fetched
            .iter()
            .map(|(_, h)| h.entries.len() as u64)
            .sum::<u64>();
        let entries = fetched
            .iter()
            .map(|(identity, h)| new_entry(kind::HISTORY, identity, h))
            .collect::<Result<Vec<_>, Error>>()?;
        ctx.put(entries).await?;
        done += n;
        ctx.report(stage::HISTORY, done, total);
        if !full {
            break;
        }
    }
    let mut note = format!("{done} objects, {entries_total} history entries");
    if kept > 0 || taken > 0 {
        note.push_str(" read");
    }
    if let Some(parent) = ctx.parent {
        note.push_str(&format!(
            ", {taken} unchanged objects' histories taken over from backup {parent}"
        ));
    }
    if kept > 0 {
        note.push_str(&format!(", {kept} histories kept from before a restart"));
    }
    Ok(note)
}
