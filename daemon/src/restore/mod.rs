//! The restore pipeline: a backup from the store into a new schema on a site — the same site
//! or another one (a migration). Planned, then executed (STYLE §2):
//!
//! - [`plan`] reads the backup and the target and decides everything that can be decided
//!   without writing: destination conflicts, icon / status / reference type matches, the object
//!   types and the attribute mapping (incl. the added `ORIGINAL_ID` / `ORIGINAL_KEY`), user and
//!   group matches, the order of object creation and the number of requests per stage.
//! - [`execute`] runs the stages of [`Stage::ALL`] in order against the target, recording every
//!   old -> new id in the store as it is created, so it resumes after a crash, a kill or a STOP
//!   without creating anything twice (see `objects` for how resume and ambiguous creates are
//!   reconciled with the site).
//!
//! | stage                        | module        | [`AssetsApi`] calls                             |
//! |------------------------------|---------------|-------------------------------------------------|
//! | icons                        | `icons`       | none (matched by name in the plan)              |
//! | schema, global config        | `schema`      | `create_schema`, `set_schema_config`            |
//! | global / schema status types | `statuses`    | `create_status_type`                            |
//! | reference types (both)       | `reftypes`    | `create_reference_type`                         |
//! | object types                 | `objecttypes` | `create_object_type`, `move_object_type`        |
//! | attributes                   | `attributes`  | `create_attribute`, `update_attribute`          |
//! | object entries               | `objects`     | `create_object` (sent once; `aql` to resolve)   |
//! | object references            | `references`  | `update_object` (cycle edges only)              |
//!
//! The daemon drives it: [`plan`] for a dry run, [`create`] to store a restore row holding the
//! plan, [`execute`] (again with the stored plan, [`load_plan`]) to run or resume it. Stored
//! plans carry their format ([`PLAN_FORMAT_VERSION`]); older ones are migrated, newer ones end
//! the restore in error.

mod accounts;
mod attributes;
mod ctx;
mod duplicates;
mod entities;
mod error;
mod estimate;
mod existing;
mod hook_objects;
mod hooks;
mod icons;
mod idmap;
mod log;
mod named;
mod objects;
mod objecttypes;
mod options;
mod order;
mod plan;
mod references;
mod reftypes;
mod schema;
mod selection;
mod source;
mod statuses;
mod summary;
mod unique;
mod users;
mod values;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::assets::AssetsApi;
use crate::clock::SharedClock;
use crate::error::error_chain;
use crate::store::{
    self, AsyncStore, BackupId, NewRestore, RestoreId, RestoreStatus, RestoreUpdate,
};

pub use crate::pipeline::StageCount;
pub use crate::store::LogLevel;
pub use accounts::{AccountLookup, AccountMatch};
pub use error::Error;
pub use existing::{DuplicatePlan, ExistingPlan, IconKept, ScanCost};
pub use hook_objects::{DecisionRecord, ExecuteEffect, ExecuteInput, ExecuteTimeHook};
pub use hooks::{AccountDecision, AttributeOverride, HookPlan, HookSetup};
pub use log::OK_MESSAGE;
pub use options::{
    HISTORY_MAX_CHARS, OBJECT_HISTORY, Refusal, check as check_options, history_line,
    render_history,
};
pub use plan::{
    AttrAction, AttrPlan, DeferredAttr, EntityPlan, GroupMatch, IconPlan, Lookups, OrderSummary,
    PLAN_FORMAT_VERSION, RequestEstimate, RestorePlan, SchemaRef, StageRequests, TypePlan,
    UserMatch,
};
pub use selection::{TypeNode, TypeRef, TypesPlan, resolve_names, type_tree};
pub use summary::{AttrNote, PlanSummary, SkippedDuplicate};
pub use unique::UniqueTaken;
pub use users::{DIRECTORY_MIN_NAMES, GroupLookup, UserLookup, UserLookupMethod};

