//! The job runner: long work (backups, restores, exports, verifications) runs as jobs from the
//! store's `jobs` table.
//!
//! The table is the queue and the source of truth: the API enqueues a row holding a typed,
//! versioned [`JobSpec`]; the runner claims the oldest claimable row and records how it ended,
//! with its typed [`JobOutcome`] (or [`JobFailure`]) in the row, so a job's result survives a
//! restart. Claiming skips a job whose queue key has a running job: restores of one target
//! site run one after another, first come, first served, and since that rule lives in the
//! claim query, several daemons could share one store. A restart resumes work:
//! `SqliteStore::open` requeues jobs that were running when the process died, and the runner
//! picks them up again. Live progress (`stage done/total`) is kept in memory only: it is a
//! notification for `--wait`, not state.
//!
//! Failures are typed ([`JobError`]): a temporary one is run again with backoff up to
//! [`RetryPolicy::retries`] times (the job stays `running` meanwhile, so its queue stays
//! blocked and its order kept), a permanent one fails the job, and an interruption by shutdown
//! puts the job back in the queue for the next start.
//!
//! Every job gets a child of the daemon's root [`CancellationToken`] and runs on the shared
//! [`TaskTracker`], so shutdown cancels all of them and can wait for them to clean up.
//!
//! Kinds: `backups` (backup, export, verify), `restore` (restores: planning, STOP, live
//! event feeds, resume) and `tasks` (post-restore tasks); specs in `spec`, outcomes in
//! `outcome`, errors in `error`.

mod backups;
mod error;
pub mod events;
pub mod feed;
mod outcome;
mod restore;
mod scheduled;
mod spec;
mod tasks;
#[cfg(test)]
mod tests_unrecorded;
mod unrecorded;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::clock::SharedClock;
use crate::error::error_chain;
use crate::sites::Sites;
use crate::store::{AsyncStore, Enqueued, Job, JobId, JobStatus, JobUpdate, NewJob};

pub use error::{BoxError, FailureKind, JobError, JobFailure, RunnerError};
pub use events::{JobEvent, JobNote};
pub use feed::{Feed, FeedEvent, Subscription};
pub use outcome::{
    BackupOutcome, ExportReport, JobOutcome, OUTCOME_VERSION, OutcomeError, RestoreResult,
    RestoreSummary, StageTally, TaskResult, VerifyReport,
};
pub use restore::{ResumeError, StopOutcome};
pub use spec::{
    BackupSpec, ExportSpec, JobKind, JobSpec, RestoreSpec, SPEC_VERSION, ScheduledBy, SpecError,
    TaskSpec, VerifySpec,
};

/// Finished jobs whose last progress stays in memory for `GET /v1/jobs/{id}`.
const FINISHED_KEPT: usize = 1000;
/// How often recording a job's end is tried at once before it is kept in memory and written
/// later (see `unrecorded`).
const END_RECORD_TRIES: u32 = 2;

/// How temporary failures are retried: up to `retries` more runs, waiting `first_delay`,
/// doubled before each further retry, at most `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs after the first one.
    pub retries: u32,
    /// Wait before the first retry.
    pub first_delay: Duration,
    /// Longest wait.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait after run number `attempt` (1-based) failed.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        self.first_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay)
    }
}

/// How the runner runs.
#[derive(Debug, Clone)]
pub struct JobsOptions {
    /// Jobs that run at the same time. Each site's client already bounds its own request
    /// concurrency and rate; this only keeps one daemon from opening unbounded pipelines.
    pub max_concurrent: usize,
    /// Retries of temporary failures.
    pub retry: RetryPolicy,
    /// The configured hooks restores select from.
    pub hooks: Arc<crate::hooks::HookRegistry>,
    /// `[backup] full_every`: the cycle of a backup whose spec names none (no schedule
    /// covers its schema).
    pub full_every: u32,
}

impl Default for JobsOptions {
    fn default() -> Self {
        JobsOptions {
            max_concurrent: 4,
            retry: RetryPolicy::default(),
            hooks: Arc::default(),
            full_every: crate::backup::DEFAULT_FULL_EVERY,
        }
    }
}

/// Where a running job is: `done` of `total` in `stage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobProgress {
    /// The stage (a backup stage name or a restore stage key).
    pub stage: String,
    /// Items done in this stage.
    pub done: u64,
    /// Items expected in this stage.
    pub total: u64,
}

