//! `/v1/sites`: the configured sites (never their tokens) and a connection test.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::ApiState;
use super::error::{ApiError, ApiPath, ApiResult, ErrorKind, error_chain};
use crate::daemon::Site;

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/sites", get(list))
        .route("/v1/sites/{site}/test", post(test))
}

/// Looks up a site named in a path, or 404 `site_not_found`.
pub(super) fn site<'a>(state: &'a ApiState, name: &str) -> ApiResult<&'a Site> {
    state
        .sites
        .get(name)
        .ok_or_else(|| ApiError::unknown_site(name))
}

/// 502 `site_request_failed` for a failed call to an Assets site, with the API's own error
/// messages when it sent some. The client's errors carry method, path, status and body, never
/// credentials.
pub(super) fn upstream(site: &str, e: &crate::assets::Error) -> ApiError {
    let mut message = format!("site {site}: {}", error_chain(e));
    if let Some(body) = e.api_body() {
        let said = api_messages(body);
        if !said.is_empty() {
            message.push_str(": ");
            message.push_str(&said);
        }
    }
    ApiError::new(ErrorKind::Upstream, "site_request_failed", message)
}

/// The human messages of an Assets/Jira error body (`errorMessages`, `errors`, `message`),
/// shortened: an HTML error page or a huge body must not flood the terminal.
fn api_messages(body: &Value) -> String {
    const MAX_CHARS: usize = 300;
    let mut parts: Vec<String> = body["errorMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    if let Some(errors) = body["errors"].as_object() {
        parts.extend(
            errors
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(""))),
        );
    }
    if let Some(m) = body["message"].as_str() {
        parts.push(m.to_owned());
    }
    let text = parts.join("; ");
    if text.chars().count() > MAX_CHARS {
        text.chars().take(MAX_CHARS).collect::<String>() + "..."
    } else {
        text
    }
}

async fn list(State(state): State<ApiState>) -> Json<Value> {
    let items: Vec<_> = state.sites.iter().map(|s| s.info().clone()).collect();
    Json(json!({ "items": items }))
}

#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %name))]
async fn test(
    State(state): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let site = site(&state, &name)?;
    let user = site
        .client()
        .test_connection()
        .await
        .map_err(|e| upstream(&name, &e))?;
    Ok(Json(json!({ "site": name, "ok": true, "user": user })))
}
