//! `/v1/restores`: start a restore (or plan it as a dry run), the restore history, one
//! restore's details, STOP, and the full per-object log as a JSON download. The live events
//! (SSE) are in `events`.
//!
//! A dry run plans the restore in the request (bounded by a timeout) and answers with the plan,
//! changing nothing; a real start checks the request, stores the restore row without a plan
//! and enqueues its job (202 + `Location`), which plans it (planning a large backup takes
//! seconds) and then executes it. The job runner queues restores per target site (see
//! `jobs::restore`).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::backups::enqueue_error;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorKind, parse_id};
use super::sites::upstream;
use super::wire::{
    DryRun, RestoreDetail, RestoreList, RestoreStarted, StartRestoreRequest, StopAnswer, StopStatus,
};
use super::{ApiState, restore_view};
use crate::jobs::StopOutcome;
use crate::restore::{self, Destination, RestoreRequest};
use crate::store::{NewRestore, PageRequest, RestoreStatus, RestoreUpdate};

/// Restores per page of the history.
pub const PAGE_SIZE: u32 = 50;
/// Log entries read from the store per chunk of the download.
const LOG_CHUNK: usize = 2000;
/// `to` of a restore into a new schema (the API also takes the snake_case spelling).
const TO_NEW_SCHEMA: &str = "new-schema";
/// `to` of a restore into a schema that exists on the target.
const TO_EXISTING: &str = "existing-schema";

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/restores", get(list).post(start))
        .route("/v1/restores/{id}", get(show))
        .route("/v1/restores/{id}/stop", post(stop))
        .route("/v1/restores/{id}/resume", post(resume))
        .route("/v1/restores/{id}/log", get(log))
        .merge(super::events::router())
}

