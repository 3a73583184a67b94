//! The wall-clock trigger: one tokio-cron-scheduler job per enabled schedule, created with the
//! `_tz` constructor, whose only work is to wake the [`Scheduler`](super::Scheduler). The
//! scheduler then decides on its own clock what is due; a wake-up with nothing due does
//! nothing, so a trigger that fires late, twice or an hour off after a daylight-saving change
//! (tokio-cron-scheduler keeps the UTC offset a job was created with) cannot fire a schedule
//! twice or at the wrong time, and the scheduler's own timer covers a trigger that does not
//! fire at all.
//!
//! Why have it at all: the scheduler's timer sleeps on tokio's monotonic clock, which does not
//! follow the wall clock when it is stepped (NTP, a suspended VM); tokio-cron-scheduler reads
//! `Utc::now()` every 500 ms, so a schedule still fires on time after such a jump. Its
//! pitfalls are kept out: it never runs a backup (overlap is the job queue's business), it is
//! never told about signals (`shutdown_on_ctrl_c` would race our shutdown), and our shutdown
//! calls its `shutdown()`.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use uuid::Uuid;

use super::{Schedule, ScheduleKey};

/// tokio-cron-scheduler and the job it runs for each enabled schedule.
pub(super) struct CronTrigger {
    scheduler: JobScheduler,
    jobs: BTreeMap<ScheduleKey, Uuid>,
    wake: Arc<Notify>,
}

impl CronTrigger {
    /// Starts tokio-cron-scheduler with a job for each enabled schedule.
    pub(super) async fn start(
        schedules: &[Schedule],
        wake: Arc<Notify>,
    ) -> Result<CronTrigger, JobSchedulerError> {
        let scheduler = JobScheduler::new().await?;
        let mut trigger = CronTrigger {
            scheduler,
            jobs: BTreeMap::new(),
            wake,
        };
        for s in schedules {
            trigger.set(s).await?;
        }
        trigger.scheduler.start().await?;
        Ok(trigger)
    }

    /// Adds, replaces or (for a disabled one) removes the job of a schedule.
    pub(super) async fn set(&mut self, schedule: &Schedule) -> Result<(), JobSchedulerError> {
        self.remove(&schedule.key).await?;
        if !schedule.enabled {
            return Ok(());
        }
        let wake = Arc::clone(&self.wake);
        let job = Job::new_async_tz(
            schedule.timing.cron(),
            schedule.timing.tz(),
            move |_id, _scheduler| {
                let wake = Arc::clone(&wake);
                Box::pin(async move { wake.notify_one() })
            },
        )?;
        let id = self.scheduler.add(job).await?;
        self.jobs.insert(schedule.key.clone(), id);
        Ok(())
    }

    /// Removes the job of a schedule, if it has one.
    pub(super) async fn remove(&mut self, key: &ScheduleKey) -> Result<(), JobSchedulerError> {
        if let Some(id) = self.jobs.remove(key) {
            self.scheduler.remove(&id).await?;
        }
        Ok(())
    }

    /// Stops tokio-cron-scheduler's loop.
    pub(super) async fn shutdown(mut self) {
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = ?e, "Stopping the cron trigger failed.");
        }
    }
}
