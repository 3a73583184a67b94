//! The walk the per-object background phases share (comments, attachments): every object of
//! the backup, read back from the store a page at a time (so a phase never holds more than a
//! page of objects), those that already have an entry of the phase's kind left out (written
//! before a kill; the job resumes the phase), the others fetched concurrently and their
//! entries written one page per `put_entries` batch — an object's entries always together.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;

use super::{Ctx, Error};
use crate::model::Id;
use crate::store::{NewEntry, kind};

/// Objects read from the store per round: one store page, and one `put_entries` batch.
const ROUND: usize = 500;

/// All a phase reads of a stored object: its id at the source.
#[derive(Deserialize)]
struct StoredObjectId {
    id: Id,
}

/// Objects walked and objects whose entries were already there.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Walked {
    pub objects: u64,
    pub kept: u64,
}

/// Calls `fetch(identity, source id)` for every object without an entry of `marker` kind and
/// writes the entries it returns; reports progress under `stage`.
pub(super) async fn walk<'c, F, Fut>(
    ctx: &'c Ctx<'_>,
    stage: &str,
    marker: &'static str,
    fetch: F,
) -> Result<Walked, Error>
where
    F: Fn(String, String) -> Fut + Sync,
    Fut: Future<Output = Result<Vec<NewEntry>, Error>> + Send + 'c,
{
    let total = ctx.store.count_entries(ctx.backup, kind::OBJECT).await?;
    ctx.report(stage, 0, total);
    let backup = ctx.backup;
    let mut walked = Walked::default();
    let mut after: Option<String> = None;
    loop {
        let page = ctx
            .store
            .entry_page(backup, kind::OBJECT, after.as_deref(), ROUND)
            .await?;
        let full = page.len() == ROUND;
        after = page.last().map(|e| e.original_id.clone());
        let targets = page
            .into_iter()
            .map(|e| {
                let obj: StoredObjectId = serde_json::from_slice(&e.json)?;
                Ok((e.original_id, obj.id.as_str().to_owned()))
            })
            .collect::<Result<Vec<(String, String)>, Error>>()?;
        let n = targets.len() as u64;
        let ids: Vec<String> = targets.iter().map(|(i, _)| i.clone()).collect();
        let have: HashSet<String> = ctx
            .store
            .run(move |s| s.existing_entries(backup, marker, &ids))
            .await?
            .into_iter()
            .collect();
        walked.kept += have.len() as u64;
        let fetched: Vec<Vec<NewEntry>> = futures::stream::iter(targets)
            .filter(|(identity, _)| std::future::ready(!have.contains(identity)))
            .map(|(identity, object_id)| fetch(identity, object_id))
            .buffer_unordered(ctx.fan_out())
            .try_collect()
            .await?;
        ctx.put(fetched.into_iter().flatten().collect()).await?;
        walked.objects += n;
        ctx.report(stage, walked.objects, total);
        if !full {
            break;
        }
    }
    Ok(walked)
}