/// Whether `key` is a valid schema key: 2-10 uppercase letters and digits, starting with a
/// letter (the rule of Assets Cloud).
fn valid_schema_key(key: &str) -> bool {
    (2..=10).contains(&key.len())
        && key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[utoipa::path(post, path = "/v1/restores", tag = "restores", request_body = crate::api::wire::StartRestoreRequest, responses((status = 200, description = "A dry run: the plan", body = crate::api::wire::DryRun), (status = 202, description = "Stored and queued; `Location: /v1/jobs/{id}`", body = crate::api::wire::RestoreStarted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(backup_id = body.backup_id, dry_run = body.dry_run))]
pub(super) async fn start(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<StartRestoreRequest>,
) -> ApiResult<Response> {
    let mut fields = BTreeMap::new();
    let destination = destination(&body, &mut fields);
    let backup = match state.store.get_backup(body.backup_id).await {
        Ok(b) => Some(b),
        Err(crate::store::Error::NotFound { .. }) => {
            fields.insert(
                "backup_id".to_owned(),
                format!("no complete backup with id {}", body.backup_id),
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    let target = body
        .site
        .clone()
        .or_else(|| backup.as_ref().map(|b| b.site.clone()));
    let site = target.as_deref().and_then(|t| state.sites.get(t));
    if let (Some(t), None) = (&target, &site) {
        let message = if body.site.is_some() {
            format!("no site named {t:?} is configured")
        } else {
            format!("the backup's site {t:?} is not configured; pass a target site")
        };
        fields.insert("site".to_owned(), message);
    }
    // `--types`: every name must name exactly one of the backup's object types.
    let mut specific_types = Vec::new();
    if let (Some(b), false) = (&backup, body.types.is_empty()) {
        match restore::resolve_names(&state.store, b.id, &body.types).await {
            Ok(paths) => specific_types = paths,
            Err(restore::Error::Types { reason, .. }) => {
                fields.insert("types".to_owned(), reason);
            }
            Err(e) => return Err(restore_error(&body.site.clone().unwrap_or_default(), &e)),
        }
    }
    let (Some(site), Some(destination), Some(backup), true) =
        (site, destination, backup, fields.is_empty())
    else {
        return Err(ApiError::validation(fields));
    };
    let site_name = site.info().name.clone();
    let selection = state
        .jobs
        .hooks()
        .select(&site_name, &body.hooks, &body.no_hooks)
        .map_err(|e| ApiError::new(ErrorKind::BadRequest, "unknown_hook", e.to_string()))?;
    let req = RestoreRequest {
        backup_id: body.backup_id,
        target_site: site_name.clone(),
        destination,
        hooks: selection,
        history: body.history,
        with_icons: body.with_icons,
        types: body.types.clone(),
    };
    // Options this backup cannot take are refused now, not when the job plans the restore.
    restore::check_options(&backup, &req, state.store.blocking().backend())
        .map_err(|r| refused(&r))?;
    if body.dry_run {
        // Synchronous (the plan is the answer), but bounded: a plan that takes longer is made
        // by the restore's job instead.
        let limit = state.limits.plan_timeout;
        let setup = restore::HookSetup {
            registry: state.jobs.hooks(),
            restore_id: None,
        };
        let planned = restore::plan_with(&state.store, site.client(), &req, setup);
        let plan = tokio::time::timeout(limit, planned).await.map_err(|_| {
            ApiError::new(
                ErrorKind::Timeout,
                "plan_timeout",
                format!(
                    "planning took longer than {} s; start the restore without --dry-run: \
                         its job plans it",
                    limit.as_secs_f32()
                ),
            )
        })?;
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => match corrupt_blob(&e) {
                Some(first) => return Err(backup_corrupt(&state, req.backup_id, first).await),
                None => return Err(restore_error(&site_name, &e)),
            },
        };
        return Ok(Json(DryRun {
            dry_run: true,
            plan,
        })
        .into_response());
    }
    // Planned by its job (seconds for a large backup): stored without a plan for now.
    let options = serde_json::to_value(&req).map_err(|e| ApiError::internal(&e))?;
    let id = state
        .store
        .create_restore(NewRestore {
            backup_id: req.backup_id,
            target_site: site_name.clone(),
            options,
            plan: Value::Null,
            details: req.details(&backup.site, specific_types),
            created_at: state.clock.now(),
        })
        .await?;
    let job_id = match state.jobs.enqueue_restore(id, &site_name).await {
        Ok(job) => job,
        Err(e) => {
            // No job will run it: end the row rather than leave it pending forever.
            let end = RestoreUpdate {
                status: Some(RestoreStatus::Error),
                result: Some(Some(format!("not started: {e}"))),
                ended_at: Some(Some(state.clock.now())),
                ..Default::default()
            };
            let _ = state.store.update_restore(id, end).await;
            return Err(enqueue_error(e));
        }
    };
    tracing::info!(restore_id = id, job_id, site = %site_name, "Restore started.");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/restores/{id}"))],
        Json(RestoreStarted {
            restore_id: id,
            job_id,
            status: RestoreStatus::Pending,
        }),
    )
        .into_response())
}

/// The destination the request asks for; the problems go to `fields`.
fn destination(
    body: &StartRestoreRequest,
    fields: &mut BTreeMap<String, String>,
) -> Option<Destination> {
    let bad_key = |k: &str| {
        format!(
            "{k:?} is not a schema key: use 2 to 10 uppercase letters and digits, starting \
             with a letter"
        )
    };
    match body.to.as_str() {
        TO_NEW_SCHEMA | "new_schema" => {
            let name = body.name.trim().to_owned();
            if name.is_empty() {
                fields.insert("name".to_owned(), "must not be empty".to_owned());
            } else if name.chars().count() > 255 {
                fields.insert("name".to_owned(), "longer than 255 characters".to_owned());
            }
            if !valid_schema_key(&body.key) {
                fields.insert("key".to_owned(), bad_key(&body.key));
            }
            for (field, set) in [
                ("schema", body.schema.is_some()),
                ("duplicates", body.duplicates),
            ] {
                if set {
                    fields.insert(field.to_owned(), format!("only with \"{TO_EXISTING}\""));
                }
            }
            fields.is_empty().then(|| Destination::NewSchema {
                name,
                key: body.key.clone(),
            })
        }
        TO_EXISTING | "existing_schema" => {
            match body.schema.as_deref() {
                None => {
                    fields.insert(
                        "schema".to_owned(),
                        "the key of the existing schema is required".to_owned(),
                    );
                }
                Some(k) if !valid_schema_key(k) => {
                    fields.insert("schema".to_owned(), bad_key(k));
                }
                Some(_) => {}
            }
            for (field, v) in [("name", &body.name), ("key", &body.key)] {
                if !v.is_empty() {
                    fields.insert(
                        field.to_owned(),
                        format!("only with \"{TO_NEW_SCHEMA}\"; use \"schema\" for the key"),
                    );
                }
            }
            let key = body.schema.clone()?;
            fields.is_empty().then_some(Destination::ExistingSchema {
                key,
                duplicates: body.duplicates,
            })
        }
        other => {
            fields.insert(
                "to".to_owned(),
                format!(
                    "{other:?} is not a destination; use \"{TO_NEW_SCHEMA}\" or \"{TO_EXISTING}\""
                ),
            );
            None
        }
    }
}

/// The first corrupt blob behind `e` (its hash and problem), if a corrupt blob caused it.
pub(super) fn corrupt_blob(
    e: &(dyn std::error::Error + 'static),
) -> Option<(String, crate::store::BlobProblem)> {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(crate::store::Error::Corrupt { hash, problem, .. }) =
            c.downcast_ref::<crate::store::Error>()
        {
            return Some((hash.clone(), *problem));
        }
        cause = c.source();
    }
    None
}

/// The 409 `backup_corrupt` answer for `backup`, whose blob `first` was found bad: every bad
/// blob is named (up to a few, then a count).
pub(super) async fn backup_corrupt(
    state: &ApiState,
    backup: i64,
    first: (String, crate::store::BlobProblem),
) -> ApiError {
    const NAMED: usize = 10;
    let mut bad: Vec<(String, crate::store::BlobProblem)> = match state.store.verify(backup).await {
        Ok(bad) => bad.into_iter().map(|b| (b.hash, b.problem)).collect(),
        Err(_) => Vec::new(),
    };
    if !bad.iter().any(|(hash, _)| *hash == first.0) {
        bad.insert(0, first);
    }
    let mut named: Vec<String> = bad
        .iter()
        .take(NAMED)
        .map(|(hash, problem)| format!("{hash} ({problem})"))
        .collect();
    if bad.len() > NAMED {
        named.push(format!("and {} more", bad.len() - NAMED));
    }
    ApiError::conflict(
        "backup_corrupt",
        format!(
            "backup {backup} is corrupt, {} bad blob(s): {}; `backups verify {backup}` lists them",
            bad.len(),
            named.join(", ")
        ),
    )
}

/// Maps a planning or creation failure.
fn restore_error(site: &str, e: &restore::Error) -> ApiError {
    match e {
        restore::Error::Destination { .. } => ApiError::new(
            ErrorKind::Validation,
            "destination_not_found",
            crate::error::error_chain(e),
        ),
        restore::Error::Assets(a) => upstream(site, a),
        restore::Error::Refused(r) => refused(r),
        restore::Error::Types { reason, .. } => {
            ApiError::validation(BTreeMap::from([("types".to_owned(), reason.clone())]))
        }
        restore::Error::InvalidBackup { .. } => ApiError::new(
            ErrorKind::Validation,
            "backup_not_restorable",
            crate::error::error_chain(e),
        ),
        restore::Error::Store(crate::store::Error::NotFound { what, id }) => {
            ApiError::not_found("not_found", format!("{what} {id} not found"))
        }
        _ => ApiError::internal(e),
    }
}

/// 409: the restore's options cannot be used with this backup (see [`restore::Refusal`]).
fn refused(r: &restore::Refusal) -> ApiError {
    ApiError::new(ErrorKind::Conflict, r.code(), r.to_string())
}

/// `GET /v1/restores` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    site: Option<String>,
    page: Option<String>,
}

#[utoipa::path(get, path = "/v1/restores", tag = "restores", params(("site" = Option<String>, Query, description = "Only restores to this target site"), ("page" = Option<String>, Query, description = "Page number, from 1")), responses((status = 200, body = crate::api::wire::RestoreList), crate::api::openapi::ApiErrors))]
pub(super) async fn list(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<RestoreList>> {
    let page = match q.page.filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => p.parse::<u64>().ok().filter(|&p| p >= 1).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_query",
                format!("page: {p:?} is not a positive integer"),
            )
        })?,
    };
    let site = q.site.filter(|s| !s.is_empty());
    let rows = state
        .store
        .list_restores(
            site.as_deref(),
            PageRequest {
                limit: PAGE_SIZE,
                offset: (page - 1).saturating_mul(u64::from(PAGE_SIZE)),
            },
        )
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push(restore_view::view(&state, r).await);
    }
    Ok(Json(RestoreList {
        items,
        page,
        per_page: PAGE_SIZE,
    }))
}

