//! Restore jobs: the per-site queue, STOP, the live event feeds, and resume after a restart.
//!
//! - **Queue per target site.** Restores aimed at one site run one after another (they share
//!   its rate budget, and a restore's object order assumes nobody else is writing the same
//!   schema), restores to different sites run in parallel. The claim loop is the only task that
//!   claims jobs, in id order, so it hands each restore job its [`Turn`] synchronously: a
//!   oneshot receiver that fires when the previous restore of that site ends. A restore waiting
//!   for its turn holds no job slot, so a long queue on one site never starves backups or
//!   other sites; its row stays `pending`.
//! - **STOP.** Each claimed restore has a cancel token (a child of the daemon's root token).
//!   [`Jobs::stop_restore`] cancels it: the running stage stops starting requests, finishes the
//!   ones in flight, records them, and `restore::execute` marks the row `stopped`. A pending
//!   restore is just marked `stopped`; when its turn comes the job ends without running.
//! - **Shutdown** cancels the same token through the root. The restore checkpoints like a STOP,
//!   but the row goes back to `in_progress` and the job to `queued`, so the next start resumes
//!   it (as after a crash, where `SqliteStore::open` requeues the running job and `execute`
//!   re-derives the stage in flight from the target).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio_util::sync::CancellationToken;

use super::feed::Feed;
use super::{EnqueueError, Jobs, RestoreJob};
use crate::api::error_chain;
use crate::backup::Progress;
use crate::restore::{self, RestoreEvent};
use crate::store::{
    self, Job, JobFilter, JobId, JobStatus, PageRequest, RestoreId, RestoreStatus, RestoreUpdate,
};

use super::KIND_RESTORE;

/// Feeds of ended restores kept in memory for late subscribers; older ones fall back to the
/// store's log.
const ENDED_FEEDS_KEPT: usize = 100;

/// The place of a restore job in its site's queue.
pub(super) struct Turn {
    /// Fires (or is dropped) when the previous restore of the site has ended.
    prev: Option<oneshot::Receiver<()>>,
    /// Dropped when this restore ends, which gives the next one its turn.
    done: oneshot::Sender<()>,
}

/// A claimed restore's stop switch.
struct Stop {
    token: CancellationToken,
    by_user: AtomicBool,
}

/// In-memory restore state of the runner: notifications and queue order, never the record.
#[derive(Default)]
pub(super) struct RestoreRuntime {
    feeds: Mutex<BTreeMap<RestoreId, Arc<Feed>>>,
    ended: Mutex<VecDeque<RestoreId>>,
    stops: Mutex<BTreeMap<RestoreId, Arc<Stop>>>,
    /// Per site, the receiver that fires when the last restore queued for it ends.
    tails: Mutex<HashMap<String, oneshot::Receiver<()>>>,
}

/// What [`Jobs::stop_restore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopOutcome {
    /// It was pending and is now `stopped`.
    StoppedPending,
    /// It is running; the stage in flight ends cleanly and the row becomes `stopped`.
    Stopping,
    /// It had ended already with this status.
    AlreadyEnded(RestoreStatus),
}

