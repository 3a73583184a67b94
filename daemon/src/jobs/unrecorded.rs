//! Ends of jobs the store would not take (a full disk, a read-only file): kept in memory,
//! shown as the job's state, and written as soon as the store accepts writes again.
//!
//! Without this, a job whose end could not be recorded stayed `running` in the store: `--wait`
//! hung on it and later backups of its schema got 409 until a restart. Now
//! [`Jobs::view`](super::Jobs::view) overlays the unrecorded end, so whoever waits sees the
//! job end, and the claim loop retries the write ([`Jobs::reconcile`]) every
//! [`RECONCILE_EVERY`] until it goes through. A restart before that requeues the job, as after
//! a crash: its end was never recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;

use super::Jobs;
use crate::error::error_chain;
use crate::store::{Job, JobId, JobUpdate};

/// How often the runner tries again to record the ends the store refused.
pub(super) const RECONCILE_EVERY: Duration = Duration::from_secs(1);

/// Job ends waiting for the store.
#[derive(Default)]
pub(super) struct Unrecorded(Mutex<BTreeMap<JobId, JobUpdate>>);

impl Unrecorded {
    /// Keeps the end of job `id` until [`Jobs::reconcile`] writes it.
    pub(super) fn keep(&self, id: JobId, end: JobUpdate) {
        self.0.lock().insert(id, end);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }

    pub(super) fn contains(&self, id: JobId) -> bool {
        self.0.lock().contains_key(&id)
    }

    /// `job` as it will be once its kept end is written.
    pub(super) fn overlay(&self, job: &mut Job) {
        let ends = self.0.lock();
        let Some(end) = ends.get(&job.id) else {
            return;
        };
        if let Some(status) = end.status {
            job.status = status;
        }
        if let Some(error) = &end.error {
            job.error.clone_from(error);
        }
        if let Some(outcome) = &end.outcome {
            job.outcome.clone_from(outcome);
        }
        if let Some(failure) = &end.failure {
            job.failure.clone_from(failure);
        }
        if let Some(attempts) = end.attempts {
            job.attempts = attempts;
        }
    }
}

impl Jobs {
    /// Writes the kept job ends, oldest first, until the store refuses one; returns how many
    /// were written.
    pub(super) async fn reconcile(&self) -> usize {
        let ends: Vec<(JobId, JobUpdate)> = self
            .unrecorded
            .0
            .lock()
            .iter()
            .map(|(id, end)| (*id, end.clone()))
            .collect();
        let mut written = 0;
        for (id, end) in ends {
            match self.store.update_job(id, end, self.clock.now()).await {
                Ok(_) => {
                    self.unrecorded.0.lock().remove(&id);
                    tracing::info!(
                        job_id = id,
                        "The job's end was recorded once the store took writes again."
                    );
                    written += 1;
                }
                Err(e) => {
                    tracing::debug!(job_id = id, error = %error_chain(&e), "The store still refuses the job's end.");
                    break;
                }
            }
        }
        if written > 0 {
            // A recorded end may free a queue key.
            self.wake.notify_one();
        }
        written
    }
}