use crate::pipeline::{self, Pipeline, StagePoint};
use ctx::{Ctx, Flow};
/// Id map kinds, for the post-restore tasks that read a restore's id map.
pub(crate) use idmap::kinds as id_kinds;

/// Where a restore goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Destination {
    /// A new schema on the target site; its name and key must be unused there.
    NewSchema {
        /// Schema name.
        name: String,
        /// Schema key (2-10 uppercase letters and digits).
        key: String,
    },
    /// An object schema that exists on the target: object types matched by their path of
    /// names, attributes by name, objects already there skipped as duplicates (see
    /// `existing`).
    ExistingSchema {
        /// The schema's key.
        key: String,
        /// Create objects that are already in the schema anyway (`--duplicates`).
        #[serde(default)]
        duplicates: bool,
    },
}

impl Destination {
    /// The kind as the CLI and the API spell it: `new-schema`, `existing-schema`, or
    /// `another-site` for either on a site other than the backup's.
    pub fn kind(&self, same_site: bool) -> &'static str {
        match (self, same_site) {
            (_, false) => "another-site",
            (Destination::NewSchema { .. }, true) => "new-schema",
            (Destination::ExistingSchema { .. }, true) => "existing-schema",
        }
    }

    /// The schema's key on the target.
    pub fn key(&self) -> &str {
        match self {
            Destination::NewSchema { key, .. } | Destination::ExistingSchema { key, .. } => key,
        }
    }
}

/// What to restore where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreRequest {
    /// The backup.
    pub backup_id: BackupId,
    /// Site name of the target (the client passed to [`plan`]/[`execute`] talks to it).
    pub target_site: String,
    /// Where on the target.
    pub destination: Destination,
    /// The hooks it runs (`crate::hooks::HookRegistry::select`); stored with the restore.
    #[serde(default)]
    pub hooks: crate::hooks::HookSelection,
    /// `--history`: each restored object type gets a Textarea `OBJECT_HISTORY` holding its
    /// objects' rendered history, set in the create call (see `options`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub history: bool,
    /// `--with-icons` (another site only): object types take the target's global icon of
    /// their icon's name, so restored objects' avatars follow them; without it, they take the
    /// target's default icon.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_icons: bool,
    /// Only these object types (`--types`: names, paths `Parent/Child` or ids) with their
    /// parents, and their objects; empty for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

impl RestoreRequest {
    /// The restore record's detail fields for this request, `source_site` being the backup's
    /// site and `specific_types` the selected types' paths ([`resolve_names`]).
    pub fn details(&self, source_site: &str, specific_types: Vec<String>) -> store::RestoreDetails {
        let same_site = source_site == self.target_site;
        let destination_kind = match (&self.destination, same_site) {
            (_, false) => store::DestinationKind::AnotherSite,
            (Destination::NewSchema { .. }, true) => store::DestinationKind::NewSchema,
            (Destination::ExistingSchema { .. }, true) => store::DestinationKind::ExistingSchema,
        };
        store::RestoreDetails {
            destination_kind,
            specific_types,
            duplicates: matches!(&self.destination, Destination::ExistingSchema { duplicates, .. } if *duplicates),
            history_restored: false,
            icons_restored: false,
        }
    }
}

/// The stages of a restore, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Map the backup's icons to the target's global icons.
    Icons,
    /// Create the schema.
    Schema,
    /// Schema configuration (`allowOtherObjectSchema`, quick-create flags).
    GlobalConfig,
    /// Global status types: matched by name, missing ones created.
    GlobalStatusTypes,
    /// The schema's own status types.
    SchemaStatusTypes,
    /// The schema's own reference types.
    ReferenceTypes,
    /// Global reference types: matched by name, missing ones created.
    GlobalReferenceTypes,
    /// Object types, parents first.
    ObjectTypes,
    /// Attributes with their full configuration, plus `ORIGINAL_ID` / `ORIGINAL_KEY`.
    Attributes,
    /// Objects, in reference order.
    ObjectEntries,
    /// References inside cycles (and self references).
    ObjectReferences,
}

