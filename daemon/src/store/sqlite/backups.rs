//! SQL for backups, their manifests and the blobs they reference.
//!
//! Each function runs inside a transaction opened by [`SqliteStore`](super::SqliteStore):
//! writes under `BEGIN IMMEDIATE`, reads under a deferred snapshot. Garbage collection is
//! plain SQL over the `manifest_by_hash` index: a blob lives exactly as long as some manifest
//! row (of any backup, running ones included) points at it.

use rusqlite::{OptionalExtension as _, Row, Transaction, params};
use time::OffsetDateTime;

use super::{BACKEND, from_millis, to_millis, to_u64};
use crate::store::blob::{EncodedBlob, decode_blob};
use crate::store::error::{Error, Result};
use crate::store::{
    Backup, BackupFilter, BackupId, BackupPage, BackupStatus, BadBlob, DeleteStats, Entry,
    NewBackup, NewEntry, PageRequest, Phase, PhaseState, PhaseStatus, PutStats, RecoverStats, kind,
};

const BACKUP: &str = "backup";

/// Distinct blobs checked per read transaction by `verify`.
const VERIFY_PAGE: i64 = 500;

/// Columns read by [`backup_from_row`], in its order.
pub(super) const BACKUP_COLUMNS: &str = "id, site, schema_key, schema_id, backup_type, description, \
     storage, status, history_status, history_note, issues_status, issues_note, object_count, \
     started_at, ended_at, bytes_added, comments_status, comments_note, attachments_status, \
     attachments_note, parent_id";

pub(super) fn backup_from_row(row: &Row<'_>) -> rusqlite::Result<Backup> {
    Ok(Backup {
        id: row.get(0)?,
        site: row.get(1)?,
        schema_key: row.get(2)?,
        schema_id: row.get(3)?,
        backup_type: row.get(4)?,
        description: row.get(5)?,
        storage: row.get(6)?,
        status: row.get(7)?,
        history: PhaseState {
            status: row.get(8)?,
            note: row.get(9)?,
        },
        issues: PhaseState {
            status: row.get(10)?,
            note: row.get(11)?,
        },
        object_count: to_u64(row.get(12)?),
        started_at: from_millis(row.get(13)?)?,
        ended_at: row
            .get::<_, Option<i64>>(14)?
            .map(from_millis)
            .transpose()?,
        bytes_added: to_u64(row.get(15)?),
        comments: PhaseState {
            status: row.get(16)?,
            note: row.get(17)?,
        },
        attachments: PhaseState {
            status: row.get(18)?,
            note: row.get(19)?,
        },
        incremental: row.get::<_, Option<BackupId>>(20)?.is_some(),
        parent_id: row.get(20)?,
    })
}

/// The `(status, note)` columns of a phase. Static names, so formatting them into SQL is safe.
pub(super) fn phase_columns(phase: Phase) -> (&'static str, &'static str) {
    match phase {
        Phase::History => ("history_status", "history_note"),
        Phase::Issues => ("issues_status", "issues_note"),
        Phase::Comments => ("comments_status", "comments_note"),
        Phase::Attachments => ("attachments_status", "attachments_note"),
    }
}

pub(super) fn begin(tx: &Transaction<'_>, new: &NewBackup) -> Result<BackupId> {
    tx.execute(
        "INSERT INTO backups (site, schema_key, schema_id, backup_type, description, storage, \
         status, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            new.site,
            new.schema_key,
            new.schema_id,
            new.backup_type,
            new.description,
            BACKEND,
            BackupStatus::Running,
            to_millis(new.started_at),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Status of a backup, whatever it is.
fn status(tx: &Transaction<'_>, backup: BackupId) -> Result<BackupStatus> {
    tx.prepare_cached("SELECT status FROM backups WHERE id = ?1")?
        .query_row([backup], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found(BACKUP, backup))
}

/// An entry whose blob is encoded, ready for [`put`].
pub(super) struct EncodedEntry<'a> {
    kind: &'a str,
    original_id: &'a str,
    blob: EncodedBlob,
}

/// Canonicalizes, hashes and compresses a batch; runs outside the connection lock.
pub(super) fn encode_entries(entries: &[NewEntry]) -> Result<Vec<EncodedEntry<'_>>> {
    entries
        .iter()
        .map(|e| {
            Ok(EncodedEntry {
                kind: &e.kind,
                original_id: &e.original_id,
                blob: EncodedBlob::encode(&e.value)?,
            })
        })
        .collect()
}

