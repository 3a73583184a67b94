//! SQL for the persistent job queue and the per-site list of synced schemas.
//!
//! The queue is a table, not a channel, so a restart resumes work: `recover()` puts jobs that
//! were `running` back to `queued`. Claiming is one `UPDATE ... RETURNING` under the write
//! lock, so two runners (or two daemons on one file) can never take the same job, and it
//! skips jobs whose queue key has a running job: the per-key queue (restores of one target
//! site) lives in this query, not in a process's memory.

use rusqlite::{OptionalExtension as _, Row, Transaction, params};
use time::OffsetDateTime;

use super::{from_millis, to_millis, to_u64};
use crate::store::error::{Error, Result};
use crate::store::{
    Enqueued, Job, JobFilter, JobId, JobStatus, JobUpdate, NewJob, PageRequest, SyncedSchema,
};

/// Columns read by [`job_from_row`], in its order.
const JOB_COLUMNS: &str = "id, kind, payload, status, created_at, updated_at, error, attempts, queue_key, outcome, failure";

/// A JSON column, read leniently: text that is not JSON comes back as a JSON string, so one
/// damaged row cannot make the claim query (and with it the whole queue) fail; the runner
/// then fails that job with a clear message instead.
fn json_col(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<serde_json::Value>> {
    let Some(text) = row.get::<_, Option<String>>(i)? else {
        return Ok(None);
    };
    Ok(Some(
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    ))
}

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: row.get(0)?,
        kind: row.get(1)?,
        payload: json_col(row, 2)?.unwrap_or_default(),
        status: row.get(3)?,
        created_at: from_millis(row.get(4)?)?,
        updated_at: from_millis(row.get(5)?)?,
        error: row.get(6)?,
        attempts: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(0),
        queue_key: row.get(8)?,
        outcome: json_col(row, 9)?,
        failure: json_col(row, 10)?,
    })
}

pub(super) fn enqueue(
    tx: &Transaction<'_>,
    new: &NewJob,
    payload: &str,
    now: OffsetDateTime,
) -> Result<Enqueued> {
    if new.unique
        && let Some(key) = &new.queue_key
    {
        let active: Option<JobId> = tx
            .prepare_cached(
                "SELECT id FROM jobs WHERE queue_key = ?1 AND status IN (?2, ?3) \
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![key, JobStatus::Queued, JobStatus::Running], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(id) = active {
            return Ok(Enqueued::Active(id));
        }
    }
    let now = to_millis(now);
    tx.execute(
        "INSERT INTO jobs (kind, payload, status, created_at, updated_at, queue_key) \
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        params![new.kind, payload, JobStatus::Queued, now, new.queue_key],
    )?;
    Ok(Enqueued::Added(tx.last_insert_rowid()))
}

