//! The loop shared by the stages that restore named entities living either globally or in the
//! schema (status types and reference types): take the plan's entities of one scope, map those
//! the target already has (by the plan, or by name after an interruption), create the rest
//! exactly once and record every old -> new id so a resumed restore skips them.

use super::ctx::{Ctx, Flow};
use super::entities::{Listing, id_in};
use super::plan::EntityPlan;
use super::{Error, Stage};

/// One stage of named entities.
pub(super) struct NamedStage {
    /// The stage reported.
    pub stage: Stage,
    /// The id-map kind the old -> new ids are recorded under.
    pub kind: &'static str,
    /// Global entities rather than the schema's own.
    pub global: bool,
    /// Which entities.
    pub entities: NamedEntities,
}

/// The entities a [`NamedStage`] restores.
#[derive(Debug, Clone, Copy)]
pub(super) enum NamedEntities {
    StatusTypes,
    ReferenceTypes,
}

impl NamedEntities {
    fn listing(self, schema: Option<&str>) -> Listing<'_> {
        match self {
            NamedEntities::StatusTypes => Listing::StatusTypes(schema),
            NamedEntities::ReferenceTypes => Listing::ReferenceTypes(schema),
        }
    }
}

impl NamedStage {
    /// Runs the stage over `plans` (every scope; this stage takes its own). `create` makes one
    /// missing entity in `schema` (`None` for global ones) and answers its new id, or `None`
    /// when the backup holds no definition for it (nothing to create).
    pub async fn run(
        &self,
        ctx: &mut Ctx<'_>,
        plans: &[EntityPlan],
        create: impl AsyncFn(&Ctx<'_>, &EntityPlan, Option<&str>) -> Result<Option<String>, Error>,
    ) -> Result<Flow, Error> {
        let plans: Vec<&EntityPlan> = plans.iter().filter(|p| p.global == self.global).collect();
        let total = plans.len() as u64;
        let mapped = |ctx: &Ctx<'_>, id: &str| ctx.ids.get(self.kind, id).is_some();
        let mut done = plans.iter().filter(|p| mapped(ctx, &p.old_id)).count() as u64;
        let resumed = ctx.start(self.stage, done, total).await?;
        if done == total {
            return Ok(Flow::Continue);
        }
        let schema = if self.global {
            None
        } else {
            Some(ctx.schema_id()?)
        };
        // After an interruption, what exists is looked up once instead of per entity.
        let existing = if resumed {
            self.entities
                .listing(schema.as_deref())
                .names(ctx.api)
                .await?
        } else {
            Vec::new()
        };
        for p in plans {
            if mapped(ctx, &p.old_id) {
                continue;
            }
            if ctx.cancel.is_cancelled() {
                return Ok(Flow::Stopped);
            }
            let new = match p.existing_id.clone().or_else(|| id_in(&existing, &p.name)) {
                Some(id) => id,
                None => match create(ctx, p, schema.as_deref()).await? {
                    Some(id) => id,
                    None => continue,
                },
            };
            ctx.record(self.kind, &p.old_id, &new).await?;
            done += 1;
            ctx.progress(self.stage, done);
        }
        Ok(Flow::Continue)
    }
}
