//! The job runner: long work (backups and restores) runs as jobs from the store's `jobs` table.
//!
//! The table is the queue and the source of truth: the API enqueues a row, the runner claims
//! the oldest queued row and records `done`/`failed`. Because state lives in the store, a
//! restart resumes work: `SqliteStore::open` runs `recover()`, which requeues jobs that were
//! running when the process died (and deletes their half-written backups), and the runner
//! picks them up again. Live progress (`stage done/total`) and the result of finished jobs
//! are kept in memory only; they are notifications for `--wait`, not state.
//!
//! Every job gets a child of the daemon's root [`CancellationToken`] and runs on the shared
//! [`TaskTracker`], so shutdown cancels all of them and can wait for them to clean up. A job
//! interrupted by shutdown goes back to `queued`, so the next start runs it again.
//!
//! Restores add a queue per target site, STOP and live event feeds: see `restore` and `feed`.

pub mod feed;
mod payload;
mod restore;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::api::error_chain;
use crate::backup::{self, Progress};
use crate::daemon::Sites;
use crate::store::{AsyncStore, Job, JobFilter, JobId, JobStatus, PageRequest};

pub use feed::{Feed, FeedEvent, Subscription};
pub use payload::{BackupJob, KIND_BACKUP, KIND_RESTORE, RestoreJob};
pub use restore::StopOutcome;

/// Jobs that run at the same time. Each site's client already bounds its own request
/// concurrency and rate; this only keeps one daemon from opening unbounded pipelines.
const MAX_CONCURRENT_JOBS: usize = 4;

/// Finished jobs whose result stays in memory for `GET /v1/jobs/{id}`; older ones keep only
/// their stored status.
const FINISHED_KEPT: usize = 1000;

/// The current time; a function so tests and the pipeline agree on one clock source.
pub type Clock = fn() -> OffsetDateTime;

/// Wall-clock time (UTC).
pub fn system_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// What the runner knows about a job beyond its row.
#[derive(Default)]
struct Live {
    progress: Option<Progress>,
    result: Option<Value>,
    /// Done or failed: eligible for [`Jobs::forget_old`].
    finished: bool,
}

/// A job as the API shows it: the stored row plus live progress and the result.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    /// The stored row.
    #[serde(flatten)]
    pub job: Job,
    /// Latest progress, while running (and the last one after it ended).
    pub progress: Option<Progress>,
    /// What the job produced (`{"backup": {...}}`), once done and while remembered.
    pub result: Option<Value>,
}

/// Why a job could not be enqueued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnqueueError {
    /// A job for the same site and schema is queued or running.
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

/// The job queue's runner and its in-memory view. Shared as `Arc<Jobs>`.
pub struct Jobs {
    store: AsyncStore,
    sites: Arc<Sites>,
    root: CancellationToken,
    tracker: TaskTracker,
    clock: Clock,
    live: Mutex<BTreeMap<JobId, Live>>,
    wake: Notify,
    slots: Arc<Semaphore>,
    /// Serialises "is one already queued?" + "enqueue", so two requests can't both pass.
    enqueue_lock: tokio::sync::Mutex<()>,
    /// Restore queues, stop switches and event feeds.
    restores: restore::RestoreRuntime,
}

