//! [`JobError`]: how a job failed, typed, so that the runner can decide what to do with it.
//!
//! Rules for this module and the runner:
//! - every job function returns `Result<JobOutcome, JobError>`; the pipeline's own error stays
//!   the source (never `to_string()` into a field), so the chain survives until it is shown;
//! - [`FailureKind`] answers "retry?" in one place: a temporary failure (429 beyond the
//!   client's retries, 5xx, timeout, a site that is down, a busy store) is run again with
//!   backoff a bounded number of times; a permanent one (a 4xx, a missing backup, a site that
//!   is no longer configured) fails the job; a cancelled one is requeued at shutdown;
//! - where the Assets API refused, its status and body travel with the error into the
//!   persisted [`JobFailure`], untouched, so clients can show what the site said.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SpecError;
use crate::error::error_chain;
use crate::{assets, backup, restore, store};

/// A boxed error that can cross tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Whether a failure may go away by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Running the job again later may succeed without any change.
    Temporary,
    /// Something must change first (input, configuration, the target's state).
    Permanent,
    /// The job was told to stop (shutdown or the user).
    Cancelled,
}

impl FailureKind {
    fn describe(self) -> &'static str {
        match self {
            FailureKind::Temporary => "temporary failure",
            FailureKind::Permanent => "permanent failure",
            FailureKind::Cancelled => "cancelled",
        }
    }
}

/// Why a job did not produce its outcome.
#[derive(Debug)]
pub struct JobError {
    kind: FailureKind,
    /// What failed, for a person ("restore 3 failed"); the source says why.
    context: Option<String>,
    /// The API's HTTP status, when a site answered.
    status: Option<u16>,
    /// The API's error body, when a site refused.
    body: Option<Value>,
    source: Option<BoxError>,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.context.as_deref().unwrap_or(self.kind.describe()))
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Problems the runner finds itself, before or around a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The site of a backup was removed.
    #[error("site {0:?} is no longer configured")]
    SiteGone(String),
    /// An export job of an older build: exports are now streamed to the CLI.
    #[error(
        "exports are streamed to the CLI now (GET /v1/backups/{0}/export); \
         run `assetark backups export {0} --out DIR` again"
    )]
    ExportMoved(i64),
    /// The target site of a restore was removed (or cannot be loaded).
    #[error("target site {0:?} is no longer configured")]
    TargetGone(String),
    /// The stored payload is not a spec this build runs.
    #[error("the job cannot be read")]
    Spec(#[from] SpecError),
    /// The request stored with a restore is not one this build can read.
    #[error("the request stored with restore {restore} cannot be read")]
    RestoreRequest {
        /// The restore.
        restore: store::RestoreId,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

/// A failure as the store keeps it and the control API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobFailure {
    /// Temporary, permanent or cancelled.
    pub kind: FailureKind,
    /// The error chain, for a person.
    pub message: String,
    /// The API's HTTP status, when a site answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The API's error body, when a site refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl JobError {
    fn new(kind: FailureKind, source: Option<BoxError>) -> Self {
        JobError {
            kind,
            context: None,
            status: None,
            body: None,
            source,
        }
    }

    /// Told to stop.
    pub fn cancelled() -> Self {
        Self::new(FailureKind::Cancelled, None)
    }

    /// A failure that needs a change before the job can succeed.
    pub fn permanent(source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Permanent, Some(source.into()))
    }

    /// A failure that may go away by itself.
    pub fn temporary(source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Temporary, Some(source.into()))
    }

    /// Says what failed ("restore 3 failed"); shown before the source's chain, and before
    /// an earlier context ("restore 3 failed: planning failed: ...").
    #[must_use]
    pub fn context(mut self, context: impl Into<String>) -> Self {
        let context = context.into();
        self.context = Some(match self.context.take() {
            Some(inner) => format!("{context}: {inner}"),
            None => context,
        });
        self
    }

    /// Temporary, permanent or cancelled.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether the runner may run the job again.
    pub fn is_temporary(&self) -> bool {
        self.kind == FailureKind::Temporary
    }

    /// The API's HTTP status, when a site answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The API's error body, when a site refused.
    pub fn body(&self) -> Option<&Value> {
        self.body.as_ref()
    }

    /// The message for a person: the context and the source's chain.
    pub fn message(&self) -> String {
        match (&self.context, &self.source) {
            (None, Some(source)) => error_chain(source.as_ref()),
            _ => error_chain(self),
        }
    }

    /// The persisted form.
    pub fn failure(&self) -> JobFailure {
        JobFailure {
            kind: self.kind,
            message: self.message(),
            status: self.status,
            body: self.body.clone(),
        }
    }

    /// Classifies an Assets client error (after the client's own retries).
    pub fn from_assets(e: assets::Error) -> Self {
        let kind = if e.is_retryable() {
            FailureKind::Temporary
        } else {
            FailureKind::Permanent
        };
        let (status, body) = (e.status(), e.api_body().cloned());
        JobError {
            status,
            body,
            ..Self::new(kind, Some(Box::new(e)))
        }
    }

    /// Classifies a store error: only a busy database is temporary.
    pub fn from_store(e: store::Error) -> Self {
        if e.is_temporary() {
            Self::temporary(e)
        } else {
            Self::permanent(e)
        }
    }

    /// Classifies a backup pipeline error.
    pub fn from_backup(e: backup::Error) -> Self {
        let (kind, status, body) = match &e {
            backup::Error::Assets(a) => (
                if a.is_retryable() {
                    FailureKind::Temporary
                } else {
                    FailureKind::Permanent
                },
                a.status(),
                a.api_body().cloned(),
            ),
            backup::Error::Store(s) if s.is_temporary() => (FailureKind::Temporary, None, None),
            backup::Error::Cancelled => (FailureKind::Cancelled, None, None),
            _ => (FailureKind::Permanent, None, None),
        };
        JobError {
            status,
            body,
            ..Self::new(kind, Some(Box::new(e)))
        }
    }

    /// Classifies a restore pipeline error.
    pub fn from_restore(e: restore::Error) -> Self {
        let kind = if e.is_retryable() {
            FailureKind::Temporary
        } else {
            FailureKind::Permanent
        };
        let status = match &e {
            restore::Error::Assets(a) => a.status(),
            _ => None,
        };
        let body = e.api_body().cloned();
        JobError {
            status,
            body,
            ..Self::new(kind, Some(Box::new(e)))
        }
    }
}

