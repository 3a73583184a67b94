//! Stages "Restoring reference types" (the schema's own) and "Restoring global reference
//! types" (matched by name on the target; missing ones created). Reference types have no
//! update or delete endpoint on Cloud, so matching by name is the only way not to pile up
//! duplicates of global ones.

use super::ctx::{Ctx, Flow};
use super::entities::{Finder, Listing, create_or_find, id_by_name};
use super::idmap::kinds;
use super::{Error, Stage};
use crate::model::{Id, ReferenceType, ReferenceTypeIn};

pub(super) async fn run(ctx: &mut Ctx<'_>, global: bool) -> Result<Flow, Error> {
    let stage = if global {
        Stage::GlobalReferenceTypes
    } else {
        Stage::ReferenceTypes
    };
    let plans: Vec<_> = ctx
        .plan
        .reference_types
        .iter()
        .filter(|r| r.global == global)
        .cloned()
        .collect();
    let total = plans.len() as u64;
    let mapped = |ctx: &Ctx<'_>, id: &str| ctx.ids.get(kinds::REF_TYPE, id).is_some();
    let mut done = plans.iter().filter(|p| mapped(ctx, &p.old_id)).count() as u64;
    let resumed = ctx.start(stage, done, total).await?;
    if done == total {
        return Ok(Flow::Continue);
    }
    let schema = if global { None } else { Some(ctx.schema_id()?) };
    let existing: Vec<ReferenceType> = if resumed {
        ctx.api
            .list_reference_types(schema.as_deref(), false)
            .await?
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
                let Some(def) = ctx.source.ref_types.iter().find(|r| r.id == p.old_id) else {
                    continue;
                };
                let body = ReferenceTypeIn {
                    name: def.name.clone(),
                    description: def.description.clone(),
                    color: def.color.clone(),
                    object_schema_id: schema.as_deref().map(Id::new),
                };
                let finder = Finder::Named {
                    list: Listing::ReferenceTypes(schema.as_deref()),
                    name: &def.name,
                };
                create_or_find(ctx.api, || ctx.api.create_reference_type(&body), finder)
                    .await?
                    .id()
            }
        };
        ctx.record(kinds::REF_TYPE, &p.old_id, &new).await?;
        done += 1;
        ctx.progress(stage, done);
    }
    Ok(Flow::Continue)
}
