//! SQL for the persistent job queue and the per-site list of synced schemas.
//!
//! The queue is a table, not a channel, so a restart resumes work: `recover()` puts jobs that
//! were `running` back to `queued`. Claiming is one `UPDATE ... RETURNING` under the write
//! lock, so two runners can never take the same job.

use rusqlite::{OptionalExtension as _, Row, Transaction, params};
use time::OffsetDateTime;

use super::{from_millis, to_millis, to_u64};
use crate::store::error::{Error, Result};
use crate::store::{Job, JobFilter, JobId, JobStatus, PageRequest, SyncedSchema};

/// Columns read by [`job_from_row`], in its order.
const JOB_COLUMNS: &str = "id, kind, payload, status, created_at, updated_at, error";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let payload: String = row.get(2)?;
    Ok(Job {
        id: row.get(0)?,
        kind: row.get(1)?,
        payload: serde_json::from_str(&payload).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
        })?,
        status: row.get(3)?,
        created_at: from_millis(row.get(4)?)?,
        updated_at: from_millis(row.get(5)?)?,
        error: row.get(6)?,
    })
}

pub(super) fn enqueue(
    tx: &Transaction<'_>,
    kind: &str,
    payload: &str,
    now: OffsetDateTime,
) -> Result<JobId> {
    let now = to_millis(now);
    tx.execute(
        "INSERT INTO jobs (kind, payload, status, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![kind, payload, JobStatus::Queued, now],
    )?;
    Ok(tx.last_insert_rowid())
}

pub(super) fn claim_next(tx: &Transaction<'_>, now: OffsetDateTime) -> Result<Option<Job>> {
    let job = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET status = ?1, updated_at = ?2 \
             WHERE id = (SELECT id FROM jobs WHERE status = ?3 ORDER BY id LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        ))?
        .query_row(
            params![JobStatus::Running, to_millis(now), JobStatus::Queued],
            job_from_row,
        )
        .optional()?;
    Ok(job)
}

pub(super) fn update(
    tx: &Transaction<'_>,
    job: JobId,
    status: JobStatus,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<()> {
    let changed = tx.execute(
        "UPDATE jobs SET status = ?2, error = ?3, updated_at = ?4 WHERE id = ?1",
        params![job, status, error, to_millis(now)],
    )?;
    match changed {
        0 => Err(Error::not_found("job", job)),
        _ => Ok(()),
    }
}

pub(super) fn requeue_running(tx: &Transaction<'_>) -> Result<u64> {
    // updated_at stays: it still tells when the interrupted run last made progress.
    let n = tx.execute(
        "UPDATE jobs SET status = ?1 WHERE status = ?2",
        params![JobStatus::Queued, JobStatus::Running],
    )?;
    Ok(n as u64)
}

pub(super) fn get(tx: &Transaction<'_>, job: JobId) -> Result<Job> {
    tx.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"))?
        .query_row([job], job_from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("job", job))
}

pub(super) fn list(
    tx: &Transaction<'_>,
    filter: &JobFilter,
    page: PageRequest,
) -> Result<Vec<Job>> {
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    let jobs = tx
        .prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs \
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2) \
             ORDER BY id DESC LIMIT ?3 OFFSET ?4"
        ))?
        .query_map(
            params![filter.status, filter.kind, page.limit, offset],
            job_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(jobs)
}

pub(super) fn replace_synced_schemas(
    tx: &Transaction<'_>,
    site: &str,
    schemas: &[SyncedSchema],
) -> Result<()> {
    // A sync reports the site's whole set, so replace it: a schema deleted on the site must
    // disappear here too. One transaction, so readers never see a half-replaced set.
    tx.execute("DELETE FROM synced_schemas WHERE site = ?1", [site])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO synced_schemas (site, schema_id, schema_key, name, object_count, synced_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (site, schema_id) DO UPDATE SET schema_key = excluded.schema_key, \
           name = excluded.name, object_count = excluded.object_count, \
           synced_at = excluded.synced_at",
    )?;
    for s in schemas {
        // The site argument wins over the struct field: the set belongs to one site.
        insert.execute(params![
            site,
            s.schema_id,
            s.schema_key,
            s.name,
            i64::try_from(s.object_count).unwrap_or(i64::MAX),
            to_millis(s.synced_at),
        ])?;
    }
    Ok(())
}

