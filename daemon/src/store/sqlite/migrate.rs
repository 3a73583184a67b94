//! Connection setup and numbered migrations for [`SqliteStore`](super::SqliteStore).
//!
//! The schema version is `PRAGMA user_version`; migration N (file `000N_*.sql`) takes it to N
//! inside its own `BEGIN IMMEDIATE` transaction, so a failed or interrupted upgrade leaves the
//! previous version intact. Migrations carry their number; the runner applies, in order, every
//! migration numbered above the file's version, so a number is given when a migration lands on
//! main (the next one after the last), never reserved ahead: a migration landing under a number
//! lower than one already released would never run on stores that have that one. Version 5 was
//! never released (the list keeps its gap). A file newer than this build is refused rather than
//! "upgraded" by code that doesn't know its tables.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::store::error::{Error, Result};

/// The migrations, in ascending order of the version each produces. Append only: a released
/// migration never changes, a fix is a new file.
pub(super) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_restore.sql")),
    (3, include_str!("../migrations/0003_sites.sql")),
    (4, include_str!("../migrations/0004_jobs.sql")),
    (6, include_str!("../migrations/0006_schedules.sql")),
    (7, include_str!("../migrations/0007_tasks.sql")),
    (8, include_str!("../migrations/0008_dc_phases.sql")),
    (9, include_str!("../migrations/0009_backup_origin.sql")),
    (10, include_str!("../migrations/0010_restore_options.sql")),
    (11, include_str!("../migrations/0011_blob_parts.sql")),
];

/// The schema version this build writes: the number of the last migration.
pub(super) const SUPPORTED_VERSION: i64 = match MIGRATIONS.last() {
    Some((version, _)) => *version,
    None => 0,
};

/// How long a statement waits for another connection's write lock before failing with
/// SQLITE_BUSY (which [`Error::is_temporary`] reports as retryable).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Sets the per-connection pragmas. They must run outside any transaction: `journal_mode`
/// cannot change inside one and `foreign_keys` is a no-op inside one.
pub(super) fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer and vice versa; the mode is stored in the file.
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // An in-memory or read-only database can't do WAL; the store still works, just with
        // coarser locking, so say so and go on.
        tracing::warn!(journal_mode = %mode, "sqlite store is not in WAL mode");
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    // synchronous stays at its default (FULL): a backup reported complete must survive a
    // power cut, and we commit only a few hundred times per backup.
    Ok(())
}

/// Reads the schema version.
pub(super) fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Brings the schema up to [`SUPPORTED_VERSION`], one transaction per migration.
///
/// # Errors
///
/// [`Error::NewerSchema`] if the file is newer than this build; [`Error::Migration`] if a
/// migration fails (that migration is rolled back; earlier ones stay applied).
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    apply(conn, MIGRATIONS)
}

fn apply(conn: &mut Connection, migrations: &[(i64, &str)]) -> Result<()> {
    let supported = migrations.last().map_or(0, |(v, _)| *v);
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read the version under the write lock: another process may have migrated while we
        // waited for it, and running a migration twice would fail on "table exists".
        let found = user_version(&tx)?;
        if found > supported {
            return Err(Error::NewerSchema { found, supported });
        }
        let Some(&(version, sql)) = migrations.iter().find(|(v, _)| *v > found) else {
            return Ok(());
        };
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .and_then(|()| tx.commit())
            .map_err(|source| Error::Migration { version, source })?;
        tracing::info!(version, "applied store migration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &std::path::Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        configure(&conn).unwrap();
        conn
    }

    #[test]
    fn migrations_apply_once_and_set_user_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut conn = open(&path);
        assert_eq!(user_version(&conn).unwrap(), 0);
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SUPPORTED_VERSION);
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        // Re-running is a no-op, also from a second connection.
        migrate(&mut conn).unwrap();
        let mut other = open(&path);
        migrate(&mut other).unwrap();
        let tables: i64 = other
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN \
                 ('backups', 'blobs', 'manifest', 'synced_schemas', 'jobs')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 5);
    }

    #[test]
    fn restores_stored_before_the_detail_columns_get_them_from_their_request() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("store.db"));
        // Found by content, not number: the migration's number is given when it lands.
        let at = MIGRATIONS
            .iter()
            .position(|(_, sql)| sql.contains("ADD COLUMN destination_kind"))
            .unwrap();
        apply(&mut conn, &MIGRATIONS[..at]).unwrap();
        conn.execute_batch(
            "INSERT INTO backups (id, site, schema_key, schema_id, backup_type, storage, status, \
               started_at) VALUES (1, 's1', 'ITSM', '1', 'manual', 'sqlite', 'complete', 0);
             INSERT INTO restores (backup_id, target_site, status, options, plan, created_at) VALUES
               (1, 's1', 'completed', '{\"destination\":{\"type\":\"new_schema\"}}', 'null', 0),
               (1, 's1', 'completed',
                '{\"destination\":{\"type\":\"existing_schema\",\"duplicates\":true}}', 'null', 0),
               (1, 's2', 'completed', '{\"destination\":{\"type\":\"new_schema\"}}', 'null', 0),
               (7, 's2', 'completed', '{\"destination\":{\"type\":\"existing_schema\"}}',
                '{\"source\":{\"site\":\"s2\"}}', 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, bool, String, bool, bool)> = conn
            .prepare(
                "SELECT destination_kind, duplicates, specific_types, history_restored, \
                 icons_restored FROM restores ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let kinds: Vec<(&str, bool)> = rows.iter().map(|r| (r.0.as_str(), r.1)).collect();
        assert_eq!(
            kinds,
            [
                ("new-schema", false),
                ("existing-schema", true),
                ("another-site", false),
                // Its backup is gone: the plan says where it came from.
                ("existing-schema", false),
            ]
        );
        assert!(rows.iter().all(|r| r.2 == "[]" && !r.3 && !r.4));
    }

    #[test]
    fn a_gap_in_the_numbers_is_skipped_and_the_last_number_is_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("store.db"));
        let steps = [
            (1, "CREATE TABLE a (x INTEGER);"),
            (3, "CREATE TABLE c (x INTEGER);"),
        ];
        apply(&mut conn, &steps).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 3);
        apply(&mut conn, &steps).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 3);
    }

    #[test]
    fn newer_user_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let mut conn = open(&path);
        conn.pragma_update(None, "user_version", SUPPORTED_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(err, Error::NewerSchema { found, supported }
                if found == SUPPORTED_VERSION + 1 && supported == SUPPORTED_VERSION),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer"));
    }

    #[test]
    fn a_failing_migration_rolls_back_and_keeps_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join("store.db"));
        let steps = [
            (1, "CREATE TABLE a (x INTEGER);"),
            (
                2,
                "CREATE TABLE b (x INTEGER); INSERT INTO nope VALUES (1);",
            ),
        ];
        let err = apply(&mut conn, &steps).unwrap_err();
        assert!(
            matches!(err, Error::Migration { version: 2, .. }),
            "{err:?}"
        );
        assert_eq!(user_version(&conn).unwrap(), 1);
        let b_exists: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            b_exists, 0,
            "the failed migration's DDL must be rolled back"
        );
    }
}