/// Whether `backup` takes entries of these kinds: any while it runs, a background phase's
/// once it is complete, none once it failed.
fn takes<'k>(
    tx: &Transaction<'_>,
    backup: BackupId,
    mut kinds: impl Iterator<Item = &'k str>,
) -> Result<()> {
    match status(tx, backup)? {
        BackupStatus::Running => {}
        BackupStatus::Complete => {
            let is_phase_kind = |k: &str| Phase::ALL.iter().any(|p| p.kinds().contains(&k));
            if !kinds.all(is_phase_kind) {
                return Err(Error::BackupState {
                    id: backup,
                    status: BackupStatus::Complete,
                    reason: "a complete backup only takes background-phase entries",
                });
            }
        }
        status @ BackupStatus::Failed => {
            return Err(Error::BackupState {
                id: backup,
                status,
                reason: "a failed backup takes no entries",
            });
        }
    }
    Ok(())
}

/// Pieces a spooled blob is stored in (see migration 0011): what one insert holds.
const PART_BYTES: usize = 1 << 20;

/// One entry whose compressed blob is in a file: its `blobs` row (empty `data`) and its bytes
/// as [`PART_BYTES`] pieces in `blob_parts`, read from the file one piece at a time. A known
/// hash inserts nothing (the dedup of [`put`]).
pub(super) fn put_spooled(
    tx: &Transaction<'_>,
    backup: BackupId,
    kind: &str,
    original_id: &str,
    blob: &mut crate::store::SpooledBlob,
) -> Result<PutStats> {
    use std::io::{Read as _, Seek as _};

    takes(tx, backup, std::iter::once(kind))?;
    let mut stats = PutStats {
        entries: 1,
        ..PutStats::default()
    };
    let added = tx
        .prepare_cached(
            "INSERT INTO blobs (hash, data, raw_len) VALUES (?1, X'', ?2) \
             ON CONFLICT (hash) DO NOTHING",
        )?
        .execute(params![
            blob.hash,
            i64::try_from(blob.raw_len).unwrap_or(i64::MAX)
        ])?;
    if added == 1 {
        blob.file.rewind()?;
        let mut insert =
            tx.prepare_cached("INSERT INTO blob_parts (hash, seq, data) VALUES (?1, ?2, ?3)")?;
        let mut piece = vec![0u8; PART_BYTES];
        let (mut seq, mut copied) = (0i64, 0u64);
        while copied < blob.data_len {
            let want = usize::try_from(blob.data_len - copied)
                .unwrap_or(PART_BYTES)
                .min(PART_BYTES);
            blob.file.read_exact(&mut piece[..want])?;
            insert.execute(params![blob.hash, seq, &piece[..want]])?;
            copied += want as u64;
            seq += 1;
        }
        stats.blobs_added = 1;
        stats.bytes_added = blob.data_len;
        tx.execute(
            "UPDATE backups SET bytes_added = bytes_added + ?2 WHERE id = ?1",
            params![backup, stats.bytes_added as i64],
        )?;
    }
    tx.prepare_cached(
        "INSERT INTO manifest (backup_id, kind, id_len, original_id, hash) \
         VALUES (?1, ?2, length(?3), ?3, ?4) \
         ON CONFLICT (backup_id, kind, id_len, original_id) DO UPDATE SET hash = excluded.hash",
    )?
    .execute(params![backup, kind, original_id, blob.hash])?;
    Ok(stats)
}

/// The data of a blob whose row holds `data`: that, or, when it is empty, its pieces in
/// order (a spooled blob; migration 0011).
pub(in crate::store) fn whole_data(
    tx: &Transaction<'_>,
    hash: &str,
    data: Vec<u8>,
) -> Result<Vec<u8>> {
    if !data.is_empty() {
        return Ok(data);
    }
    let mut stmt = tx.prepare_cached("SELECT data FROM blob_parts WHERE hash = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([hash])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let piece: Vec<u8> = row.get(0)?;
        out.extend_from_slice(&piece);
    }
    Ok(out)
}