impl Stage {
    /// Every stage, in execution order.
    pub const ALL: [Stage; 11] = [
        Stage::Icons,
        Stage::Schema,
        Stage::GlobalConfig,
        Stage::GlobalStatusTypes,
        Stage::SchemaStatusTypes,
        Stage::ReferenceTypes,
        Stage::GlobalReferenceTypes,
        Stage::ObjectTypes,
        Stage::Attributes,
        Stage::ObjectEntries,
        Stage::ObjectReferences,
    ];

    /// The snake_case key stored in the restore row and used in JSON.
    pub fn key(self) -> &'static str {
        match self {
            Stage::Icons => "icons",
            Stage::Schema => "schema",
            Stage::GlobalConfig => "global_config",
            Stage::GlobalStatusTypes => "global_status_types",
            Stage::SchemaStatusTypes => "schema_status_types",
            Stage::ReferenceTypes => "reference_types",
            Stage::GlobalReferenceTypes => "global_reference_types",
            Stage::ObjectTypes => "object_types",
            Stage::Attributes => "attributes",
            Stage::ObjectEntries => "object_entries",
            Stage::ObjectReferences => "object_references",
        }
    }
}

impl std::fmt::Display for Stage {
    /// The seed's stage names ("Restoring icons", ...).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Icons => "Restoring icons",
            Stage::Schema => "Restoring schema",
            Stage::GlobalConfig => "Restoring global config",
            Stage::GlobalStatusTypes => "Restoring global status types",
            Stage::SchemaStatusTypes => "Restoring schema status types",
            Stage::ReferenceTypes => "Restoring reference types",
            Stage::GlobalReferenceTypes => "Restoring global reference types",
            Stage::ObjectTypes => "Restoring object types",
            Stage::Attributes => "Restoring attributes",
            Stage::ObjectEntries => "Restoring object entries",
            Stage::ObjectReferences => "Restoring object references",
        })
    }
}

/// What [`execute`] reports while it runs. Notifications only: the state of record is the
/// restore row, the id map and the log in the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RestoreEvent {
    /// A stage started (or resumed) with `total` items.
    StageStarted {
        /// The stage.
        stage: Stage,
        /// Items it will handle.
        total: u64,
    },
    /// Progress within a stage.
    Progress {
        /// The stage.
        stage: Stage,
        /// Items done (including those done by an earlier, interrupted run).
        done: u64,
        /// Items in the stage.
        total: u64,
    },
    /// A stage finished.
    StageFinished {
        /// The stage.
        stage: Stage,
        /// Items done.
        done: u64,
        /// Items in the stage.
        total: u64,
    },
    /// One object's result, as written to the full log.
    Object {
        /// Key of the object in the backup.
        key: String,
        /// Whether it was created.
        result: bool,
        /// [`OK_MESSAGE`] or the API's error body.
        message: Value,
    },
    /// A note (a user left empty, an icon replaced, an attribute dropped ...).
    Log {
        /// How much it matters.
        level: LogLevel,
        /// What happened.
        message: String,
    },
}

/// How [`execute`] ended (when it did not fail).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestoreOutcome {
    /// Whether the cancel token stopped it; run [`execute`] again to resume.
    pub stopped: bool,
    /// Done/total per stage (stages not started are absent).
    pub counts: BTreeMap<Stage, StageCount>,
    /// Id of the schema created on the target.
    pub schema_id: Option<String>,
    /// Key of the schema created on the target.
    pub schema_key: Option<String>,
    /// Objects created (over all runs of this restore).
    pub objects_created: u64,
    /// Objects the API refused (see the log).
    pub objects_failed: u64,
}

