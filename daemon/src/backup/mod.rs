//! The backup pipeline: one schema of one site into the store, then the portable export.
//!
//! [`run`] executes the stages in order, one module each, every stage writing its entities to
//! the store as it goes (objects page by page, so memory stays flat):
//!
//! | stage            | module            | [`AssetsApi`] (Cloud request)                              |
//! |------------------|-------------------|------------------------------------------------------------|
//! | schema, config   | [`schema`]        | `list_schemas`, `get_schema`, `get_schema_config` (`/objectschema/list`, `/objectschema/{id}`, `/global/config/objectschema/{id}`) |
//! | status types     | [`statustypes`]   | `list_status_types` (`/config/statustype[?objectSchemaId]`)  |
//! | reference types  | [`referencetypes`]| `list_reference_types` (`/config/referencetype?objectSchemaId&includeAll=true`) |
//! | object types     | [`objecttypes`]   | `list_object_types` (`/objectschema/{id}/objecttypes/flat`)  |
//! | icons            | [`icons`]         | `get_icon`, `icon_png` (`/icon/{id}`, `/icon/{id}/icon.png?size=48`) |
//! | attributes       | [`attributes`]    | `list_attributes` (`/objecttype/{id}/attributes?excludeParentAttributes=true`) |
//! | objects          | [`objects`]       | `aql` pages (`POST /object/aql`, `objectSchemaId = {id}`)    |
//!
//! Entities are the typed values of [`crate::model`], stored as they came (the types are
//! lossless), so what a backup holds is what the API sent.
//!
//! The stages run through the one stage runner ([`crate::pipeline`]; the stage lists are in
//! `stages`). Then the backup is completed (visible), and the background phases fill it with
//! their own status each (`store.set_phase`, the runner's checkpoint): [`history`]
//! (`object_history`) and [`issues`] (`fields`, then `jql` pages with `aqlFunction`). A job
//! that runs again after a kill resumes its backup's phases that have not ended (the history
//! phase reads only objects still without a history). From a Data Center source two more
//! phases follow: [`comments`] (`list_comments`) and [`attachments`] (`list_attachments`,
//! `download_attachment`: the bytes in the blob store, deduplicated by content); Assets Cloud
//! offers neither, so from a Cloud source both are recorded `not_offered`. (Backups made before
//! the store had columns for them recorded that as entries of kind [`PHASE_KIND`].)
//!
//! A failure or cancellation of the main pass fails the backup (nothing visible remains); a
//! failure in the background phase marks that phase `failed` with a note and keeps the backup.

mod attachments;
mod attributes;
mod comments;
pub mod export;
pub(crate) mod export_body;
mod history;
mod icons;
mod incremental;
mod issues;
mod objects;
mod objecttypes;
mod per_object;
mod referencetypes;
mod schema;
mod stages;
mod statustypes;

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::assets::{self, AssetsApi};
use crate::clock::SharedClock;
use crate::error::error_chain;
use crate::model::Id;
use crate::pipeline::{self, Flow};
use crate::store::{
    self, AsyncStore, Backup, BackupId, BackupOrigin, BackupType, JobId, NewBackup, NewEntry,
    Phase, PutStats,
};
use stages::{Background, MainPass, MainStage};

pub use export::{ExportSummary, export};

/// Manifest kind of the status of phases the store has no column for (comments,
/// attachments): one entry per phase, `{"phase", "status", "note"}`.
pub const PHASE_KIND: &str = "phase";
/// The note of a phase this source does not offer.
pub const NOT_OFFERED_NOTE: &str = "not offered by this source (Assets Cloud)";

/// An entry of kind [`PHASE_KIND`]: the status of a phase the store has no column for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseEntry {
    /// The phase (`comments`, `attachments`).
    pub phase: String,
    /// Its status (`PhaseStatus` spelling).
    pub status: String,
    /// Why.
    pub note: Option<String>,
}

