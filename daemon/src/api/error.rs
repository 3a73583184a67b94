//! [`ApiError`]: every error the control API returns, as `{"error": {"code", "message"}}`.
//!
//! Rules for this module and the handlers:
//! - `code` is stable snake_case that clients may match on; `message` is for humans;
//! - [`ApiError::status_code`] is the one exhaustive map from kind to HTTP status;
//! - 500s expose nothing: the handler attaches the error chain as a response extension and the
//!   logging middleware ([`log_internal_errors`]) writes it to the log, so details reach the
//!   operator and never the client;
//! - the extractors [`ApiJson`], [`ApiPath`] and [`ApiQuery`] turn axum's rejections into this
//!   type, so a malformed body or a bad id gets our format, not axum's plain text.

use std::collections::BTreeMap;

use super::wire::{ErrorBody, ErrorDetail};
use crate::store;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What kind of failure an [`ApiError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request cannot be understood: malformed JSON, bad id, bad query or date (400).
    BadRequest,
    /// No or wrong bearer token on the TCP listener (401).
    Unauthorized,
    /// The route, site, backup or job does not exist (404).
    NotFound,
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// The request conflicts with current state, e.g. a run already in progress (409).
    Conflict,
    /// The body is larger than the API takes (413).
    PayloadTooLarge,
    /// The request line is longer than the API takes (414).
    UriTooLong,
    /// The body is not JSON (415).
    UnsupportedMediaType,
    /// The request is well-formed but its values are wrong (422), with a field map.
    Validation,
    /// The Assets site answered with an error or could not be reached (502).
    Upstream,
    /// The daemon is shutting down, or its store is gone, and takes no new work (503).
    ShuttingDown,
    /// The request took longer than its time limit (504).
    Timeout,
    /// A bug or an environment failure (500); details go to the log only.
    Internal,
}

/// An error response of the control API.
#[derive(Debug)]
pub struct ApiError {
    kind: ErrorKind,
    code: &'static str,
    message: String,
    fields: BTreeMap<String, String>,
    /// The full error chain of an internal error, for the log.
    detail: Option<String>,
}

/// The error chain of a response, put in its extensions for the logging middleware.
#[derive(Debug, Clone)]
struct InternalDetail(String);

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error of `kind` with a stable `code` and a message for humans.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            detail: None,
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    /// 422 `validation_failed` with one message per offending field.
    pub fn validation(fields: BTreeMap<String, String>) -> Self {
        let message = fields
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            fields,
            ..Self::new(ErrorKind::Validation, "validation_failed", message)
        }
    }

    /// 500 `internal`; the chain of `err` is logged, never sent.
    pub fn internal(err: &(dyn std::error::Error + 'static)) -> Self {
        ApiError {
            detail: Some(error_chain(err)),
            ..Self::new(
                ErrorKind::Internal,
                "internal",
                "internal error; the daemon log has the details",
            )
        }
    }

    /// 404 `site_not_found`.
    pub fn unknown_site(name: &str) -> Self {
        Self::not_found(
            "site_not_found",
            format!("no site named {name:?} is configured"),
        )
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    /// The HTTP status of this error (the one place that decides it).
    pub fn status_code(&self) -> StatusCode {
        match self.kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UriTooLong => StatusCode::URI_TOO_LONG,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for humans.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                fields: self.fields,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(detail) = self.detail {
            response.extensions_mut().insert(InternalDetail(detail));
        }
        response
    }
}

use crate::error::error_chain;

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        match &e {
            store::Error::NotFound { what, id } => {
                let code = match *what {
                    "backup" => "backup_not_found",
                    "job" => "job_not_found",
                    "restore" => "restore_not_found",
                    "task" => "task_not_found",
                    _ => "not_found",
                };
                ApiError::not_found(code, format!("{what} {id} not found"))
            }
            store::Error::InUse { .. } => ApiError::conflict("backup_in_use", e.to_string()),
            store::Error::Replaced { .. } => {
                ApiError::new(ErrorKind::ShuttingDown, "store_replaced", e.to_string())
            }
            _ => ApiError::internal(&e),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                ErrorKind::UnsupportedMediaType,
                "unsupported_media_type",
                "expected a JSON body with Content-Type: application/json",
            ),
            // The body limit cut the body off: its size is the problem, not its syntax.
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    ErrorKind::PayloadTooLarge,
                    "payload_too_large",
                    format!(
                        "the request body is larger than the API takes ({} bytes)",
                        BODY_LIMIT
                    ),
                )
            }
            JsonRejection::JsonDataError(e) => ApiError::bad_request(
                "invalid_body",
                format!("invalid request body: {}", e.body_text()),
            ),
            other => ApiError::bad_request(
                "malformed_json",
                format!("malformed JSON body: {}", other.body_text()),
            ),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", format!("invalid path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", format!("invalid query: {}", r.body_text()))
    }
}

/// Largest request body the API reads: axum's default limit, which the JSON extractor applies.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// `axum::Json` whose rejection is an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` whose rejection is an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Parses a backup or job id from a path segment: a positive integer, else 400 `invalid_id`.
pub fn parse_id(what: &str, text: &str) -> ApiResult<i64> {
    match text.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::bad_request(
            "invalid_id",
            format!("{text:?} is not a valid {what} id (a positive integer)"),
        )),
    }
}

/// Fallback for unknown routes; also answers the request a too-long request line was
/// replaced by (see [`super::request_line`]).
pub async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    if uri.path() == super::request_line::TOO_LONG_TARGET {
        return ApiError::new(
            ErrorKind::UriTooLong,
            "uri_too_long",
            format!(
                "the request line is longer than {} bytes",
                super::request_line::MAX_REQUEST_LINE
            ),
        );
    }
    ApiError::not_found("not_found", "no such API route")
}

/// Fallback for a known route with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Answers 504 `request_timeout` when a handler has not answered within `limit`. Only the
/// answer's start is timed: a streamed body (live events, the full log) goes on after it.
pub async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, %path, limit_secs = limit.as_secs_f32(), "Request timed out.");
            ApiError::new(
                ErrorKind::Timeout,
                "request_timeout",
                format!("the request took longer than {} s", limit.as_secs_f32()),
            )
            .into_response()
        }
    }
}

/// Logs each request at DEBUG and the hidden details of every 500 at ERROR.
pub async fn log_internal_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    if let Some(InternalDetail(detail)) = response.extensions().get::<InternalDetail>() {
        tracing::error!(%method, %path, error = %detail, "Request failed.");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), "Request served.");
    }
    response
}
