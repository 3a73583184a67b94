//! Storage layer: the [`Store`] trait, its SQLite implementation and the blob codec.
//!
//! A backup is a manifest of `(kind, original id, blob hash)` rows; every entity is a
//! content-addressed blob (canonical JSON, zstd, keyed by SHA-256 — see [`blob`]), so an
//! unchanged object costs nothing in the next backup. A backup is written in batches while it
//! is `running` and becomes visible only when [`Store::complete_backup`] flips it in one
//! transaction; [`Store::recover`] throws away whatever a crash left half-written.
//!
//! The trait is synchronous on purpose: SQLite calls block, so async code goes through
//! [`AsyncStore`], which runs each call on tokio's blocking pool. Time is always a parameter
//! (never `now()` in here), so tests and the job runner decide what "now" is.

mod async_store;
pub mod blob;
mod error;
mod restore;
mod sites;
mod sqlite;
mod tasks;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use async_store::AsyncStore;
pub use blob::{EncodedBlob, SpooledBlob, canonical_json, content_hash, encode_base64_object};
pub use error::{BlobProblem, Error, Result};
pub use restore::{
    DestinationKind, IdMapping, LogEntry, LogLevel, NewLogEntry, NewRestore, Restore,
    RestoreDetails, RestoreId, RestoreStatus, RestoreStore, RestoreUpdate,
};
pub use sites::{SiteStore, StoredSite, StoredToken};
pub use sqlite::SqliteStore;
pub use sqlite::figures::{FigureStore, SchemaKey, StoreFigures};
pub use sqlite::schedules::{
    FireOutcome, FireReason, ScheduleState, ScheduleStore, StoredSchedule, schedule_state,
};
pub use tasks::{ItemOutcome, NewTask, Task, TaskId, TaskItem, TaskStatus, TaskStore, TaskUpdate};

/// Id of a backup; never reused, even after the backup is deleted.
pub type BackupId = i64;
/// Id of a job; never reused.
pub type JobId = i64;

/// Manifest kinds used by the backup pipeline. A kind is a plain string in the store so a new
/// kind needs no migration; these constants keep the spelling in one place.
pub mod kind {
    /// The object schema itself.
    pub const SCHEMA: &str = "schema";
    /// Schema configuration (`allowOtherObjectSchema`, ...).
    pub const CONFIG: &str = "config";
    /// A global or schema status type.
    pub const STATUS_TYPE: &str = "statustype";
    /// A global or schema reference type.
    pub const REFERENCE_TYPE: &str = "referencetype";
    /// Icon metadata.
    pub const ICON: &str = "icon";
    /// Icon image bytes (wrapped in JSON by the pipeline, e.g. base64).
    pub const ICON_PNG: &str = "icon_png";
    /// An object type.
    pub const OBJECT_TYPE: &str = "objecttype";
    /// An object type attribute.
    pub const ATTRIBUTE: &str = "attribute";
    /// An object with all its values; these are counted into `object_count`.
    pub const OBJECT: &str = "object";
    /// Object history (background phase [`Phase::History`](super::Phase::History)).
    pub const HISTORY: &str = "history";
    /// A Jira issue pointing at objects (background phase [`Phase::Issues`](super::Phase::Issues)).
    pub const ISSUE: &str = "issue";
    /// One object's comments (background phase [`Phase::Comments`](super::Phase::Comments)).
    pub const COMMENTS: &str = "comments";
    /// One object's attachments, their metadata and hashes (background phase
    /// [`Phase::Attachments`](super::Phase::Attachments)).
    pub const ATTACHMENTS: &str = "attachments";
    /// An attachment's bytes, keyed by their SHA-256 (phase `Attachments`).
    pub const ATTACHMENT_BYTES: &str = "attachment_bytes";
}

/// Writes the `as_str`/`FromStr`/`Display` trio for a string-valued enum, so the spelling in
/// the database, in JSON and in messages is one and the same.
macro_rules! string_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The spelling stored in the database and used in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> std::result::Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { what: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// After `string_enum!`, which it uses.
mod jobs;
pub use jobs::{Enqueued, Job, JobFilter, JobStatus, JobUpdate, NewJob};

/// A string that names no variant of a store enum (from a request or an unexpected row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} value {value:?}")]
pub struct UnknownValue {
    /// The enum being parsed.
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
}

/// How a backup was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupType {
    /// Started by a user.
    Manual,
    /// Started by a cron schedule.
    Scheduled,
}
string_enum!(BackupType { Manual => "manual", Scheduled => "scheduled" });

