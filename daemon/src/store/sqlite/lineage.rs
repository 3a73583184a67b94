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

/// The newest complete backup of the same site, schema key and schema id made before
/// `before`, and how many complete backups of it there are since (and including) the newest
/// full one: the length of the current full-plus-incrementals cycle.
pub(super) fn parent_candidate(
    tx: &Transaction<'_>,
    site: &str,
    schema_key: &str,
    schema_id: &str,
    before: BackupId,
) -> Result<Option<(BackupId, u32)>> {
    const SAME: &str = "site = ?1 AND schema_key = ?2 AND schema_id = ?3 AND status = 'complete' \
                        AND id < ?4";
    let newest: Option<BackupId> = tx
        .prepare_cached(&format!(
            "SELECT id FROM backups WHERE {SAME} ORDER BY id DESC LIMIT 1"
        ))?
        .query_row(params![site, schema_key, schema_id, before], |r| r.get(0))
        .optional()?;
    let Some(newest) = newest else {
        return Ok(None);
    };
    let cycle: i64 = tx
        .prepare_cached(&format!(
            "SELECT count(*) FROM backups WHERE {SAME} AND id >= \
             (SELECT coalesce(max(id), 0) FROM backups WHERE {SAME} AND parent_id IS NULL)"
        ))?
        .query_row(params![site, schema_key, schema_id, before], |r| r.get(0))?;
    Ok(Some((newest, u32::try_from(cycle).unwrap_or(u32::MAX))))
}

/// Up to `limit` `(original_id, hash)` of `kind` in id order after `after` (no blob is read).
pub(super) fn hashes_page(
    tx: &Transaction<'_>,
    backup: BackupId,
    kind: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, String)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let after = after.unwrap_or("");
    let mut q = tx.prepare_cached(
        "SELECT original_id, hash FROM manifest WHERE backup_id = ?1 AND kind = ?2 \
         AND (id_len, original_id) > (length(?4), ?4) ORDER BY id_len, original_id LIMIT ?3",
    )?;
    let rows = q.query_map(params![backup, kind, limit, after], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `(original_id, hash)` of those of `ids` that have an entry of `kind` in `backup`.
pub(super) fn hashes_of(
    tx: &Transaction<'_>,
    backup: BackupId,
    kind: &str,
    ids: &[String],
) -> Result<Vec<(String, String)>> {
    let mut q = tx.prepare_cached(
        "SELECT hash FROM manifest WHERE backup_id = ?1 AND kind = ?2 \
         AND id_len = length(?3) AND original_id = ?3",
    )?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(hash) = q
            .query_row(params![backup, kind, id], |r| r.get::<_, String>(0))
            .optional()?
        {
            out.push((id.clone(), hash));
        }
    }
    Ok(out)
}

/// Copies the manifest rows of `ids` of `kind` from backup `from` into the complete backup
/// `to` (the same blobs, referenced twice: no bytes are written, and deleting `from` later
/// keeps them, since a blob lives as long as any manifest row points at it). Only kinds of a
/// background phase may be added to a complete backup. Returns the rows copied.
pub(super) fn copy_entries(
    tx: &Transaction<'_>,
    from: BackupId,
    to: BackupId,
    kind: &str,
    ids: &[String],
) -> Result<u64> {
    let status: BackupStatus = tx
        .prepare_cached("SELECT status FROM backups WHERE id = ?1")?
        .query_row([to], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("backup", to))?;
    let phase_kind = Phase::ALL.iter().any(|p| p.kinds().contains(&kind));
    if status != BackupStatus::Complete || !phase_kind {
        return Err(Error::BackupState {
            id: to,
            status,
            reason: "captures are taken over only into a complete backup's background phases",
        });
    }
    let mut q = tx.prepare_cached(
        "INSERT INTO manifest (backup_id, kind, id_len, original_id, hash) \
         SELECT ?2, kind, id_len, original_id, hash FROM manifest \
         WHERE backup_id = ?1 AND kind = ?3 AND id_len = length(?4) AND original_id = ?4 \
         ON CONFLICT (backup_id, kind, id_len, original_id) DO UPDATE SET hash = excluded.hash",
    )?;
    let mut n = 0;
    for id in ids {
        n += q.execute(params![from, to, kind, id])? as u64;
    }
    Ok(n)
}
