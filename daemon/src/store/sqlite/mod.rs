//! [`SqliteStore`]: the default [`Store`] backend, one SQLite file in WAL mode.
//!
//! One connection behind a mutex: SQLite allows a single writer anyway, and every call is
//! short (a batch, a page), so readers never wait long. Writes open `BEGIN IMMEDIATE` so the
//! write lock is taken up front instead of failing half-way on an upgrade from a read lock;
//! multi-statement reads use a deferred transaction for a consistent snapshot.
//!
//! The SQL lives in `backups.rs` (backups, manifests, blobs) and `jobs.rs` (jobs, synced
//! schemas); the schema in `../migrations/`.

mod backups;
pub(super) use backups::whole_data;
pub(crate) mod figures;
mod jobs;
mod lineage;
mod migrate;
pub(crate) mod schedules;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_spooled;

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use time::OffsetDateTime;

use super::{Backup, Result};
use super::{
    BackupFilter, BackupId, BackupOrigin, BackupPage, BackupStatus, BackupType, BadBlob,
    DeleteStats, Enqueued, Entry, Job, JobFilter, JobId, JobStatus, JobUpdate, NewBackup, NewEntry,
    NewJob, PageRequest, Phase, PhaseState, PhaseStatus, PutStats, RecoverStats, Store,
    SyncedSchema,
};

/// Backend name recorded in every backup this store writes.
const BACKEND: &str = "sqlite";

/// A [`Store`] in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Device and inode of the file opened: a file deleted or replaced under the daemon keeps
    /// answering through the open connection, but nothing written to it would survive.
    identity: (u64, u64),
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, applies pending migrations and runs
    /// [`Store::recover`], so whatever a crash left half-written is gone before first use.
    ///
    /// Only the daemon that owns the file may open it this way: recovery deletes backups that
    /// are still being written.
    ///
    /// # Errors
    ///
    /// [`Error::NewerSchema`](super::Error::NewerSchema) if the file comes from a newer build;
    /// [`Error::Migration`](super::Error::Migration); [`Error::Sqlite`](super::Error::Sqlite).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let store = Self::open_without_recovery(path)?;
        let stats = store.recover()?;
        if stats != RecoverStats::default() {
            tracing::info!(?stats, "store recovered from an unclean shutdown");
        }
        Ok(store)
    }

    /// Like [`open`](Self::open) but leaves in-flight backups and jobs alone: for tools that
    /// read a store another process may be writing.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_without_recovery(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        private_files(&path)?;
        let mut conn = Connection::open(&path)?;
        let identity = file_identity(&path)?;
        migrate::configure(&conn)?;
        migrate::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path,
            identity,
        })
    }

    /// Makes every later write fail (SQLite's `query_only`), as a full disk does, or lifts
    /// that again: for fault tests of the code above the store (the job runner's handling of
    /// an end it cannot record). Reads go on working.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](super::Error::Sqlite).
    pub fn refuse_writes(&self, refuse: bool) -> Result<()> {
        self.conn.lock().pragma_update(None, "query_only", refuse)?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this build writes (`PRAGMA user_version` after migration).
    pub fn schema_version() -> i64 {
        migrate::SUPPORTED_VERSION
    }

    /// [`Error::Replaced`](super::Error::Replaced) unless the path still names the file this
    /// store opened. Checked before every transaction: a `stat` costs far less than a commit,
    /// and no backup is declared complete in a file that is gone.
    fn check_file(&self) -> Result<()> {
        match file_identity(&self.path) {
            Ok(id) if id == self.identity => Ok(()),
            _ => Err(super::Error::Replaced {
                path: self.path.clone(),
            }),
        }
    }

    /// Runs `f` in a write transaction that holds the write lock from its first statement.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.check_file()?;
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a read (deferred) transaction: one consistent snapshot for all its queries.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.check_file()?;
        let mut conn = self.conn.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        // Nothing was written; finishing explicitly just releases the snapshot.
        tx.finish()?;
        Ok(out)
    }
}