/// Plans a restore: reads the backup and the target, changes nothing.
///
/// # Errors
///
/// [`Error::Store`] for an unknown backup, [`Error::InvalidBackup`], [`Error::Assets`] when
/// reading the target fails.
pub async fn plan(
    store: &AsyncStore,
    target: &dyn AssetsApi,
    req: &RestoreRequest,
) -> Result<RestorePlan, Error> {
    let registry = crate::hooks::HookRegistry::new();
    let setup = HookSetup {
        registry: &registry,
        restore_id: None,
    };
    plan::build(store, target, req, setup).await
}

/// [`plan`] with the configured hooks: those `req` selects are asked while planning
/// (`transform_attribute`, `match_user`), for restore `setup.restore_id` (`None`: a dry run).
///
/// # Errors
///
/// As [`plan`]; [`Error::Hooks`] for a selected hook the registry lacks, [`Error::Hook`] when
/// a hook fails with `on_error = "fail"`.
pub async fn plan_with(
    store: &AsyncStore,
    target: &dyn AssetsApi,
    req: &RestoreRequest,
    setup: HookSetup<'_>,
) -> Result<RestorePlan, Error> {
    plan::build(store, target, req, setup).await
}

/// Stores a `pending` restore that will execute `plan`; returns its id. `clock` stamps it.
///
/// # Errors
///
/// [`Error::Store`], [`Error::Json`].
pub async fn create(
    store: &AsyncStore,
    req: &RestoreRequest,
    plan: &RestorePlan,
    clock: &SharedClock,
) -> Result<RestoreId, Error> {
    let id = store
        .create_restore(NewRestore {
            backup_id: req.backup_id,
            target_site: req.target_site.clone(),
            options: serde_json::to_value(req)?,
            plan: serde_json::to_value(plan)?,
            details: req.details(
                &plan.source.site,
                plan.types
                    .as_ref()
                    .map(TypesPlan::paths)
                    .unwrap_or_default(),
            ),
            created_at: clock.now(),
        })
        .await?;
    Ok(id)
}

/// The plan stored with a restore (to run or resume it), migrated from older formats.
///
/// A plan this version cannot read can never run: the restore ends in error right here, its
/// result saying why (stamped by `clock`), instead of staying pending.
///
/// # Errors
///
/// [`Error::Store`]; [`Error::PlanVersion`] for a plan written by a newer assetark;
/// [`Error::Json`] for a stored plan that is not one.
pub async fn load_plan(
    store: &AsyncStore,
    restore_id: RestoreId,
    clock: &SharedClock,
) -> Result<RestorePlan, Error> {
    let row = store.get_restore(restore_id).await?;
    match RestorePlan::from_stored(row.plan) {
        Ok(plan) => Ok(plan),
        Err(e) => {
            let message = error_message(&e);
            tracing::warn!(restore_id, error = %message, "The stored plan cannot be read.");
            let end = RestoreUpdate {
                status: Some(RestoreStatus::Error),
                result: Some(Some(message)),
                ended_at: Some(Some(clock.now())),
                ..Default::default()
            };
            store.update_restore(restore_id, end).await?;
            Err(e)
        }
    }
}

/// Executes (or resumes) restore `restore_id` with `plan` against `target`; `clock` stamps
/// the row's start and end.
///
/// Stages already finished by an earlier run are skipped; an interrupted stage re-derives
/// what it created from the target before it creates anything. When `cancel` fires, the
/// stage in flight stops starting requests, lets those in flight finish and records them,
/// and the restore becomes `stopped` (`Ok` with [`RestoreOutcome::stopped`]). Dropping the
/// future instead leaves the row `in_progress`, as a crash would; running again resumes.
///
/// # Errors
///
/// [`Error::Assets`] (the restore becomes `error` with the API's message; e.g. a schema name
/// or key in use on the target, with nothing created), [`Error::Store`], [`Error::WrongSite`],
/// [`Error::InvalidBackup`].
pub async fn execute(
    store: &AsyncStore,
    target: &dyn AssetsApi,
    restore_id: RestoreId,
    plan: &RestorePlan,
    on_event: &(dyn Fn(RestoreEvent) + Send + Sync),
    cancel: CancellationToken,
    clock: &SharedClock,
) -> Result<RestoreOutcome, Error> {
    let registry = crate::hooks::HookRegistry::new();
    let run = Run {
        on_event,
        cancel,
        clock,
        hooks: &registry,
    };
    execute_with(store, target, restore_id, plan, run).await
}

