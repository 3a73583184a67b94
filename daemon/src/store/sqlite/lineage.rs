//! SQL for where a backup came from (its job, its incremental parent) and for the entry
//! lookups that resuming and incremental capture need.

use rusqlite::{OptionalExtension as _, Transaction, params};

use super::backups::{BACKUP_COLUMNS, backup_from_row};
use crate::store::error::{Error, Result};
use crate::store::{Backup, BackupId, BackupOrigin, BackupStatus, JobId, Phase, PhaseStatus};

pub(super) fn set_origin(
    tx: &Transaction<'_>,
    backup: BackupId,
    origin: &BackupOrigin,
) -> Result<()> {
    let n = tx.execute(
        "UPDATE backups SET job_id = ?2, parent_id = ?3 WHERE id = ?1",
        params![backup, origin.job, origin.parent],
    )?;
    match n {
        0 => Err(Error::not_found("backup", backup)),
        _ => Ok(()),
    }
}

pub(super) fn of_job(tx: &Transaction<'_>, job: JobId) -> Result<Option<Backup>> {
    let sql = format!(
        "SELECT {BACKUP_COLUMNS} FROM backups WHERE job_id = ?1 AND status = ?2 \
         ORDER BY id DESC LIMIT 1"
    );
    Ok(tx
        .prepare_cached(&sql)?
        .query_row(params![job, BackupStatus::Complete], backup_from_row)
        .optional()?)
}

/// Which of `ids` have an entry of `kind` in `backup` (point lookups on the primary key).
pub(super) fn existing(
    tx: &Transaction<'_>,
    backup: BackupId,
    kind: &str,
    ids: &[String],
) -> Result<Vec<String>> {
    let mut q = tx.prepare_cached(
        "SELECT 1 FROM manifest WHERE backup_id = ?1 AND kind = ?2 \
         AND id_len = length(?3) AND original_id = ?3",
    )?;
    let mut out = Vec::new();
    for id in ids {
        if q.exists(params![backup, kind, id])? {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// After a crash, background phases still `pending` or `running` whose job will not run
/// again (no job recorded, or the job is neither queued nor running) would stay so for ever:
/// they fail, saying why. Runs after the running jobs were requeued.
pub(super) fn fail_orphan_phases(tx: &Transaction<'_>) -> Result<u64> {
    let mut n = 0;
    for phase in Phase::ALL {
        let (status_col, note_col) = super::backups::phase_columns(phase);
        n += tx.execute(
            &format!(
                "UPDATE backups SET {status_col} = ?1, {note_col} = ?2 \
                 WHERE status = ?3 AND {status_col} IN (?4, ?5) \
                   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = backups.job_id \
                                   AND j.status IN ('queued', 'running'))"
            ),
            params![
                PhaseStatus::Failed,
                "interrupted, and the job that made the backup will not run again",
                BackupStatus::Complete,
                PhaseStatus::Pending,
                PhaseStatus::Running,
            ],
        )? as u64;
    }
    Ok(n)
}
