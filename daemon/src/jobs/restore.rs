//! Restore jobs: planning, execution and resume, STOP, the live event feeds, and restores
//! stored without a job.
//!
//! - **Queue per target site.** A restore job's queue key is its target site, so the claim
//!   query runs the restores of one site one after another, first come, first served (they
//!   share its rate budget, and a restore's object order assumes nobody else is writing the
//!   same schema), while restores to other sites run in parallel. A restore whose job waits in
//!   the queue is `pending`; it holds no job slot.
//! - **Planning in the job.** A restore started through the API is stored without a plan; its
//!   job plans it (reading the backup and the target, seconds for a large schema) and stores
//!   the plan, so a restart resumes with exactly that plan.
//! - **Every restore ends clearly.** When the job cannot run it (its target site is gone, its
//!   stored plan or request cannot be read, planning is refused), the row ends `error` with a
//!   message that says why, never `pending` for ever.
//! - **STOP.** A claimed restore's job has a stop switch ([`JobCtl`]); [`Jobs::stop_restore`]
//!   pulls it: the running stage stops starting requests, finishes the ones in flight, records
//!   them, and `restore::execute` marks the row `stopped`. A restore whose job is still queued
//!   is marked `stopped` and its job finished at once, in the store.
//! - **Shutdown** cancels the same switch through the root token. The restore checkpoints like
//!   a STOP, but the row goes back to `in_progress` and the job to `queued`, so the next start
//!   resumes it (as after a crash, where `SqliteStore::open` requeues the running job and
//!   `execute` re-derives the stage in flight from the target).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize as _;

use super::feed::{Feed, LiveEvent};
use super::{
    EnqueueError, JobCtl, JobError, JobOutcome, JobProgress, JobSpec, Jobs, RestoreResult,
    RestoreSpec, RestoreSummary, RunnerError,
};
use crate::error::error_chain;
use crate::restore::{self, RestoreEvent, RestorePlan, RestoreRequest};
use crate::sites::Site;
use crate::store::{
    self, JobFilter, JobId, JobStatus, JobUpdate, PageRequest, Restore, RestoreId, RestoreStatus,
    RestoreUpdate,
};

/// Feeds of ended restores kept in memory for late subscribers; older ones fall back to the
/// store's log.
const ENDED_FEEDS_KEPT: usize = 100;
/// Restore rows read per page when looking for restores without a job.
const ADOPT_PAGE: u32 = 500;

/// In-memory restore state of the runner: notifications and stop switches, never the record.
#[derive(Default)]
pub(super) struct RestoreRuntime {
    feeds: Mutex<BTreeMap<RestoreId, Arc<Feed>>>,
    ended: Mutex<VecDeque<RestoreId>>,
    stops: Mutex<BTreeMap<RestoreId, Arc<JobCtl>>>,
}

impl RestoreRuntime {
    /// Registers the stop switch of a claimed restore's job.
    pub(super) fn register(&self, restore_id: RestoreId, ctl: Arc<JobCtl>) {
        self.stops.lock().insert(restore_id, ctl);
    }
}