/// Lifecycle of a backup's main pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    /// Being written; invisible to reads.
    Running,
    /// Written and visible.
    Complete,
    /// Given up; invisible, its entries are dropped.
    Failed,
}
string_enum!(BackupStatus { Running => "running", Complete => "complete", Failed => "failed" });

/// A background phase that fills a complete backup after the main pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Object history ([`kind::HISTORY`]).
    History,
    /// Objects-in-issues ([`kind::ISSUE`]).
    Issues,
    /// Object comments ([`kind::COMMENTS`]; Data Center sources).
    Comments,
    /// Object attachments ([`kind::ATTACHMENTS`], [`kind::ATTACHMENT_BYTES`]; Data Center
    /// sources).
    Attachments,
}
string_enum!(Phase { History => "history", Issues => "issues", Comments => "comments", Attachments => "attachments" });

impl Phase {
    /// Every phase, in the order the pipeline runs them.
    pub const ALL: [Phase; 4] = [
        Phase::History,
        Phase::Issues,
        Phase::Comments,
        Phase::Attachments,
    ];

    /// The manifest kinds this phase writes; only these may be added to a complete backup.
    pub fn kinds(self) -> &'static [&'static str] {
        match self {
            Phase::History => &[kind::HISTORY],
            Phase::Issues => &[kind::ISSUE],
            Phase::Comments => &[kind::COMMENTS],
            Phase::Attachments => &[kind::ATTACHMENTS, kind::ATTACHMENT_BYTES],
        }
    }
}

/// Status of a background phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    /// Not started yet.
    Pending,
    /// Writing entries.
    Running,
    /// Finished.
    Done,
    /// Gave up; see the note.
    Failed,
    /// The source API does not offer this data.
    NotOffered,
}
string_enum!(PhaseStatus {
    Pending => "pending",
    Running => "running",
    Done => "done",
    Failed => "failed",
    NotOffered => "not_offered",
});

/// A phase's status plus a human note ("403 from /history", "interrupted; will rerun").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhaseState {
    /// Where the phase is.
    pub status: PhaseStatus,
    /// Why, when there is something to say.
    pub note: Option<String>,
}

impl PhaseState {
    /// A state without a note.
    pub fn new(status: PhaseStatus) -> Self {
        PhaseState { status, note: None }
    }
}

/// What the pipeline knows when it starts a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackup {
    /// Site name from the configuration.
    pub site: String,
    /// Schema key, e.g. "ITSM".
    pub schema_key: String,
    /// Schema id as the API spells it.
    pub schema_id: String,
    /// Manual or scheduled.
    pub backup_type: BackupType,
    /// Free text from the user or the schedule.
    pub description: String,
    /// When the backup started.
    pub started_at: OffsetDateTime,
}

/// Where a backup came from ([`Store::set_backup_origin`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupOrigin {
    /// The job running it.
    pub job: Option<JobId>,
    /// The complete backup an incremental backup takes unchanged objects' captures from.
    pub parent: Option<BackupId>,
}

/// A backup's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Backup {
    /// Id.
    pub id: BackupId,
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema_key: String,
    /// Schema id.
    pub schema_id: String,
    /// Manual or scheduled.
    #[serde(rename = "type")]
    pub backup_type: BackupType,
    /// Free text.
    pub description: String,
    /// Storage backend that holds it ("sqlite").
    pub storage: String,
    /// Lifecycle; reads only ever return `complete`.
    pub status: BackupStatus,
    /// Background phase: object history.
    pub history: PhaseState,
    /// Background phase: objects-in-issues.
    pub issues: PhaseState,
    /// Background phase: object comments.
    pub comments: PhaseState,
    /// Background phase: object attachments.
    pub attachments: PhaseState,
    /// Number of `object` entries.
    pub object_count: u64,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When the main pass ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Compressed bytes of blobs this backup wrote that no earlier backup had.
    pub bytes_added: u64,
    /// Whether it took unchanged objects' captures (history) over from a parent backup
    /// instead of reading them.
    #[serde(default)]
    pub incremental: bool,
    /// The backup it took them from (it may have been deleted since: blobs are shared, not
    /// chained, so this backup stays complete).
    #[serde(default)]
    pub parent_id: Option<BackupId>,
}

