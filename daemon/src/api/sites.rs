//! `/v1/sites`: the sites (never their tokens), a connection test, and adding and removing
//! sites at run time ("target instances"). An added site is tested before it is saved; sites
//! of the config file can only be removed by editing the file.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::ApiState;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorKind};
use super::wire::{AddSiteRequest, SiteInfo, SiteList, SiteRemoved, SiteTested, SiteUser};
use crate::assets::Secret;
use crate::config::FLAVOR_CLOUD;
use crate::error::error_chain;
use crate::sites::{NewSite, Site, SiteError, TokenInput};

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/sites", get(list).post(add))
        .route("/v1/sites/{site}", get(show).delete(remove))
        .route("/v1/sites/{site}/test", post(test))
}

/// Looks up a site named in a path, or 404 `site_not_found`.
pub(super) fn site(state: &ApiState, name: &str) -> ApiResult<Arc<Site>> {
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

/// The parts of an Assets/Jira error body that hold messages for people; any of them may be
/// missing, and values of an unexpected type are ignored.
#[derive(Debug, Default, Deserialize)]
struct ApiErrorBody {
    #[serde(rename = "errorMessages", default)]
    error_messages: Vec<Value>,
    #[serde(default)]
    errors: Option<Map<String, Value>>,
    #[serde(default)]
    message: Option<Value>,
}

/// The human messages of an Assets/Jira error body (`errorMessages`, `errors`, `message`),
/// shortened: an HTML error page or a huge body must not flood the terminal.
fn api_messages(body: &Value) -> String {
    const MAX_CHARS: usize = 300;
    let body = ApiErrorBody::deserialize(body).unwrap_or_default();
    let mut parts: Vec<String> = body
        .error_messages
        .iter()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    if let Some(errors) = &body.errors {
        parts.extend(
            errors
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(""))),
        );
    }
    if let Some(m) = body.message.as_ref().and_then(Value::as_str) {
        parts.push(m.to_owned());
    }
    let text = parts.join("; ");
    if text.chars().count() > MAX_CHARS {
        text.chars().take(MAX_CHARS).collect::<String>() + "..."
    } else {
        text
    }
}

#[utoipa::path(get, path = "/v1/sites", tag = "sites", responses((status = 200, description = "The config's sites in file order, then the added ones", body = crate::api::wire::SiteList), crate::api::openapi::ApiErrors))]
pub(super) async fn list(State(state): State<ApiState>) -> Json<SiteList> {
    let items = state
        .sites
        .list()
        .iter()
        .map(|s| s.info().clone())
        .collect();
    Json(SiteList { items })
}

#[utoipa::path(get, path = "/v1/sites/{site}", tag = "sites", params(("site" = String, Path, description = "Site name")), responses((status = 200, body = crate::api::wire::SiteInfo), crate::api::openapi::ApiErrors))]
pub(super) async fn show(
    State(state): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<SiteInfo>> {
    let site = site(&state, &name)?;
    Ok(Json(site.info().clone()))
}

#[utoipa::path(post, path = "/v1/sites", tag = "sites", request_body = crate::api::wire::AddSiteRequest, responses((status = 201, description = "Tested and saved", body = crate::api::wire::SiteInfo), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %body.name))]
pub(super) async fn add(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<AddSiteRequest>,
) -> ApiResult<impl IntoResponse> {
    let token = match (body.token_env, body.token_file, body.token) {
        (Some(v), None, None) => TokenInput::Env(v),
        (None, Some(p), None) => TokenInput::File(p),
        // Held as a `Secret` from here on, so no `Debug` can print it.
        (None, None, Some(t)) => TokenInput::Inline(Secret::new(t.expose())),
        _ => {
            let mut fields = std::collections::BTreeMap::new();
            fields.insert(
                "token".to_owned(),
                "give exactly one of token_env, token_file and token".to_owned(),
            );
            return Err(ApiError::validation(fields));
        }
    };
    let flavor = match body.flavor.as_deref().unwrap_or(FLAVOR_CLOUD).parse() {
        Ok(f) => f,
        Err(message) => {
            let mut fields = std::collections::BTreeMap::new();
            fields.insert("flavor".to_owned(), message);
            return Err(ApiError::validation(fields));
        }
    };
    let new = NewSite {
        name: body.name,
        flavor,
        api_url: body.api_url,
        site_url: body.site_url,
        base_url: body.base_url,
        email: body.email,
        token,
    };
    let info = state
        .sites
        .add(&state.store, new)
        .await
        .map_err(|e| site_error(&e))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/sites/{}", info.name))],
        Json(info),
    ))
}

/// `DELETE /v1/sites/{site}` query. A string, so that a bad value gets our message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RemoveQuery {
    force: Option<String>,
}