pub(super) fn put(
    tx: &Transaction<'_>,
    backup: BackupId,
    entries: &[EncodedEntry<'_>],
) -> Result<PutStats> {
    takes(tx, backup, entries.iter().map(|e| e.kind))?;
    // DO NOTHING on a known hash is the dedup: the second copy of an entity costs one index
    // probe and no bytes. `changes` tells us whether this backup added the blob.
    let mut insert_blob = tx.prepare_cached(
        "INSERT INTO blobs (hash, data, raw_len) VALUES (?1, ?2, ?3) \
         ON CONFLICT (hash) DO NOTHING",
    )?;
    // Re-putting an id (a retried batch) replaces its row instead of failing. If the content
    // changed, the old blob stays until the next recover() garbage-collects it.
    let mut insert_entry = tx.prepare_cached(
        "INSERT INTO manifest (backup_id, kind, id_len, original_id, hash) \
         VALUES (?1, ?2, length(?3), ?3, ?4) \
         ON CONFLICT (backup_id, kind, id_len, original_id) DO UPDATE SET hash = excluded.hash",
    )?;
    let mut stats = PutStats::default();
    for entry in entries {
        let blob = &entry.blob;
        if insert_blob.execute(params![blob.hash, blob.data, blob.raw_len as i64])? == 1 {
            stats.blobs_added += 1;
            stats.bytes_added += blob.data.len() as u64;
        }
        insert_entry.execute(params![backup, entry.kind, entry.original_id, blob.hash])?;
        stats.entries += 1;
    }
    if stats.bytes_added > 0 {
        tx.execute(
            "UPDATE backups SET bytes_added = bytes_added + ?2 WHERE id = ?1",
            params![backup, stats.bytes_added as i64],
        )?;
    }
    Ok(stats)
}

pub(super) fn complete(
    tx: &Transaction<'_>,
    backup: BackupId,
    ended_at: OffsetDateTime,
) -> Result<Backup> {
    let status = status(tx, backup)?;
    if status != BackupStatus::Running {
        return Err(Error::BackupState {
            id: backup,
            status,
            reason: "only a running backup can be completed",
        });
    }
    let objects = count_entries(tx, backup, kind::OBJECT)?;
    tx.execute(
        "UPDATE backups SET status = ?2, ended_at = ?3, object_count = ?4 WHERE id = ?1",
        params![
            backup,
            BackupStatus::Complete,
            to_millis(ended_at),
            objects as i64
        ],
    )?;
    get_complete(tx, backup)
}

pub(super) fn fail(tx: &Transaction<'_>, backup: BackupId, ended_at: OffsetDateTime) -> Result<()> {
    let status = status(tx, backup)?;
    if status == BackupStatus::Complete {
        return Err(Error::BackupState {
            id: backup,
            status,
            reason: "a complete backup cannot fail; delete it instead",
        });
    }
    // The row stays (invisible) until the next recover(), so the failure is inspectable in
    // the file meanwhile; the entries are useless and go now.
    drop_entries(tx, backup)?;
    tx.execute(
        "UPDATE backups SET status = ?2, ended_at = ?3 WHERE id = ?1",
        params![backup, BackupStatus::Failed, to_millis(ended_at)],
    )?;
    Ok(())
}

pub(super) fn set_phase(
    tx: &Transaction<'_>,
    backup: BackupId,
    phase: Phase,
    state: &PhaseState,
) -> Result<()> {
    let (status_col, note_col) = phase_columns(phase);
    let sql = format!("UPDATE backups SET {status_col} = ?2, {note_col} = ?3 WHERE id = ?1");
    match tx.execute(&sql, params![backup, state.status, state.note])? {
        0 => Err(Error::not_found(BACKUP, backup)),
        _ => Ok(()),
    }
}

pub(super) fn delete(tx: &Transaction<'_>, backup: BackupId) -> Result<DeleteStats> {
    status(tx, backup)?;
    // Checked in the delete's own write transaction: nothing can start using the backup
    // between the check and the delete.
    let users = users(tx, backup)?;
    if !users.is_empty() {
        return Err(Error::InUse { backup, users });
    }
    let stats = drop_entries(tx, backup)?;
    tx.execute("DELETE FROM backups WHERE id = ?1", [backup])?;
    Ok(stats)
}

/// What reads the backup now or will: unfinished restores from it, and queued or running
/// export and verify jobs of it ("restore 4", "export job 12"), in id order.
fn users(tx: &Transaction<'_>, backup: BackupId) -> Result<Vec<String>> {
    let mut stmt = tx.prepare_cached(
        "SELECT 'restore ' || id FROM restores \
          WHERE backup_id = ?1 AND status IN ('pending', 'in_progress') \
         UNION ALL \
         SELECT kind || ' job ' || id FROM jobs \
          WHERE status IN ('queued', 'running') AND kind IN ('export', 'verify') \
            AND json_valid(payload) AND json_extract(payload, '$.backup_id') = ?1",
    )?;
    let users = stmt
        .query_map([backup], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(users)
}

/// Deletes a backup's manifest and the blobs no other backup references.
fn drop_entries(tx: &Transaction<'_>, backup: BackupId) -> Result<DeleteStats> {
    // Blobs first, while the manifest still says which ones this backup used; the deferred
    // foreign key tolerates the dangling rows until they go a statement later.
    let mut stmt = tx.prepare_cached(
        "DELETE FROM blobs \
         WHERE hash IN (SELECT hash FROM manifest WHERE backup_id = ?1) \
           AND NOT EXISTS (SELECT 1 FROM manifest m \
                           WHERE m.hash = blobs.hash AND m.backup_id <> ?1) \
         RETURNING length(data)",
    )?;
    // The pieces of spooled blobs (deleted with their blob) count as freed too.
    let parts: i64 = tx
        .prepare_cached(
            "SELECT coalesce(sum(length(p.data)), 0) FROM blob_parts p \
             WHERE p.hash IN (SELECT hash FROM manifest WHERE backup_id = ?1) \
               AND NOT EXISTS (SELECT 1 FROM manifest m \
                               WHERE m.hash = p.hash AND m.backup_id <> ?1)",
        )?
        .query_row([backup], |r| r.get(0))?;
    let mut stats = DeleteStats {
        bytes_freed: to_u64(parts),
        ..DeleteStats::default()
    };
    let mut rows = stmt.query([backup])?;
    while let Some(row) = rows.next()? {
        stats.blobs_removed += 1;
        stats.bytes_freed += to_u64(row.get(0)?);
    }
    tx.execute("DELETE FROM manifest WHERE backup_id = ?1", [backup])?;
    Ok(stats)
}

pub(super) fn recover(tx: &Transaction<'_>) -> Result<RecoverStats> {
    let mut stats = RecoverStats::default();
    tx.execute(
        "DELETE FROM manifest WHERE backup_id IN \
         (SELECT id FROM backups WHERE status <> ?1)",
        [BackupStatus::Complete],
    )?;
    stats.backups_removed = tx.execute(
        "DELETE FROM backups WHERE status <> ?1",
        [BackupStatus::Complete],
    )? as u64;

    // A background phase cut off mid-way is marked pending, so its job (requeued below)
    // resumes it. The history phase's entries are each one object's whole history, so those
    // written stay and the phase reads only the objects still without one; the issues phase
    // writes issues merged over all fields at its end, so a partial set is dropped and the
    // phase reruns from the start.
    for phase in Phase::ALL {
        let (status_col, note_col) = phase_columns(phase);
        // Comments and attachments, like history, write one whole object per entry (an
        // attachment's bytes in the same batch as the object's list): what is there stays.
        let partial_kinds: &[&str] = match phase {
            Phase::History | Phase::Comments | Phase::Attachments => &[],
            _ => phase.kinds(),
        };
        for kind in partial_kinds {
            tx.execute(
                &format!(
                    "DELETE FROM manifest WHERE kind = ?1 AND backup_id IN \
                     (SELECT id FROM backups WHERE {status_col} = ?2)"
                ),
                params![kind, PhaseStatus::Running],
            )?;
        }
        stats.phases_reset += tx.execute(
            &format!(
                "UPDATE backups SET {status_col} = ?1, {note_col} = ?2 WHERE {status_col} = ?3"
            ),
            params![
                PhaseStatus::Pending,
                "interrupted by a restart; resumes when its job runs again",
                PhaseStatus::Running
            ],
        )? as u64;
    }

    stats.blobs_removed = tx.execute(
        "DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM manifest m WHERE m.hash = blobs.hash)",
        [],
    )? as u64;
    Ok(stats)
}

/// The shared `WHERE` of the list query and its count; parameters ?1..?5 as in [`list`].
const LIST_WHERE: &str = "status = 'complete' \
     AND (?1 IS NULL OR site = ?1) \
     AND (?2 IS NULL OR schema_key = ?2) \
     AND (?3 IS NULL OR backup_type = ?3) \
     AND (?4 IS NULL OR started_at >= ?4) \
     AND (?5 IS NULL OR started_at < ?5)";

pub(super) fn list(
    tx: &Transaction<'_>,
    filter: &BackupFilter,
    page: PageRequest,
) -> Result<BackupPage> {
    let filters = params![
        filter.site,
        filter.schema_key,
        filter.backup_type,
        filter.from.map(to_millis),
        filter.to.map(to_millis),
    ];
    let total: i64 = tx
        .prepare_cached(&format!("SELECT count(*) FROM backups WHERE {LIST_WHERE}"))?
        .query_row(filters, |r| r.get(0))?;
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {BACKUP_COLUMNS} FROM backups WHERE {LIST_WHERE} \
         ORDER BY started_at DESC, id DESC LIMIT ?6 OFFSET ?7"
    ))?;
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    let items = stmt
        .query_map(
            params![
                filter.site,
                filter.schema_key,
                filter.backup_type,
                filter.from.map(to_millis),
                filter.to.map(to_millis),
                page.limit,
                offset,
            ],
            backup_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(BackupPage {
        total: to_u64(total),
        items,
    })
}

pub(super) fn get_complete(tx: &Transaction<'_>, backup: BackupId) -> Result<Backup> {
    tx.prepare_cached(&format!(
        "SELECT {BACKUP_COLUMNS} FROM backups WHERE id = ?1 AND status = 'complete'"
    ))?
    .query_row([backup], backup_from_row)
    .optional()?
    .ok_or_else(|| Error::not_found(BACKUP, backup))
}

pub(super) fn count_entries(tx: &Transaction<'_>, backup: BackupId, kind: &str) -> Result<u64> {
    let n: i64 = tx
        .prepare_cached("SELECT count(*) FROM manifest WHERE backup_id = ?1 AND kind = ?2")?
        .query_row(params![backup, kind], |r| r.get(0))?;
    Ok(to_u64(n))
}

/// A manifest row with its still-compressed blob (absent if the blob is missing).
pub(super) struct EntryRow {
    original_id: String,
    hash: String,
    blob: Option<(Vec<u8>, i64)>,
}

impl EntryRow {
    pub(super) fn decode(self) -> Result<Entry> {
        let Some((data, raw_len)) = self.blob else {
            return Err(Error::Corrupt {
                hash: self.hash,
                problem: crate::store::BlobProblem::Missing,
                source: None,
            });
        };
        let json = decode_blob(&self.hash, &data, raw_len)?;
        Ok(Entry {
            original_id: self.original_id,
            hash: self.hash,
            json,
        })
    }
}

/// The page query of [`entry_rows`]: `?1` backup, `?2` kind, `?3` limit, `?4` the id to
/// start after (only when `after`). Keyset paging on the primary key order, so each page is
/// a range scan of the clustered table, however deep it is.
pub(super) fn entry_page_sql(after: bool) -> String {
    let after = if after {
        "AND (m.id_len, m.original_id) > (length(?4), ?4)"
    } else {
        ""
    };
    format!(
        "SELECT m.original_id, m.hash, b.data, b.raw_len \
         FROM manifest m LEFT JOIN blobs b ON b.hash = m.hash \
         WHERE m.backup_id = ?1 AND m.kind = ?2 {after} \
         ORDER BY m.id_len, m.original_id LIMIT ?3"
    )
}

pub(super) fn entry_rows(
    tx: &Transaction<'_>,
    backup: BackupId,
    kind: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<EntryRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let map = |r: &Row<'_>| {
        let data: Option<Vec<u8>> = r.get(2)?;
        let raw_len: Option<i64> = r.get(3)?;
        Ok(EntryRow {
            original_id: r.get(0)?,
            hash: r.get(1)?,
            blob: data.zip(raw_len),
        })
    };
    let rows = match after {
        None => tx
            .prepare_cached(&entry_page_sql(false))?
            .query_map(params![backup, kind, limit], map)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
        Some(after) => tx
            .prepare_cached(&entry_page_sql(true))?
            .query_map(params![backup, kind, limit, after], map)?
            .collect::<rusqlite::Result<Vec<_>>>()?,
    };
    rows.into_iter()
        .map(|mut row| {
            if let Some((data, raw_len)) = row.blob.take() {
                row.blob = Some((whole_data(tx, &row.hash, data)?, raw_len));
            }
            Ok(row)
        })
        .collect()
}

