//! Stage "Restoring object references": the references the object entries stage could not set
//! because they sit in a cycle (or point at their own object) — set now that every object
//! exists, one `PUT /object/{id}` per object carrying only the attributes that hold such a
//! reference (with all their values, since a PUT replaces an attribute's values).
//!
//! A PUT is idempotent, so a resumed stage simply sets them again; no bookkeeping per object.

use std::collections::VecDeque;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::ctx::{Ctx, Flow, ObjectIds};
use super::objects::{CHUNK, fetch, load_ids};
use super::order::ObjectGraph;
use super::values::Lookup;
use super::{Error, Stage, log};
use crate::store::LogLevel;

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let g = ctx.graph().await?;
    let ids = load_ids(ctx, &g).await?;
    let flow = run_with(ctx, &g, &ids).await;
    ctx.objects = Some(ids);
    flow
}

async fn run_with(ctx: &mut Ctx<'_>, g: &ObjectGraph, ids: &ObjectIds) -> Result<Flow, Error> {
    let mut todo: VecDeque<u32> = (0..g.len() as u32)
        .filter(|i| {
            // A skipped duplicate is the existing object: not ours to change.
            g.has_deferred(*i) && ids.new_ids[*i as usize] != 0 && !ids.skipped[*i as usize]
        })
        .collect();
    let total = todo.len() as u64;
    ctx.start(Stage::ObjectReferences, 0, total).await?;
    let lookup = Lookup::new(ctx);
    let limit = ctx.fan_out();
    let mut in_flight = FuturesUnordered::new();
    let mut ready = VecDeque::new();
    let (mut done, mut stop, mut fatal) = (0u64, ctx.cancel.is_cancelled(), None::<Error>);
    let mut notes = Vec::new();
    loop {
        while !stop && in_flight.len() < limit {
            let Some((i, obj)) = ready.pop_front() else {
                if todo.is_empty() {
                    break;
                }
                let chunk: Vec<u32> = todo.drain(..CHUNK.min(todo.len())).collect();
                ready.extend(fetch(ctx, g, &chunk).await?);
                continue;
            };
            let key = obj.key().to_owned();
            let Some(built) = lookup.references_body(g, ids, i, &obj) else {
                done += 1;
                continue;
            };
            notes.extend(
                built
                    .notes
                    .into_iter()
                    .map(|n| (key.clone(), LogLevel::Warn, n)),
            );
            let new_id = ids.new_ids[i as usize].to_string();
            let api = ctx.api;
            in_flight.push(async move {
                let r = api.update_object(&new_id, &built.body).await;
                (key, r)
            });
        }
        let Some((key, result)) = in_flight.next().await else {
            break;
        };
        match result {
            Ok(()) => {}
            Err(e) if e.is_refusal() => {
                let body = e.api_body().cloned().unwrap_or_default();
                notes.push((
                    key,
                    LogLevel::Error,
                    format!("Setting references in cycles failed: {body}"),
                ));
            }
            Err(e) => {
                stop = true;
                fatal.get_or_insert(e.into());
            }
        }
        done += 1;
        ctx.progress(Stage::ObjectReferences, done);
        if ctx.cancel.is_cancelled() {
            stop = true;
        }
    }
    let entries: Vec<_> = notes
        .into_iter()
        .map(|(key, level, n)| {
            let e = log::note(level, &key, n);
            ctx.event(log::event(&e));
            e
        })
        .collect();
    ctx.record_batch(Vec::new(), entries).await?;
    if let Some(e) = fatal {
        return Err(e);
    }
    if stop {
        return Ok(Flow::Stopped);
    }
    Ok(Flow::Continue)
}
