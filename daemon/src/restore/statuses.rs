//! Stages "Restoring global status types" and "Restoring schema status types".
//!
//! A global status that exists on the target (same name) is mapped, not duplicated — the plan
//! found it; a missing one is created without `objectSchemaId`. The schema's own statuses are
//! created in the new schema. Object values and Status attribute configurations use the
//! resulting old -> new map.

use super::ctx::{Ctx, Flow};
use super::entities::{Finder, Listing, create_or_find};
use super::idmap::kinds;
use super::named::{NamedEntities, NamedStage};
use super::{Error, Stage};
use crate::model::{Id, StatusTypeIn};

pub(super) async fn run(ctx: &mut Ctx<'_>, global: bool) -> Result<Flow, Error> {
    let stage = NamedStage {
        stage: if global {
            Stage::GlobalStatusTypes
        } else {
            Stage::SchemaStatusTypes
        },
        kind: kinds::STATUS,
        global,
        entities: NamedEntities::StatusTypes,
    };
    let plans = ctx.plan.status_types.clone();
    stage
        .run(ctx, &plans, async |ctx, p, schema| {
            let Some(def) = ctx.source.statuses.iter().find(|s| s.id == p.old_id) else {
                return Ok(None);
            };
            let body = StatusTypeIn {
                name: def.name.clone(),
                description: def.description.clone(),
                category: def.category,
                object_schema_id: schema.map(Id::new),
            };
            let finder = Finder::Named {
                list: Listing::StatusTypes(schema),
                name: &def.name,
            };
            let created =
                create_or_find(ctx.api, || ctx.api.create_status_type(&body), finder).await?;
            Ok(Some(created.id()))
        })
        .await
}
