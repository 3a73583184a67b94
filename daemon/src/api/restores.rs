//! `/v1/restores`: start a restore (or plan it as a dry run), the restore history, one
//! restore's details, STOP, and the full per-object log as a JSON download. The live events
//! (SSE) are in `events`.
//!
//! A restore is planned before anything is stored: a dry run returns the plan and changes
//! nothing; a real start stores the restore row with that plan and enqueues its job (202 +
//! `Location`). The job runner queues restores per target site (see `jobs::restore`).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorKind, parse_id};
use super::sites::upstream;
use crate::jobs::{EnqueueError, StopOutcome};
use crate::restore::{self, Destination, RestoreRequest, Stage};
use crate::store::{PageRequest, Restore, RestoreStatus, RestoreUpdate};

/// Restores per page of the history.
pub const PAGE_SIZE: u32 = 50;
/// Log entries read from the store per chunk of the download.
const LOG_CHUNK: usize = 2000;
/// `to` of a restore into a new schema (the API also takes the snake_case spelling).
const TO_NEW_SCHEMA: &str = "new-schema";

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/restores", get(list).post(start))
        .route("/v1/restores/{id}", get(show))
        .route("/v1/restores/{id}/stop", post(stop))
        .route("/v1/restores/{id}/log", get(log))
        .merge(super::events::router())
}

/// `POST /v1/restores` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRestore {
    backup_id: i64,
    /// Validated by hand so a wrong value is a 422 with a field message.
    to: String,
    name: String,
    key: String,
    /// Target site; default: the backup's own site.
    #[serde(default)]
    site: Option<String>,
    /// Plan only: answer with the plan, change nothing.
    #[serde(default)]
    dry_run: bool,
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

#[tracing::instrument(skip_all, err(level = "warn"), fields(backup_id = body.backup_id, dry_run = body.dry_run))]
async fn start(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<StartRestore>,
) -> ApiResult<Response> {
    let mut fields = BTreeMap::new();
    if !matches!(body.to.as_str(), TO_NEW_SCHEMA | "new_schema") {
        fields.insert(
            "to".to_owned(),
            format!(
                "{:?} is not a destination this build supports; use \"{TO_NEW_SCHEMA}\"",
                body.to
            ),
        );
    }
    let name = body.name.trim().to_owned();
    if name.is_empty() {
        fields.insert("name".to_owned(), "must not be empty".to_owned());
    } else if name.chars().count() > 255 {
        fields.insert("name".to_owned(), "longer than 255 characters".to_owned());
    }
    if !valid_schema_key(&body.key) {
        fields.insert(
            "key".to_owned(),
            format!(
                "{:?} is not a schema key: use 2 to 10 uppercase letters and digits, \
                 starting with a letter",
                body.key
            ),
        );
    }
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
    let (Some(site), true) = (site, fields.is_empty()) else {
        return Err(ApiError::validation(fields));
    };
    let site_name = site.info().name.clone();
    let req = RestoreRequest {
        backup_id: body.backup_id,
        target_site: site_name.clone(),
        destination: Destination::NewSchema {
            name,
            key: body.key.clone(),
        },
    };
    let plan = restore::plan(&state.store, site.client(), &req)
        .await
        .map_err(|e| restore_error(&site_name, &e))?;
    if body.dry_run {
        return Ok(Json(json!({ "dry_run": true, "plan": plan })).into_response());
    }
    let id = restore::create(&state.store, &req, &plan, &crate::clock::system())
        .await
        .map_err(|e| restore_error(&site_name, &e))?;
    let job_id = match state.jobs.enqueue_restore(id, &site_name).await {
        Ok(job) => job,
        Err(e) => {
            // No job will run it: end the row rather than leave it pending forever.
            let end = RestoreUpdate {
                status: Some(RestoreStatus::Error),
                result: Some(Some(format!("not started: {e}"))),
                ..Default::default()
            };
            let _ = state.store.update_restore(id, end).await;
            return Err(match e {
                EnqueueError::ShuttingDown => {
                    ApiError::new(ErrorKind::ShuttingDown, "shutting_down", e.to_string())
                }
                EnqueueError::Store(s) => ApiError::from(s),
                other => ApiError::internal(&other),
            });
        }
    };
    tracing::info!(restore_id = id, job_id, site = %site_name, "Restore started.");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/restores/{id}"))],
        Json(json!({ "restore_id": id, "job_id": job_id, "status": "pending" })),
    )
        .into_response())
}