/// Device and inode of `path`.
fn file_identity(path: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Makes the database file, before SQLite opens it, readable by its owner only (0600) whatever
/// the umask: backups hold every object of a schema. SQLite creates `-wal`, `-shm` and
/// `-journal` with the mode of the database file, so they follow; a store created by an older
/// build (0644 under the usual umask) is tightened, its side files included.
fn private_files(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Err(e) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        return Err(e.into());
    }
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        files.push(PathBuf::from(side));
    }
    for file in files {
        match std::fs::metadata(&file) {
            // Only the owner's read and write bits: a mode the umask narrowed further (or
            // widened, with umask 0) becomes exactly 0600.
            Ok(m) if m.permissions().mode() & 0o777 != 0o600 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn check(&self) -> Result<()> {
        self.check_file()
    }

    fn begin_backup(&self, new: &NewBackup) -> Result<BackupId> {
        self.write(|tx| backups::begin(tx, new))
    }

    fn put_entries(&self, backup: BackupId, entries: &[NewEntry]) -> Result<PutStats> {
        let mut total = PutStats::default();
        for chunk in entries.chunks(super::BATCH_SIZE) {
            // Hashing and compressing happen before the lock is taken, so other callers only
            // wait for the inserts.
            let encoded = backups::encode_entries(chunk)?;
            let stats = self.write(|tx| backups::put(tx, backup, &encoded))?;
            total.entries += stats.entries;
            total.blobs_added += stats.blobs_added;
            total.bytes_added += stats.bytes_added;
        }
        Ok(total)
    }

    fn put_spooled_entry(
        &self,
        backup: BackupId,
        kind: &str,
        original_id: &str,
        blob: &mut super::SpooledBlob,
    ) -> Result<PutStats> {
        self.write(|tx| backups::put_spooled(tx, backup, kind, original_id, blob))
    }

    fn scratch_dir(&self) -> std::path::PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        }
    }

    fn complete_backup(&self, backup: BackupId, ended_at: OffsetDateTime) -> Result<Backup> {
        self.write(|tx| backups::complete(tx, backup, ended_at))
    }

    fn fail_backup(&self, backup: BackupId, ended_at: OffsetDateTime) -> Result<()> {
        self.write(|tx| backups::fail(tx, backup, ended_at))
    }

    fn set_phase(&self, backup: BackupId, phase: Phase, state: &PhaseState) -> Result<()> {
        self.write(|tx| backups::set_phase(tx, backup, phase, state))
    }

    fn delete_backup(&self, backup: BackupId) -> Result<DeleteStats> {
        self.write(|tx| backups::delete(tx, backup))
    }

    fn recover(&self) -> Result<RecoverStats> {
        self.write(|tx| {
            let mut stats = backups::recover(tx)?;
            stats.jobs_requeued = jobs::requeue_running(tx)?;
            stats.phases_failed = lineage::fail_orphan_phases(tx)?;
            Ok(stats)
        })
    }

    fn set_backup_origin(&self, backup: BackupId, origin: &BackupOrigin) -> Result<()> {
        self.write(|tx| lineage::set_origin(tx, backup, origin))
    }

    fn backup_of_job(&self, job: JobId) -> Result<Option<Backup>> {
        self.read(|tx| lineage::of_job(tx, job))
    }

    fn existing_entries(
        &self,
        backup: BackupId,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<String>> {
        self.read(|tx| lineage::existing(tx, backup, kind, ids))
    }

    fn parent_candidate(
        &self,
        site: &str,
        schema_key: &str,
        schema_id: &str,
        before: BackupId,
    ) -> Result<Option<(BackupId, u32)>> {
        self.read(|tx| lineage::parent_candidate(tx, site, schema_key, schema_id, before))
    }

    fn entry_hashes(
        &self,
        backup: BackupId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        self.read(|tx| lineage::hashes_page(tx, backup, kind, after, limit))
    }

    fn entry_hashes_of(
        &self,
        backup: BackupId,
        kind: &str,
        ids: &[String],
    ) -> Result<Vec<(String, String)>> {
        self.read(|tx| lineage::hashes_of(tx, backup, kind, ids))
    }

    fn copy_entries(
        &self,
        from: BackupId,
        to: BackupId,
        kind: &str,
        ids: &[String],
    ) -> Result<u64> {
        self.write(|tx| lineage::copy_entries(tx, from, to, kind, ids))
    }

    fn list_backups(&self, filter: &BackupFilter, page: PageRequest) -> Result<BackupPage> {
        self.read(|tx| backups::list(tx, filter, page))
    }

    fn get_backup(&self, backup: BackupId) -> Result<Backup> {
        self.read(|tx| backups::get_complete(tx, backup))
    }

    fn count_entries(&self, backup: BackupId, kind: &str) -> Result<u64> {
        self.read(|tx| backups::count_entries(tx, backup, kind))
    }

    fn entry_page(
        &self,
        backup: BackupId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        // Copy the compressed rows out under the lock, decompress and verify after it.
        let rows = self.read(|tx| backups::entry_rows(tx, backup, kind, after, limit))?;
        rows.into_iter().map(backups::EntryRow::decode).collect()
    }

    fn get_blob(&self, hash: &str) -> Result<Vec<u8>> {
        let (data, raw_len) = self.read(|tx| backups::blob_row(tx, hash))?;
        super::blob::decode_blob(hash, &data, raw_len)
    }

    fn write_blob(&self, hash: &str, out: &mut dyn std::io::Write) -> Result<u64> {
        self.stream_blob(hash, out)
    }

    fn verify(&self, backup: BackupId) -> Result<Vec<BadBlob>> {
        self.read(|tx| backups::require_complete(tx, backup))?;
        let mut bad = Vec::new();
        let mut after = String::new();
        loop {
            // One page per lock, so a long verify doesn't starve the writer.
            let rows = self.read(|tx| backups::verify_rows(tx, backup, &after))?;
            let Some(last) = rows.last() else {
                return Ok(bad);
            };
            after.clone_from(&last.hash);
            for row in rows {
                if !row.pieced() {
                    bad.extend(row.check());
                    continue;
                }
                match self.stream_blob(&row.hash, &mut std::io::sink()) {
                    Ok(_) => {}
                    Err(super::Error::Corrupt { problem, .. }) => bad.push(BadBlob {
                        hash: row.hash,
                        problem,
                    }),
                    // Its pieces went with a backup deleted meanwhile, or the file failed.
                    Err(e) => return Err(e),
                }
            }
        }
    }

    fn replace_synced_schemas(&self, site: &str, schemas: &[SyncedSchema]) -> Result<()> {
        self.write(|tx| jobs::replace_synced_schemas(tx, site, schemas))
    }

    fn list_synced_schemas(&self, site: Option<&str>) -> Result<Vec<SyncedSchema>> {
        self.read(|tx| jobs::list_synced_schemas(tx, site))
    }

    fn enqueue_job(&self, new: &NewJob, now: OffsetDateTime) -> Result<Enqueued> {
        let payload = serde_json::to_string(&new.payload)?;
        self.write(|tx| jobs::enqueue(tx, new, &payload, now))
    }

    fn claim_next_job(&self, now: OffsetDateTime) -> Result<Option<Job>> {
        self.write(|tx| jobs::claim_next(tx, now))
    }

    fn update_job(&self, job: JobId, update: &JobUpdate, now: OffsetDateTime) -> Result<bool> {
        self.write(|tx| jobs::update(tx, job, update, now))
    }

    fn get_job(&self, job: JobId) -> Result<Job> {
        self.read(|tx| jobs::get(tx, job))
    }

    fn list_jobs(&self, filter: &JobFilter, page: PageRequest) -> Result<Vec<Job>> {
        self.read(|tx| jobs::list(tx, filter, page))
    }
}

/// Timestamps are stored as Unix milliseconds (see `0001_init.sql` for why). Shared by every
/// table of the store (backups, jobs, restores, tasks, sites), so all read and write alike.
pub(in crate::store) fn to_millis(t: OffsetDateTime) -> i64 {
    // i64 milliseconds cover ±292 million years; `time` stops at ±9999.
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// A stored timestamp (see [`to_millis`]).
pub(in crate::store) fn from_millis(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// A nullable timestamp column (see [`to_millis`]).
pub(in crate::store) fn opt_time(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<OffsetDateTime>> {
    row.get::<_, Option<i64>>(i)?.map(from_millis).transpose()
}

/// A NOT NULL JSON column of restores and tasks, read strictly: text that is not JSON is a
/// typed conversion error naming the column.
pub(in crate::store) fn json_col(
    row: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Read-side counterpart of a `u64` count stored as INTEGER (never negative by construction).
fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Lets the string enums go straight into and out of SQL, so a bad value in a row surfaces as
/// a typed conversion error instead of a panic or a silent default.
macro_rules! sql_text_enum {
    ($($name:ident),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str()?.parse().map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}
sql_text_enum!(BackupType, BackupStatus, PhaseStatus, JobStatus);
