//! Restore state in the store: restore rows (status, stage, per-stage counts, the plan being
//! executed), the old -> new id map and the full per-object log.
//!
//! [`RestoreStore`] is a supertrait of [`Store`](super::Store), so every store backend keeps
//! restores next to the backups they come from and `Arc<dyn Store>` reaches both. The restore
//! pipeline (`crate::restore`) is the only writer: it records every id as the entity is
//! created (batched with the log entries of the same objects, one transaction per batch), so
//! a crash loses at most the batch in flight, and the pipeline re-derives that from the site.
//!
//! The SQLite implementation lives here too (the SQL is small and only restores use it);
//! the schema is `migrations/0002_restore.sql`.

use rusqlite::types::Type;
use rusqlite::{OptionalExtension as _, Row, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::blob::decode_blob;
use super::sqlite::{from_millis, json_col, opt_time, to_millis};
use super::{AsyncStore, BackupId, BlobProblem, Entry, Error, PageRequest, Result, SqliteStore};

/// Id of a restore; never reused.
pub type RestoreId = i64;

/// Lifecycle of a restore: `pending → in_progress (stage) → completed | error | stopped`.
/// `error` and `stopped` restores may be executed again; they resume where they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestoreStatus {
    /// Created, not started.
    Pending,
    /// Running (or interrupted by a crash while running).
    InProgress,
    /// Every stage finished.
    Completed,
    /// Ended with an error; see `result`.
    Error,
    /// Stopped by the user; everything created so far is in the log and the id map.
    Stopped,
}

impl RestoreStatus {
    /// The spelling stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreStatus::Pending => "pending",
            RestoreStatus::InProgress => "in_progress",
            RestoreStatus::Completed => "completed",
            RestoreStatus::Error => "error",
            RestoreStatus::Stopped => "stopped",
        }
    }

    fn parse(s: &str) -> Option<RestoreStatus> {
        [
            RestoreStatus::Pending,
            RestoreStatus::InProgress,
            RestoreStatus::Completed,
            RestoreStatus::Error,
            RestoreStatus::Stopped,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for RestoreStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a restore goes, as the CLI and the API spell it: into a new schema or an existing one
/// on the backup's own site, or either on another site (a migration).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DestinationKind {
    /// A new schema on the backup's own site.
    #[default]
    NewSchema,
    /// A schema that exists on the backup's own site.
    ExistingSchema,
    /// A new or existing schema on another site.
    AnotherSite,
}

impl DestinationKind {
    /// `new-schema`, `existing-schema` or `another-site`, as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationKind::NewSchema => "new-schema",
            DestinationKind::ExistingSchema => "existing-schema",
            DestinationKind::AnotherSite => "another-site",
        }
    }

    fn parse(s: &str) -> Option<DestinationKind> {
        [
            DestinationKind::NewSchema,
            DestinationKind::ExistingSchema,
            DestinationKind::AnotherSite,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for DestinationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seed's detail fields of a restore (migration `0010_restore_options`): what was asked
/// (fixed at creation) and what was restored beyond the schema (set by the stages that do it,
/// through [`RestoreUpdate::history_restored`] and [`RestoreUpdate::icons_restored`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreDetails {
    /// Where it goes.
    pub destination_kind: DestinationKind,
    /// The object types asked for (`--types`), as their paths of names; empty for all.
    pub specific_types: Vec<String>,
    /// `--duplicates`: objects already in an existing schema are created anyway.
    pub duplicates: bool,
    /// Whether object history was restored (`--history`).
    pub history_restored: bool,
    /// Whether object icons were restored (`--with-icons`).
    pub icons_restored: bool,
}

/// What a new restore row holds.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRestore {
    /// The backup restored.
    pub backup_id: BackupId,
    /// Site name of the target.
    pub target_site: String,
    /// The request as JSON (destination and options).
    pub options: Value,
    /// The plan as JSON (`restore::RestorePlan`); JSON `null` for a restore whose job plans it.
    pub plan: Value,
    /// The detail fields (`history_restored` / `icons_restored` start false whatever they say).
    pub details: RestoreDetails,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A restore row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restore {
    /// Id.
    pub id: RestoreId,
    /// The backup restored.
    pub backup_id: BackupId,
    /// Site name of the target.
    pub target_site: String,
    /// Where it is.
    pub status: RestoreStatus,
    /// Key of the stage in flight (or the last one), e.g. `object_entries`.
    pub stage: Option<String>,
    /// The request as JSON.
    pub options: Value,
    /// The plan as JSON (`null` until the restore's job planned it).
    #[serde(skip)]
    pub plan: Value,
    /// `{stage key: {"done", "total", "finished"}}`.
    pub counts: Value,
    /// Result message (the error for `error`).
    pub result: Option<String>,
    /// Id of the schema created on the target.
    pub new_schema_id: Option<String>,
    /// Key of the schema created on the target.
    pub new_schema_key: Option<String>,
    /// The detail fields.
    #[serde(flatten)]
    pub details: RestoreDetails,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it (first) started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it last ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

/// Changes to a restore row; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestoreUpdate {
    /// New status.
    pub status: Option<RestoreStatus>,
    /// New stage key.
    pub stage: Option<String>,
    /// New counts JSON.
    pub counts: Option<Value>,
    /// The plan, once a restore created without one (planned by its job) has been planned.
    pub plan: Option<Value>,
    /// New result message (`Some(None)` clears it).
    pub result: Option<Option<String>>,
    /// The schema created on the target: (id, key).
    pub new_schema: Option<(String, String)>,
    /// Sets `started_at` unless it is set already.
    pub started_at: Option<OffsetDateTime>,
    /// New `ended_at` (`Some(None)` clears it when a restore is resumed).
    pub ended_at: Option<Option<OffsetDateTime>>,
    /// Sets whether object history was restored (the `--history` stage, once it did).
    pub history_restored: Option<bool>,
    /// Sets whether object icons were restored (the `--with-icons` stage, once it did).
    pub icons_restored: Option<bool>,
}

/// One old -> new id of a restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMapping {
    /// What was mapped: "objecttype", "attribute", "object", ...
    pub kind: String,
    /// Id in the backup.
    pub old_id: String,
    /// Id on the target.
    pub new_id: String,
}