pub(super) fn list_synced_schemas(
    tx: &Transaction<'_>,
    site: Option<&str>,
) -> Result<Vec<SyncedSchema>> {
    let schemas = tx
        .prepare_cached(
            "SELECT site, schema_id, schema_key, name, object_count, synced_at \
             FROM synced_schemas WHERE (?1 IS NULL OR site = ?1) ORDER BY site, schema_key",
        )?
        .query_map([site], |r| {
            Ok(SyncedSchema {
                site: r.get(0)?,
                schema_id: r.get(1)?,
                schema_key: r.get(2)?,
                name: r.get(3)?,
                object_count: to_u64(r.get(4)?),
                synced_at: from_millis(r.get(5)?)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(schemas)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use crate::store::{SqliteStore, Store};

    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
        (dir, store)
    }

    const ALL: PageRequest = PageRequest {
        limit: 100,
        offset: 0,
    };

    #[test]
    fn jobs_are_claimed_in_order_once_and_requeued_by_recover() {
        let (dir, store) = store();
        let t0 = datetime!(2025-01-01 00:00 UTC);
        let t1 = datetime!(2025-01-01 00:01 UTC);
        let a = store
            .enqueue_job("backup", &json!({"schema": "ITSM"}), t0)
            .unwrap();
        let b = store
            .enqueue_job("restore", &json!({"backup": 1}), t0)
            .unwrap();
        assert!(b > a);

        let first = store.claim_next_job(t1).unwrap().unwrap();
        assert_eq!((first.id, first.status), (a, JobStatus::Running));
        assert_eq!(first.payload, json!({"schema": "ITSM"}));
        assert_eq!((first.created_at, first.updated_at), (t0, t1));
        let second = store.claim_next_job(t1).unwrap().unwrap();
        assert_eq!(second.id, b);
        assert!(store.claim_next_job(t1).unwrap().is_none());

        store
            .update_job(b, JobStatus::Failed, Some("site unreachable"), t1)
            .unwrap();
        let failed = store.get_job(b).unwrap();
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(failed.error.as_deref(), Some("site unreachable"));
        assert!(matches!(
            store.update_job(999, JobStatus::Done, None, t1),
            Err(Error::NotFound { what: "job", .. })
        ));

        // A crash while `a` runs: reopening puts it back in the queue.
        drop(store);
        let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
        let queued = store
            .list_jobs(
                &JobFilter {
                    status: Some(JobStatus::Queued),
                    kind: None,
                },
                ALL,
            )
            .unwrap();
        assert_eq!(queued.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a]);
        let all = store.list_jobs(&JobFilter::default(), ALL).unwrap();
        assert_eq!(all.iter().map(|j| j.id).collect::<Vec<_>>(), vec![b, a]);
        let restores = store
            .list_jobs(
                &JobFilter {
                    status: None,
                    kind: Some("restore".into()),
                },
                ALL,
            )
            .unwrap();
        assert_eq!(restores.len(), 1);
    }

    #[test]
    fn synced_schemas_are_replaced_per_site() {
        let (_dir, store) = store();
        let at = datetime!(2025-02-03 04:05:06.789 UTC);
        let schema = |site: &str, id: &str, key: &str| SyncedSchema {
            site: site.into(),
            schema_id: id.into(),
            schema_key: key.into(),
            name: format!("{key} schema"),
            object_count: 42,
            synced_at: at,
        };
        store
            .replace_synced_schemas("a", &[schema("a", "1", "ITSM"), schema("a", "2", "HR")])
            .unwrap();
        store
            .replace_synced_schemas("b", &[schema("b", "1", "CMDB")])
            .unwrap();
        store
            .replace_synced_schemas("a", &[schema("a", "2", "HR2")])
            .unwrap();

        let a = store.list_synced_schemas(Some("a")).unwrap();
        assert_eq!(a, vec![schema("a", "2", "HR2")]);
        let all = store.list_synced_schemas(None).unwrap();
        assert_eq!(
            all.iter()
                .map(|s| s.schema_key.as_str())
                .collect::<Vec<_>>(),
            vec!["HR2", "CMDB"]
        );
    }
}