/// Stage names reported in [`Progress::stage`].
pub mod stage {
    /// The schema and its configuration.
    pub const SCHEMA: &str = "schema";
    /// Global and schema status types.
    pub const STATUS_TYPES: &str = "status types";
    /// Global and schema reference types.
    pub const REFERENCE_TYPES: &str = "reference types";
    /// Object types.
    pub const OBJECT_TYPES: &str = "object types";
    /// Icons used by the object types.
    pub const ICONS: &str = "icons";
    /// Attributes of every object type.
    pub const ATTRIBUTES: &str = "attributes";
    /// Objects with their values.
    pub const OBJECTS: &str = "objects";
    /// Background: object history.
    pub const HISTORY: &str = "history";
    /// Background: objects in Jira issues.
    pub const ISSUES: &str = "issues";
    /// Background: object comments (Data Center sources).
    pub const COMMENTS: &str = "comments";
    /// Background: object attachments (Data Center sources).
    pub const ATTACHMENTS: &str = "attachments";
}

/// What to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRequest {
    /// Site name (recorded in the backup).
    pub site: String,
    /// Key of the schema, e.g. "ITSM".
    pub schema_key: String,
    /// Manual or scheduled.
    pub backup_type: BackupType,
    /// Free text.
    pub description: Option<String>,
}

/// Where a running backup is: `done` of `total` in `stage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// One of [`stage`].
    pub stage: String,
    /// Items done in this stage.
    pub done: u64,
    /// Items expected in this stage (an estimate for objects: the schema's count).
    pub total: u64,
}