/// Level of a log note; per-object results have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Something worth knowing.
    Info,
    /// Data was changed or left out (a user left empty, an icon replaced).
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// `info`, `warn` or `error`, as stored and as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<LogLevel> {
        [LogLevel::Info, LogLevel::Warn, LogLevel::Error]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A log entry to append; the store assigns its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogEntry {
    /// `None` for a per-object result, a level for a note.
    pub level: Option<LogLevel>,
    /// Key of the object in the backup ("" when the note is not about one object).
    pub object_key: String,
    /// Whether it went well.
    pub result: bool,
    /// `"{ message: 'OK' }"` or the API's error body, or a note's text.
    pub message: Value,
}

/// A stored log entry; serializes as `{"ObjectKey", "Result", "Message"}` (plus `"Level"`
/// for notes), the shape of the seed's restore log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// Position in the log (1-based); the cursor for [`RestoreStore::restore_log`].
    #[serde(skip)]
    pub seq: i64,
    /// Level of a note.
    #[serde(rename = "Level", skip_serializing_if = "Option::is_none")]
    pub level: Option<LogLevel>,
    /// Key of the object in the backup.
    #[serde(rename = "ObjectKey")]
    pub object_key: String,
    /// Whether it went well.
    #[serde(rename = "Result")]
    pub result: bool,
    /// Message or error body.
    #[serde(rename = "Message")]
    pub message: Value,
}

/// Restore state: rows, id maps and logs. Calls block; see [`AsyncStore`] for async code.
pub trait RestoreStore {
    /// Adds a `pending` restore.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`], [`Error::Json`].
    fn create_restore(&self, new: &NewRestore) -> Result<RestoreId>;

    /// One restore.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn get_restore(&self, id: RestoreId) -> Result<Restore>;

    /// Restores, newest first, optionally of one target site.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn list_restores(&self, site: Option<&str>, page: PageRequest) -> Result<Vec<Restore>>;

