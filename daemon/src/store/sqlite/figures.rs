//! [`StoreFigures`]: the numbers `GET /metrics` reads from the store at scrape time, so the
//! metrics need no counters of their own and survive restarts: jobs by kind and status, the
//! objects done backup and restore jobs report, failed scheduled backups and the last
//! successful scheduled backup per schema, backups by type and the size of the database.
//!
//! Job rows are never deleted, so sums over them only grow: they are Prometheus counters.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{SqliteStore, from_millis, to_u64};
use crate::store::{AsyncStore, Result};

/// Site and schema key.
pub type SchemaKey = (String, String);

/// The store's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFigures {
    /// Jobs per (kind, status).
    pub jobs: BTreeMap<(String, String), u64>,
    /// Objects in the backups of done backup jobs, per site.
    pub objects_backed_up: BTreeMap<String, u64>,
    /// Objects created by done restore jobs, per target site.
    pub objects_restored: BTreeMap<String, u64>,
    /// Failed scheduled backup jobs, per site and schema.
    pub scheduled_failures: BTreeMap<SchemaKey, u64>,
    /// End of the newest complete scheduled backup, per site and schema.
    pub scheduled_success: BTreeMap<SchemaKey, OffsetDateTime>,
    /// Complete backups per type.
    pub backups: BTreeMap<String, u64>,
    /// Size of the database file in bytes (pages × page size).
    pub db_bytes: u64,
}

/// The figures `/metrics` reads. Calls block; see [`AsyncStore`] for async code.
pub trait FigureStore {
    /// Reads the figures in one snapshot.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`](crate::store::Error::Sqlite).
    fn figures(&self) -> Result<StoreFigures>;
}

impl FigureStore for SqliteStore {
    fn figures(&self) -> Result<StoreFigures> {
        self.read(|tx| {
            let mut f = StoreFigures::default();
            let mut q =
                tx.prepare_cached("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status")?;
            let rows = q.query_map([], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (k, n) = row?;
                f.jobs.insert(k, to_u64(n));
            }
            let sums = [
                (
                    "SELECT json_extract(payload, '$.site'), \
                     sum(json_extract(outcome, '$.backup.object_count')) FROM jobs \
                     WHERE kind = 'backup' AND status = 'done' AND json_valid(payload) \
                     AND json_valid(outcome) GROUP BY 1",
                    &mut f.objects_backed_up,
                ),
                (
                    "SELECT json_extract(payload, '$.site'), \
                     sum(json_extract(outcome, '$.restore.objects_created')) FROM jobs \
                     WHERE kind = 'restore' AND status = 'done' AND json_valid(payload) \
                     AND json_valid(outcome) GROUP BY 1",
                    &mut f.objects_restored,
                ),
            ];
            for (sql, into) in sums {
                let mut q = tx.prepare_cached(sql)?;
                let rows = q.query_map([], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<i64>>(1)?))
                })?;
                for row in rows {
                    if let (Some(site), n) = row? {
                        into.insert(site, to_u64(n.unwrap_or(0)));
                    }
                }
            }
            let mut q = tx.prepare_cached(
                "SELECT json_extract(payload, '$.site'), json_extract(payload, '$.schema'), \
                 count(*) FROM jobs WHERE kind = 'backup' AND status = 'failed' \
                 AND json_valid(payload) AND json_extract(payload, '$.type') = 'scheduled' \
                 GROUP BY 1, 2",
            )?;
            let rows = q.query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                if let (Some(site), Some(schema), n) = row? {
                    f.scheduled_failures.insert((site, schema), to_u64(n));
                }
            }
            let mut q = tx.prepare_cached(
                "SELECT site, schema_key, max(ended_at) FROM backups \
                 WHERE status = 'complete' AND backup_type = 'scheduled' \
                 AND ended_at IS NOT NULL GROUP BY 1, 2",
            )?;
            let rows = q.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (site, schema, ms) = row?;
                f.scheduled_success.insert((site, schema), from_millis(ms)?);
            }
            let mut q = tx.prepare_cached(
                "SELECT backup_type, count(*) FROM backups WHERE status = 'complete' GROUP BY 1",
            )?;
            let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (t, n) = row?;
                f.backups.insert(t, to_u64(n));
            }
            let pages: i64 = tx.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let size: i64 = tx.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            f.db_bytes = to_u64(pages.saturating_mul(size));
            Ok(f)
        })
    }
}

impl AsyncStore {
    /// See [`FigureStore::figures`].
    pub async fn figures(&self) -> Result<StoreFigures> {
        self.run(|s| s.figures()).await
    }
}
