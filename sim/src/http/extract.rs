//! Request extractors that answer bad input the way the API does: JSON bodies (malformed,
//! wrong types, too large) and query parameters (Python-style `True`, numbers as text).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A JSON object body. Content-Type is not required (clients send it inconsistently).
pub struct JsonBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request body is too large",
                )
            } else {
                ApiError::bad_request(format!("The request body could not be read: {e}"))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("A JSON request body is required"));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonBody(m)),
            Ok(_) => Err(ApiError::bad_request(
                "The request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }
}

/// Path ids (`/object/{id}`) parsed at extraction: an id that cannot exist is a 404 naming
/// what was asked for, as `assets_schemas::path_id` answers.
macro_rules! path_ids {
    ($($name:ident => $what:literal),* $(,)?) => {$(
        #[doc = concat!("The ", $what, " id of the request path.")]
        pub struct $name(pub u32);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                let axum::extract::Path(raw) =
                    axum::extract::Path::<String>::from_request_parts(parts, state)
                        .await
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                super::assets_schemas::path_id(&raw, $what).map($name)
            }
        }
    )*};
}

path_ids!(ObjectId => "object", AttachmentId => "attachment");

/// Query parameters with typed, lenient getters.
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::bad_request(format!("The query string is malformed: {e}")))?;
        Ok(Params(pairs.into_iter().collect()))
    }
}

impl Params {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    pub fn bool(&self, name: &str, default: bool) -> ApiResult<bool> {
        match self.str(name) {
            None | Some("") => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Query parameter {name} must be true or false, got {v:?}"
                ))
            }),
        }
    }
    pub fn int(&self, name: &str, default: i64) -> ApiResult<i64> {
        match self.str(name) {
            None | Some("") => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "Query parameter {name} must be an integer, got {v:?}"
                ))
            }),
        }
    }
    /// A non-negative integer parameter.
    pub fn count(&self, name: &str, default: i64) -> ApiResult<usize> {
        let n = self.int(name, default)?;
        usize::try_from(n).map_err(|_| {
            ApiError::bad_request(format!("Query parameter {name} must not be negative"))
        })
    }
    /// A comma-separated list (`fields=summary,created`); empty when absent.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.str(name)
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }
    pub fn id(&self, name: &str) -> ApiResult<Option<u32>> {
        match self.str(name) {
            None | Some("") => Ok(None),
            Some(v) => crate::ws::parse_id(v).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!("Query parameter {name} must be an id, got {v:?}"))
            }),
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Typed, lenient access to body fields: ids and numbers may come as strings ("23") or
/// numbers (23), booleans as `true` or `"true"`; `null` counts as absent.
pub trait Fields {
    fn opt(&self, name: &str) -> Option<&Value>;
    fn string(&self, name: &str) -> ApiResult<Option<String>> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::field(name, format!("{name} must be a string"))),
        }
    }
    fn required_string(&self, name: &str) -> ApiResult<String> {
        self.string(name)?
            .ok_or_else(|| ApiError::field(name, format!("{name} is required")))
    }
    fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::field(name, format!("{name} must be an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::field(name, format!("{name} must be an integer"))),
            Some(_) => Err(ApiError::field(name, format!("{name} must be an integer"))),
        }
    }
    fn id(&self, name: &str) -> ApiResult<Option<u32>> {
        match self.int(name) {
            Ok(None) => Ok(None),
            Ok(Some(n)) if n > 0 && n <= u32::MAX as i64 => Ok(Some(n as u32)),
            _ => Err(ApiError::field(name, format!("{name} must be an id"))),
        }
    }
    fn required_id(&self, name: &str) -> ApiResult<u32> {
        self.id(name)?
            .ok_or_else(|| ApiError::field(name, format!("{name} is required")))
    }
    fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => parse_bool(s)
                .map(Some)
                .ok_or_else(|| ApiError::field(name, format!("{name} must be a boolean"))),
            Some(_) => Err(ApiError::field(name, format!("{name} must be a boolean"))),
        }
    }
    fn string_list(&self, name: &str) -> ApiResult<Option<Vec<String>>> {
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(ApiError::field(
                        name,
                        format!("{name} must be a list of strings"),
                    )),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ApiError::field(
                name,
                format!("{name} must be a list of strings"),
            )),
        }
    }
}

impl Fields for Map<String, Value> {
    fn opt(&self, name: &str) -> Option<&Value> {
        self.get(name).filter(|v| !v.is_null())
    }
}