/// How [`execute_with`] runs: its event sink, cancel token, clock and the configured hooks.
pub struct Run<'a> {
    /// Hears every [`RestoreEvent`].
    pub on_event: &'a (dyn Fn(RestoreEvent) + Send + Sync),
    /// STOP (or shutdown).
    pub cancel: CancellationToken,
    /// Stamps the row.
    pub clock: &'a SharedClock,
    /// The configured hooks; the plan's selection picks from them.
    pub hooks: &'a crate::hooks::HookRegistry,
}

/// [`execute`] with the configured hooks: the plan's selection runs `before_stage` /
/// `after_stage` around each stage, `transform_object` before and `after_object_restored`
/// after each object create.
///
/// # Errors
///
/// As [`execute`]; [`Error::Hooks`] when the plan selects a hook the registry lacks,
/// [`Error::Hook`] when a hook fails with `on_error = "fail"` or aborts.
pub async fn execute_with(
    store: &AsyncStore,
    target: &dyn AssetsApi,
    restore_id: RestoreId,
    plan: &RestorePlan,
    run: Run<'_>,
) -> Result<RestoreOutcome, Error> {
    let Run {
        on_event,
        cancel,
        clock,
        hooks: registry,
    } = run;
    if target.site_name() != plan.target_site {
        return Err(Error::WrongSite {
            planned: plan.target_site.clone(),
            given: target.site_name().to_owned(),
        });
    }
    let row = store.get_restore(restore_id).await?;
    let setup = HookSetup {
        registry,
        restore_id: Some(restore_id),
    };
    let active = hooks::activate(setup, &plan.hooks.selection, &plan.source.site, target)?;
    // No stage started yet (counts `{}` as created, or null): the plan's decisions go to the
    // log now, once.
    let first_run = row.counts.as_object().is_none_or(serde_json::Map::is_empty);
    let mut ctx = Ctx::new(store, target, restore_id, plan, on_event, cancel, &row).await?;
    ctx.hooks = active;
    if row.status == RestoreStatus::Completed {
        return ctx.outcome(false).await;
    }
    store
        .update_restore(
            restore_id,
            RestoreUpdate {
                status: Some(RestoreStatus::InProgress),
                started_at: Some(clock.now()),
                ended_at: Some(None),
                result: Some(None),
                ..Default::default()
            },
        )
        .await?;
    tracing::info!(restore_id, site = %plan.target_site, backup = plan.backup_id, "Restore started.");
    let result = match first_run {
        true => hooks::log_plan_decisions(&ctx).await,
        false => Ok(()),
    };
    let result = match result {
        Ok(()) => run_stages(&mut ctx).await,
        Err(e) => Err(e),
    };
    let (status, message) = match &result {
        Ok(Flow::Continue) => (RestoreStatus::Completed, completed_message(plan)),
        Ok(Flow::Stopped) => (RestoreStatus::Stopped, "stopped by the user".to_owned()),
        Err(e) => (RestoreStatus::Error, error_message(e)),
    };
    // `--history` / `--with-icons` restored what they restore once every stage ran.
    let completed = status == RestoreStatus::Completed;
    let end = RestoreUpdate {
        status: Some(status),
        result: Some(Some(message.clone())),
        ended_at: Some(Some(clock.now())),
        counts: Some(ctx.counts_json()),
        history_restored: completed.then_some(plan.history),
        icons_restored: completed.then_some(plan.with_icons),
        ..Default::default()
    };
    if let Err(e) = store.update_restore(restore_id, end).await {
        // The pipeline's own error matters more; the row stays in_progress and resumes.
        tracing::warn!(restore_id, error = %error_chain(&e), "Recording the end of the restore failed.");
    }
    match result {
        Ok(flow) => {
            tracing::info!(restore_id, status = %status, "Restore ended.");
            ctx.outcome(flow == Flow::Stopped).await
        }
        Err(e) => {
            tracing::warn!(restore_id, error = %message, "Restore failed.");
            Err(e)
        }
    }
}