#[utoipa::path(get, path = "/v1/restores/{id}", tag = "restores", params(("id" = String, Path, description = "Restore id (a positive integer)")), responses((status = 200, body = crate::api::wire::RestoreDetail), crate::api::openapi::ApiErrors))]
pub(super) async fn show(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RestoreDetail>> {
    let id = parse_id("restore", &id)?;
    let row = state.store.get_restore(id).await?;
    Ok(Json(restore_view::detail(&state, &row).await))
}

#[utoipa::path(post, path = "/v1/restores/{id}/resume", tag = "restores", params(("id" = String, Path, description = "Restore id (a positive integer)")), responses((status = 202, description = "Queued again; it continues from what exists on the target", body = crate::api::wire::RestoreStarted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(restore_id = %id))]
pub(super) async fn resume(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    use crate::jobs::ResumeError;
    let id = parse_id("restore", &id)?;
    let job_id = state.jobs.resume_restore(id).await.map_err(|e| match e {
        ResumeError::Completed(_) => ApiError::conflict("restore_completed", e.to_string()),
        ResumeError::Active(..) => ApiError::conflict("restore_active", e.to_string()),
        ResumeError::SiteGone { .. } => ApiError::conflict("target_site_gone", e.to_string()),
        ResumeError::BackupGone { .. } => ApiError::conflict("backup_gone", e.to_string()),
        ResumeError::Enqueue(e) => enqueue_error(e),
        ResumeError::Store(e) => ApiError::from(e),
    })?;
    let status = state.store.get_restore(id).await?.status;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/restores/{id}"))],
        Json(RestoreStarted {
            restore_id: id,
            job_id,
            status,
        }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/restores/{id}/stop", tag = "restores", params(("id" = String, Path, description = "Restore id (a positive integer)")), responses((status = 200, description = "Stopped before it started", body = crate::api::wire::StopAnswer), (status = 202, description = "The stage in flight ends cleanly", body = crate::api::wire::StopAnswer), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(restore_id = %id))]
pub(super) async fn stop(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = parse_id("restore", &id)?;
    match state.jobs.stop_restore(id).await? {
        StopOutcome::StoppedPending => Ok(Json(StopAnswer {
            restore_id: id,
            status: StopStatus::Stopped,
        })
        .into_response()),
        StopOutcome::Stopping => Ok((
            StatusCode::ACCEPTED,
            Json(StopAnswer {
                restore_id: id,
                status: StopStatus::Stopping,
            }),
        )
            .into_response()),
        StopOutcome::AlreadyEnded(status) => Err(ApiError::conflict(
            "restore_ended",
            format!("restore {id} has already ended ({status})"),
        )),
    }
}

/// The full log as one JSON array, streamed a chunk of entries at a time so a log of a
/// million objects never sits in memory.
#[utoipa::path(get, path = "/v1/restores/{id}/log", tag = "restores", params(("id" = String, Path, description = "Restore id (a positive integer)")), responses((status = 200, description = "The full per-object log: `[{\"ObjectKey\", \"Result\", \"Message\"}]`", body = Vec<Object>), crate::api::openapi::ApiErrors))]
pub(super) async fn log(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = parse_id("restore", &id)?;
    state.store.get_restore(id).await?;
    let store = state.store.clone();
    // State: the last seq sent, and whether the array is open / closed.
    let chunks = futures::stream::unfold((0i64, false, false), move |(after, open, closed)| {
        let store = store.clone();
        async move {
            if closed {
                return None;
            }
            let page = match store.restore_log(id, after, LOG_CHUNK).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(restore_id = id, error = %crate::error::error_chain(&e), "Streaming the restore log failed.");
                    return Some((Err(std::io::Error::other(e)), (after, open, true)));
                }
            };
            let mut out = String::new();
            if !open {
                out.push('[');
            }
            for (i, entry) in page.iter().enumerate() {
                if open || i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(entry).unwrap_or_default());
            }
            let last = page.last().map_or(after, |e| e.seq);
            let done = page.len() < LOG_CHUNK;
            if done {
                out.push_str("]\n");
            }
            let open = open || !page.is_empty();
            Some((Ok::<_, std::io::Error>(out), (last, open, done)))
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"restore-{id}-log.json\""),
            ),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_keys_follow_the_cloud_rule() {
        for ok in ["AB", "ITSM2", "A1234567890"[..10].as_ref()] {
            assert!(valid_schema_key(ok), "{ok}");
        }
        for bad in ["A", "itsm", "1AB", "AB-C", "ABCDEFGHIJK", ""] {
            assert!(!valid_schema_key(bad), "{bad}");
        }
        assert_eq!(
            restore_view::stage_name("object_entries").as_deref(),
            Some("Restoring object entries")
        );
        assert_eq!(restore_view::stage_name("nope"), None);
    }
}