/// A job as the API shows it: the stored row, typed, plus live progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    /// Id.
    pub id: JobId,
    /// Kind, as stored.
    pub kind: String,
    /// The spec (`None` when the stored payload cannot be read by this build).
    #[serde(rename = "payload")]
    #[schema(value_type = Option<Object>)]
    pub spec: Option<JobSpec>,
    /// Where it is.
    pub status: JobStatus,
    /// When it was enqueued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last status change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Why it failed (or, while it runs, why its last run failed before a retry).
    pub error: Option<String>,
    /// Runs started so far.
    #[serde(default)]
    pub attempts: u32,
    /// The typed failure behind `error`.
    #[serde(default)]
    pub failure: Option<JobFailure>,
    /// Latest progress, while running (and the last one after it ended, while remembered).
    pub progress: Option<JobProgress>,
    /// What the job produced, once done.
    #[schema(value_type = Option<Object>)]
    pub result: Option<JobOutcome>,
}

/// Why a job could not be enqueued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnqueueError {
    /// A backup of the same site and schema is queued or running.
    #[error("a backup of schema {schema} on site {site} is already queued or running (job {job})")]
    InProgress {
        /// Site name.
        site: String,
        /// Schema key.
        schema: String,
        /// The existing job.
        job: JobId,
    },
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The store failed.
    #[error("job store")]
    Store(#[from] crate::store::Error),
}

/// A running job's stop switch: a child of the root token, and whether a user (not shutdown)
/// pulled it.
pub(crate) struct JobCtl {
    token: CancellationToken,
    by_user: AtomicBool,
}

impl JobCtl {
    fn new(token: CancellationToken) -> Self {
        JobCtl {
            token,
            by_user: AtomicBool::new(false),
        }
    }

    fn stop_by_user(&self) {
        self.by_user.store(true, Ordering::SeqCst);
        self.token.cancel();
    }

    fn by_user(&self) -> bool {
        self.by_user.load(Ordering::SeqCst)
    }
}

/// What the runner keeps about a job beyond its row.
#[derive(Default)]
struct Live {
    progress: Option<JobProgress>,
    /// Ended: eligible for [`Jobs::forget_old`].
    finished: bool,
}

/// The job queue's runner and its in-memory view. Shared as `Arc<Jobs>`.
pub struct Jobs {
    store: AsyncStore,
    sites: Arc<Sites>,
    root: CancellationToken,
    tracker: TaskTracker,
    clock: SharedClock,
    options: JobsOptions,
    live: Mutex<BTreeMap<JobId, Live>>,
    wake: Notify,
    slots: Arc<Semaphore>,
    /// Stop switches and event feeds of restores.
    restores: restore::RestoreRuntime,
    /// Live events of every job.
    bus: events::JobBus,
    /// Durations of finished jobs, for `/metrics`.
    metrics: crate::metrics::JobMetrics,
    /// Ends the store refused, until it takes them.
    unrecorded: unrecorded::Unrecorded,
}

impl Jobs {
    /// A runner over `store`; call [`Jobs::start`] to begin claiming jobs.
    pub fn new(
        store: AsyncStore,
        sites: Arc<Sites>,
        root: CancellationToken,
        tracker: TaskTracker,
        clock: SharedClock,
        options: JobsOptions,
    ) -> Arc<Jobs> {
        let slots = Arc::new(Semaphore::new(options.max_concurrent.max(1)));
        Arc::new(Jobs {
            store,
            sites,
            root,
            tracker,
            clock,
            options,
            live: Mutex::new(BTreeMap::new()),
            wake: Notify::new(),
            slots,
            restores: restore::RestoreRuntime::default(),
            bus: events::JobBus::default(),
            metrics: crate::metrics::JobMetrics::default(),
            unrecorded: unrecorded::Unrecorded::default(),
        })
    }

    /// The configured hooks.
    pub fn hooks(&self) -> &crate::hooks::HookRegistry {
        &self.options.hooks
    }