/// Runs every stage not finished yet, in order, through the one stage runner.
async fn run_stages(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let cancel = ctx.cancel.clone();
    pipeline::run(ctx, &Stage::ALL, &cancel).await
}

#[async_trait::async_trait]
impl Pipeline for Ctx<'_> {
    type Stage = Stage;
    type Error = Error;

    fn key(stage: Stage) -> &'static str {
        stage.key()
    }

    fn count(&self, stage: Stage) -> Option<StageCount> {
        Ctx::count(self, stage)
    }

    async fn run_stage(&mut self, stage: Stage) -> Result<Flow, Error> {
        let ctx = self;
        match stage {
            Stage::Icons => icons::run(ctx).await,
            Stage::Schema => schema::run(ctx).await,
            Stage::GlobalConfig => schema::run_config(ctx).await,
            Stage::GlobalStatusTypes => statuses::run(ctx, true).await,
            Stage::SchemaStatusTypes => statuses::run(ctx, false).await,
            Stage::ReferenceTypes => reftypes::run(ctx, false).await,
            Stage::GlobalReferenceTypes => reftypes::run(ctx, true).await,
            Stage::ObjectTypes => objecttypes::run(ctx).await,
            Stage::Attributes => attributes::run(ctx).await,
            Stage::ObjectEntries => objects::run(ctx).await,
            Stage::ObjectReferences => references::run(ctx).await,
        }
    }

    async fn verify(&mut self, stage: Stage) -> Result<(), Error> {
        if stage != Stage::ObjectEntries {
            return Ok(());
        }
        let g = self.graph().await?;
        let missing = match &self.objects {
            Some(ids) => objects::unsettled(&g, ids),
            None => Vec::new(),
        };
        match missing.is_empty() {
            true => Ok(()),
            false => Err(Error::Incomplete {
                stage,
                ids: missing,
            }),
        }
    }

    async fn finish(&mut self, stage: Stage) -> Result<(), Error> {
        Ctx::finish(self, stage).await
    }

    async fn hook(
        &mut self,
        point: StagePoint,
        stage: Stage,
        count: StageCount,
    ) -> Result<(), Error> {
        let point = match point {
            StagePoint::BeforeStage => crate::hooks::HookPoint::BeforeStage,
            StagePoint::AfterStage => crate::hooks::HookPoint::AfterStage,
        };
        hooks::around_stage(self, point, stage, count).await
    }
}

/// The result of a completed restore: "completed", plus what it could not take from the
/// backup.
fn completed_message(plan: &RestorePlan) -> String {
    match plan.icons_missing.len() {
        0 => "completed".to_owned(),
        n => format!(
            "completed; the backup's icon phase had not finished: {n} icon(s) were not in the \
             backup, object types using them got the default icon"
        ),
    }
}

/// The persisted result message: the error chain, plus the API's body when it refused.
fn error_message(e: &Error) -> String {
    let mut out = error_chain(e);
    if let Some(body) = e.api_body() {
        out.push_str(": ");
        out.push_str(&body.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_have_the_seed_names_and_stable_keys() {
        let names: Vec<String> = Stage::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names[0], "Restoring icons");
        assert_eq!(names[10], "Restoring object references");
        for s in Stage::ALL {
            let json = serde_json::to_value(s).unwrap();
            assert_eq!(json, s.key());
            assert_eq!(serde_json::from_value::<Stage>(json).unwrap(), s);
        }
        let d = Destination::NewSchema {
            name: "N".into(),
            key: "K".into(),
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"type": "new_schema", "name": "N", "key": "K"})
        );
    }
}
