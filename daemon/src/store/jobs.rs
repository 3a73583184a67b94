//! The persistent job queue's rows: a job, its status, what enqueueing did, and the changes
//! and filters the runner (`crate::jobs`) passes to the store.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{JobId, UnknownValue};

/// Status of a job in the persistent queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for the runner.
    Queued,
    /// Claimed by the runner.
    Running,
    /// Finished.
    Done,
    /// Finished with an error.
    Failed,
}
string_enum!(JobStatus { Queued => "queued", Running => "running", Done => "done", Failed => "failed" });

/// A job row. The store keeps a job's spec, outcome and failure as JSON and knows nothing of
/// their types: the runner (`crate::jobs`) gives them their meaning and versions them.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Id (also the queue order).
    pub id: JobId,
    /// What to run: "backup", "restore", "export", "verify", ...
    pub kind: String,
    /// The job's spec, interpreted by the runner for `kind`.
    pub payload: serde_json::Value,
    /// Where it is.
    pub status: JobStatus,
    /// When it was enqueued.
    pub created_at: OffsetDateTime,
    /// Last status change.
    pub updated_at: OffsetDateTime,
    /// Why it failed (a persisted message for users, not an error chain).
    pub error: Option<String>,
    /// Runs started so far (the first and every retry).
    pub attempts: u32,
    /// Jobs of the same key never run at the same time (see [`Store::claim_next_job`](super::Store::claim_next_job)).
    pub queue_key: Option<String>,
    /// What a done job produced (the runner's typed outcome as JSON).
    pub outcome: Option<serde_json::Value>,
    /// How a failed job failed (the runner's typed failure as JSON).
    pub failure: Option<serde_json::Value>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What to run.
    pub kind: String,
    /// Its spec.
    pub payload: serde_json::Value,
    /// Jobs of the same key run one at a time, oldest first.
    pub queue_key: Option<String>,
    /// Refuse the job while another of the same key is queued or running.
    pub unique: bool,
}

/// What [`Store::enqueue_job`](super::Store::enqueue_job) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The job was added with this id.
    Added(JobId),
    /// A job of the same key is queued or running (this one), so nothing was added.
    Active(JobId),
}

/// Changes to a job row; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobUpdate {
    /// New status.
    pub status: Option<JobStatus>,
    /// New error message (`Some(None)` clears it).
    pub error: Option<Option<String>>,
    /// New outcome JSON (`Some(None)` clears it).
    pub outcome: Option<Option<serde_json::Value>>,
    /// New failure JSON (`Some(None)` clears it).
    pub failure: Option<Option<serde_json::Value>>,
    /// New attempt count.
    pub attempts: Option<u32>,
    /// Apply only if the job has this status now (e.g. finish a job only while it is queued).
    pub only_if: Option<JobStatus>,
}

/// Filters for [`Store::list_jobs`](super::Store::list_jobs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub kind: Option<String>,
}