pub(super) fn claim_next(tx: &Transaction<'_>, now: OffsetDateTime) -> Result<Option<Job>> {
    // Oldest first over all keys; a job whose key has a running job waits, and since every
    // job of a key waits alike, the oldest of a key is always the next of that key to run.
    let job = tx
        .prepare_cached(&format!(
            "UPDATE jobs SET status = ?1, updated_at = ?2 \
             WHERE id = (SELECT j.id FROM jobs j WHERE j.status = ?3 \
                 AND (j.queue_key IS NULL OR NOT EXISTS \
                     (SELECT 1 FROM jobs r WHERE r.queue_key = j.queue_key AND r.status = ?1)) \
                 ORDER BY j.id LIMIT 1) \
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
    u: &JobUpdate,
    now: OffsetDateTime,
) -> Result<bool> {
    let json = |v: &Option<Option<serde_json::Value>>| -> Result<(bool, Option<String>)> {
        Ok(match v {
            None => (false, None),
            Some(None) => (true, None),
            Some(Some(v)) => (true, Some(serde_json::to_string(v)?)),
        })
    };
    let (set_outcome, outcome) = json(&u.outcome)?;
    let (set_failure, failure) = json(&u.failure)?;
    let changed = tx.execute(
        "UPDATE jobs SET \
           status = COALESCE(?2, status), \
           error = CASE WHEN ?3 THEN ?4 ELSE error END, \
           outcome = CASE WHEN ?5 THEN ?6 ELSE outcome END, \
           failure = CASE WHEN ?7 THEN ?8 ELSE failure END, \
           attempts = COALESCE(?9, attempts), \
           updated_at = ?10 \
         WHERE id = ?1 AND (?11 IS NULL OR status = ?11)",
        params![
            job,
            u.status,
            u.error.is_some(),
            u.error.clone().flatten(),
            set_outcome,
            outcome,
            set_failure,
            failure,
            u.attempts,
            to_millis(now),
            u.only_if,
        ],
    )?;
    if changed > 0 {
        return Ok(true);
    }
    // Nothing changed: either the guard did not match or there is no such job.
    get(tx, job).map(|_| false)
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

    fn job(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.into(),
            payload,
            queue_key: None,
            unique: false,
        }
    }

    fn keyed(kind: &str, key: &str) -> NewJob {
        NewJob {
            queue_key: Some(key.into()),
            ..job(kind, json!({}))
        }
    }

    fn added(e: Enqueued) -> JobId {
        match e {
            Enqueued::Added(id) => id,
            Enqueued::Active(id) => panic!("job {id} is active"),
        }
    }

    fn set_status(status: JobStatus, error: Option<&str>) -> JobUpdate {
        JobUpdate {
            status: Some(status),
            error: Some(error.map(str::to_owned)),
            ..JobUpdate::default()
        }
    }

    #[test]
    fn jobs_are_claimed_in_order_once_and_requeued_by_recover() {
        let (dir, store) = store();
        let t0 = datetime!(2025-01-01 00:00 UTC);
        let t1 = datetime!(2025-01-01 00:01 UTC);
        let a = added(
            store
                .enqueue_job(&job("backup", json!({"schema": "ITSM"})), t0)
                .unwrap(),
        );
        let b = added(
            store
                .enqueue_job(&job("restore", json!({"backup": 1})), t0)
                .unwrap(),
        );
        assert!(b > a);

        let first = store.claim_next_job(t1).unwrap().unwrap();
        assert_eq!((first.id, first.status), (a, JobStatus::Running));
        assert_eq!(first.payload, json!({"schema": "ITSM"}));
        assert_eq!((first.created_at, first.updated_at), (t0, t1));
        let second = store.claim_next_job(t1).unwrap().unwrap();
        assert_eq!(second.id, b);
        assert!(store.claim_next_job(t1).unwrap().is_none());

        store
            .update_job(
                b,
                &set_status(JobStatus::Failed, Some("site unreachable")),
                t1,
            )
            .unwrap();
        let failed = store.get_job(b).unwrap();
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(failed.error.as_deref(), Some("site unreachable"));
        assert!(matches!(
            store.update_job(999, &set_status(JobStatus::Done, None), t1),
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
    fn jobs_of_one_queue_key_run_one_at_a_time_in_order() {
        let (_dir, store) = store();
        let t = datetime!(2025-01-01 00:00 UTC);
        let a1 = added(store.enqueue_job(&keyed("restore", "site:a"), t).unwrap());
        let a2 = added(store.enqueue_job(&keyed("restore", "site:a"), t).unwrap());
        let b1 = added(store.enqueue_job(&keyed("restore", "site:b"), t).unwrap());
        let free = added(store.enqueue_job(&job("verify", json!({})), t).unwrap());
        let claim = || store.claim_next_job(t).unwrap().map(|j| j.id);
        // a2 waits behind a1; the other key and the keyless job go meanwhile.
        assert_eq!(claim(), Some(a1));
        assert_eq!(claim(), Some(b1));
        assert_eq!(claim(), Some(free));
        assert_eq!(claim(), None);
        let a3 = added(store.enqueue_job(&keyed("restore", "site:a"), t).unwrap());
        store
            .update_job(a1, &set_status(JobStatus::Done, None), t)
            .unwrap();
        assert_eq!(claim(), Some(a2), "the oldest of the key goes first");
        assert_eq!(claim(), None);
        store
            .update_job(a2, &set_status(JobStatus::Failed, Some("x")), t)
            .unwrap();
        assert_eq!(claim(), Some(a3));
    }

    #[test]
    fn unique_jobs_are_refused_while_one_of_their_key_is_active_and_updates_can_be_guarded() {
        let (_dir, store) = store();
        let t = datetime!(2025-01-01 00:00 UTC);
        let unique = NewJob {
            unique: true,
            ..keyed("backup", "backup:s/ITSM")
        };
        let first = added(store.enqueue_job(&unique, t).unwrap());
        assert_eq!(
            store.enqueue_job(&unique, t).unwrap(),
            Enqueued::Active(first)
        );
        store.claim_next_job(t).unwrap();
        assert_eq!(
            store.enqueue_job(&unique, t).unwrap(),
            Enqueued::Active(first)
        );
        // A guarded update applies only in the expected status.
        let finish_queued = JobUpdate {
            only_if: Some(JobStatus::Queued),
            outcome: Some(Some(json!({"kind": "backup"}))),
            ..set_status(JobStatus::Done, None)
        };
        assert!(!store.update_job(first, &finish_queued, t).unwrap());
        assert_eq!(store.get_job(first).unwrap().status, JobStatus::Running);
        let done = JobUpdate {
            outcome: Some(Some(json!({"kind": "backup"}))),
            attempts: Some(2),
            ..set_status(JobStatus::Done, None)
        };
        assert!(store.update_job(first, &done, t).unwrap());
        let row = store.get_job(first).unwrap();
        assert_eq!(row.outcome, Some(json!({"kind": "backup"})));
        assert_eq!((row.attempts, row.failure), (2, None));
        assert_eq!(row.queue_key.as_deref(), Some("backup:s/ITSM"));
        let second = added(store.enqueue_job(&unique, t).unwrap());
        assert!(second > first);
    }

    #[test]
    fn a_payload_that_is_not_json_does_not_block_the_queue() {
        let (_dir, store) = store();
        let t = datetime!(2025-01-01 00:00 UTC);
        let id = added(store.enqueue_job(&job("backup", json!({})), t).unwrap());
        store
            .write(|tx| {
                tx.execute("UPDATE jobs SET payload = 'not json' WHERE id = ?1", [id])?;
                Ok(())
            })
            .unwrap();
        let claimed = store.claim_next_job(t).unwrap().unwrap();
        assert_eq!(claimed.payload, json!("not json"));
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
