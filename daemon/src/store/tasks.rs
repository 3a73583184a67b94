//! Post-restore tasks in the store: task rows (kind, options, status, start, end, result
//! message, the kind's summary) and their per-item report (`task_items`), schema
//! `migrations/0007_tasks.sql`.
//!
//! [`TaskStore`] is a supertrait of [`Store`](super::Store), like restores. The task runner
//! (`crate::tasks`) is the only writer of a running task; items are upserted by their key, so a
//! task resumed after a crash rewrites the lines of the items it redoes instead of adding
//! second ones.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension as _, Row, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::sqlite::{from_millis, json_col, opt_time, to_millis};
use super::{AsyncStore, Error, JobId, RestoreId, Result, SqliteStore};

/// Id of a task; never reused.
pub type TaskId = i64;

/// Lifecycle of a task: `pending → in_progress → success | error`. An interrupted task
/// (crash, shutdown) stays `in_progress` and resumes when its job runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Created; its job waits in the queue.
    Pending,
    /// Running (or interrupted while running; it resumes).
    InProgress,
    /// Ran to its end (items may still be skipped or failed: see the report).
    Success,
    /// Could not run or ended early; see `result`.
    Error,
}

impl TaskStatus {
    /// The spelling in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Success => "success",
            TaskStatus::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<TaskStatus> {
        [
            TaskStatus::Pending,
            TaskStatus::InProgress,
            TaskStatus::Success,
            TaskStatus::Error,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether it has ended.
    pub fn ended(self) -> bool {
        matches!(self, TaskStatus::Success | TaskStatus::Error)
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one item of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemOutcome {
    /// The task changed it on the target.
    Updated,
    /// It was right already (an earlier run set it): nothing sent.
    Unchanged,
    /// Left alone, for the reason given.
    Skipped,
    /// The target refused the change; the message has its answer.
    Failed,
}

impl ItemOutcome {
    /// The spelling in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Updated => "updated",
            ItemOutcome::Unchanged => "unchanged",
            ItemOutcome::Skipped => "skipped",
            ItemOutcome::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<ItemOutcome> {
        [
            ItemOutcome::Updated,
            ItemOutcome::Unchanged,
            ItemOutcome::Skipped,
            ItemOutcome::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A new task row.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The restore it follows.
    pub restore_id: RestoreId,
    /// Its kind, as the API spells it.
    pub kind: String,
    /// The request as JSON.
    pub options: Value,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A task row.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Id.
    pub id: TaskId,
    /// The restore it follows.
    pub restore_id: RestoreId,
    /// Kind.
    pub kind: String,
    /// The request as JSON.
    pub options: Value,
    /// Where it is.
    pub status: TaskStatus,
    /// Its job.
    pub job_id: Option<JobId>,
    /// Result message.
    pub result: Option<String>,
    /// The kind's summary as JSON (`null` until it ran).
    pub summary: Value,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it (first) started.
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    pub ended_at: Option<OffsetDateTime>,
}

/// Changes to a task row; `None` leaves a column alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskUpdate {
    /// New status.
    pub status: Option<TaskStatus>,
    /// Its job.
    pub job_id: Option<JobId>,
    /// New result message (`Some(None)` clears it).
    pub result: Option<Option<String>>,
    /// New summary.
    pub summary: Option<Value>,
    /// Sets `started_at` unless it is set already.
    pub started_at: Option<OffsetDateTime>,
    /// New `ended_at` (`Some(None)` clears it).
    pub ended_at: Option<Option<OffsetDateTime>>,
}

/// One line of a task's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskItem {
    /// What it is about (`objecttype 12 (Server)`, `ITSM-4 customfield_10191`, ...): the key
    /// that a resumed run overwrites.
    pub item: String,
    /// What happened.
    pub outcome: ItemOutcome,
    /// Why, or what the target answered.
    pub message: String,
}

/// Task rows and reports. Calls block; see [`AsyncStore`] for async code.
pub trait TaskStore {
    /// Adds a `pending` task.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown restore, [`Error::Sqlite`], [`Error::Json`].
    fn create_task(&self, new: &NewTask) -> Result<TaskId>;

    /// One task.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn get_task(&self, id: TaskId) -> Result<Task>;

    /// The tasks of a restore (every restore's when `None`), oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn list_tasks(&self, restore: Option<RestoreId>) -> Result<Vec<Task>>;

    /// Applies `update` to a task.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`], [`Error::Json`].
    fn update_task(&self, id: TaskId, update: &TaskUpdate) -> Result<()>;

    /// Upserts report lines (by item), in one transaction.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown task, [`Error::Sqlite`].
    fn put_task_items(&self, id: TaskId, items: &[TaskItem]) -> Result<()>;

    /// A task's report, in the order items were first reported.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn task_items(&self, id: TaskId) -> Result<Vec<TaskItem>>;
}

const COLUMNS: &str = "id, restore_id, kind, options, status, job_id, result, summary, \
                       created_at, started_at, ended_at";

fn task_from_row(row: &Row<'_>) -> rusqlite::Result<Task> {
    let status: String = row.get(4)?;
    Ok(Task {
        id: row.get(0)?,
        restore_id: row.get(1)?,
        kind: row.get(2)?,
        options: json_col(row, 3)?,
        status: TaskStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(4, Type::Text, status.clone().into())
        })?,
        job_id: row.get(5)?,
        result: row.get(6)?,
        summary: json_col(row, 7)?,
        created_at: from_millis(row.get(8)?)?,
        started_at: opt_time(row, 9)?,
        ended_at: opt_time(row, 10)?,
    })
}

impl TaskStore for SqliteStore {
    fn create_task(&self, new: &NewTask) -> Result<TaskId> {
        let options = serde_json::to_string(&new.options)?;
        self.write(|tx| {
            let restore: Option<i64> = tx
                .prepare_cached("SELECT id FROM restores WHERE id = ?1")?
                .query_row([new.restore_id], |r| r.get(0))
                .optional()?;
            if restore.is_none() {
                return Err(Error::not_found("restore", new.restore_id));
            }
            tx.execute(
                "INSERT INTO tasks (restore_id, kind, options, status, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    new.restore_id,
                    new.kind,
                    options,
                    TaskStatus::Pending.as_str(),
                    to_millis(new.created_at)
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn get_task(&self, id: TaskId) -> Result<Task> {
        self.read(|tx| {
            tx.prepare_cached(&format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"))?
                .query_row([id], task_from_row)
                .optional()?
                .ok_or_else(|| Error::not_found("task", id))
        })
    }

    fn list_tasks(&self, restore: Option<RestoreId>) -> Result<Vec<Task>> {
        self.read(|tx| {
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM tasks WHERE (?1 IS NULL OR restore_id = ?1) ORDER BY id"
                ))?
                .query_map([restore], task_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn update_task(&self, id: TaskId, u: &TaskUpdate) -> Result<()> {
        let summary = u.summary.as_ref().map(serde_json::to_string).transpose()?;
        self.write(|tx| {
            // One statement; `?n IS NULL` leaves a column alone, the flags let a caller clear
            // `result` and `ended_at` explicitly.
            let n = tx.execute(
                "UPDATE tasks SET \
                   status = COALESCE(?2, status), \
                   job_id = COALESCE(?3, job_id), \
                   result = CASE WHEN ?4 THEN ?5 ELSE result END, \
                   summary = COALESCE(?6, summary), \
                   started_at = COALESCE(started_at, ?7), \
                   ended_at = CASE WHEN ?8 THEN ?9 ELSE ended_at END \
                 WHERE id = ?1",
                params![
                    id,
                    u.status.map(TaskStatus::as_str),
                    u.job_id,
                    u.result.is_some(),
                    u.result.clone().flatten(),
                    summary,
                    u.started_at.map(to_millis),
                    u.ended_at.is_some(),
                    u.ended_at.flatten().map(to_millis),
                ],
            )?;
            if n == 0 {
                return Err(Error::not_found("task", id));
            }
            Ok(())
        })
    }

    fn put_task_items(&self, id: TaskId, items: &[TaskItem]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let found: Option<i64> = tx
                .prepare_cached("SELECT id FROM tasks WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            if found.is_none() {
                return Err(Error::not_found("task", id));
            }
            let last: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM task_items WHERE task_id = ?1")?
                .query_row([id], |r| r.get(0))?;
            let mut put = tx.prepare_cached(
                "INSERT INTO task_items (task_id, item, seq, outcome, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (task_id, item) DO UPDATE SET \
                   outcome = excluded.outcome, message = excluded.message",
            )?;
            for (i, it) in items.iter().enumerate() {
                put.execute(params![
                    id,
                    it.item,
                    last + 1 + i as i64,
                    it.outcome.as_str(),
                    it.message
                ])?;
            }
            Ok(())
        })
    }

    fn task_items(&self, id: TaskId) -> Result<Vec<TaskItem>> {
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT item, outcome, message FROM task_items WHERE task_id = ?1 ORDER BY seq",
                )?
                .query_map([id], |r| {
                    let outcome: String = r.get(1)?;
                    Ok(TaskItem {
                        item: r.get(0)?,
                        outcome: ItemOutcome::parse(&outcome).ok_or_else(|| {
                            rusqlite::Error::FromSqlConversionFailure(
                                1,
                                Type::Text,
                                outcome.clone().into(),
                            )
                        })?,
                        message: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

/// Async mirrors of [`TaskStore`] (see there for errors), run on the blocking pool.
impl AsyncStore {
    /// See [`TaskStore::create_task`].
    pub async fn create_task(&self, new: NewTask) -> Result<TaskId> {
        self.run(move |s| s.create_task(&new)).await
    }

    /// See [`TaskStore::get_task`].
    pub async fn get_task(&self, id: TaskId) -> Result<Task> {
        self.run(move |s| s.get_task(id)).await
    }

    /// See [`TaskStore::list_tasks`].
    pub async fn list_tasks(&self, restore: Option<RestoreId>) -> Result<Vec<Task>> {
        self.run(move |s| s.list_tasks(restore)).await
    }

    /// See [`TaskStore::update_task`].
    pub async fn update_task(&self, id: TaskId, update: TaskUpdate) -> Result<()> {
        self.run(move |s| s.update_task(id, &update)).await
    }

    /// See [`TaskStore::put_task_items`].
    pub async fn put_task_items(&self, id: TaskId, items: Vec<TaskItem>) -> Result<()> {
        self.run(move |s| s.put_task_items(id, &items)).await
    }

    /// See [`TaskStore::task_items`].
    pub async fn task_items(&self, id: TaskId) -> Result<Vec<TaskItem>> {
        self.run(move |s| s.task_items(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewRestore, RestoreStore, Store as _};

    #[test]
    fn tasks_and_their_reports_round_trip_and_items_are_upserted() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("s.db")).unwrap();
        let t0 = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let missing = NewTask {
            restore_id: 9,
            kind: "issues".into(),
            options: serde_json::json!({"kind": "issues"}),
            created_at: t0,
        };
        assert!(matches!(
            store.create_task(&missing),
            Err(Error::NotFound { .. })
        ));
        let backup = store
            .begin_backup(&crate::store::NewBackup {
                site: "s".into(),
                schema_id: "1".into(),
                schema_key: "K".into(),
                backup_type: crate::store::BackupType::Manual,
                description: String::new(),
                started_at: t0,
            })
            .unwrap();
        let restore = store
            .create_restore(&NewRestore {
                backup_id: backup,
                target_site: "s".into(),
                options: Value::Null,
                plan: Value::Null,
                details: Default::default(),
                created_at: t0,
            })
            .unwrap();
        let id = store
            .create_task(&NewTask {
                restore_id: restore,
                ..missing
            })
            .unwrap();
        let t = store.get_task(id).unwrap();
        assert_eq!(t.status, TaskStatus::Pending);
        assert_eq!(t.summary, Value::Null);
        store
            .update_task(
                id,
                &TaskUpdate {
                    status: Some(TaskStatus::Success),
                    job_id: Some(4),
                    result: Some(Some("done".into())),
                    summary: Some(serde_json::json!({"n": 1})),
                    started_at: Some(t0),
                    ended_at: Some(Some(t0)),
                },
            )
            .unwrap();
        let t = store.get_task(id).unwrap();
        assert_eq!(
            (t.status, t.job_id, t.result.as_deref(), t.started_at),
            (TaskStatus::Success, Some(4), Some("done"), Some(t0))
        );
        let item = |k: &str, o: ItemOutcome| TaskItem {
            item: k.into(),
            outcome: o,
            message: format!("{k} {}", o.as_str()),
        };
        store
            .put_task_items(
                id,
                &[
                    item("b", ItemOutcome::Failed),
                    item("a", ItemOutcome::Skipped),
                ],
            )
            .unwrap();
        store
            .put_task_items(
                id,
                &[
                    item("b", ItemOutcome::Updated),
                    item("c", ItemOutcome::Unchanged),
                ],
            )
            .unwrap();
        let items = store.task_items(id).unwrap();
        let got: Vec<(&str, ItemOutcome)> =
            items.iter().map(|i| (i.item.as_str(), i.outcome)).collect();
        assert_eq!(
            got,
            [
                ("b", ItemOutcome::Updated),
                ("a", ItemOutcome::Skipped),
                ("c", ItemOutcome::Unchanged)
            ]
        );
        assert_eq!(store.list_tasks(Some(restore)).unwrap().len(), 1);
        assert!(store.list_tasks(Some(restore + 1)).unwrap().is_empty());
        assert!(matches!(
            store.update_task(99, &TaskUpdate::default()),
            Err(Error::NotFound { .. })
        ));
    }
}
