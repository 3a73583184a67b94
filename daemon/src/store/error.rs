//! `store::Error`: everything that can go wrong in the storage layer.
//!
//! Rules for this module (the rest of the store follows them):
//! - every public store function returns this `Error`; callers collect it into the crate error;
//! - wrap lower-level errors with `#[from]`/`#[source]` so the chain survives — never
//!   `to_string()` an error into a variant;
//! - add context (which blob, which version) in a variant's fields rather than re-wrapping;
//! - [`Error::is_temporary`] answers "retry?" in one place.

use std::fmt;

use super::BackupStatus;

/// A `Result` whose error is [`store::Error`](Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested row does not exist (or is not visible, like a backup that is not complete).
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up: "backup", "job", "blob".
        what: &'static str,
        /// The id or hash that was looked up.
        id: String,
    },

    /// The database was written by a newer assetark; opening it could corrupt it, so we refuse.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); \
         upgrade assetark"
    )]
    NewerSchema {
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The highest migration this build knows.
        supported: i64,
    },

    /// Applying a numbered migration failed; the migration's transaction was rolled back.
    #[error("applying store migration {version} failed")]
    Migration {
        /// The version the migration would have produced.
        version: i64,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// A blob is missing, undecodable or does not hash to its key.
    #[error("blob {hash} is corrupt: {problem}")]
    Corrupt {
        /// The hex SHA-256 the blob is stored under.
        hash: String,
        /// What is wrong with it.
        problem: BlobProblem,
        /// The decoder's error, when decompression failed.
        #[source]
        source: Option<std::io::Error>,
    },

    /// The backup is in a state that does not allow the operation (e.g. writing to a failed one,
    /// or adding main-pass entries to a complete one).
    #[error("backup {id} is {status}: {reason}")]
    BackupState {
        /// The backup.
        id: i64,
        /// Its current status.
        status: BackupStatus,
        /// Why the operation is refused.
        reason: &'static str,
    },

    /// The backup is read by unfinished restores or queued/running exports or verifications;
    /// deleting it now would pull it from under them.
    #[error("backup {backup} is in use by {}; wait for them to end or stop them first", users.join(", "))]
    InUse {
        /// The backup.
        backup: i64,
        /// Who uses it: "restore 4", "export job 12", ...
        users: Vec<String>,
    },

    /// The database file was deleted or replaced since it was opened: whatever the daemon
    /// wrote now would be lost, so it does no work until restarted.
    #[error(
        "the store file {} was deleted or replaced since the daemon opened it; nothing more is \
         written to it: restart the daemon (and restore the file if it was deleted by mistake)",
        path.display()
    )]
    Replaced {
        /// The store's path.
        path: std::path::PathBuf,
    },

    /// SQLite failed (I/O, constraint, busy beyond `busy_timeout`, ...).
    #[error("sqlite")]
    Sqlite(#[from] rusqlite::Error),

    /// File-system or codec I/O failed outside SQLite.
    #[error("store i/o")]
    Io(#[from] std::io::Error),

    /// A JSON payload could not be (de)serialized.
    #[error("store json")]
    Json(#[from] serde_json::Error),

    /// The blocking task that ran a store call panicked or was cancelled at runtime shutdown
    /// (only from [`AsyncStore`](super::AsyncStore)).
    #[error("store task did not finish")]
    Task(#[from] tokio::task::JoinError),
}

impl Error {
    /// Whether retrying the same call later may succeed: only lock contention (the database
    /// stayed busy past `busy_timeout`) is temporary; everything else needs a fix first.
    pub fn is_temporary(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

/// What is wrong with a stored blob.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BlobProblem {
    /// A manifest row points at a hash that has no blob.
    Missing,
    /// The zstd data does not decompress.
    Undecodable,
    /// It decompresses to a different length than recorded.
    LengthMismatch,
    /// It decompresses, but the SHA-256 of the content is not the key.
    HashMismatch,
}

impl BlobProblem {
    /// The snake_case spelling of the API and of `backups verify`'s lines.
    pub fn as_str(self) -> &'static str {
        match self {
            BlobProblem::Missing => "missing",
            BlobProblem::Undecodable => "undecodable",
            BlobProblem::LengthMismatch => "length_mismatch",
            BlobProblem::HashMismatch => "hash_mismatch",
        }
    }
}

impl fmt::Display for BlobProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlobProblem::Missing => "missing",
            BlobProblem::Undecodable => "undecodable",
            BlobProblem::LengthMismatch => "length mismatch",
            BlobProblem::HashMismatch => "hash mismatch",
        })
    }
}