/// Maps a planning or creation failure.
fn restore_error(site: &str, e: &restore::Error) -> ApiError {
    match e {
        restore::Error::Assets(a) => upstream(site, a),
        restore::Error::InvalidBackup { .. } => ApiError::new(
            ErrorKind::Validation,
            "backup_not_restorable",
            super::error_chain(e),
        ),
        restore::Error::Store(crate::store::Error::NotFound { what, id }) => {
            ApiError::not_found("not_found", format!("{what} {id} not found"))
        }
        _ => ApiError::internal(e),
    }
}

/// `GET /v1/restores` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    site: Option<String>,
    page: Option<String>,
}

async fn list(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
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
    let items: Vec<Value> = rows.iter().map(|r| summary(&state, r)).collect();
    Ok(Json(
        json!({ "items": items, "page": page, "per_page": PAGE_SIZE }),
    ))
}

/// The display name of a stage key ("Restoring object entries").
fn stage_name(key: &str) -> Option<String> {
    serde_json::from_value::<Stage>(Value::String(key.to_owned()))
        .ok()
        .map(|s| s.to_string())
}

/// One restore as the history lists it.
fn summary(state: &ApiState, r: &Restore) -> Value {
    let source = &r.plan["source"];
    let dest = &r.options["destination"];
    let site_url = state
        .sites
        .get(&r.target_site)
        .map(|s| s.info().site_url.clone());
    // Where the schema opens in Jira; known once the schema stage created it.
    let link = match (&site_url, &r.new_schema_id) {
        (Some(url), Some(id)) => json!(format!("{url}/jira/servicedesk/assets/object-schema/{id}")),
        _ => Value::Null,
    };
    let stage_name = r.stage.as_deref().and_then(stage_name);
    let status_text = match (r.status, &stage_name) {
        (RestoreStatus::InProgress, Some(s)) => format!("in progress ({s})"),
        (RestoreStatus::InProgress, None) => "in progress".to_owned(),
        (other, _) => other.as_str().to_owned(),
    };
    json!({
        "id": r.id,
        "backup_id": r.backup_id,
        "source": {
            "site": source["site"],
            "schema_id": source["id"],
            "schema_key": source["key"],
            "schema_name": source["name"],
            "objects": source["objects"],
        },
        "destination": {
            "kind": dest["type"],
            "site": r.target_site,
            "schema_key": r.new_schema_key.clone().map_or_else(|| dest["key"].clone(), Value::String),
            "schema_name": dest["name"],
            "schema_id": r.new_schema_id,
            "link": link,
        },
        "status": r.status.as_str(),
        "stage": r.stage,
        "stage_name": stage_name,
        "status_text": status_text,
        "created_at": rfc3339(r.created_at),
        "started_at": r.started_at.map(rfc3339),
        "ended_at": r.ended_at.map(rfc3339),
        "result": r.result,
    })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

async fn show(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id("restore", &id)?;
    let row = state.store.get_restore(id).await?;
    let mut v = summary(&state, &row);
    // Per stage in execution order; stages not started yet show their planned size as 0/0.
    let counts: Vec<Value> = Stage::ALL
        .iter()
        .map(|s| {
            let c = &row.counts[s.key()];
            json!({
                "stage": s.key(),
                "name": s.to_string(),
                "done": c["done"].as_u64().unwrap_or(0),
                "total": c["total"].as_u64().unwrap_or(0),
                "finished": c["finished"].as_bool().unwrap_or(false),
                "started": !c.is_null(),
            })
        })
        .collect();
    v["counts"] = json!(counts);
    v["options"] = row.options.clone();
    v["plan"] = json!({
        "objects": row.plan["order"]["objects"],
        "conflict": row.plan["conflict"],
        "requests": row.plan["requests"]["total"],
    });
    // Between checkpoints the row lags; the live feed has the latest count.
    let live = state.jobs.restore_feed(id).and_then(|f| f.progress());
    v["progress"] = match live {
        Some((stage, done, total)) if row.status == RestoreStatus::InProgress => json!({
            "stage": stage,
            "stage_name": stage_name(&stage),
            "done": done,
            "total": total,
        }),
        _ => Value::Null,
    };
    Ok(Json(v))
}

#[tracing::instrument(skip_all, err(level = "warn"), fields(restore_id = %id))]
async fn stop(State(state): State<ApiState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let id = parse_id("restore", &id)?;
    match state.jobs.stop_restore(id).await? {
        StopOutcome::StoppedPending => {
            Ok(Json(json!({ "restore_id": id, "status": "stopped" })).into_response())
        }
        StopOutcome::Stopping => Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "restore_id": id, "status": "stopping" })),
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
async fn log(State(state): State<ApiState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
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
                    tracing::warn!(restore_id = id, error = %super::error_chain(&e), "Streaming the restore log failed.");
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
            stage_name("object_entries").as_deref(),
            Some("Restoring object entries")
        );
        assert_eq!(stage_name("nope"), None);
    }
}
