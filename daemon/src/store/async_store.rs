//! [`AsyncStore`]: the async face of a [`Store`] for tokio code.
//!
//! SQLite calls block (disk I/O, waiting for the write lock), and blocking a runtime worker
//! would stall every task on it, so each call moves to tokio's blocking pool. Arguments are
//! taken by value because the closure must be `'static`.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{
    Backup, BackupFilter, BackupId, BackupPage, BadBlob, DeleteStats, Enqueued, Entry, Error, Job,
    JobFilter, JobId, JobUpdate, NewBackup, NewEntry, NewJob, PageRequest, Phase, PhaseState,
    PutStats, RecoverStats, Result, Store, SyncedSchema,
};

/// Cheap-to-clone async wrapper around an `Arc<dyn Store>`; every method mirrors the
/// [`Store`] method of the same name (see there for errors) and runs it via
/// [`tokio::task::spawn_blocking`].
#[derive(Clone)]
pub struct AsyncStore {
    inner: Arc<dyn Store>,
}

impl std::fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncStore")
            .field("backend", &self.inner.backend())
            .finish()
    }
}

impl AsyncStore {
    /// Wraps a store.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        AsyncStore { inner }
    }

    /// The wrapped store, for code that already runs on a blocking thread.
    pub fn blocking(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// Runs `f` against the store on the blocking pool.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns, or [`Error::Task`] if it panicked.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        let store = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(Error::Task)?
    }

    /// See [`Store::begin_backup`].
    pub async fn begin_backup(&self, new: NewBackup) -> Result<BackupId> {
        self.run(move |s| s.begin_backup(&new)).await
    }

    /// See [`Store::put_entries`].
    pub async fn put_entries(&self, backup: BackupId, entries: Vec<NewEntry>) -> Result<PutStats> {
        self.run(move |s| s.put_entries(backup, &entries)).await
    }

    /// See [`Store::put_spooled_entry`].
    pub async fn put_spooled_entry(
        &self,
        backup: BackupId,
        kind: String,
        original_id: String,
        mut blob: super::SpooledBlob,
    ) -> Result<PutStats> {
        self.run(move |s| s.put_spooled_entry(backup, &kind, &original_id, &mut blob))
            .await
    }

    /// See [`Store::scratch_dir`].
    pub fn scratch_dir(&self) -> std::path::PathBuf {
        self.inner.scratch_dir()
    }

    /// See [`Store::complete_backup`].
    pub async fn complete_backup(
        &self,
        backup: BackupId,
        ended_at: OffsetDateTime,
    ) -> Result<Backup> {
        self.run(move |s| s.complete_backup(backup, ended_at)).await
    }

    /// See [`Store::fail_backup`].
    pub async fn fail_backup(&self, backup: BackupId, ended_at: OffsetDateTime) -> Result<()> {
        self.run(move |s| s.fail_backup(backup, ended_at)).await
    }

    /// See [`Store::set_phase`].
    pub async fn set_phase(&self, backup: BackupId, phase: Phase, state: PhaseState) -> Result<()> {
        self.run(move |s| s.set_phase(backup, phase, &state)).await
    }

    /// See [`Store::delete_backup`].
    pub async fn delete_backup(&self, backup: BackupId) -> Result<DeleteStats> {
        self.run(move |s| s.delete_backup(backup)).await
    }

    /// See [`Store::recover`].
    pub async fn recover(&self) -> Result<RecoverStats> {
        self.run(|s| s.recover()).await
    }

    /// See [`Store::list_backups`].
    pub async fn list_backups(
        &self,
        filter: BackupFilter,
        page: PageRequest,
    ) -> Result<BackupPage> {
        self.run(move |s| s.list_backups(&filter, page)).await
    }

    /// See [`Store::get_backup`].
    pub async fn get_backup(&self, backup: BackupId) -> Result<Backup> {
        self.run(move |s| s.get_backup(backup)).await
    }

    /// See [`Store::count_entries`].
    pub async fn count_entries(&self, backup: BackupId, kind: &str) -> Result<u64> {
        let kind = kind.to_owned();
        self.run(move |s| s.count_entries(backup, &kind)).await
    }

    /// See [`Store::entry_page`]. Loop with `after` = the last id of the previous page to
    /// stream a whole kind with one page in memory.
    pub async fn entry_page(
        &self,
        backup: BackupId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let (kind, after) = (kind.to_owned(), after.map(str::to_owned));
        self.run(move |s| s.entry_page(backup, &kind, after.as_deref(), limit))
            .await
    }

    /// Calls `f` with every entry of `kind` in `backup`, read as `T`, with its manifest id,
    /// one store page ([`ENTRY_PAGE_SIZE`](super::ENTRY_PAGE_SIZE) entries) in memory at a
    /// time: the one walk over a backup's entries that restores and tasks share.
    ///
    /// # Errors
    ///
    /// The store's, a JSON error for an entry that is not a `T`, or `f`'s.
    pub async fn for_each_entry_as<T, E>(
        &self,
        backup: BackupId,
        kind: &str,
        mut f: impl FnMut(String, T) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>
    where
        T: serde::de::DeserializeOwned,
        E: From<Error> + From<serde_json::Error>,
    {
        let size = super::ENTRY_PAGE_SIZE;
        let mut after: Option<String> = None;
        loop {
            let page = self
                .entry_page(backup, kind, after.as_deref(), size)
                .await?;
            let full = page.len() == size;
            after = page.last().map(|e| e.original_id.clone());
            for e in page {
                let value: T = serde_json::from_slice(&e.json)?;
                f(e.original_id, value)?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// See [`Store::get_blob`].
    pub async fn get_blob(&self, hash: &str) -> Result<Vec<u8>> {
        let hash = hash.to_owned();
        self.run(move |s| s.get_blob(&hash)).await
    }

    /// See [`Store::verify`].
    pub async fn verify(&self, backup: BackupId) -> Result<Vec<BadBlob>> {
        self.run(move |s| s.verify(backup)).await
    }

    /// See [`Store::replace_synced_schemas`].
    pub async fn replace_synced_schemas(
        &self,
        site: &str,
        schemas: Vec<SyncedSchema>,
    ) -> Result<()> {
        let site = site.to_owned();
        self.run(move |s| s.replace_synced_schemas(&site, &schemas))
            .await
    }

    /// See [`Store::list_synced_schemas`].
    pub async fn list_synced_schemas(&self, site: Option<&str>) -> Result<Vec<SyncedSchema>> {
        let site = site.map(str::to_owned);
        self.run(move |s| s.list_synced_schemas(site.as_deref()))
            .await
    }

    /// See [`Store::enqueue_job`].
    pub async fn enqueue_job(&self, new: NewJob, now: OffsetDateTime) -> Result<Enqueued> {
        self.run(move |s| s.enqueue_job(&new, now)).await
    }

    /// See [`Store::claim_next_job`].
    pub async fn claim_next_job(&self, now: OffsetDateTime) -> Result<Option<Job>> {
        self.run(move |s| s.claim_next_job(now)).await
    }

    /// See [`Store::update_job`].
    pub async fn update_job(
        &self,
        job: JobId,
        update: JobUpdate,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.run(move |s| s.update_job(job, &update, now)).await
    }

    /// See [`Store::get_job`].
    pub async fn get_job(&self, job: JobId) -> Result<Job> {
        self.run(move |s| s.get_job(job)).await
    }

    /// See [`Store::list_jobs`].
    pub async fn list_jobs(&self, filter: JobFilter, page: PageRequest) -> Result<Vec<Job>> {
        self.run(move |s| s.list_jobs(&filter, page)).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::store::{BackupType, SqliteStore, kind};

    #[tokio::test]
    async fn async_store_runs_a_backup_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = AsyncStore::new(Arc::new(
            SqliteStore::open(dir.path().join("store.db")).unwrap(),
        ));
        let id = store
            .begin_backup(NewBackup {
                site: "cloud".into(),
                schema_key: "ITSM".into(),
                schema_id: "1".into(),
                backup_type: BackupType::Manual,
                description: String::new(),
                started_at: datetime!(2025-01-01 00:00 UTC),
            })
            .await
            .unwrap();
        let entries = (1..=3)
            .map(|i| NewEntry {
                kind: kind::OBJECT.into(),
                original_id: i.to_string(),
                value: json!({"id": i}),
            })
            .collect();
        store.put_entries(id, entries).await.unwrap();
        let done = store
            .complete_backup(id, datetime!(2025-01-01 00:01 UTC))
            .await
            .unwrap();
        assert_eq!(done.object_count, 3);
        let page = store.entry_page(id, kind::OBJECT, None, 10).await.unwrap();
        assert_eq!(page.len(), 3);
        let json = store.get_blob(&page[0].hash).await.unwrap();
        assert_eq!(json, br#"{"id":1}"#);
        assert!(store.verify(id).await.unwrap().is_empty());
    }
}