pub(super) fn blob_row(tx: &Transaction<'_>, hash: &str) -> Result<(Vec<u8>, i64)> {
    let (data, raw_len) = tx
        .prepare_cached("SELECT data, raw_len FROM blobs WHERE hash = ?1")?
        .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| Error::not_found("blob", hash))?;
    Ok((whole_data(tx, hash, data)?, raw_len))
}

pub(super) fn require_complete(tx: &Transaction<'_>, backup: BackupId) -> Result<()> {
    match status(tx, backup)? {
        BackupStatus::Complete => Ok(()),
        _ => Err(Error::not_found(BACKUP, backup)),
    }
}

/// A distinct blob of a backup as stored, for verification.
pub(super) struct VerifyRow {
    pub(super) hash: String,
    blob: Option<(Vec<u8>, i64)>,
}

impl VerifyRow {
    /// Whether the blob is stored in pieces (migration 0011): [`Self::check`] cannot tell,
    /// the pieces have to be streamed.
    pub(super) fn pieced(&self) -> bool {
        matches!(&self.blob, Some((data, _)) if data.is_empty())
    }

    /// `Some` when the blob is missing or does not decode to its hash.
    pub(super) fn check(self) -> Option<BadBlob> {
        let problem = match self.blob {
            None => crate::store::BlobProblem::Missing,
            Some((data, raw_len)) => match decode_blob(&self.hash, &data, raw_len) {
                Ok(_) => return None,
                Err(Error::Corrupt { problem, .. }) => problem,
                // decode_blob only fails with Corrupt; anything else still means "bad".
                Err(_) => crate::store::BlobProblem::Undecodable,
            },
        };
        Some(BadBlob {
            hash: self.hash,
            problem,
        })
    }
}

/// The next page of distinct blob hashes of `backup` after `after`, with their blobs.
pub(super) fn verify_rows(
    tx: &Transaction<'_>,
    backup: BackupId,
    after: &str,
) -> Result<Vec<VerifyRow>> {
    let mut stmt = tx.prepare_cached(
        "SELECT h.hash, b.data, b.raw_len \
         FROM (SELECT DISTINCT hash FROM manifest WHERE backup_id = ?1 AND hash > ?2 \
               ORDER BY hash LIMIT ?3) h \
         LEFT JOIN blobs b ON b.hash = h.hash \
         ORDER BY h.hash",
    )?;
    let rows = stmt
        .query_map(params![backup, after, VERIFY_PAGE], |r| {
            let data: Option<Vec<u8>> = r.get(1)?;
            let raw_len: Option<i64> = r.get(2)?;
            Ok(VerifyRow {
                hash: r.get(0)?,
                blob: data.zip(raw_len),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // A blob in pieces (empty `data`) is left for the caller to stream: it is read one piece
    // per lock, never whole.
    Ok(rows)
}