/// Errors of the backup pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No schema with this key on the site; nothing was written.
    #[error("site {site:?} has no object schema with key {key:?}")]
    UnknownSchema {
        /// Site name.
        site: String,
        /// The key asked for.
        key: String,
    },
    /// The Assets or Jira API failed (after the client's retries).
    #[error("assets api")]
    Assets(#[from] assets::Error),
    /// The store failed.
    #[error("store")]
    Store(#[from] store::Error),
    /// Writing the export, or spooling a download beside the store, failed.
    #[error("writing {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// An entity could not be encoded for the store, or a stored one is not the JSON expected.
    #[error("entity JSON")]
    Json(#[from] serde_json::Error),
    /// The cancellation token fired; a main pass in progress was failed (nothing visible).
    #[error("backup cancelled")]
    Cancelled,
    /// The source's API does not offer what a background phase reads (comments and
    /// attachments on Assets Cloud); the phase is recorded `not_offered`.
    #[error("not offered by this source")]
    NotOffered,
}

/// How a backup is run, beyond what to back up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// The job running it. The backup remembers its job, so the job, run again after a crash
    /// or a shutdown, resumes the background phases of the backup it made instead of making a
    /// second one; a phase interrupted by shutdown stays `pending` for it.
    pub job: Option<JobId>,
    /// Read everything (`backup run --full`), taking nothing over from an earlier backup.
    pub full: bool,
    /// Every N-th backup of a site and schema is full (a schedule's `full_every`; 0 = the
    /// default, [`DEFAULT_FULL_EVERY`]): a wrong "unchanged" judgement lives at most N
    /// backups.
    pub full_every: u32,
}

/// `full_every` when none is given: a full backup, then six incremental ones.
pub const DEFAULT_FULL_EVERY: u32 = 7;

/// Runs a backup without a job: [`run_job`] with default [`RunOptions`].
///
/// # Errors
///
/// As [`run_job`].
pub async fn run(
    api: &dyn AssetsApi,
    store: &AsyncStore,
    req: &BackupRequest,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: CancellationToken,
    clock: &SharedClock,
) -> Result<BackupId, Error> {
    let opts = RunOptions::default();
    run_job(api, store, req, &opts, on_progress, cancel, clock).await
}

/// Runs the main pass (everything except history and issues), completes the backup (it is
/// visible from then on), then runs the background phases (history, objects-in-issues) with
/// their own status each; returns after both. Stages run through the one stage runner
/// ([`crate::pipeline`]; see `stages`).
///
/// When `opts.job` already made a complete backup (the job runs again after a kill or a
/// shutdown), only that backup's background phases that have not ended run, and its id is
/// returned: no second backup.
///
/// `clock` stamps the backup's start and end (time is a parameter, so tests decide).
/// `on_progress` is called often and must be cheap.
///
/// Cancellation during the main pass fails the backup and returns [`Error::Cancelled`];
/// during the background phases, with a job, the phases not ended stay `pending` for the job
/// to resume and [`Error::Cancelled`] is returned; without a job, they are marked `failed`
/// ("cancelled") and the (complete) backup's id is returned.
///
/// # Errors
///
/// [`Error::UnknownSchema`] before anything is written; [`Error::Assets`] / [`Error::Store`]
/// when the main pass fails (the backup is failed and invisible); [`Error::Cancelled`].
pub async fn run_job(
    api: &dyn AssetsApi,
    store: &AsyncStore,
    req: &BackupRequest,
    opts: &RunOptions,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: CancellationToken,
    clock: &SharedClock,
) -> Result<BackupId, Error> {
    if let Some(job) = opts.job {
        let made = store.run(move |s| s.backup_of_job(job)).await?;
        if let Some(backup) = made {
            return resume(api, store, &backup, on_progress, &cancel).await;
        }
    }
    let found = {
        let probe = Probe {
            api,
            cancel: &cancel,
        };
        schema::find(&probe, &req.site, &req.schema_key).await?
    };
    let backup = store
        .begin_backup(NewBackup {
            site: req.site.clone(),
            schema_key: req.schema_key.clone(),
            schema_id: found.id.clone(),
            backup_type: req.backup_type,
            description: req.description.clone().unwrap_or_default(),
            started_at: clock.now(),
        })
        .await?;
    let parent = match opts.full {
        true => None,
        false => incremental_parent(store, req, &found.id, backup, opts.full_every).await?,
    };
    let ctx = Ctx {
        api,
        store,
        backup,
        schema_id: found.id.clone(),
        parent,
        progress: on_progress,
        cancel: &cancel,
    };
    let span = tracing::error_span!("backup", backup, site = %req.site, schema = %req.schema_key);
    tracing::info!(parent: &span, incremental_from = ?parent, "Backup started.");
    let origin = BackupOrigin {
        job: opts.job,
        parent,
    };
    let main = async {
        store
            .run(move |s| s.set_backup_origin(backup, &origin))
            .await?;
        let mut pass = MainPass::new(&ctx, &found);
        match pipeline::run(&mut pass, &MainStage::ALL, &cancel).await? {
            Flow::Continue => Ok(()),
            Flow::Stopped => Err(Error::Cancelled),
        }
    };
    if let Err(e) = main.instrument(span.clone()).await {
        // Best effort: the original error matters more than a failure to clean up, and
        // `Store::recover` removes a running backup at the next start anyway.
        if let Err(cleanup) = store.fail_backup(backup, clock.now()).await {
            tracing::warn!(backup, error = %error_chain(&cleanup), "Failing the backup failed.");
        }
        tracing::warn!(backup, error = %error_chain(&e), "Backup failed.");
        return Err(e);
    }
    let done = store.complete_backup(backup, clock.now()).await?;
    tracing::info!(
        backup,
        objects = done.object_count,
        bytes_added = done.bytes_added,
        "Backup completed."
    );
    background(&ctx, &done, opts.job.is_some())
        .instrument(span)
        .await?;
    Ok(backup)
}

/// The parent of an incremental backup: the newest complete backup of the same site and
/// schema, unless the current cycle already holds `full_every` backups (then this one is
/// full).
async fn incremental_parent(
    store: &AsyncStore,
    req: &BackupRequest,
    schema_id: &str,
    backup: BackupId,
    full_every: u32,
) -> Result<Option<BackupId>, Error> {
    let full_every = match full_every {
        0 => DEFAULT_FULL_EVERY,
        n => n,
    };
    let (site, key, id) = (
        req.site.clone(),
        req.schema_key.clone(),
        schema_id.to_owned(),
    );
    let candidate = store
        .run(move |s| s.parent_candidate(&site, &key, &id, backup))
        .await?;
    Ok(candidate.and_then(|(parent, cycle)| (cycle < full_every).then_some(parent)))
}

/// Runs the background phases of `backup` that have not ended (its job runs again).
async fn resume(
    api: &dyn AssetsApi,
    store: &AsyncStore,
    backup: &Backup,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<BackupId, Error> {
    let ctx = Ctx {
        api,
        store,
        backup: backup.id,
        schema_id: backup.schema_id.clone(),
        parent: backup.parent_id,
        progress: on_progress,
        cancel,
    };
    let span = tracing::error_span!("backup", backup = backup.id, site = %backup.site, schema = %backup.schema_key);
    tracing::info!(parent: &span, "Resuming the background phases of the job's backup.");
    background(&ctx, backup, true).instrument(span).await?;
    Ok(backup.id)
}

/// History, then issues, each with its own status; a failed phase does not stop the other;
/// phases already ended are skipped (see `stages`).
async fn background(ctx: &Ctx<'_>, backup: &Backup, resumable: bool) -> Result<(), Error> {
    let mut phases = Background::new(ctx, backup, resumable);
    match pipeline::run(&mut phases, &Phase::ALL, ctx.cancel).await? {
        Flow::Continue => Ok(()),
        Flow::Stopped => {
            phases.stopped().await?;
            match resumable {
                true => Err(Error::Cancelled),
                false => Ok(()),
            }
        }
    }
}

/// API access with cancellation, before a backup row exists.
struct Probe<'a> {
    api: &'a dyn AssetsApi,
    cancel: &'a CancellationToken,
}

impl Probe<'_> {
    async fn api<T>(
        &self,
        fut: impl Future<Output = Result<T, assets::Error>>,
    ) -> Result<T, Error> {
        cancellable(self.cancel, fut).await
    }
}

