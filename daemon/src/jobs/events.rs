//! Live events of every job, for `GET /v1/jobs/{id}/events` (server-sent events) and
//! `backup run --follow`: a job started a run, made progress, will be retried, ended. One
//! broadcast channel carries the events of all jobs; a subscriber keeps those of its job.
//!
//! Like the restore feed, this is a notification channel, not state: the job row is the
//! record, and a stream starts with the job's state read from it ([`JobEvent::State`]), so a
//! subscriber that comes late or falls behind still ends with the truth. Post-restore tasks,
//! as jobs, get their feed from here without any code of their own.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{JobOutcome, JobProgress};
use crate::store::{JobId, JobStatus};

/// Events buffered per subscriber before it starts skipping (progress of busy jobs).
const CAPACITY: usize = 4096;

/// One live event of a job, as the stream sends it: `{"event": kind, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobEvent {
    /// The job as the stream found it (always the first event).
    State {
        /// Its status.
        status: JobStatus,
        /// Its latest progress, if it is running.
        progress: Option<JobProgress>,
    },
    /// A run started (the first, or a retry).
    Started {
        /// Runs so far, this one included.
        attempt: u32,
    },
    /// Progress within a stage.
    Progress(JobProgress),
    /// A run failed temporarily; the job runs again after a delay.
    Retrying {
        /// The run that failed.
        attempt: u32,
        /// Milliseconds until the next run.
        delay_ms: u64,
        /// Why it failed.
        error: String,
    },
    /// The last event: how the job ended (`queued` when shutdown interrupted it; it runs
    /// again after the restart).
    End {
        /// Its status.
        status: JobStatus,
        /// Why it failed.
        error: Option<String>,
        /// What it produced (boxed: an outcome is large next to the other events).
        #[schema(value_type = Option<Object>)]
        result: Option<Box<JobOutcome>>,
    },
    /// The daemon is shutting down; the stream ends.
    Shutdown,
}

impl JobEvent {
    /// The `event` field.
    pub fn kind(&self) -> &'static str {
        match self {
            JobEvent::State { .. } => "state",
            JobEvent::Started { .. } => "started",
            JobEvent::Progress(_) => "progress",
            JobEvent::Retrying { .. } => "retrying",
            JobEvent::End { .. } => "end",
            JobEvent::Shutdown => "shutdown",
        }
    }

    /// Whether this is the last event of a job's stream.
    pub fn is_end(&self) -> bool {
        matches!(self, JobEvent::End { .. } | JobEvent::Shutdown)
    }
}

/// An event and its job.
#[derive(Debug, Clone)]
pub struct JobNote {
    /// The job.
    pub job: JobId,
    /// What happened.
    pub event: Arc<JobEvent>,
}

/// The channel of every job's events.
pub(super) struct JobBus {
    tx: broadcast::Sender<JobNote>,
}

impl Default for JobBus {
    fn default() -> Self {
        JobBus {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl JobBus {
    /// Publishes an event of `job` (nobody listening is fine).
    pub(super) fn publish(&self, job: JobId, event: JobEvent) {
        let _ = self.tx.send(JobNote {
            job,
            event: Arc::new(event),
        });
    }

    /// Events of every job from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<JobNote> {
        self.tx.subscribe()
    }
}
