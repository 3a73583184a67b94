//! [`Scheduler`]: fires due schedules. A firing only enqueues a `scheduled` backup job through a
//! [`BackupQueue`] (the job runner); the queue refuses a second backup of a schema while one is
//! queued or running, and the firing is then recorded as skipped, so a schedule never overlaps
//! its own backup however long that takes.
//!
//! Time: every decision reads the injected clock (`crate::clock`), never the system's. Each
//! schedule's next firing is kept in the store ([`ScheduleState`]); the scheduler's task
//! sleeps on tokio's timer until the earliest one, or until woken (a schedule changed, or the
//! wall-clock trigger of `trigger`), and then fires whatever is due by the clock. Tests pause
//! tokio's time with a clock that follows it, or move a manual clock and call
//! [`Scheduler::wake`].
//!
//! Missed runs: a next firing found in the past at start-up (the daemon was down when it came
//! due) fires once, whatever number of firings were missed, and the next one is computed from
//! then. A schedule whose cron, zone or enabled flag changed gets a fresh next firing instead.
//!
//! All changes (firings, `set`, `remove`) hold one async lock, so the state in memory and in
//! the store change together and two wake-ups cannot fire one schedule twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use super::trigger::CronTrigger;
use super::{Origin, Schedule, ScheduleKey};
use crate::clock::SharedClock;
use crate::error::error_chain;
use crate::store::{self, AsyncStore, FireOutcome, FireReason, JobId, ScheduleState};

/// The longest the scheduler sleeps without looking at the clock: bounds how late a firing
/// can be when neither the timer (monotonic time) nor the trigger noticed a wall-clock jump.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// Firings buffered for a subscriber that is slow to read them.
const FIRED_CAPACITY: usize = 256;

/// A boxed error that can cross tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where a firing puts its backup: the job runner.
#[async_trait]
pub trait BackupQueue: Send + Sync {
    /// Enqueues a `scheduled` backup of the schedule's schema, carrying its retention policy.
    ///
    /// # Errors
    ///
    /// [`QueueRefusal`].
    async fn enqueue_scheduled(
        &self,
        schedule: &Schedule,
        reason: FireReason,
    ) -> Result<JobId, QueueRefusal>;
}

/// Why no job was queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueRefusal {
    /// A backup of the schema is queued or running: this one would overlap it.
    #[error("a backup of the schema is already queued or running (job {0})")]
    Active(JobId),
    /// The daemon is shutting down.
    #[error("the daemon is shutting down")]
    ShuttingDown,
    /// The queue failed.
    #[error("the backup job could not be queued")]
    Failed(#[source] BoxError),
}

/// One firing, as subscribers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The schedule.
    pub key: ScheduleKey,
    /// When (the scheduler's clock).
    pub at: OffsetDateTime,
    /// Why.
    pub reason: FireReason,
    /// What it did.
    pub outcome: FireOutcome,
    /// The job queued, or the one it was skipped for.
    pub job: Option<JobId>,
}

/// A schedule and its firing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleEntry {
    /// The schedule.
    pub schedule: Schedule,
    /// Its state.
    pub state: ScheduleState,
}

/// Why `set` refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// The config file defines this schedule.
    #[error(
        "the schedule of {0} is defined in the config file; change it there and restart the daemon"
    )]
    InConfig(ScheduleKey),
    /// The store failed.
    #[error("schedule store")]
    Store(#[from] store::Error),
}

/// Why `remove` refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveError {
    /// No such schedule.
    #[error("no schedule for {0}")]
    NotFound(ScheduleKey),
    /// The config file defines this schedule.
    #[error(
        "the schedule of {0} is defined in the config file; remove it there and restart the daemon"
    )]
    InConfig(ScheduleKey),
    /// The store failed.
    #[error("schedule store")]
    Store(#[from] store::Error),
}

/// Why `run_now` queued nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No such schedule.
    #[error("no schedule for {0}")]
    NotFound(ScheduleKey),
    /// The queue refused (a backup is in progress, shutdown, a store failure).
    #[error(transparent)]
    Refused(#[from] QueueRefusal),
}

struct Inner {
    /// Schedules added through the API.
    stored: BTreeMap<ScheduleKey, Schedule>,
    /// Firing state of every schedule.
    states: BTreeMap<ScheduleKey, ScheduleState>,
    /// The wall-clock trigger, once started.
    trigger: Option<CronTrigger>,
}