impl Backup {
    /// The state of one background phase.
    pub fn phase(&self, phase: Phase) -> &PhaseState {
        match phase {
            Phase::History => &self.history,
            Phase::Issues => &self.issues,
            Phase::Comments => &self.comments,
            Phase::Attachments => &self.attachments,
        }
    }
}

/// One entity to add to a backup.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Manifest kind, one of [`kind`].
    pub kind: String,
    /// The entity's id at the source (or its `ORIGINAL_ID`).
    pub original_id: String,
    /// The entity as JSON; stored canonicalized.
    pub value: serde_json::Value,
}

/// What one [`Store::put_entries`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PutStats {
    /// Manifest rows written.
    pub entries: u64,
    /// Blobs that were new to the store.
    pub blobs_added: u64,
    /// Compressed bytes of those new blobs.
    pub bytes_added: u64,
}

/// One manifest row with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entity's original id.
    pub original_id: String,
    /// Hex SHA-256 of `json`.
    pub hash: String,
    /// Canonical JSON bytes (verified against `hash`).
    pub json: Vec<u8>,
}

/// Filters for [`Store::list_backups`]; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupFilter {
    /// Only this site.
    pub site: Option<String>,
    /// Only this schema key.
    pub schema_key: Option<String>,
    /// Only this type.
    pub backup_type: Option<BackupType>,
    /// `started_at >= from`.
    pub from: Option<OffsetDateTime>,
    /// `started_at < to` (half-open, so consecutive ranges never overlap).
    pub to: Option<OffsetDateTime>,
}

/// A page request: at most `limit` items after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Maximum items returned.
    pub limit: u32,
    /// Items skipped.
    pub offset: u64,
}

/// One page of backups, newest first, and how many match in total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupPage {
    /// Total matching the filter (all pages).
    pub total: u64,
    /// This page.
    pub items: Vec<Backup>,
}

/// What [`Store::delete_backup`] freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeleteStats {
    /// Blobs no other backup used.
    pub blobs_removed: u64,
    /// Their compressed bytes.
    pub bytes_freed: u64,
}

/// What [`Store::recover`] cleaned up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RecoverStats {
    /// Running or failed backups removed.
    pub backups_removed: u64,
    /// Unreferenced blobs removed.
    pub blobs_removed: u64,
    /// Background phases that were `running` and were reset to `pending` (their job, requeued,
    /// resumes them).
    pub phases_reset: u64,
    /// Background phases left `pending` or `running` with no job to resume them, failed.
    pub phases_failed: u64,
    /// Jobs that were `running` and were put back to `queued`.
    pub jobs_requeued: u64,
}

/// A blob of a backup that fails verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BadBlob {
    /// Its key.
    pub hash: String,
    /// What is wrong.
    pub problem: BlobProblem,
}

/// A schema found on a site by the last sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncedSchema {
    /// Site name.
    pub site: String,
    /// Schema id.
    pub schema_id: String,
    /// Schema key.
    pub schema_key: String,
    /// Schema name.
    pub name: String,
    /// Objects in the schema at sync time.
    pub object_count: u64,
    /// When the sync ran.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
}

/// Rows written per write transaction by [`Store::put_entries`]: large enough that commits
/// (an fsync each) don't dominate, small enough that one transaction stays a few MiB and other
/// writers wait only milliseconds for the lock.
pub const BATCH_SIZE: usize = 500;

/// Entries returned per [`Store::entry_page`] call by [`dyn Store::for_each_entry`]: big enough
/// to amortize the query, small enough that a page of objects stays a few MiB.
pub const ENTRY_PAGE_SIZE: usize = 1000;