#[utoipa::path(delete, path = "/v1/sites/{site}", tag = "sites", params(("site" = String, Path, description = "Site name"), ("force" = Option<String>, Query, description = "`true`: stop the site's queued and running restores first")), responses((status = 200, body = crate::api::wire::SiteRemoved), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %name))]
pub(super) async fn remove(
    State(state): State<ApiState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<RemoveQuery>,
) -> ApiResult<Json<SiteRemoved>> {
    let force = match q.force.as_deref() {
        None | Some("" | "false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("force: {other:?} is not \"true\" or \"false\""),
            ));
        }
    };
    state
        .sites
        .check_removable(&state.store, &name)
        .await
        .map_err(|e| site_error(&e))?;
    let active = unfinished_restores_to(&state, &name).await?;
    if !active.is_empty() && !force {
        let named: Vec<String> = active
            .iter()
            .map(|(id, status)| format!("restore {id} ({status})"))
            .collect();
        return Err(ApiError::conflict(
            "site_in_use",
            format!(
                "site {name} is the target of {}; stop them first or remove the site with --force",
                named.join(", ")
            ),
        ));
    }
    let mut stopped = Vec::new();
    for (id, _) in &active {
        state.jobs.stop_restore(*id).await?;
        stopped.push(*id);
    }
    // A running restore stops at the end of its request batch; the site goes once it has.
    for id in &stopped {
        wait_until_ended(&state, *id).await?;
    }
    state
        .sites
        .remove(&state.store, &name)
        .await
        .map_err(|e| site_error(&e))?;
    Ok(Json(SiteRemoved {
        removed: name,
        stopped,
    }))
}

/// The pending and in-progress restores whose target is `site`, oldest first.
async fn unfinished_restores_to(
    state: &ApiState,
    site: &str,
) -> ApiResult<Vec<(i64, crate::store::RestoreStatus)>> {
    use crate::store::{PageRequest, RestoreStatus};
    const PAGE: u32 = 500;
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let rows = state
            .store
            .list_restores(
                Some(site),
                PageRequest {
                    limit: PAGE,
                    offset,
                },
            )
            .await?;
        out.extend(
            rows.iter()
                .filter(|r| matches!(r.status, RestoreStatus::Pending | RestoreStatus::InProgress))
                .map(|r| (r.id, r.status)),
        );
        if rows.len() < PAGE as usize {
            break;
        }
        offset += u64::from(PAGE);
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out)
}

/// Waits until a stopped restore's row has ended (its job checkpoints the batch in flight
/// first). Bounded by the request timeout, whose 504 then says the removal did not happen.
async fn wait_until_ended(state: &ApiState, id: i64) -> ApiResult<()> {
    use crate::store::RestoreStatus;
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(20));
    loop {
        ticks.tick().await;
        let row = state.store.get_restore(id).await?;
        if !matches!(
            row.status,
            RestoreStatus::Pending | RestoreStatus::InProgress
        ) {
            return Ok(());
        }
    }
}

/// Maps a failed add or remove.
fn site_error(e: &SiteError) -> ApiError {
    match e {
        SiteError::Invalid(fields) => ApiError::validation(fields.clone()),
        SiteError::Exists(_) => ApiError::new(ErrorKind::Conflict, "site_exists", e.to_string()),
        SiteError::NotFound(name) => ApiError::unknown_site(name),
        SiteError::SourceNotAllowed(field) => {
            let mut fields = std::collections::BTreeMap::new();
            fields.insert((*field).to_owned(), e.to_string());
            ApiError::validation(fields)
        }
        SiteError::FromConfig(_) => {
            ApiError::new(ErrorKind::Conflict, "site_in_config", e.to_string())
        }
        // The site's own answer is the point here, but the request itself was ours to get
        // right (URL, e-mail, token), hence 422 rather than 502.
        SiteError::Test { site, source } => ApiError::new(
            ErrorKind::Validation,
            "site_test_failed",
            format!(
                "connection test failed, nothing was saved: {}",
                upstream(site, source).message()
            ),
        ),
        SiteError::Store(s) => ApiError::internal(s),
        _ => ApiError::internal(e),
    }
}

#[utoipa::path(post, path = "/v1/sites/{site}/test", tag = "sites", params(("site" = String, Path, description = "Site name")), responses((status = 200, description = "The credentials work", body = crate::api::wire::SiteTested), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %name))]
pub(super) async fn test(
    State(state): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<SiteTested>> {
    let site = site(&state, &name)?;
    let user = site
        .client()
        .test_connection()
        .await
        .map_err(|e| upstream(&name, &e))?;
    // Whatever the site said about the account; an unexpected shape shows as no name.
    let user = serde_json::to_value(&user)
        .and_then(SiteUser::deserialize)
        .unwrap_or_default();
    Ok(Json(SiteTested {
        site: name,
        ok: true,
        user,
    }))
}