/// Why [`Jobs::resume_restore`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// It completed: nothing is left to do.
    #[error("restore {0} completed; there is nothing to resume")]
    Completed(RestoreId),
    /// It is queued or running already.
    #[error("restore {0} is {1} already")]
    Active(RestoreId, RestoreStatus),
    /// Its target site was removed.
    #[error("restore {id} cannot resume: its target site {site:?} is not configured any more")]
    SiteGone {
        /// The restore.
        id: RestoreId,
        /// Its target site.
        site: String,
    },
    /// Its backup was deleted.
    #[error("restore {id} cannot resume: its backup {backup} no longer exists")]
    BackupGone {
        /// The restore.
        id: RestoreId,
        /// Its backup.
        backup: i64,
    },
    /// Its job could not be queued.
    #[error(transparent)]
    Enqueue(#[from] EnqueueError),
    /// The store failed (or the restore does not exist).
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What [`Jobs::stop_restore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// It had not started (or was waiting to resume) and is now `stopped`.
    StoppedPending,
    /// It is running; the stage in flight ends cleanly and the row becomes `stopped`.
    Stopping,
    /// It had ended already with this status.
    AlreadyEnded(RestoreStatus),
}

fn ended(status: RestoreStatus) -> bool {
    matches!(
        status,
        RestoreStatus::Completed | RestoreStatus::Error | RestoreStatus::Stopped
    )
}

fn stopped_outcome(restore_id: RestoreId) -> JobOutcome {
    JobOutcome::Restore(RestoreResult {
        restore_id,
        status: RestoreStatus::Stopped,
        restore: None,
    })
}

/// The message stored with a restore that ends in error: the chain, plus what the API said.
fn row_message(e: &JobError) -> String {
    match e.body() {
        Some(body) if !body.is_null() => format!("{}: {body}", e.message()),
        _ => e.message(),
    }
}

impl Jobs {
    /// Enqueues the job of a stored (pending) restore.
    ///
    /// # Errors
    ///
    /// [`EnqueueError::ShuttingDown`], [`EnqueueError::Store`].
    pub async fn enqueue_restore(
        &self,
        restore_id: RestoreId,
        site: &str,
    ) -> Result<JobId, EnqueueError> {
        self.restore_feed_or_new(restore_id);
        let spec = JobSpec::Restore(RestoreSpec {
            restore_id,
            site: site.to_owned(),
        });
        self.enqueue(&spec).await
    }

    /// The restore ids of queued and running restore jobs, with the job ids.
    async fn active_restore_jobs(
        &self,
        status: Option<JobStatus>,
    ) -> Result<Vec<(RestoreId, JobId, JobStatus)>, store::Error> {
        let mut out = Vec::new();
        let statuses = match status {
            Some(s) => vec![s],
            None => vec![JobStatus::Queued, JobStatus::Running],
        };
        for status in statuses {
            let filter = JobFilter {
                status: Some(status),
                kind: Some(super::JobKind::Restore.as_str().to_owned()),
            };
            // Few restore jobs are ever queued or running at once; one generous page suffices.
            let page = PageRequest {
                limit: 100_000,
                offset: 0,
            };
            for job in self.store.list_jobs(filter, page).await? {
                if let Ok(JobSpec::Restore(spec)) = JobSpec::from_stored(&job.kind, &job.payload) {
                    out.push((spec.restore_id, job.id, job.status));
                }
            }
        }
        Ok(out)
    }

    /// Enqueues a job for every unfinished restore that has none: a crash between storing a
    /// restore and enqueueing its job, or a job that failed without ending its restore (older
    /// builds), would otherwise leave it `pending` for ever. Runs once at startup, before the
    /// first claim.
    pub(super) async fn adopt_orphan_restores(&self) -> Result<usize, store::Error> {
        let has_job: BTreeSet<RestoreId> = self
            .active_restore_jobs(None)
            .await?
            .into_iter()
            .map(|(restore, _, _)| restore)
            .collect();
        let mut orphans = Vec::new();
        let mut offset = 0;
        loop {
            let page = PageRequest {
                limit: ADOPT_PAGE,
                offset,
            };
            let rows = self.store.list_restores(None, page).await?;
            orphans.extend(
                rows.iter()
                    .filter(|r| !ended(r.status) && !has_job.contains(&r.id))
                    .map(|r| (r.id, r.target_site.clone())),
            );
            if rows.len() < ADOPT_PAGE as usize {
                break;
            }
            offset += u64::from(ADOPT_PAGE);
        }
        // Oldest first, so adopted restores keep their order in their site's queue.
        orphans.sort_unstable();
        let mut adopted = 0;
        for (id, site) in orphans {
            tracing::warn!(restore_id = id, "Restore without a job; enqueueing it.");
            match self.enqueue_restore(id, &site).await {
                Ok(_) => adopted += 1,
                Err(EnqueueError::Store(e)) => return Err(e),
                // Shutting down: the next start adopts the rest.
                Err(_) => return Ok(adopted),
            }
        }
        Ok(adopted)
    }

    /// The live feed of a restore, if this process has one (it ran or waits here).
    pub fn restore_feed(&self, restore_id: RestoreId) -> Option<Arc<Feed>> {
        self.restores.feeds.lock().get(&restore_id).cloned()
    }

    /// The feed of a restore, created empty if this process has none yet (a pending or
    /// requeued restore whose events will come once its job runs).
    pub fn restore_feed_or_new(&self, restore_id: RestoreId) -> Arc<Feed> {
        Arc::clone(self.restores.feeds.lock().entry(restore_id).or_default())
    }

    /// Stops a restore: one whose job waits in the queue at once, a running one at the end of
    /// its current request batch.
    ///
    /// # Errors
    ///
    /// `store::Error::NotFound` for an unknown restore, or another store error.
    pub async fn stop_restore(&self, restore_id: RestoreId) -> Result<StopOutcome, store::Error> {
        let row = self.store.get_restore(restore_id).await?;
        let ctl = self.restores.stops.lock().get(&restore_id).cloned();
        let message = match (row.status, &ctl) {
            (status, _) if ended(status) => return Ok(StopOutcome::AlreadyEnded(status)),
            (RestoreStatus::InProgress, Some(ctl)) => {
                ctl.stop_by_user();
                tracing::info!(restore_id, "Restore stop requested.");
                return Ok(StopOutcome::Stopping);
            }
            (RestoreStatus::Pending, _) => "stopped before it started",
            // In progress per its row but its job is queued (requeued after a restart).
            _ => "stopped by the user",
        };
        let update = RestoreUpdate {
            status: Some(RestoreStatus::Stopped),
            result: Some(Some(message.to_owned())),
            ended_at: Some(Some(self.clock.now())),
            ..Default::default()
        };
        self.store.update_restore(restore_id, update).await?;
        match ctl {
            // Claimed (planning, or waiting to retry): its job ends without running on.
            Some(ctl) => ctl.stop_by_user(),
            None => self.finish_queued_restore_job(restore_id).await?,
        }
        tracing::info!(restore_id, "Restore stopped before it ran.");
        Ok(StopOutcome::StoppedPending)
    }

    /// Resumes a failed or stopped restore: its job runs it again from where it stopped (the
    /// id map says what exists on the target, so nothing is created twice). A restore that
    /// had not been planned yet is planned by that job.
    ///
    /// # Errors
    ///
    /// [`ResumeError`]: completed, still active, target site or backup gone, or the store.
    pub async fn resume_restore(&self, id: RestoreId) -> Result<JobId, ResumeError> {
        let row = self.store.get_restore(id).await?;
        match row.status {
            RestoreStatus::Completed => return Err(ResumeError::Completed(id)),
            RestoreStatus::Pending | RestoreStatus::InProgress => {
                return Err(ResumeError::Active(id, row.status));
            }
            RestoreStatus::Error | RestoreStatus::Stopped => {}
        }
        // A job that still winds down (a STOP during a retry wait) must end first.
        if let Some((_, _, status)) = self
            .active_restore_jobs(None)
            .await?
            .into_iter()
            .find(|(restore, _, _)| *restore == id)
        {
            let shown = match status {
                JobStatus::Queued => RestoreStatus::Pending,
                _ => RestoreStatus::InProgress,
            };
            return Err(ResumeError::Active(id, shown));
        }
        if self.sites.get(&row.target_site).is_none() {
            return Err(ResumeError::SiteGone {
                id,
                site: row.target_site,
            });
        }
        match self.store.get_backup(row.backup_id).await {
            Ok(_) => {}
            Err(store::Error::NotFound { .. }) => {
                return Err(ResumeError::BackupGone {
                    id,
                    backup: row.backup_id,
                });
            }
            Err(e) => return Err(e.into()),
        }
        let status = if row.plan.is_null() {
            RestoreStatus::Pending
        } else {
            RestoreStatus::InProgress
        };
        let resume = RestoreUpdate {
            status: Some(status),
            result: Some(Some("resumed by the user".to_owned())),
            ended_at: Some(None),
            ..Default::default()
        };
        self.store.update_restore(id, resume).await?;
        // A fresh feed: the ended one already sent its `end`.
        self.restores.feeds.lock().remove(&id);
        let job = self.enqueue_restore(id, &row.target_site).await?;
        tracing::info!(restore_id = id, job_id = job, "Restore resumed.");
        Ok(job)
    }

    /// Finishes the queued job of a stopped restore in the store, so no stale job remains. A
    /// job claimed meanwhile finds the row stopped and ends by itself.
    async fn finish_queued_restore_job(&self, restore_id: RestoreId) -> Result<(), store::Error> {
        for (restore, job, _) in self.active_restore_jobs(Some(JobStatus::Queued)).await? {
            if restore != restore_id {
                continue;
            }
            let done = JobUpdate {
                status: Some(JobStatus::Done),
                outcome: Some(Some(stopped_outcome(restore_id).to_stored())),
                only_if: Some(JobStatus::Queued),
                ..JobUpdate::default()
            };
            self.store.update_job(job, done, self.clock.now()).await?;
        }
        Ok(())
    }

    /// Runs a restore job: plans the restore if its job must, then executes or resumes it.
    pub(super) async fn run_restore(
        &self,
        job_id: JobId,
        spec: &RestoreSpec,
        ctl: &JobCtl,
    ) -> Result<JobOutcome, JobError> {
        let id = spec.restore_id;
        let row = self
            .store
            .get_restore(id)
            .await
            .map_err(JobError::from_store)?;
        if ended(row.status) {
            // Stopped while queued (or ended before a crash requeued its job): nothing to run.
            return Ok(JobOutcome::Restore(RestoreResult {
                restore_id: id,
                status: row.status,
                restore: None,
            }));
        }
        let Some(site) = self.sites.get(&spec.site) else {
            let e = JobError::from(RunnerError::TargetGone(spec.site.clone()));
            return Err(self.end_restore(id, e).await);
        };
        let plan = match self.restore_plan(&row, &site, ctl).await {
            Ok(plan) => plan,
            Err(e) if e.kind() == super::FailureKind::Cancelled && ctl.by_user() => {
                return Ok(stopped_outcome(id));
            }
            Err(e) if e.is_temporary() || e.kind() == super::FailureKind::Cancelled => {
                return Err(e);
            }
            Err(e) => return Err(self.end_restore(id, e).await),
        };
        let feed = self.restore_feed_or_new(id);
        let on_event = |e: RestoreEvent| {
            if let RestoreEvent::Progress { stage, done, total }
            | RestoreEvent::StageFinished { stage, done, total } = &e
            {
                self.set_progress(
                    job_id,
                    JobProgress {
                        stage: stage.key().to_owned(),
                        done: *done,
                        total: *total,
                    },
                );
            }
            feed.push(LiveEvent::from(&e));
        };
        let run = restore::Run {
            on_event: &on_event,
            cancel: ctl.token.clone(),
            clock: &self.clock,
            hooks: &self.options.hooks,
        };
        let outcome = restore::execute_with(&self.store, site.client(), id, &plan, run).await;
        match outcome {
            Ok(o) if o.stopped && !ctl.by_user() => {
                // Shutdown, not STOP: leave the restore to be resumed by the next start.
                let resume = RestoreUpdate {
                    status: Some(RestoreStatus::InProgress),
                    result: Some(None),
                    ended_at: Some(None),
                    ..Default::default()
                };
                if let Err(e) = self.store.update_restore(id, resume).await {
                    tracing::warn!(restore_id = id, error = %error_chain(&e), "Marking the restore for resume failed.");
                }
                Err(JobError::cancelled())
            }
            Ok(o) => {
                tracing::info!(
                    restore_id = id,
                    created = o.objects_created,
                    failed = o.objects_failed,
                    stopped = o.stopped,
                    "Restore job finished."
                );
                let status = if o.stopped {
                    RestoreStatus::Stopped
                } else {
                    RestoreStatus::Completed
                };
                Ok(JobOutcome::Restore(RestoreResult {
                    restore_id: id,
                    status,
                    restore: Some(RestoreSummary::from(&o)),
                }))
            }
            Err(e) => Err(JobError::from_restore(e).context(format!("restore {id} failed"))),
        }
    }

    /// The restore's plan: the stored one, or, for a restore stored without one, a plan made
    /// now and stored before anything is executed.
    async fn restore_plan(
        &self,
        row: &Restore,
        site: &Site,
        ctl: &JobCtl,
    ) -> Result<RestorePlan, JobError> {
        let id = row.id;
        if !row.plan.is_null() {
            return restore::load_plan(&self.store, id, &self.clock)
                .await
                .map_err(|e| JobError::permanent(e).context("the stored plan cannot be read"));
        }
        let req = RestoreRequest::deserialize(&row.options).map_err(|source| {
            RunnerError::RestoreRequest {
                restore: id,
                source,
            }
        })?;
        tracing::info!(restore_id = id, "Planning the restore.");
        let plan = tokio::select! {
            planned = restore::plan_with(&self.store, site.client(), &req, restore::HookSetup {
                registry: &self.options.hooks,
                restore_id: Some(id),
            }) => {
                planned.map_err(|e| JobError::from_restore(e).context("planning failed"))?
            }
            () = ctl.token.cancelled() => return Err(JobError::cancelled()),
        };
        let stored = serde_json::to_value(&plan)
            .map_err(|e| JobError::permanent(e).context("the plan cannot be stored"))?;
        let update = RestoreUpdate {
            plan: Some(stored),
            ..Default::default()
        };
        self.store
            .update_restore(id, update)
            .await
            .map_err(JobError::from_store)?;
        Ok(plan)
    }

    /// Ends a restore that its job cannot run in `error`, with the reason; returns the error
    /// for the job.
    async fn end_restore(&self, id: RestoreId, e: JobError) -> JobError {
        let e = e.context(format!("restore {id} failed"));
        let end = RestoreUpdate {
            status: Some(RestoreStatus::Error),
            result: Some(Some(row_message(&e))),
            ended_at: Some(Some(self.clock.now())),
            ..Default::default()
        };
        if let Err(err) = self.store.update_restore(id, end).await {
            tracing::warn!(restore_id = id, error = %error_chain(&err), "Ending the restore failed.");
        }
        e
    }

    /// Before a retry: the restore is not over, so its row says so (the pipeline marked it
    /// `error` when the run failed), with what failed and when it runs again.
    pub(super) async fn restore_retrying(
        &self,
        id: RestoreId,
        e: &JobError,
        attempt: u32,
        delay: Duration,
    ) {
        let Ok(row) = self.store.get_restore(id).await else {
            return;
        };
        if row.status == RestoreStatus::Pending {
            // Planning failed; the row stays pending until the next run plans again.
            return;
        }
        let note = RestoreUpdate {
            status: Some(RestoreStatus::InProgress),
            result: Some(Some(format!(
                "run {attempt} failed, retrying in {} s: {}",
                delay.as_secs(),
                row_message(e)
            ))),
            ended_at: Some(None),
            ..Default::default()
        };
        if let Err(err) = self.store.update_restore(id, note).await {
            tracing::warn!(restore_id = id, error = %error_chain(&err), "Marking the restore for a retry failed.");
        }
    }

    /// Its job goes back to the queue at shutdown: a run that failed temporarily as the daemon
    /// stopped left the row `error`, which would end the restore at the next start instead of
    /// resuming it.
    pub(super) async fn restore_requeued(&self, id: RestoreId) {
        let Ok(row) = self.store.get_restore(id).await else {
            return;
        };
        if row.status != RestoreStatus::Error {
            return;
        }
        let resume = RestoreUpdate {
            status: Some(RestoreStatus::InProgress),
            result: Some(Some(
                "interrupted by shutdown; resumes at the next start".to_owned(),
            )),
            ended_at: Some(None),
            ..Default::default()
        };
        if let Err(e) = self.store.update_restore(id, resume).await {
            tracing::warn!(restore_id = id, error = %error_chain(&e), "Marking the restore for resume failed.");
        }
    }

    /// A STOP while the job waited to retry: the restore ends `stopped` without running on.
    pub(super) async fn restore_stopped_waiting(
        &self,
        id: RestoreId,
    ) -> Result<JobOutcome, JobError> {
        let end = RestoreUpdate {
            status: Some(RestoreStatus::Stopped),
            result: Some(Some("stopped by the user".to_owned())),
            ended_at: Some(Some(self.clock.now())),
            ..Default::default()
        };
        self.store
            .update_restore(id, end)
            .await
            .map_err(JobError::from_store)?;
        Ok(stopped_outcome(id))
    }

    /// After a restore's job ended: drops its stop switch and, unless the daemon is shutting
    /// down (the restore resumes after the restart), sends the feed's `end` event.
    pub(super) async fn restore_ended(&self, id: RestoreId) {
        self.restores.stops.lock().remove(&id);
        if self.root.is_cancelled() {
            return;
        }
        let feed = self.restore_feed_or_new(id);
        match self.store.get_restore(id).await {
            Ok(row) => feed.end(row.status, row.result.as_deref()),
            Err(e) => {
                tracing::warn!(restore_id = id, error = %error_chain(&e), "Reading the ended restore failed.");
                feed.end(RestoreStatus::Error, None);
            }
        }
        let mut ended = self.restores.ended.lock();
        ended.push_back(id);
        while ended.len() > ENDED_FEEDS_KEPT {
            if let Some(old) = ended.pop_front() {
                self.restores.feeds.lock().remove(&old);
            }
        }
    }
}