impl Jobs {
    /// A runner over `store`; call [`Jobs::start`] to begin claiming jobs.
    pub fn new(
        store: AsyncStore,
        sites: Arc<Sites>,
        root: CancellationToken,
        tracker: TaskTracker,
        clock: Clock,
    ) -> Arc<Jobs> {
        Arc::new(Jobs {
            store,
            sites,
            root,
            tracker,
            clock,
            live: Mutex::new(BTreeMap::new()),
            wake: Notify::new(),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_JOBS)),
            enqueue_lock: tokio::sync::Mutex::new(()),
            restores: restore::RestoreRuntime::default(),
        })
    }

    /// Spawns the claim loop on the tracker; it ends when the root token is cancelled.
    pub fn start(self: &Arc<Self>) {
        let this = Arc::clone(self);
        self.tracker.spawn(
            async move { this.claim_loop().await }.instrument(tracing::info_span!("job_runner")),
        );
    }

    /// Enqueues a backup unless one of the same site and schema is already queued or running.
    ///
    /// # Errors
    ///
    /// [`EnqueueError::InProgress`], [`EnqueueError::ShuttingDown`], [`EnqueueError::Store`].
    pub async fn enqueue_backup(&self, job: &BackupJob) -> Result<JobId, EnqueueError> {
        let _guard = self.enqueue_lock.lock().await;
        if self.root.is_cancelled() {
            return Err(EnqueueError::ShuttingDown);
        }
        for status in [JobStatus::Queued, JobStatus::Running] {
            let filter = JobFilter {
                status: Some(status),
                kind: Some(KIND_BACKUP.to_owned()),
            };
            // Few jobs are ever queued or running at once, so one generous page suffices.
            let page = PageRequest {
                limit: 10_000,
                offset: 0,
            };
            for other in self.store.list_jobs(filter, page).await? {
                if BackupJob::from_payload(&other.payload)
                    .is_ok_and(|o| o.site == job.site && o.schema == job.schema)
                {
                    return Err(EnqueueError::InProgress {
                        site: job.site.clone(),
                        schema: job.schema.clone(),
                        job: other.id,
                    });
                }
            }
        }
        let id = self
            .store
            .enqueue_job(KIND_BACKUP, job.to_payload(), (self.clock)())
            .await?;
        tracing::info!(job_id = id, site = %job.site, schema = %job.schema, "Job enqueued.");
        self.wake.notify_one();
        Ok(id)
    }

    /// A token cancelled when the daemon shuts down (live streams end on it).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.root.clone()
    }

    /// A job's row with its live progress and result.
    ///
    /// # Errors
    ///
    /// `store::Error::NotFound` for an unknown id, or another store error.
    pub async fn view(&self, id: JobId) -> Result<JobView, crate::store::Error> {
        let job = self.store.get_job(id).await?;
        let live = self.live.lock();
        let (progress, result) = live
            .get(&id)
            .map(|l| (l.progress.clone(), l.result.clone()))
            .unwrap_or_default();
        Ok(JobView {
            job,
            progress,
            result,
        })
    }

    async fn claim_loop(self: Arc<Self>) {
        match self.adopt_orphan_restores().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(restores = n, "Restores without a job were enqueued."),
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "Looking for restores without a job failed.");
            }
        }
        loop {
            let permit = tokio::select! {
                () = self.root.cancelled() => return,
                permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            match self.store.claim_next_job((self.clock)()).await {
                Ok(Some(job)) => {
                    let this = Arc::clone(&self);
                    let span = tracing::info_span!("job", job_id = job.id, kind = %job.kind);
                    // Taken here, in claim order, so each site's restores run first come,
                    // first served.
                    let turn = (job.kind == KIND_RESTORE)
                        .then(|| self.restore_turn(&job))
                        .flatten();
                    self.tracker
                        .spawn(async move { this.run(job, turn, permit).await }.instrument(span));
                    // Look for more right away: several jobs may be queued.
                    continue;
                }
                Ok(None) => drop(permit),
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %error_chain(&e), "Claiming the next job failed.");
                }
            }
            tokio::select! {
                () = self.root.cancelled() => return,
                () = self.wake.notified() => {}
            }
        }
    }

    async fn run(&self, job: Job, turn: Option<restore::Turn>, permit: OwnedSemaphorePermit) {
        tracing::info!("Job started.");
        self.live.lock().insert(job.id, Live::default());
        let outcome = match job.kind.as_str() {
            KIND_BACKUP => {
                let r = self.run_backup(&job).await;
                drop(permit);
                r
            }
            KIND_RESTORE => self.run_restore(&job, turn, permit).await,
            other => Err(format!("unknown job kind {other:?}")),
        };
        let now = (self.clock)();
        let update = match outcome {
            Ok(result) => {
                tracing::info!("Job finished.");
                if let Some(live) = self.live.lock().get_mut(&job.id) {
                    live.result = Some(result);
                }
                self.store
                    .update_job(job.id, JobStatus::Done, None, now)
                    .await
            }
            Err(_) if self.root.is_cancelled() => {
                // Interrupted by shutdown, not failed: run it again after the restart.
                tracing::info!("Job interrupted by shutdown; requeued.");
                self.live.lock().remove(&job.id);
                self.store
                    .update_job(job.id, JobStatus::Queued, None, now)
                    .await
            }
            Err(message) => {
                tracing::warn!(error = %message, "Job failed.");
                self.store
                    .update_job(job.id, JobStatus::Failed, Some(&message), now)
                    .await
            }
        };
        if let Err(e) = update {
            tracing::error!(error = %error_chain(&e), "Recording the job's end failed.");
        }
        if let Some(live) = self.live.lock().get_mut(&job.id) {
            live.finished = true;
        }
        self.forget_old();
    }

    /// Runs a backup job; `Ok` holds the result JSON, `Err` the message users see.
    async fn run_backup(&self, job: &Job) -> Result<Value, String> {
        let spec = BackupJob::from_payload(&job.payload)
            .map_err(|e| format!("invalid backup job payload: {e}"))?;
        let site = self
            .sites
            .get(&spec.site)
            .ok_or_else(|| format!("site {:?} is no longer configured", spec.site))?;
        let request = spec.request();
        let id = job.id;
        let on_progress = |p: Progress| {
            if let Some(live) = self.live.lock().get_mut(&id) {
                live.progress = Some(p);
            }
        };
        let backup_id = backup::run(
            site.client(),
            &self.store,
            &request,
            &on_progress,
            self.root.child_token(),
            &crate::clock::system(),
        )
        .await
        .map_err(|e| error_chain(&e))?;
        let backup = self
            .store
            .get_backup(backup_id)
            .await
            .map_err(|e| error_chain(&e))?;
        tracing::info!(backup_id, objects = backup.object_count, "Backup complete.");
        serde_json::to_value(&backup)
            .map(|b| serde_json::json!({ "backup": b }))
            .map_err(|e| error_chain(&e))
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