/// How waiting for a turn ended.
enum Wait {
    Go(OwnedSemaphorePermit),
    /// Stopped while waiting; holds the predecessor's receiver, which the successor must
    /// still wait for.
    StoppedByUser(oneshot::Receiver<()>),
    Shutdown,
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
        if self.root.is_cancelled() {
            return Err(EnqueueError::ShuttingDown);
        }
        self.restore_feed_or_new(restore_id);
        let payload = RestoreJob {
            restore_id,
            site: site.to_owned(),
        };
        let id = self
            .store
            .enqueue_job(KIND_RESTORE, payload.to_payload(), (self.clock)())
            .await?;
        tracing::info!(job_id = id, restore_id, site, "Restore job enqueued.");
        self.wake.notify_one();
        Ok(id)
    }

    /// Enqueues a job for every unfinished restore that has none: a crash between storing a
    /// restore and enqueueing its job would otherwise leave it `pending` for ever. Runs once
    /// at startup, before the first claim.
    pub(super) async fn adopt_orphan_restores(&self) -> Result<usize, store::Error> {
        let mut has_job = std::collections::BTreeSet::new();
        for status in [JobStatus::Queued, JobStatus::Running] {
            let filter = JobFilter {
                status: Some(status),
                kind: Some(KIND_RESTORE.to_owned()),
            };
            let page = PageRequest {
                limit: 100_000,
                offset: 0,
            };
            for job in self.store.list_jobs(filter, page).await? {
                if let Ok(spec) = RestoreJob::from_payload(&job.payload) {
                    has_job.insert(spec.restore_id);
                }
            }
        }
        let mut adopted = 0;
        let mut offset = 0;
        loop {
            let page = PageRequest { limit: 500, offset };
            let rows = self.store.list_restores(None, page).await?;
            // Oldest first, so adopted restores keep their order in their site's queue.
            for row in rows.iter().rev() {
                let unfinished = matches!(
                    row.status,
                    RestoreStatus::Pending | RestoreStatus::InProgress
                );
                if unfinished && !has_job.contains(&row.id) {
                    tracing::warn!(restore_id = row.id, "Restore without a job; enqueueing it.");
                    match self.enqueue_restore(row.id, &row.target_site).await {
                        Ok(_) => {}
                        Err(EnqueueError::Store(e)) => return Err(e),
                        // Shutting down: the next start adopts the rest.
                        Err(EnqueueError::ShuttingDown | EnqueueError::InProgress { .. }) => {
                            return Ok(adopted);
                        }
                    }
                    adopted += 1;
                }
            }
            if rows.len() < 500 {
                return Ok(adopted);
            }
            offset += 500;
        }
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

    /// Stops a restore: a pending one at once, a running one at the end of its current
    /// request batch.
    ///
    /// # Errors
    ///
    /// `store::Error::NotFound` for an unknown restore, or another store error.
    pub async fn stop_restore(&self, restore_id: RestoreId) -> Result<StopOutcome, store::Error> {
        let row = self.store.get_restore(restore_id).await?;
        let stop = self.restores.stops.lock().get(&restore_id).cloned();
        if let Some(stop) = &stop {
            stop.by_user.store(true, Ordering::SeqCst);
            stop.token.cancel();
        }
        match row.status {
            RestoreStatus::Pending => {
                let update = RestoreUpdate {
                    status: Some(RestoreStatus::Stopped),
                    result: Some(Some("stopped before it started".to_owned())),
                    ended_at: Some(Some((self.clock)())),
                    ..Default::default()
                };
                self.store.update_restore(restore_id, update).await?;
                tracing::info!(restore_id, "Pending restore stopped.");
                Ok(StopOutcome::StoppedPending)
            }
            RestoreStatus::InProgress if stop.is_some() => {
                tracing::info!(restore_id, "Restore stop requested.");
                Ok(StopOutcome::Stopping)
            }
            // In progress per its row but not claimed yet (queued again after a restart):
            // mark it, and its job ends without running when claimed.
            RestoreStatus::InProgress => {
                let update = RestoreUpdate {
                    status: Some(RestoreStatus::Stopped),
                    result: Some(Some("stopped by the user".to_owned())),
                    ended_at: Some(Some((self.clock)())),
                    ..Default::default()
                };
                self.store.update_restore(restore_id, update).await?;
                Ok(StopOutcome::StoppedPending)
            }
            other => Ok(StopOutcome::AlreadyEnded(other)),
        }
    }

    /// The queue place of a restore job just claimed; called by the claim loop in claim
    /// order, which makes each site's queue first come, first served.
    pub(super) fn restore_turn(&self, job: &Job) -> Option<Turn> {
        let spec = RestoreJob::from_payload(&job.payload).ok()?;
        let (done, next) = oneshot::channel();
        let prev = self.restores.tails.lock().insert(spec.site, next);
        // Registered now, not when the turn comes, so a STOP of a waiting restore finds it.
        self.restores.stops.lock().insert(
            spec.restore_id,
            Arc::new(Stop {
                token: self.root.child_token(),
                by_user: AtomicBool::new(false),
            }),
        );
        Some(Turn { prev, done })
    }

    /// Runs a restore job; `Ok` holds the result JSON, `Err` the message users see (an
    /// `Err` while the root token is cancelled means "interrupted": the job is requeued).
    pub(super) async fn run_restore(
        &self,
        job: &Job,
        turn: Option<Turn>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Value, String> {
        let spec = RestoreJob::from_payload(&job.payload)
            .map_err(|e| format!("invalid restore job payload: {e}"))?;
        let id = spec.restore_id;
        let Some(Turn { prev, done }) = turn else {
            return Err("restore job without a queue place".to_owned());
        };
        let stop = self.restores.stops.lock().get(&id).cloned();
        let stop = stop.ok_or_else(|| "restore job without a stop switch".to_owned())?;
        let feed = self.restore_feed_or_new(id);
        let result = match self.wait_turn(prev, &stop.token, permit).await {
            Wait::Go(permit) => {
                let r = self
                    .execute_restore(job.id, id, &spec.site, &stop, &feed)
                    .await;
                drop(permit);
                drop(done);
                r
            }
            Wait::StoppedByUser(prev) => {
                // Our successor waits for our `done`; it must still not start before our
                // predecessor ends, so a relay keeps `done` until then.
                self.tracker.spawn(async move {
                    let _ = prev.await;
                    drop(done);
                });
                Ok(json!({ "restore_id": id, "status": "stopped" }))
            }
            Wait::Shutdown => {
                drop(done);
                Err("interrupted by shutdown while waiting".to_owned())
            }
        };
        self.restores.stops.lock().remove(&id);
        if !self.root.is_cancelled() {
            self.end_feed(id, &feed).await;
        }
        result
    }

    /// Waits until the previous restore of the site ended and a job slot is free. The slot
    /// of the claim is released meanwhile, so waiting restores never block other jobs.
    async fn wait_turn(
        &self,
        prev: Option<oneshot::Receiver<()>>,
        stop: &CancellationToken,
        permit: OwnedSemaphorePermit,
    ) -> Wait {
        if let Some(mut prev) = prev {
            drop(permit);
            tokio::select! {
                _ = &mut prev => {}
                () = stop.cancelled() => {
                    if self.root.is_cancelled() {
                        return Wait::Shutdown;
                    }
                    return Wait::StoppedByUser(prev);
                }
            }
            tokio::select! {
                p = Arc::clone(&self.slots).acquire_owned() => match p {
                    Ok(p) => Wait::Go(p),
                    Err(_) => Wait::Shutdown,
                },
                () = self.root.cancelled() => Wait::Shutdown,
            }
        } else {
            Wait::Go(permit)
        }
    }

    async fn execute_restore(
        &self,
        job_id: JobId,
        id: RestoreId,
        site_name: &str,
        stop: &Stop,
        feed: &Arc<Feed>,
    ) -> Result<Value, String> {
        let row = self
            .store
            .get_restore(id)
            .await
            .map_err(|e| error_chain(&e))?;
        if matches!(
            row.status,
            RestoreStatus::Stopped | RestoreStatus::Completed | RestoreStatus::Error
        ) {
            // Stopped while queued (or ended before a crash requeued its job): nothing to run.
            return Ok(json!({ "restore_id": id, "status": row.status.as_str() }));
        }
        let site = self
            .sites
            .get(site_name)
            .ok_or_else(|| format!("target site {site_name:?} is no longer configured"))?;
        let plan = restore::load_plan(&self.store, id, &crate::clock::system())
            .await
            .map_err(|e| error_chain(&e))?;
        let on_event = |e: RestoreEvent| {
            if let RestoreEvent::Progress { stage, done, total }
            | RestoreEvent::StageFinished { stage, done, total } = &e
                && let Some(live) = self.live.lock().get_mut(&job_id)
            {
                live.progress = Some(Progress {
                    stage: stage.to_string(),
                    done: *done,
                    total: *total,
                });
            }
            feed.push(serde_json::to_value(&e).unwrap_or_default());
        };
        let outcome = restore::execute(
            &self.store,
            site.client(),
            id,
            &plan,
            &on_event,
            stop.token.clone(),
            &crate::clock::system(),
        )
        .await;
        match outcome {
            Ok(o) if o.stopped && !stop.by_user.load(Ordering::SeqCst) => {
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
                Err("interrupted by shutdown".to_owned())
            }
            Ok(o) => {
                tracing::info!(
                    restore_id = id,
                    created = o.objects_created,
                    failed = o.objects_failed,
                    stopped = o.stopped,
                    "Restore job finished."
                );
                Ok(json!({ "restore_id": id, "restore": o }))
            }
            Err(e) => Err(format!("restore {id} failed: {}", error_chain(&e))),
        }
    }

    /// Sends the `end` event from the restore's row and retires old feeds.
    async fn end_feed(&self, id: RestoreId, feed: &Feed) {
        match self.store.get_restore(id).await {
            Ok(row) => feed.end(row.status.as_str(), row.result.as_deref()),
            Err(e) => {
                tracing::warn!(restore_id = id, error = %error_chain(&e), "Reading the ended restore failed.");
                feed.end("error", None);
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
