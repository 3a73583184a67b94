//! Scheduled backups on the runner's side: [`BackupQueue`] for the scheduler (a firing becomes
//! a `scheduled` backup job carrying the schedule's retention policy), the retention applied
//! once such a backup is complete, and an ERROR line when one fails for good (an operator must
//! act: the schedule goes on, its backups do not).
//!
//! Retries need nothing special: a scheduled backup is a backup job, whose temporary failures
//! the runner runs again with backoff up to `[jobs] max_retries` times (see the parent).

use async_trait::async_trait;

use super::{BackupSpec, EnqueueError, JobError, JobOutcome, JobSpec, Jobs, ScheduledBy};
use crate::error::error_chain;
use crate::schedules::{BackupQueue, QueueRefusal, Schedule, prune};
use crate::store::{BackupType, FireReason, JobId};

#[async_trait]
impl BackupQueue for Jobs {
    async fn enqueue_scheduled(
        &self,
        schedule: &Schedule,
        reason: FireReason,
    ) -> Result<JobId, QueueRefusal> {
        let spec = JobSpec::Backup(BackupSpec {
            site: schedule.key.site.clone(),
            schema: schedule.key.schema.clone(),
            description: Some(format!(
                "scheduled ({reason}): {} {}",
                schedule.timing.cron(),
                schedule.timing.tz().name()
            )),
            backup_type: BackupType::Scheduled,
            schedule: Some(ScheduledBy {
                reason,
                policy: schedule.policy,
                tz: schedule.timing.tz().name().to_owned(),
                full_every: schedule.full_every,
            }),
            full: false,
            full_every: 0,
        });
        match self.enqueue(&spec).await {
            Ok(id) => Ok(id),
            Err(EnqueueError::InProgress { job, .. }) => Err(QueueRefusal::Active(job)),
            Err(EnqueueError::ShuttingDown) => Err(QueueRefusal::ShuttingDown),
            Err(e) => Err(QueueRefusal::Failed(Box::new(e))),
        }
    }
}

impl Jobs {
    /// After a scheduled backup completed: prunes the schema's scheduled backups by the
    /// policy the job carries. A failure is logged, not the backup's: the next scheduled
    /// backup (or `backups prune`) prunes again.
    pub(super) async fn prune_after(&self, spec: &BackupSpec, by: &ScheduledBy) {
        if by.policy.is_empty() {
            return;
        }
        let Ok(tz) = by.tz.parse::<chrono_tz::Tz>() else {
            tracing::warn!(tz = %by.tz, "The schedule's time zone is unknown; nothing pruned.");
            return;
        };
        let key = crate::schedules::ScheduleKey::new(spec.site.clone(), spec.schema.clone());
        let planned = prune::plan(&self.store, &key, by.policy, tz).await;
        match planned {
            Ok(plan) if plan.remove.is_empty() => {}
            Ok(plan) => match prune::execute(&self.store, &plan).await {
                Ok(done) => tracing::info!(
                    schedule = %key,
                    removed = done.removed,
                    kept = plan.keep.len(),
                    bytes_freed = done.bytes_freed,
                    "Backups pruned by the schedule's retention."
                ),
                Err(e) => {
                    tracing::warn!(schedule = %key, error = %error_chain(&e), "Pruning failed.")
                }
            },
            Err(e) => {
                tracing::warn!(schedule = %key, error = %error_chain(&e), "Planning the prune failed.")
            }
        }
    }

    /// Says so at ERROR when a scheduled backup failed for good (after its retries; not
    /// when shutdown interrupted it).
    pub(super) fn scheduled_ended(spec: &JobSpec, result: &Result<JobOutcome, JobError>) {
        let (JobSpec::Backup(b), Err(e)) = (spec, result) else {
            return;
        };
        if b.schedule.is_some() && e.kind() != super::FailureKind::Cancelled {
            tracing::error!(
                site = %b.site,
                schema = %b.schema,
                error = %e.message(),
                "Scheduled backup failed; the schedule goes on, see `assetark schedules list`."
            );
        }
    }
}