impl From<RunnerError> for JobError {
    fn from(e: RunnerError) -> Self {
        JobError::permanent(e)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn api(status: u16) -> assets::Error {
        assets::Error::Api {
            method: "POST".into(),
            path: "/object/create".into(),
            status,
            body: json!({"errorMessages": ["no"]}),
        }
    }

    #[test]
    fn errors_say_whether_to_retry_and_keep_the_apis_answer() {
        let e = JobError::from_backup(backup::Error::Assets(api(503)));
        assert!(e.is_temporary());
        assert_eq!(e.status(), Some(503));
        assert_eq!(e.message(), "assets api: POST /object/create answered 503");
        let e = JobError::from_restore(restore::Error::Assets(api(400)))
            .context("planning failed")
            .context("restore 3 failed");
        assert_eq!(e.kind(), FailureKind::Permanent);
        assert_eq!(
            e.message(),
            "restore 3 failed: planning failed: assets api: POST /object/create answered 400"
        );
        let f = e.failure();
        assert_eq!(f.body, Some(json!({"errorMessages": ["no"]})));
        assert_eq!(
            serde_json::to_value(&f).unwrap()["kind"],
            json!("permanent")
        );
        assert_eq!(
            JobError::from_backup(backup::Error::Cancelled).kind(),
            FailureKind::Cancelled
        );
        let gone = JobError::from(RunnerError::SiteGone("s".into()));
        assert!(!gone.is_temporary());
        assert_eq!(gone.message(), "site \"s\" is no longer configured");
        assert_eq!(JobError::cancelled().message(), "cancelled");
    }
}
