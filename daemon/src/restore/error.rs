//! The restore pipeline's errors: what failed (the target's API, the store, the backup, a
//! hook, the destination) and whether running the restore again may succeed.

use serde_json::Value;

use super::{Refusal, Stage};
use crate::assets;
use crate::store::{self, BackupId};

/// Errors of the restore pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Assets or Jira API failed after the client's retries. A 4xx carries the API's own
    /// error body ([`Error::api_body`]), e.g. the target refusing the schema name or key.
    #[error("assets api")]
    Assets(#[from] assets::Error),
    /// The store failed (or the backup / restore does not exist).
    #[error("store")]
    Store(#[from] store::Error),
    /// A stored plan or entity is not the JSON expected.
    #[error("restore json")]
    Json(#[from] serde_json::Error),
    /// The backup lacks something a restore needs (e.g. its schema entry).
    #[error("backup {backup} cannot be restored: {reason}")]
    InvalidBackup {
        /// The backup.
        backup: BackupId,
        /// What is missing.
        reason: String,
    },
    /// The client given to [`execute`] talks to another site than the plan's target.
    #[error("the plan targets site {planned:?} but the client is for site {given:?}")]
    WrongSite {
        /// The plan's target.
        planned: String,
        /// The client's site.
        given: String,
    },
    /// The stored plan has a format this version cannot read (a newer assetark wrote it). The
    /// restore ends in error; plan it again with this version, or run it with the newer one.
    #[error(
        "the restore's plan has format version {found}, but this version of assetark reads \
         plan formats up to {supported}; plan the restore again, or run it with the assetark \
         that planned it"
    )]
    PlanVersion {
        /// The plan's format.
        found: u32,
        /// The newest format this version reads.
        supported: u32,
    },
    /// The destination cannot be restored to (e.g. no schema with that key on the target).
    #[error("{reason}")]
    Destination {
        /// Why.
        reason: String,
    },
    /// `--types` names no type, or several, of the backup.
    #[error("object types of backup {backup}: {reason}")]
    Types {
        /// The backup.
        backup: BackupId,
        /// Every name that matches no type or several.
        reason: String,
    },
    /// A hook failed (with `on_error = "fail"`) or aborted the restore.
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookFailed),
    /// The restore names hooks the config does not have (any more).
    #[error(transparent)]
    Hooks(#[from] crate::hooks::UnknownHook),
    /// Entries the restore needs are gone from the backup (deleted or changed while the
    /// restore ran); the restore ends in error rather than finish without them.
    #[error(
        "backup {backup} lost {} {kind} entries while the restore ran (first: {}); nothing \
         more is created from it",
        ids.len(),
        ids.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
    )]
    MissingEntries {
        /// The backup.
        backup: BackupId,
        /// Their kind.
        kind: &'static str,
        /// Their identities in the backup.
        ids: Vec<String>,
    },
    /// A stage ran to its end with items it should have handled left undone.
    #[error("stage {stage} ended with {} items not done (first: {}); it is not recorded as done", ids.len(), ids.iter().take(5).cloned().collect::<Vec<_>>().join(", "))]
    Incomplete {
        /// The stage.
        stage: Stage,
        /// The identities of the items not done.
        ids: Vec<String>,
    },
    /// The options cannot be used with this backup (see [`Refusal`]).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The target answered a request successfully but with something a restore cannot use.
    #[error("the target answered with {what}")]
    UnexpectedResponse {
        /// What came back.
        what: String,
    },
}

impl Error {
    /// The API's error body, when the API refused a request.
    pub fn api_body(&self) -> Option<&Value> {
        match self {
            Error::Assets(e) => e.api_body(),
            _ => None,
        }
    }

    /// Whether running the restore again may succeed without changes (429, 5xx, transport).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Assets(e) => e.is_retryable(),
            Error::Store(e) => e.is_temporary(),
            _ => false,
        }
    }
}