async fn cancellable<T>(
    cancel: &CancellationToken,
    fut: impl Future<Output = Result<T, assets::Error>>,
) -> Result<T, Error> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(Error::Cancelled),
        r = fut => r.map_err(Error::from),
    }
}

/// What every stage needs.
pub(crate) struct Ctx<'a> {
    api: &'a dyn AssetsApi,
    store: &'a AsyncStore,
    backup: BackupId,
    schema_id: String,
    /// The parent of an incremental backup (see `incremental`).
    parent: Option<BackupId>,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    cancel: &'a CancellationToken,
}

impl Ctx<'_> {
    /// Reports progress of a stage.
    fn report(&self, stage: &str, done: u64, total: u64) {
        (self.progress)(Progress {
            stage: stage.to_owned(),
            done,
            total: total.max(done),
        });
    }

    /// Awaits an API call unless the backup is cancelled first.
    async fn api<T>(
        &self,
        fut: impl Future<Output = Result<T, assets::Error>>,
    ) -> Result<T, Error> {
        cancellable(self.cancel, fut).await
    }

    /// How many requests a stage keeps outstanding: the client's own adaptive limit decides
    /// how many actually fly; this only has to be enough to saturate it. Stages consume the
    /// results unordered, so one request waiting out a `Retry-After` does not hold up the
    /// others behind it.
    fn fan_out(&self) -> usize {
        self.api.max_concurrency().max(1) * 2
    }

    /// Writes entries to this backup.
    async fn put(&self, entries: Vec<NewEntry>) -> Result<PutStats, Error> {
        if entries.is_empty() {
            return Ok(PutStats::default());
        }
        Ok(self.store.put_entries(self.backup, entries).await?)
    }
}

/// An entry of this backup from a model value (stored as its canonical JSON).
fn new_entry<T: Serialize>(kind: &str, original_id: &str, value: &T) -> Result<NewEntry, Error> {
    Ok(NewEntry {
        kind: kind.to_owned(),
        original_id: original_id.to_owned(),
        value: serde_json::to_value(value)?,
    })
}

/// Entries of one kind from API entities, keyed by their id, each id once (the first wins).
fn entries_by_id<T: Serialize>(
    kind: &str,
    values: &[T],
    id: impl Fn(&T) -> &Id,
    seen: &mut HashSet<String>,
) -> Result<Vec<NewEntry>, Error> {
    values
        .iter()
        .filter(|v| seen.insert(id(v).as_str().to_owned()))
        .map(|v| new_entry(kind, id(v).as_str(), v))
        .collect()
}