    /// Applies `update` to a restore row.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Sqlite`].
    fn update_restore(&self, id: RestoreId, update: &RestoreUpdate) -> Result<()>;

    /// Records id mappings (upserted) and appends log entries, in one transaction, so an
    /// object's mapping and its log line are durable together.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown restore, [`Error::Sqlite`].
    fn record_restore(&self, id: RestoreId, ids: &[IdMapping], log: &[NewLogEntry]) -> Result<()>;

    /// Up to `limit` mappings of `kind` with `old_id` greater than `after`, by `old_id`.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`].
    fn restore_ids(
        &self,
        id: RestoreId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;

    /// Up to `limit` log entries with `seq > after_seq`, in order.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`], [`Error::Json`].
    fn restore_log(&self, id: RestoreId, after_seq: i64, limit: usize) -> Result<Vec<LogEntry>>;

    /// The entries of `kind` with the given original ids (those that exist), decompressed and
    /// verified, in the order asked. The restore reads objects in creation order this way.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`], [`Error::Sqlite`].
    fn entries_by_id(&self, backup: BackupId, kind: &str, ids: &[String]) -> Result<Vec<Entry>>;
}

const COLUMNS: &str = "id, backup_id, target_site, status, stage, options, plan, counts, result, \
                       new_schema_id, new_schema_key, created_at, started_at, ended_at, \
                       destination_kind, specific_types, duplicates, history_restored, \
                       icons_restored";

fn restore_from_row(row: &Row<'_>) -> rusqlite::Result<Restore> {
    let status: String = row.get(3)?;
    Ok(Restore {
        id: row.get(0)?,
        backup_id: row.get(1)?,
        target_site: row.get(2)?,
        status: RestoreStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(3, Type::Text, status.clone().into())
        })?,
        stage: row.get(4)?,
        options: json_col(row, 5)?,
        plan: json_col(row, 6)?,
        counts: json_col(row, 7)?,
        result: row.get(8)?,
        new_schema_id: row.get(9)?,
        new_schema_key: row.get(10)?,
        created_at: from_millis(row.get(11)?)?,
        started_at: opt_time(row, 12)?,
        ended_at: opt_time(row, 13)?,
        details: RestoreDetails {
            // Every row has one since migration 0010 filled the older rows.
            destination_kind: row
                .get::<_, Option<String>>(14)?
                .as_deref()
                .and_then(DestinationKind::parse)
                .unwrap_or_default(),
            specific_types: serde_json::from_value(json_col(row, 15)?).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(15, Type::Text, Box::new(e))
            })?,
            duplicates: row.get(16)?,
            history_restored: row.get(17)?,
            icons_restored: row.get(18)?,
        },
    })
}

fn require(tx: &Transaction<'_>, id: RestoreId) -> Result<()> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM restores WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    found
        .map(drop)
        .ok_or_else(|| Error::not_found("restore", id))
}

