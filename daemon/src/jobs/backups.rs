//! The jobs that work on backups: a backup of a schema ([`crate::backup::run`]) and the
//! verification of a backup's blobs (an export job of an older build is refused: exports are
//! streamed to the CLI). Each returns its
//! typed outcome or a classified [`JobError`]; the runner (`super`) retries and records.

use super::{
    BackupOutcome, BackupSpec, ExportSpec, JobCtl, JobError, JobOutcome, JobProgress, Jobs,
    RunnerError, VerifyReport, VerifySpec,
};
use crate::backup::{self, Progress};
use crate::store::JobId;

impl Jobs {
    /// Runs a backup job.
    pub(super) async fn run_backup(
        &self,
        id: JobId,
        spec: &BackupSpec,
        ctl: &JobCtl,
    ) -> Result<JobOutcome, JobError> {
        let site = self
            .sites
            .get(&spec.site)
            .ok_or_else(|| RunnerError::SiteGone(spec.site.clone()))?;
        let on_progress = |p: Progress| {
            self.set_progress(
                id,
                JobProgress {
                    stage: p.stage,
                    done: p.done,
                    total: p.total,
                },
            );
        };
        // The backup remembers this job: run again after a kill or a shutdown, the job
        // resumes that backup's background phases instead of making a second backup.
        let opts = spec.run_options(id, self.options.full_every);
        let backup_id = backup::run_job(
            site.client(),
            &self.store,
            &spec.request(),
            &opts,
            &on_progress,
            ctl.token.clone(),
            &self.clock,
        )
        .await
        .map_err(JobError::from_backup)?;
        let backup = self
            .store
            .get_backup(backup_id)
            .await
            .map_err(JobError::from_store)?;
        tracing::info!(backup_id, objects = backup.object_count, "Backup complete.");
        if let Some(by) = &spec.schedule {
            self.prune_after(spec, by).await;
        }
        Ok(JobOutcome::Backup(BackupOutcome { backup }))
    }

    /// An export job queued by an older build, which wrote exports into a directory the
    /// caller named: refused, as the daemon no longer writes a caller's path.
    pub(super) async fn run_export(&self, spec: &ExportSpec) -> Result<JobOutcome, JobError> {
        Err(JobError::from(RunnerError::ExportMoved(spec.backup_id)))
    }

    /// Runs a verify job.
    pub(super) async fn run_verify(&self, spec: &VerifySpec) -> Result<JobOutcome, JobError> {
        let id = spec.backup_id;
        let bad = self
            .store
            .run(move |s| {
                s.get_backup(id)?;
                s.verify(id)
            })
            .await
            .map_err(JobError::from_store)?;
        if bad.is_empty() {
            tracing::info!(backup_id = id, "Backup verified.");
        } else {
            tracing::warn!(
                backup_id = id,
                bad_blobs = bad.len(),
                "Backup failed verification."
            );
        }
        Ok(JobOutcome::Verify(VerifyReport {
            backup: id,
            ok: bad.is_empty(),
            bad_blobs: bad,
        }))
    }
}
