//! Stages "Restoring global status types" and "Restoring schema status types".
//!
//! A global status that exists on the target (same name) is mapped, not duplicated — the plan
//! found it; a missing one is created without `objectSchemaId`. The schema's own statuses are
//! created in the new schema. Object values and Status attribute configurations use the
//! resulting old -> new map.

use super::ctx::{Ctx, Flow};
use super::entities::{Finder, Listing, create_or_find, id_by_name};
use super::idmap::kinds;
use super::{Error, Stage};
use crate::model::{Id, StatusType, StatusTypeIn};

pub(super) async fn run(ctx: &mut Ctx<'_>, global: bool) -> Result<Flow, Error> {
    let stage = if global {
        Stage::GlobalStatusTypes
    } else {
        Stage::SchemaStatusTypes
    };
    let plans: Vec<_> = ctx
        .plan
        .status_types
        .iter()
        .filter(|s| s.global == global)
        .cloned()
        .collect();
    let total = plans.len() as u64;
    let mapped = |ctx: &Ctx<'_>, id: &str| ctx.ids.get(kinds::STATUS, id).is_some();
    let mut done = plans.iter().filter(|p| mapped(ctx, &p.old_id)).count() as u64;
    let resumed = ctx.start(stage, done, total).await?;
    if done == total {
        return Ok(Flow::Continue);
    }
    let schema = if global { None } else { Some(ctx.schema_id()?) };
    // After an interruption, what exists is looked up once instead of per status.
    let existing: Vec<StatusType> = if resumed {
        ctx.api.list_status_types(schema.as_deref()).await?
    } else {
        Vec::new()
    };
    for p in &plans {
        if mapped(ctx, &p.old_id) {
            continue;
        }
        if ctx.cancel.is_cancelled() {
            return Ok(Flow::Stopped);
        }
        let new = match p
            .existing_id
            .clone()
            .or_else(|| id_by_name(&existing, &p.name))
        {
            Some(id) => id,
            None => {
                let Some(def) = ctx.source.statuses.iter().find(|s| s.id == p.old_id) else {
                    continue;
                };
                let body = StatusTypeIn {
                    name: def.name.clone(),
                    description: def.description.clone(),
                    category: def.category,
                    object_schema_id: schema.as_deref().map(Id::new),
                };
                let finder = Finder::Named {
                    list: Listing::StatusTypes(schema.as_deref()),
                    name: &def.name,
                };
                create_or_find(ctx.api, || ctx.api.create_status_type(&body), finder)
                    .await?
                    .id()
            }
        };
        ctx.record(kinds::STATUS, &p.old_id, &new).await?;
        done += 1;
        ctx.progress(stage, done);
    }
    Ok(Flow::Continue)
}
