//! `assets::Error`: every way a call to an Assets (or Jira) site can fail.
//!
//! Rules for this module:
//! - every public function of [`crate::assets`] returns this `Error`;
//! - keep the source chain (`#[source]`), never `to_string()` an error into a variant;
//! - the retry policy lives in one place, [`super::retry`]; [`Error::is_retryable`] only answers
//!   "could the same call succeed later?" for callers that run their own outer loop (the job
//!   runner), after the client already spent its own retry budget;
//! - 4xx other than 429 are permanent and carry the API's own error body, untouched, because
//!   restore logs show it to users verbatim.

use serde_json::Value;

/// Errors of the Assets client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with a non-success status. For 429 and 5xx this is what is left after
    /// the retry budget ran out; other statuses are permanent and were not retried.
    #[error("{method} {path} answered {status}")]
    Api {
        /// HTTP method of the request.
        method: String,
        /// Path as the caller gave it (relative to `api_url` or `site_url`).
        path: String,
        /// HTTP status.
        status: u16,
        /// The response body as JSON (`Null` when empty; a JSON string when it was not JSON).
        body: Value,
    },

    /// A non-idempotent request failed after it may have reached the server (a 500/502, a
    /// timeout or a connection dropped mid-way): it may or may not have been applied, so it was
    /// not repeated. The caller must look before it tries again.
    #[error("{method} {path} may or may not have been applied (status {status:?})")]
    Ambiguous {
        /// HTTP method of the request.
        method: String,
        /// Path as the caller gave it.
        path: String,
        /// The status received, when there was one.
        status: Option<u16>,
        /// The transport error, when there was no status.
        #[source]
        source: Option<reqwest::Error>,
    },

    /// The request could not be completed at the transport level (connect, timeout, reset),
    /// even after retries.
    #[error("{method} {path}: transport failure")]
    Transport {
        /// HTTP method of the request.
        method: String,
        /// Path as the caller gave it.
        path: String,
        /// What reqwest/hyper said.
        #[source]
        source: reqwest::Error,
    },

    /// A success response whose body is not the JSON we expect.
    #[error("{method} {path}: unexpected response body ({what})")]
    Decode {
        /// HTTP method of the request.
        method: String,
        /// Path as the caller gave it.
        path: String,
        /// What was expected, e.g. "a JSON array of schemas".
        what: &'static str,
        /// The JSON parser's error, when the body was not JSON at all.
        #[source]
        source: Option<serde_json::Error>,
    },

    /// The response body is longer than the site's cap (`[sites.limits] max_response_mb`, or
    /// `max_download_mb` for attachment and icon downloads). Reading stopped at the cap, so
    /// the daemon never held more; permanent, the same request gets the same body.
    #[error(
        "{method} {path}: the site's response (status {status}) is larger than the cap of {cap} bytes; raise [sites.limits] max_response_mb or max_download_mb if the site is trusted"
    )]
    TooLarge {
        /// HTTP method of the request.
        method: String,
        /// Path as the caller gave it.
        path: String,
        /// The status the answer came with.
        status: u16,
        /// The cap in bytes.
        cap: u64,
    },

    /// A download could not be written to its temporary file (a full or unwritable disk).
    /// Retryable: the same call may succeed once there is room.
    #[error("{method} {path}: the download could not be spooled to {dir:?}")]
    Spool {
        /// HTTP method of the request.
        method: String,
        /// Path as the caller gave it.
        path: String,
        /// The directory of the temporary file.
        dir: std::path::PathBuf,
        /// The file system's error.
        #[source]
        source: std::io::Error,
    },

    /// A request body could not be encoded as JSON.
    #[error("{method} {path}: the request body cannot be encoded")]
    Encode {
        /// HTTP method of the request.
        method: String,
        /// Path of the request.
        path: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },

    /// The site's API does not offer this (comments and attachments on Assets Cloud; workspace
    /// discovery on Data Center). Permanent: no request was sent.
    #[error("site {site:?}: {what} not offered by the {flavor} API")]
    NotOffered {
        /// Site name.
        site: String,
        /// The site's flavor.
        flavor: super::Flavor,
        /// What was asked for ("object comments").
        what: &'static str,
    },

    /// The site configuration cannot work (no token, bad URL, no workspace on the site).
    #[error("site configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status behind the error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Ambiguous { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether the same call may succeed later: 429, 5xx and transport failures. Ambiguous
    /// writes are *not* retryable blindly: the caller must first check whether they applied.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 429 || *status >= 500,
            Error::Transport { .. } | Error::Spool { .. } => true,
            Error::Ambiguous { .. }
            | Error::Decode { .. }
            | Error::TooLarge { .. }
            | Error::Encode { .. }
            | Error::NotOffered { .. }
            | Error::Config(_) => false,
        }
    }

    /// The API's error body (`{"errorMessages", "errors"}` for Assets), for [`Error::Api`].
    pub fn api_body(&self) -> Option<&Value> {
        match self {
            Error::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether this is [`Error::NotOffered`]: the site's API has no such resource.
    pub fn is_not_offered(&self) -> bool {
        matches!(self, Error::NotOffered { .. })
    }

    /// Whether the API refused the request for good: a 4xx other than 429 (the request was
    /// not applied; its body says why).
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::Api { status, .. } if (400..500).contains(status) && *status != 429)
    }
}
