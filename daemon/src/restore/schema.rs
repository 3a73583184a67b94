//! Stages "Restoring schema" and "Restoring global config".
//!
//! The schema create is the restore's first write. Its name and key must be unused on the
//! target: if they are not, the API refuses the create with its own error body, the restore
//! ends in error with that body, and nothing has been created (the plan reports the conflict
//! up front as well). The config stage re-applies the schema-level configuration ("allow
//! others to select objects from this schema", quick-create flags), which is not part of the
//! schema entity. Into an existing schema, nothing is created and its configuration is kept.

use super::ctx::{Ctx, Flow};
use super::entities::{Finder, create_or_find};
use super::idmap::kinds;
use super::{Destination, Error, Stage};
use crate::model::{ObjectSchemaIn, SchemaConfig, SchemaConfigIn};
use crate::store::RestoreUpdate;

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let old = ctx.plan.source.id.clone();
    let (name, key) = match (&ctx.plan.destination, &ctx.plan.existing) {
        (Destination::NewSchema { name, key }, _) => (name, key),
        (Destination::ExistingSchema { key, .. }, Some(existing)) => {
            // Nothing to create: the schema is the plan's.
            ctx.start(Stage::Schema, 0, 1).await?;
            ctx.record(kinds::SCHEMA, &old, &existing.schema_id).await?;
            remember(ctx, &existing.schema_id, key).await?;
            ctx.progress(Stage::Schema, 1);
            return Ok(Flow::Continue);
        }
        (Destination::ExistingSchema { .. }, None) => {
            return Err(Error::Destination {
                reason: "the plan of a restore into an existing schema names no schema".into(),
            });
        }
    };
    let mapped = ctx.ids.get(kinds::SCHEMA, &old).map(|id| id.to_string());
    let resumed = ctx
        .start(Stage::Schema, u64::from(mapped.is_some()), 1)
        .await?;
    if let Some(id) = mapped {
        // An interruption between recording the mapping and the row's destination would
        // leave the row without its schema: write it again (idempotent).
        remember(ctx, &id, key).await?;
        return Ok(Flow::Continue);
    }
    let finder = Finder::Schema { key, name };
    // An interrupted run may have created it without recording it. A schema with this key
    // and name is only ours if none existed when the restore was planned.
    let adopt = resumed && ctx.plan.conflict.is_none();
    let found = if adopt {
        finder.find(ctx.api).await?
    } else {
        None
    };
    let id = match found {
        Some(id) => id,
        None => {
            let body = ObjectSchemaIn {
                name: name.clone(),
                object_schema_key: key.clone(),
                description: ctx.source.schema.description.get().cloned(),
            };
            match create_or_find(ctx.api, || ctx.api.create_schema(&body), finder).await {
                Ok(c) => c.id(),
                Err(e) => {
                    // A refusal is definitive: nothing was created, so a rerun must not look
                    // for "its" schema (it would find the one that made the name or key taken).
                    if e.is_refusal() {
                        ctx.forget(Stage::Schema).await?;
                    }
                    return Err(e.into());
                }
            }
        }
    };
    ctx.record(kinds::SCHEMA, &old, &id).await?;
    remember(ctx, &id, key).await?;
    tracing::info!(restore_id = ctx.id, schema_id = %id, key = %key, "Schema created.");
    ctx.progress(Stage::Schema, 1);
    Ok(Flow::Continue)
}

/// Records the new schema as the restore's destination.
async fn remember(ctx: &Ctx<'_>, id: &str, key: &str) -> Result<(), Error> {
    let update = RestoreUpdate {
        new_schema: Some((id.to_owned(), key.to_owned())),
        ..Default::default()
    };
    ctx.store.update_restore(ctx.id, update).await?;
    Ok(())
}

/// The config body to send, when the backup has a config entry that sets something.
pub(super) fn config_body(config: Option<&SchemaConfig>) -> Option<SchemaConfigIn> {
    config.and_then(SchemaConfig::to_input)
}

pub(super) async fn run_config(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    // An existing schema keeps its own configuration.
    let body = config_body(ctx.source.config.as_ref()).filter(|_| ctx.plan.existing.is_none());
    let total = u64::from(body.is_some());
    ctx.start(Stage::GlobalConfig, 0, total).await?;
    if let Some(body) = body {
        let schema = ctx.schema_id()?;
        // Idempotent (the same body twice gives the same state), so plainly retried.
        match ctx.api.set_schema_config(&schema, &body).await {
            Ok(()) => {}
            // A Data Center target has no `/global/config`: the setting cannot be carried
            // over, which is said in the log, and the restore goes on.
            Err(e) if e.is_not_offered() => {
                tracing::warn!(restore_id = ctx.id, error = %e, "Schema configuration not restored.");
            }
            Err(e) => return Err(e.into()),
        }
        ctx.progress(Stage::GlobalConfig, 1);
    }
    Ok(Flow::Continue)
}