/// The scheduler. Shared as `Arc<Scheduler>` by the daemon and the control API.
pub struct Scheduler {
    store: AsyncStore,
    clock: SharedClock,
    queue: Arc<dyn BackupQueue>,
    /// Schedules of the config file, by key; they win over a stored one of the same key.
    config: BTreeMap<ScheduleKey, Schedule>,
    inner: tokio::sync::Mutex<Inner>,
    wake: Arc<Notify>,
    fired: broadcast::Sender<Fired>,
}

impl Scheduler {
    /// A scheduler of the config's `schedules` (and, once [started](Self::start), the stored
    /// ones) that enqueues through `queue`.
    pub fn new(
        store: AsyncStore,
        clock: SharedClock,
        queue: Arc<dyn BackupQueue>,
        config: Vec<Schedule>,
    ) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            store,
            clock,
            queue,
            config: config.into_iter().map(|s| (s.key.clone(), s)).collect(),
            inner: tokio::sync::Mutex::new(Inner {
                stored: BTreeMap::new(),
                states: BTreeMap::new(),
                trigger: None,
            }),
            wake: Arc::new(Notify::new()),
            fired: broadcast::channel(FIRED_CAPACITY).0,
        })
    }

    /// Loads the stored schedules and states, fires each missed run once, and spawns the
    /// scheduler's task on `tracker` (it ends when `stop` is cancelled). With
    /// `wall_clock_trigger`, tokio-cron-scheduler wakes it as well (see `trigger`); tests that
    /// pause tokio's time leave it off, since its loop polls the system clock.
    ///
    /// # Errors
    ///
    /// A store error reading the schedules.
    pub async fn start(
        self: &Arc<Self>,
        tracker: &TaskTracker,
        stop: CancellationToken,
        wall_clock_trigger: bool,
    ) -> Result<(), store::Error> {
        let stored = self.store.list_schedules().await?;
        let states = self.store.list_schedule_states().await?;
        let mut inner = self.inner.lock().await;
        for row in &stored {
            match Schedule::from_stored(row) {
                Ok(s) if self.config.contains_key(&s.key) => {
                    tracing::warn!(schedule = %s.key, "A stored schedule is shadowed by the config file's.");
                }
                Ok(s) => {
                    inner.stored.insert(s.key.clone(), s);
                }
                Err(problems) => {
                    tracing::error!(site = %row.site, schema = %row.schema_key, ?problems, "A stored schedule cannot be read; it does not fire.");
                }
            }
        }
        for state in states {
            let key = ScheduleKey::new(state.site.clone(), state.schema_key.clone());
            inner.states.insert(key, state);
        }
        let now = self.clock.now();
        for schedule in self.effective(&inner) {
            self.settle(&mut inner, &schedule, now, true).await;
        }
        if wall_clock_trigger {
            match CronTrigger::start(&self.effective(&inner), Arc::clone(&self.wake)).await {
                Ok(t) => inner.trigger = Some(t),
                Err(e) => {
                    tracing::warn!(error = ?e, "The cron trigger did not start; the scheduler's own timer fires schedules.");
                }
            }
        }
        drop(inner);
        let this = Arc::clone(self);
        tracker.spawn(
            async move { this.run(stop).await }.instrument(tracing::info_span!("scheduler")),
        );
        Ok(())
    }

    /// Makes the scheduler look at its clock now (after a test moved it, for instance).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Firings from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Fired> {
        self.fired.subscribe()
    }

    /// Every schedule with its state, by site and schema.
    pub async fn list(&self) -> Vec<ScheduleEntry> {
        let inner = self.inner.lock().await;
        self.effective(&inner)
            .into_iter()
            .map(|schedule| {
                let state = inner.states.get(&schedule.key).cloned().unwrap_or_else(|| {
                    ScheduleState::new(
                        &schedule.key.site,
                        &schedule.key.schema,
                        schedule.timing_key(),
                    )
                });
                ScheduleEntry { schedule, state }
            })
            .collect()
    }

    /// One schedule.
    pub async fn get(&self, key: &ScheduleKey) -> Option<Schedule> {
        if let Some(s) = self.config.get(key) {
            return Some(s.clone());
        }
        self.inner.lock().await.stored.get(key).cloned()
    }

    /// Adds or changes a schedule of the API; returns it with its state.
    ///
    /// # Errors
    ///
    /// [`SetError::InConfig`], [`SetError::Store`].
    pub async fn set(&self, schedule: Schedule) -> Result<ScheduleEntry, SetError> {
        let key = schedule.key.clone();
        if self.config.contains_key(&key) {
            return Err(SetError::InConfig(key));
        }
        let schedule = Schedule {
            origin: Origin::Api,
            ..schedule
        };
        let mut inner = self.inner.lock().await;
        let now = self.clock.now();
        let created = self
            .store
            .list_schedules()
            .await?
            .into_iter()
            .find(|s| s.site == key.site && s.schema_key == key.schema)
            .map_or(now, |s| s.created_at);
        self.store
            .put_schedule(schedule.to_stored(created, now))
            .await?;
        inner.stored.insert(key.clone(), schedule.clone());
        self.settle(&mut inner, &schedule, now, false).await;
        if let Some(trigger) = inner.trigger.as_mut()
            && let Err(e) = trigger.set(&schedule).await
        {
            tracing::warn!(schedule = %key, error = ?e, "The cron trigger did not take the schedule; the scheduler's own timer fires it.");
        }
        let state =
            inner.states.get(&key).cloned().unwrap_or_else(|| {
                ScheduleState::new(&key.site, &key.schema, schedule.timing_key())
            });
        drop(inner);
        tracing::info!(schedule = %key, cron = schedule.timing.cron(), tz = schedule.timing.tz().name(), enabled = schedule.enabled, "Schedule set.");
        self.wake();
        Ok(ScheduleEntry { schedule, state })
    }

    /// Removes a schedule of the API and its state.
    ///
    /// # Errors
    ///
    /// [`RemoveError`].
    pub async fn remove(&self, key: &ScheduleKey) -> Result<(), RemoveError> {
        if self.config.contains_key(key) {
            return Err(RemoveError::InConfig(key.clone()));
        }
        let mut inner = self.inner.lock().await;
        if !inner.stored.contains_key(key) {
            return Err(RemoveError::NotFound(key.clone()));
        }
        self.store.remove_schedule(&key.site, &key.schema).await?;
        inner.stored.remove(key);
        inner.states.remove(key);
        if let Some(trigger) = inner.trigger.as_mut()
            && let Err(e) = trigger.remove(key).await
        {
            tracing::warn!(schedule = %key, error = ?e, "The cron trigger kept a removed schedule's job; it has nothing to fire.");
        }
        tracing::info!(schedule = %key, "Schedule removed.");
        Ok(())
    }

    /// Fires a schedule now, whatever its timing (also when disabled); its next firing does
    /// not move.
    ///
    /// # Errors
    ///
    /// [`RunError::NotFound`]; [`RunError::Refused`] when nothing was queued (a backup of the
    /// schema is queued or running: the firing is recorded as skipped).
    pub async fn run_now(&self, key: &ScheduleKey) -> Result<JobId, RunError> {
        let mut inner = self.inner.lock().await;
        let schedule = self
            .effective(&inner)
            .into_iter()
            .find(|s| &s.key == key)
            .ok_or_else(|| RunError::NotFound(key.clone()))?;
        let now = self.clock.now();
        self.fire(&mut inner, &schedule, FireReason::Manual, now)
            .await
            .map_err(RunError::Refused)
    }

    /// Every schedule in effect: the config's, then the stored ones it does not shadow, by key.
    fn effective(&self, inner: &Inner) -> Vec<Schedule> {
        let mut all: BTreeMap<ScheduleKey, Schedule> = inner.stored.clone();
        for (k, s) in &self.config {
            all.insert(k.clone(), s.clone());
        }
        all.into_values().collect()
    }

    /// The scheduler's task: sleep until the earliest next firing (or a wake-up), fire what is
    /// due, again; stops the trigger on the way out.
    async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let idle = {
                let inner = self.inner.lock().await;
                let now = self.clock.now();
                self.effective(&inner)
                    .iter()
                    .filter(|s| s.enabled)
                    .filter_map(|s| inner.states.get(&s.key)?.next_fire_at)
                    .min()
                    .map_or(MAX_IDLE, |next| {
                        let wait = next - now;
                        if wait.is_negative() {
                            Duration::ZERO
                        } else {
                            Duration::try_from(wait).unwrap_or(MAX_IDLE).min(MAX_IDLE)
                        }
                    })
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(idle) => {}
            }
            self.tick().await;
        }
        if let Some(trigger) = self.inner.lock().await.trigger.take() {
            trigger.shutdown().await;
        }
    }

    /// Fires every enabled schedule whose next firing is due by the clock.
    pub async fn tick(&self) {
        let mut inner = self.inner.lock().await;
        let now = self.clock.now();
        for schedule in self.effective(&inner) {
            let due = schedule.enabled
                && inner
                    .states
                    .get(&schedule.key)
                    .and_then(|s| s.next_fire_at)
                    .is_some_and(|next| next <= now);
            if !due {
                continue;
            }
            if let Err(QueueRefusal::ShuttingDown) = self
                .fire(&mut inner, &schedule, FireReason::Cron, now)
                .await
            {
                // Left due: the next start runs it as a missed run.
                return;
            }
            let next = schedule.timing.next_after(now);
            if let Some(state) = inner.states.get_mut(&schedule.key) {
                state.next_fire_at = next;
            }
            self.persist(&inner, &schedule.key).await;
        }
    }

    /// Brings a schedule's state in line with the schedule: a fresh next firing when its
    /// timing changed (or it has none), and at start-up one run for missed firings.
    async fn settle(
        &self,
        inner: &mut Inner,
        schedule: &Schedule,
        now: OffsetDateTime,
        at_start: bool,
    ) {
        let timing = schedule.timing_key();
        let state = inner.states.entry(schedule.key.clone()).or_insert_with(|| {
            ScheduleState::new(&schedule.key.site, &schedule.key.schema, timing.clone())
        });
        let same = state.timing == timing;
        let missed = at_start
            && same
            && schedule.enabled
            && state.next_fire_at.is_some_and(|next| next <= now);
        if same && !missed && state.next_fire_at.is_some() == schedule.enabled {
            // Unchanged and not due: keep the firing it waits for.
            self.persist(inner, &schedule.key).await;
            return;
        }
        if missed {
            tracing::info!(schedule = %schedule.key, "A scheduled run was missed while the daemon was down; running it once now.");
            if let Err(QueueRefusal::ShuttingDown) =
                self.fire(inner, schedule, FireReason::Missed, now).await
            {
                return;
            }
        }
        if let Some(state) = inner.states.get_mut(&schedule.key) {
            state.timing = timing;
            state.next_fire_at = if schedule.enabled {
                schedule.timing.next_after(now)
            } else {
                None
            };
        }
        self.persist(inner, &schedule.key).await;
    }

    /// Enqueues the schedule's backup and records the firing.
    async fn fire(
        &self,
        inner: &mut Inner,
        schedule: &Schedule,
        reason: FireReason,
        now: OffsetDateTime,
    ) -> Result<JobId, QueueRefusal> {
        let result = self.queue.enqueue_scheduled(schedule, reason).await;
        let key = &schedule.key;
        let (outcome, job, note) = match &result {
            Ok(job) => {
                tracing::info!(schedule = %key, %reason, job_id = job, "Scheduled backup queued.");
                (FireOutcome::Enqueued, Some(*job), None)
            }
            Err(QueueRefusal::Active(job)) => {
                tracing::info!(schedule = %key, %reason, job_id = job, "Scheduled backup skipped: a backup of the schema is already queued or running.");
                (FireOutcome::Skipped, Some(*job), None)
            }
            Err(QueueRefusal::ShuttingDown) => return result,
            Err(e) => {
                tracing::error!(schedule = %key, %reason, error = %error_chain(e), "Scheduled backup could not be queued.");
                (FireOutcome::Error, None, Some(error_chain(e)))
            }
        };
        let state = inner
            .states
            .entry(key.clone())
            .or_insert_with(|| ScheduleState::new(&key.site, &key.schema, schedule.timing_key()));
        state.last_fired_at = Some(now);
        state.last_reason = Some(reason);
        state.last_outcome = Some(outcome);
        state.last_job_id = job;
        state.last_note = note;
        match outcome {
            FireOutcome::Enqueued => state.fired += 1,
            FireOutcome::Skipped => state.skipped += 1,
            FireOutcome::Error => {}
        }
        self.persist(inner, key).await;
        // Nobody listening is fine.
        let _ = self.fired.send(Fired {
            key: key.clone(),
            at: now,
            reason,
            outcome,
            job,
        });
        result
    }

    /// Writes a schedule's state to the store. A failure is logged: the state in memory goes
    /// on, and the worst a lost write costs is a missed run at the next start.
    async fn persist(&self, inner: &Inner, key: &ScheduleKey) {
        let Some(state) = inner.states.get(key).cloned() else {
            return;
        };
        if let Err(e) = self.store.put_schedule_state(state).await {
            tracing::error!(schedule = %key, error = %error_chain(&e), "Recording the schedule's state failed.");
        }
    }
}
