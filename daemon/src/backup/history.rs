//! Background phase `history`: `GET /object/{id}/history?asc=true` for every object of the
//! backup, read back from the store one page at a time (so the phase never holds more than a
//! page of objects), fetched concurrently. Each history is stored as `{"objectId",
//! "entries"}` under the same identity as its object (its `ORIGINAL_ID` when it has one);
//! `objectId` is the id on the source site.

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::{Ctx, Error, array, id_of, stage};
use crate::store::{NewEntry, kind};

/// Objects read from the store per round: one store page, and one `put_entries` batch.
const ROUND: usize = 500;

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let total = ctx.store.count_entries(ctx.backup, kind::OBJECT).await?;
    ctx.report(stage::HISTORY, 0, total);
    let (mut done, mut entries_total) = (0u64, 0u64);
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
                let obj: Value = serde_json::from_slice(&e.json)?;
                Ok((e.original_id, id_of(&obj).unwrap_or_default()))
            })
            .collect::<Result<Vec<(String, String)>, Error>>()?;
        let n = targets.len() as u64;
        let fetched: Vec<NewEntry> = futures::stream::iter(targets)
            .map(|(identity, object_id)| async move {
                let path = format!("/object/{object_id}/history?asc=true");
                let entries = array(ctx.api(ctx.client.get(&path)).await?, "GET", &path)?;
                Ok::<_, Error>(NewEntry {
                    kind: kind::HISTORY.into(),
                    original_id: identity,
                    value: json!({"objectId": object_id, "entries": entries}),
                })
            })
            .buffer_unordered(ctx.fan_out())
            .try_collect()
            .await?;
        entries_total += fetched
            .iter()
            .map(|e| e.value["entries"].as_array().map_or(0, Vec::len) as u64)
            .sum::<u64>();
        ctx.put(fetched).await?;
        done += n;
        ctx.report(stage::HISTORY, done, total);
        if !full {
            break;
        }
    }
    Ok(format!("{done} objects, {entries_total} history entries"))
}