    /// Live events of every job from now on (see [`events`]).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<JobNote> {
        self.bus.subscribe()
    }

    /// Durations of the jobs that ended since the daemon started.
    pub fn metrics(&self) -> &crate::metrics::JobMetrics {
        &self.metrics
    }

    /// Spawns the claim loop on the tracker; it ends when the root token is cancelled.
    pub fn start(self: &Arc<Self>) {
        let this = Arc::clone(self);
        self.tracker.spawn(
            async move { this.claim_loop().await }.instrument(tracing::info_span!("job_runner")),
        );
    }

    /// Enqueues a job. A backup is refused while one of the same site and schema is queued
    /// or running (the store checks and adds in one transaction).
    ///
    /// # Errors
    ///
    /// [`EnqueueError::InProgress`], [`EnqueueError::ShuttingDown`], [`EnqueueError::Store`].
    pub async fn enqueue(&self, spec: &JobSpec) -> Result<JobId, EnqueueError> {
        if self.root.is_cancelled() {
            return Err(EnqueueError::ShuttingDown);
        }
        let new = NewJob {
            kind: spec.kind().as_str().to_owned(),
            payload: spec.to_payload(),
            queue_key: spec.queue_key(),
            unique: matches!(spec, JobSpec::Backup(_)),
        };
        let mut enqueued = self
            .store
            .enqueue_job(new.clone(), self.clock.now())
            .await?;
        if let Enqueued::Active(job) = enqueued
            && self.unrecorded.contains(job)
        {
            // The active job has ended; only its end is not in the store yet.
            self.reconcile().await;
            enqueued = self.store.enqueue_job(new, self.clock.now()).await?;
        }
        match enqueued {
            Enqueued::Added(id) => {
                tracing::info!(job_id = id, kind = %spec.kind(), "Job enqueued.");
                self.wake.notify_one();
                Ok(id)
            }
            Enqueued::Active(job) => match spec {
                JobSpec::Backup(b) => Err(EnqueueError::InProgress {
                    site: b.site.clone(),
                    schema: b.schema.clone(),
                    job,
                }),
                // Only backups are unique; another kind never gets here.
                _ => Ok(job),
            },
        }
    }

    /// A token cancelled when the daemon shuts down (live streams end on it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.root.clone()
    }

    /// A job's row, typed, with its live progress.
    ///
    /// # Errors
    ///
    /// `store::Error::NotFound` for an unknown id, or another store error.
    pub async fn view(&self, id: JobId) -> Result<JobView, crate::store::Error> {
        let mut job = self.store.get_job(id).await?;
        self.unrecorded.overlay(&mut job);
        let progress = self.live.lock().get(&id).and_then(|l| l.progress.clone());
        Ok(view(job, progress))
    }

    async fn claim_loop(self: Arc<Self>) {
        match self.adopt_orphan_restores().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(restores = n, "Restores without a job were enqueued."),
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "Looking for restores without a job failed.");
            }
        }
        match self.adopt_orphan_tasks().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "Tasks without a job were enqueued."),
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "Looking for tasks without a job failed.");
            }
        }
        loop {
            if !self.unrecorded.is_empty() {
                self.reconcile().await;
            }
            let permit = tokio::select! {
                () = self.root.cancelled() => return,
                permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            match self.store.claim_next_job(self.clock.now()).await {
                Ok(Some(job)) => {
                    let this = Arc::clone(&self);
                    let span = tracing::info_span!("job", job_id = job.id, kind = %job.kind);
                    self.tracker
                        .spawn(async move { this.run(job, permit).await }.instrument(span));
                    // Look for more right away: several jobs may be queued.
                    continue;
                }
                Ok(None) => drop(permit),
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %error_chain(&e), "Claiming the next job failed.");
                }
            }
            // Woken by an enqueue or by a job's end (which may free its queue key), or, while
            // the store refuses job ends, to try them again.
            let retry_ends = !self.unrecorded.is_empty();
            tokio::select! {
                () = self.root.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(unrecorded::RECONCILE_EVERY), if retry_ends => {}
            }
        }
    }

    async fn run(&self, job: Job, permit: OwnedSemaphorePermit) {
        tracing::info!("Job started.");
        let started = tokio::time::Instant::now();
        let ctl = Arc::new(JobCtl::new(self.root.child_token()));
        let (result, attempts) = match JobSpec::from_stored(&job.kind, &job.payload) {
            Ok(spec) => {
                let ran = self.run_spec(&job, &spec, &ctl).await;
                Self::scheduled_ended(&spec, &ran.0);
                ran
            }
            Err(e) => (Err(JobError::from(RunnerError::Spec(e))), job.attempts),
        };
        drop(permit);
        let status = self.finish(job.id, result, attempts, ctl.by_user()).await;
        self.metrics
            .observe(&job.kind, status.as_str(), started.elapsed().as_secs_f64());
        // Its end may free its queue key for the next job of that key.
        self.wake.notify_one();
    }

    async fn run_spec(
        &self,
        job: &Job,
        spec: &JobSpec,
        ctl: &Arc<JobCtl>,
    ) -> (Result<JobOutcome, JobError>, u32) {
        self.live.lock().insert(job.id, Live::default());
        if let JobSpec::Restore(r) = spec {
            self.restores.register(r.restore_id, Arc::clone(ctl));
        }
        let ran = self.run_attempts(job, spec, ctl).await;
        if let JobSpec::Restore(r) = spec {
            if self.requeues(&ran.0, ctl.by_user()) {
                self.restore_requeued(r.restore_id).await;
            }
            self.restore_ended(r.restore_id).await;
        }
        if let JobSpec::Task(t) = spec {
            let requeued = self.requeues(&ran.0, ctl.by_user());
            self.task_ended(t.task_id, &ran.0, requeued).await;
        }
        ran
    }

    /// Runs a job, retrying temporary failures; returns the last result and the runs so far.
    async fn run_attempts(
        &self,
        job: &Job,
        spec: &JobSpec,
        ctl: &JobCtl,
    ) -> (Result<JobOutcome, JobError>, u32) {
        let mut attempts = job.attempts;
        loop {
            attempts += 1;
            let count = JobUpdate {
                attempts: Some(attempts),
                ..JobUpdate::default()
            };
            if let Err(e) = self.store.update_job(job.id, count, self.clock.now()).await {
                tracing::warn!(error = %error_chain(&e), "Counting the job's run failed.");
            }
            self.bus
                .publish(job.id, JobEvent::Started { attempt: attempts });
            let result = match spec {
                JobSpec::Backup(s) => self.run_backup(job.id, s, ctl).await,
                JobSpec::Restore(s) => self.run_restore(job.id, s, ctl).await,
                JobSpec::Export(s) => self.run_export(s).await,
                JobSpec::Verify(s) => self.run_verify(s).await,
                JobSpec::Task(s) => self.run_task(job.id, s, ctl).await,
            };
            let e = match result {
                Ok(outcome) => return (Ok(outcome), attempts),
                Err(e) => e,
            };
            if !e.is_temporary()
                || attempts > self.options.retry.retries
                || ctl.token.is_cancelled()
            {
                return (Err(e), attempts);
            }
            let delay = self.options.retry.delay(attempts);
            let message = e.message();
            tracing::warn!(attempt = attempts, delay_ms = delay.as_millis() as u64, error = %message, "Job failed temporarily; retrying.");
            let note = JobUpdate {
                error: Some(Some(format!(
                    "attempt {attempts} failed, retrying in {} s: {message}",
                    delay.as_secs()
                ))),
                failure: Some(serde_json::to_value(e.failure()).ok()),
                ..JobUpdate::default()
            };
            if let Err(e) = self.store.update_job(job.id, note, self.clock.now()).await {
                tracing::warn!(error = %error_chain(&e), "Recording the failed run failed.");
            }
            self.bus.publish(
                job.id,
                JobEvent::Retrying {
                    attempt: attempts,
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    error: message.clone(),
                },
            );
            if let JobSpec::Restore(r) = spec {
                self.restore_retrying(r.restore_id, &e, attempts, delay)
                    .await;
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = ctl.token.cancelled() => {
                    let result = match spec {
                        JobSpec::Restore(r) if ctl.by_user() => {
                            self.restore_stopped_waiting(r.restore_id).await
                        }
                        _ => Err(JobError::cancelled()),
                    };
                    return (result, attempts);
                }
            }
        }
    }

    /// Whether a job that ended with `result` goes back to the queue: shutdown interrupted it
    /// (not a user's STOP), and it did not fail for good.
    fn requeues(&self, result: &Result<JobOutcome, JobError>, stopped_by_user: bool) -> bool {
        match result {
            Err(e) => {
                self.root.is_cancelled() && !stopped_by_user && e.kind() != FailureKind::Permanent
            }
            Ok(_) => false,
        }
    }

    /// Records how a job ended: done with its outcome, failed with its typed failure, or, when
    /// shutdown interrupted it, queued again for the next start. Returns the status recorded.
    async fn finish(
        &self,
        id: JobId,
        result: Result<JobOutcome, JobError>,
        attempts: u32,
        stopped_by_user: bool,
    ) -> JobStatus {
        let requeue = self.requeues(&result, stopped_by_user);
        let end = match (&result, requeue) {
            (Ok(outcome), _) => JobEvent::End {
                status: JobStatus::Done,
                error: None,
                result: Some(Box::new(outcome.clone())),
            },
            (Err(_), true) => JobEvent::End {
                status: JobStatus::Queued,
                error: None,
                result: None,
            },
            (Err(e), false) => JobEvent::End {
                status: JobStatus::Failed,
                error: Some(e.message()),
                result: None,
            },
        };
        let update = match result {
            Ok(outcome) => {
                tracing::info!("Job finished.");
                JobUpdate {
                    status: Some(JobStatus::Done),
                    error: Some(None),
                    failure: Some(None),
                    outcome: Some(Some(outcome.to_stored())),
                    attempts: Some(attempts),
                    only_if: None,
                }
            }
            Err(_) if requeue => {
                // Interrupted by shutdown, not failed: run it again after the restart (the
                // interrupted run does not count against the retries).
                tracing::info!("Job interrupted by shutdown; requeued.");
                JobUpdate {
                    status: Some(JobStatus::Queued),
                    attempts: Some(attempts.saturating_sub(1)),
                    ..JobUpdate::default()
                }
            }
            Err(e) => {
                let failure = e.failure();
                tracing::warn!(kind = ?failure.kind, error = %failure.message, "Job failed.");
                JobUpdate {
                    status: Some(JobStatus::Failed),
                    error: Some(Some(failure.message.clone())),
                    failure: Some(serde_json::to_value(&failure).ok()),
                    outcome: Some(None),
                    attempts: Some(attempts),
                    only_if: None,
                }
            }
        };
        for attempt in 1..=END_RECORD_TRIES {
            match self
                .store
                .update_job(id, update.clone(), self.clock.now())
                .await
            {
                Ok(_) => break,
                Err(e) if attempt < END_RECORD_TRIES => {
                    tracing::warn!(error = %error_chain(&e), "Recording the job's end failed; trying again.");
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %error_chain(&e), "Recording the job's end failed; it is kept and written once the store takes writes again.");
                    self.unrecorded.keep(id, update.clone());
                }
            }
        }
        if let Some(live) = self.live.lock().get_mut(&id) {
            live.finished = true;
        }
        self.forget_old();
        let status = match &end {
            JobEvent::End { status, .. } => *status,
            _ => JobStatus::Failed,
        };
        self.bus.publish(id, end);
        status
    }

    /// Sets the live progress of a job.
    fn set_progress(&self, id: JobId, progress: JobProgress) {
        if let Some(live) = self.live.lock().get_mut(&id) {
            live.progress = Some(progress.clone());
        }
        self.bus.publish(id, JobEvent::Progress(progress));
    }

    /// Drops the in-memory state of the oldest finished jobs beyond [`FINISHED_KEPT`].
    fn forget_old(&self) {
        let mut live = self.live.lock();
        let finished: Vec<JobId> = live
            .iter()
            .filter(|(_, l)| l.finished)
            .map(|(id, _)| *id)
            .collect();
        let excess = finished.len().saturating_sub(FINISHED_KEPT);
        for id in finished.into_iter().take(excess) {
            live.remove(&id);
        }
    }
}

/// The API's view of a stored job.
fn view(job: Job, progress: Option<JobProgress>) -> JobView {
    let spec = JobSpec::from_stored(&job.kind, &job.payload).ok();
    let result = job.outcome.as_ref().and_then(|v| match JobOutcome::from_stored(v) {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::warn!(job_id = job.id, error = %error_chain(&e), "A stored job outcome cannot be read.");
            None
        }
    });
    let failure = job
        .failure
        .as_ref()
        .and_then(|v| JobFailure::deserialize(v).ok());
    JobView {
        id: job.id,
        kind: job.kind,
        spec,
        status: job.status,
        created_at: job.created_at,
        updated_at: job.updated_at,
        error: job.error,
        attempts: job.attempts,
        failure,
        progress,
        result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let p = RetryPolicy {
            retries: 3,
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(25),
        };
        assert_eq!(p.delay(1), Duration::from_secs(10));
        assert_eq!(p.delay(2), Duration::from_secs(20));
        assert_eq!(p.delay(3), Duration::from_secs(25));
        assert_eq!(p.delay(400), Duration::from_secs(25));
    }
}