/// Persistent state of the daemon: backups (manifests + blobs), synced schemas and jobs.
///
/// Object-safe and shared as `Arc<dyn Store>`. Calls block; from async code use
/// [`AsyncStore`]. Every write runs in its own write transaction. Restore state (rows, id
/// maps, logs) is the supertrait [`RestoreStore`]; sites added through the API are
/// [`SiteStore`]; schedules and their firing state [`ScheduleStore`]; the figures of
/// `/metrics` [`FigureStore`]; post-restore tasks [`TaskStore`].
pub trait Store:
    RestoreStore + SiteStore + ScheduleStore + FigureStore + TaskStore + Send + Sync + 'static
{
    /// Name of the backend, recorded in each backup ("sqlite").
    fn backend(&self) -> &'static str;

    /// Whether the store is still usable as opened (for SQLite: the path still names the file
    /// opened); the daemon calls it at intervals so a store deleted or replaced under it is
    /// reported even while idle.
    ///
    /// # Errors
    ///
    /// [`Error::Replaced`].
    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// Starts a backup in status `running`, invisible to reads until completed.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] when the row cannot be written.
    fn begin_backup(&self, new: &NewBackup) -> Result<BackupId>;

    /// Adds entities to a backup: blobs that already exist are not written again (and cost
    /// nothing), manifest rows are upserted by `(kind, original_id)`. Pass batches of a few
    /// hundred; larger inputs are split into transactions of [`BATCH_SIZE`] rows.
    ///
    /// A `running` backup takes any kind; a `complete` one only the kinds of a background
    /// [`Phase`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::BackupState`] for a failed backup or a main-pass kind on
    /// a complete one, [`Error::Sqlite`].
    fn put_entries(&self, backup: BackupId, entries: &[NewEntry]) -> Result<PutStats>;

    /// [`Store::put_entries`] of one entry whose blob is already encoded into a file (a large
    /// attachment), copied into the store a piece at a time; a known hash costs no bytes.
    ///
    /// # Errors
    ///
    /// As [`Store::put_entries`]; [`Error::Io`] reading the file.
    fn put_spooled_entry(
        &self,
        backup: BackupId,
        kind: &str,
        original_id: &str,
        blob: &mut SpooledBlob,
    ) -> Result<PutStats>;

    /// Where large downloads are spooled while a backup encodes them: beside the store.
    fn scratch_dir(&self) -> std::path::PathBuf {
        std::env::temp_dir()
    }

    /// Makes a running backup visible: sets status `complete`, `ended_at` and `object_count`
    /// (counted from its `object` entries) in one transaction.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::BackupState`] if it is not running, [`Error::Sqlite`].
    fn complete_backup(&self, backup: BackupId, ended_at: OffsetDateTime) -> Result<Backup>;

    /// Marks a running backup `failed` and drops its entries and the blobs only it used.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::BackupState`] if it is complete, [`Error::Sqlite`].
    fn fail_backup(&self, backup: BackupId, ended_at: OffsetDateTime) -> Result<()>;

    /// Records the state of a background phase of a backup.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn set_phase(&self, backup: BackupId, phase: Phase, state: &PhaseState) -> Result<()>;

    /// Deletes a backup (any status), its manifest and every blob no other backup uses, in one
    /// transaction.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn delete_backup(&self, backup: BackupId) -> Result<DeleteStats>;

    /// Cleans up after a crash: deletes every non-complete backup, resets `running` background
    /// phases to `pending` (dropping their partial entries), requeues `running` jobs, and
    /// removes blobs no backup references. Only the process that owns the store may call it.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn recover(&self) -> Result<RecoverStats>;

    /// Records where a backup came from: the job that runs it (so that job, requeued after a
    /// crash, finds it again) and its incremental parent.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn set_backup_origin(&self, backup: BackupId, origin: &BackupOrigin) -> Result<()>;

    /// The complete backup made by `job`, if there is one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn backup_of_job(&self, job: JobId) -> Result<Option<Backup>>;

    /// Which of `ids` have an entry of `kind` in `backup` (no blob is read).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn existing_entries(&self, backup: BackupId, kind: &str, ids: &[String])
    -> Result<Vec<String>>;

    /// The parent an incremental backup `before` of this site and schema would take
    /// unchanged objects' captures from (the newest complete backup of the same site, schema
    /// key and schema id), with the number of complete backups since and including the newest
    /// full one.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn parent_candidate(
        &self,
        site: &str,
        schema_key: &str,
        schema_id: &str,
        before: BackupId,
    ) -> Result<Option<(BackupId, u32)>>;

    /// Up to `limit` `(original_id, hash)` pairs of `kind`, in id order, after `after`; no blob
    /// is read.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn entry_hashes(
        &self,
        backup: BackupId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;

    /// `(original_id, hash)` of those of `ids` that have an entry of `kind`.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn entry_hashes_of(
        &self,
        backup: BackupId,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<(String, String)>>;

    /// Takes entries of a background phase over from backup `from` into the complete backup
    /// `to` by reference (the same blobs; nothing is chained: deleting `from` leaves `to`
    /// whole). Returns how many were copied (ids `from` lacks are skipped).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::BackupState`] unless `to` is complete and `kind` a
    /// background phase's, [`Error::Sqlite`].
    fn copy_entries(&self, from: BackupId, to: BackupId, kind: &str, ids: &[String])
    -> Result<u64>;

    /// Lists complete backups matching `filter`, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn list_backups(&self, filter: &BackupFilter, page: PageRequest) -> Result<BackupPage>;

    /// One complete backup.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] also when the backup exists but is not complete; [`Error::Sqlite`].
    fn get_backup(&self, backup: BackupId) -> Result<Backup>;

    /// Number of entries of `kind` in a backup (any status).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn count_entries(&self, backup: BackupId, kind: &str) -> Result<u64>;

    /// Up to `limit` entries of `kind`, in id order (numeric ids numerically: shorter ids
    /// first, then by text), strictly after `after`; decompressed and verified. Keyset paging
    /// keeps memory flat and holds no lock between pages.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] for a bad blob, [`Error::Sqlite`].
    fn entry_page(
        &self,
        backup: BackupId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Entry>>;

    /// The canonical JSON stored under `hash`, verified.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Corrupt`], [`Error::Sqlite`].
    fn get_blob(&self, hash: &str) -> Result<Vec<u8>>;

    /// Writes the canonical JSON stored under `hash` into `out` as it decompresses (a large
    /// attachment is never held whole); returns its length. Its hash is checked at its end:
    /// on an error, `out` may have had part of it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Corrupt`], [`Error::Io`] (also when `out` fails),
    /// [`Error::Sqlite`].
    fn write_blob(&self, hash: &str, out: &mut dyn std::io::Write) -> Result<u64>;

    /// Re-hashes every blob of a backup (decompress + SHA-256) and returns the bad ones.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown backup, [`Error::Sqlite`].
    fn verify(&self, backup: BackupId) -> Result<Vec<BadBlob>>;

    /// Replaces the synced schemas of `site` with `schemas` (schemas no longer present go).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn replace_synced_schemas(&self, site: &str, schemas: &[SyncedSchema]) -> Result<()>;

    /// Synced schemas of one site (or all), ordered by site and key.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn list_synced_schemas(&self, site: Option<&str>) -> Result<Vec<SyncedSchema>>;

    /// Adds a `queued` job; with [`NewJob::unique`], only if no job of the same queue key is
    /// queued or running (checked and added in one transaction).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`], [`Error::Json`].
    fn enqueue_job(&self, new: &NewJob, now: OffsetDateTime) -> Result<Enqueued>;

    /// Atomically takes the oldest `queued` job whose queue key has no `running` job and marks
    /// it `running`: jobs of one key run one at a time, first come, first served, whichever
    /// process claims them.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn claim_next_job(&self, now: OffsetDateTime) -> Result<Option<Job>>;

    /// Applies `update` to a job; `false` when [`JobUpdate::only_if`] did not match.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`], [`Error::Json`].
    fn update_job(&self, job: JobId, update: &JobUpdate, now: OffsetDateTime) -> Result<bool>;

    /// One job.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn get_job(&self, job: JobId) -> Result<Job>;

    /// Jobs matching `filter`, newest first.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn list_jobs(&self, filter: &JobFilter, page: PageRequest) -> Result<Vec<Job>>;
}

impl dyn Store {
    /// Calls `f` for every entry of `kind` in a backup, in id order, one page of
    /// [`ENTRY_PAGE_SIZE`] in memory at a time. Returns how many entries were visited.
    ///
    /// Generic over the callback's error so a pipeline stage can stop with its own error.
    ///
    /// # Errors
    ///
    /// The first error of `f`, or a store error converted into `E`.
    pub fn for_each_entry<E: From<Error>>(
        &self,
        backup: BackupId,
        kind: &str,
        mut f: impl FnMut(Entry) -> Result<(), E>,
    ) -> Result<u64, E> {
        let mut after: Option<String> = None;
        let mut visited = 0;
        loop {
            let page = self.entry_page(backup, kind, after.as_deref(), ENTRY_PAGE_SIZE)?;
            let full = page.len() == ENTRY_PAGE_SIZE;
            after = page.last().map(|e| e.original_id.clone());
            for entry in page {
                f(entry)?;
                visited += 1;
            }
            if !full {
                return Ok(visited);
            }
        }
    }
}
