//! `ApiError`: every failure the simulator answers with, in the API's own envelopes
//! (`{"errorMessages": [...], "errors": {...}}`, and the gateway's `{"code", "message"}` for 401).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error response: status plus the JSON body the real service would send.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    /// `Retry-After` seconds (429 and some 503s).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Key of a field error about an attribute value, as the Insight heritage spells it.
pub fn attr_key(attr_id: u32) -> String {
    format!("rlabs-insight-attribute-{attr_id}")
}

impl ApiError {
    pub fn new(status: StatusCode, messages: Vec<String>, errors: Map<String, Value>) -> ApiError {
        ApiError {
            status,
            body: json!({ "errorMessages": messages, "errors": errors }),
            retry_after: None,
        }
    }
    /// 400 with one general message.
    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, vec![msg.into()], Map::new())
    }
    /// 400 with one field error.
    pub fn field(key: impl Into<String>, msg: impl Into<String>) -> ApiError {
        let mut m = Map::new();
        m.insert(key.into(), Value::String(msg.into()));
        ApiError::new(StatusCode::BAD_REQUEST, vec![], m)
    }
    /// 400 with several field errors.
    pub fn fields(errors: Vec<(String, String)>) -> ApiError {
        let m = errors
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        ApiError::new(StatusCode::BAD_REQUEST, vec![], m)
    }
    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, vec![msg.into()], Map::new())
    }
    /// Gateway-style 401 (reference §14.3).
    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"code": 401, "message": "Unauthorized"}),
            retry_after: None,
        }
    }
    /// Jira Data Center's 401 (the Assets REST resources answer with Jira's envelope).
    pub fn unauthorized_dc() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            vec![
                "You are not authenticated. Authentication required to perform this operation."
                    .into(),
            ],
            Map::new(),
        )
    }
    pub fn status(status: StatusCode, msg: impl Into<String>) -> ApiError {
        ApiError::new(status, vec![msg.into()], Map::new())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