impl RestoreStore for SqliteStore {
    fn create_restore(&self, new: &NewRestore) -> Result<RestoreId> {
        let options = serde_json::to_string(&new.options)?;
        let plan = serde_json::to_string(&new.plan)?;
        let types = serde_json::to_string(&new.details.specific_types)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO restores (backup_id, target_site, status, options, plan, created_at, \
                   destination_kind, specific_types, duplicates) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    new.backup_id,
                    new.target_site,
                    RestoreStatus::Pending.as_str(),
                    options,
                    plan,
                    to_millis(new.created_at),
                    new.details.destination_kind.as_str(),
                    types,
                    new.details.duplicates,
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn get_restore(&self, id: RestoreId) -> Result<Restore> {
        self.read(|tx| {
            tx.prepare_cached(&format!("SELECT {COLUMNS} FROM restores WHERE id = ?1"))?
                .query_row([id], restore_from_row)
                .optional()?
                .ok_or_else(|| Error::not_found("restore", id))
        })
    }

    fn list_restores(&self, site: Option<&str>, page: PageRequest) -> Result<Vec<Restore>> {
        let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
        self.read(|tx| {
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM restores WHERE (?1 IS NULL OR target_site = ?1) \
                     ORDER BY id DESC LIMIT ?2 OFFSET ?3"
                ))?
                .query_map(params![site, page.limit, offset], restore_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn update_restore(&self, id: RestoreId, u: &RestoreUpdate) -> Result<()> {
        let counts = u.counts.as_ref().map(serde_json::to_string).transpose()?;
        let plan = u.plan.as_ref().map(serde_json::to_string).transpose()?;
        let (schema_id, schema_key) = match &u.new_schema {
            Some((i, k)) => (Some(i.as_str()), Some(k.as_str())),
            None => (None, None),
        };
        self.write(|tx| {
            require(tx, id)?;
            // One statement; each `?n IS NULL` leaves its column alone, and the `*_set` flags
            // let a caller clear `result` / `ended_at` explicitly.
            tx.execute(
                "UPDATE restores SET \
                   status = COALESCE(?2, status), \
                   stage = COALESCE(?3, stage), \
                   counts = COALESCE(?4, counts), \
                   result = CASE WHEN ?5 THEN ?6 ELSE result END, \
                   new_schema_id = COALESCE(?7, new_schema_id), \
                   new_schema_key = COALESCE(?8, new_schema_key), \
                   started_at = COALESCE(started_at, ?9), \
                   ended_at = CASE WHEN ?10 THEN ?11 ELSE ended_at END, \
                   plan = COALESCE(?12, plan), \
                   history_restored = COALESCE(?13, history_restored), \
                   icons_restored = COALESCE(?14, icons_restored) \
                 WHERE id = ?1",
                params![
                    id,
                    u.status.map(RestoreStatus::as_str),
                    u.stage,
                    counts,
                    u.result.is_some(),
                    u.result.clone().flatten(),
                    schema_id,
                    schema_key,
                    u.started_at.map(to_millis),
                    u.ended_at.is_some(),
                    u.ended_at.flatten().map(to_millis),
                    plan,
                    u.history_restored,
                    u.icons_restored,
                ],
            )?;
            Ok(())
        })
    }

    fn record_restore(&self, id: RestoreId, ids: &[IdMapping], log: &[NewLogEntry]) -> Result<()> {
        if ids.is_empty() && log.is_empty() {
            return Ok(());
        }
        let messages = log
            .iter()
            .map(|e| serde_json::to_string(&e.message))
            .collect::<serde_json::Result<Vec<_>>>()?;
        self.write(|tx| {
            require(tx, id)?;
            let mut put = tx.prepare_cached(
                "INSERT INTO restore_ids (restore_id, kind, old_id, new_id) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (restore_id, kind, old_id) DO UPDATE SET new_id = excluded.new_id",
            )?;
            for m in ids {
                put.execute(params![id, m.kind, m.old_id, m.new_id])?;
            }
            let last: i64 = tx
                .prepare_cached(
                    "SELECT COALESCE(MAX(seq), 0) FROM restore_log WHERE restore_id = ?1",
                )?
                .query_row([id], |r| r.get(0))?;
            let mut add = tx.prepare_cached(
                "INSERT INTO restore_log (restore_id, seq, level, object_key, result, message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, (e, msg)) in log.iter().zip(&messages).enumerate() {
                add.execute(params![
                    id,
                    last + 1 + i as i64,
                    e.level.map(LogLevel::as_str),
                    e.object_key,
                    e.result,
                    msg
                ])?;
            }
            Ok(())
        })
    }

    fn restore_ids(
        &self,
        id: RestoreId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT old_id, new_id FROM restore_ids \
                     WHERE restore_id = ?1 AND kind = ?2 AND (?3 IS NULL OR old_id > ?3) \
                     ORDER BY old_id LIMIT ?4",
                )?
                .query_map(params![id, kind, after, limit], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn restore_log(&self, id: RestoreId, after_seq: i64, limit: usize) -> Result<Vec<LogEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT seq, level, object_key, result, message FROM restore_log \
                     WHERE restore_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                )?
                .query_map(params![id, after_seq, limit], |r| {
                    let level: Option<String> = r.get(1)?;
                    Ok(LogEntry {
                        seq: r.get(0)?,
                        level: level.as_deref().and_then(LogLevel::parse),
                        object_key: r.get(2)?,
                        result: r.get(3)?,
                        message: json_col(r, 4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    fn entries_by_id(&self, backup: BackupId, kind: &str, ids: &[String]) -> Result<Vec<Entry>> {
        // Point lookups on the manifest's primary key, all under one read lock; the blobs are
        // decompressed after the lock is released.
        type Row = (String, String, Option<(Vec<u8>, i64)>);
        let rows: Vec<Row> = self.read(|tx| {
            let mut q = tx.prepare_cached(
                "SELECT m.original_id, m.hash, b.data, b.raw_len FROM manifest m \
                 LEFT JOIN blobs b ON b.hash = m.hash \
                 WHERE m.backup_id = ?1 AND m.kind = ?2 AND m.id_len = length(?3) \
                   AND m.original_id = ?3",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let row = q
                    .query_row(params![backup, kind, id], |r| {
                        let data: Option<Vec<u8>> = r.get(2)?;
                        let raw: Option<i64> = r.get(3)?;
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            data.zip(raw),
                        ))
                    })
                    .optional()?;
                if let Some((original_id, hash, blob)) = row {
                    // A spooled blob's data is in its pieces (migration 0011).
                    let blob = match blob {
                        Some((data, raw)) => {
                            Some((super::sqlite::whole_data(tx, &hash, data)?, raw))
                        }
                        None => None,
                    };
                    out.push((original_id, hash, blob));
                }
            }
            Ok(out)
        })?;
        rows.into_iter()
            .map(|(original_id, hash, blob)| {
                let Some((data, raw_len)) = blob else {
                    return Err(Error::Corrupt {
                        hash,
                        problem: BlobProblem::Missing,
                        source: None,
                    });
                };
                let json = decode_blob(&hash, &data, raw_len)?;
                Ok(Entry {
                    original_id,
                    hash,
                    json,
                })
            })
            .collect()
    }
}

/// Async mirrors of [`RestoreStore`] (see there for errors), run on the blocking pool.
impl AsyncStore {
    /// See [`RestoreStore::create_restore`].
    pub async fn create_restore(&self, new: NewRestore) -> Result<RestoreId> {
        self.run(move |s| s.create_restore(&new)).await
    }

    /// See [`RestoreStore::get_restore`].
    pub async fn get_restore(&self, id: RestoreId) -> Result<Restore> {
        self.run(move |s| s.get_restore(id)).await
    }

    /// See [`RestoreStore::list_restores`].
    pub async fn list_restores(
        &self,
        site: Option<&str>,
        page: PageRequest,
    ) -> Result<Vec<Restore>> {
        let site = site.map(str::to_owned);
        self.run(move |s| s.list_restores(site.as_deref(), page))
            .await
    }

    /// See [`RestoreStore::update_restore`].
    pub async fn update_restore(&self, id: RestoreId, update: RestoreUpdate) -> Result<()> {
        self.run(move |s| s.update_restore(id, &update)).await
    }

    /// See [`RestoreStore::record_restore`].
    pub async fn record_restore(
        &self,
        id: RestoreId,
        ids: Vec<IdMapping>,
        log: Vec<NewLogEntry>,
    ) -> Result<()> {
        self.run(move |s| s.record_restore(id, &ids, &log)).await
    }

    /// See [`RestoreStore::restore_ids`].
    pub async fn restore_ids(
        &self,
        id: RestoreId,
        kind: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        let (kind, after) = (kind.to_owned(), after.map(str::to_owned));
        self.run(move |s| s.restore_ids(id, &kind, after.as_deref(), limit))
            .await
    }

    /// See [`RestoreStore::restore_log`].
    pub async fn restore_log(
        &self,
        id: RestoreId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<LogEntry>> {
        self.run(move |s| s.restore_log(id, after_seq, limit)).await
    }

    /// See [`RestoreStore::entries_by_id`].
    pub async fn entries_by_id(
        &self,
        backup: BackupId,
        kind: &str,
        ids: Vec<String>,
    ) -> Result<Vec<Entry>> {
        let kind = kind.to_owned();
        self.run(move |s| s.entries_by_id(backup, &kind, &ids))
            .await
    }
}

#[cfg(test)]
mod tests;
