//! `/v1/backups`: start a backup, list with filters and paging, show, delete, verify (the
//! export stream is in `export`). Backups and verifications run as jobs: their routes answer
//! 202 + `Location: /v1/jobs/{id}` once the job is queued, after checking what can be checked
//! at once (the backup exists).
//!
//! Listing follows the product's rule: 20 a page, newest first, and without a date filter only
//! the newest [`NEWEST_WITHOUT_DATES`] backups are reachable (a date range reaches the rest).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::ApiState;
use super::dates::{self, End};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorKind, parse_id};
use super::sites::upstream;
use super::wire::{
    BackupDeleted, BackupDetail, BackupList, BackupObjectTypes, JobStarted, StartBackupRequest,
};
use crate::jobs::{BackupSpec, EnqueueError, JobSpec, VerifySpec};
use crate::store::{BackupFilter, BackupType, JobId, JobStatus, PageRequest, kind};

/// Backups per page.
pub const PAGE_SIZE: u32 = 20;
/// Without a date filter, only this many of the newest backups are listed.
pub const NEWEST_WITHOUT_DATES: u64 = 50;
/// Longest accepted description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 2000;

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/backups", get(list).post(start))
        .route("/v1/backups/{id}", get(show).delete(delete))
        .route("/v1/backups/{id}/verify", post(verify))
        .route("/v1/backups/{id}/objecttypes", get(object_types))
        .route("/v1/backups/{id}/export", get(super::export::export))
}

#[utoipa::path(post, path = "/v1/backups", tag = "backups", request_body = crate::api::wire::StartBackupRequest, responses((status = 202, description = "Queued; `Location: /v1/jobs/{id}`", body = crate::api::wire::JobStarted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %body.site, schema = %body.schema))]
pub(super) async fn start(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<StartBackupRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut fields = BTreeMap::new();
    let site = state.sites.get(&body.site);
    if site.is_none() {
        fields.insert(
            "site".to_owned(),
            format!("no site named {:?} is configured", body.site),
        );
    }
    if body.schema.trim().is_empty() {
        fields.insert("schema".to_owned(), "must not be empty".to_owned());
    }
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        fields.insert(
            "description".to_owned(),
            format!("longer than {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    let backup_type = match body.backup_type.as_deref() {
        None => BackupType::Manual,
        Some(t) => t.parse().unwrap_or_else(|_| {
            fields.insert(
                "type".to_owned(),
                format!("{t:?} is not \"manual\" or \"scheduled\""),
            );
            BackupType::Manual
        }),
    };
    let (Some(site), true) = (site, fields.is_empty()) else {
        return Err(ApiError::validation(fields));
    };
    if !schema_exists(&state, &site, &body.schema).await? {
        let mut fields = BTreeMap::new();
        fields.insert(
            "schema".to_owned(),
            format!(
                "site {} has no schema with key {:?}",
                body.site, body.schema
            ),
        );
        return Err(ApiError::validation(fields));
    }
    // A schedule of this schema (config or API, enabled or not) sets the cycle its manual
    // backups share; without one the daemon's `[backup] full_every` does, when the job runs.
    let key = crate::schedules::ScheduleKey::new(&body.site, &body.schema);
    let full_every = state.schedules.get(&key).await.map_or(0, |s| s.full_every);
    let spec = JobSpec::Backup(BackupSpec {
        site: body.site,
        schema: body.schema,
        description: body.description.filter(|d| !d.is_empty()),
        backup_type,
        schedule: None,
        full: body.full,
        full_every,
    });
    let id = state.jobs.enqueue(&spec).await.map_err(enqueue_error)?;
    Ok(job_started(id))
}

/// Whether the site has a schema with this key: the synced list answers without a request;
/// otherwise ask the site, so a schema created since the last sync can be backed up at once.
pub(super) async fn schema_exists(
    state: &ApiState,
    site: &crate::sites::Site,
    key: &str,
) -> ApiResult<bool> {
    let name = site.info().name.clone();
    let synced = state.store.list_synced_schemas(Some(&name)).await?;
    if synced.iter().any(|s| s.schema_key == key) {
        return Ok(true);
    }
    let live = site
        .client()
        .list_schemas()
        .await
        .map_err(|e| upstream(&name, &e))?;
    Ok(live.iter().any(|s| s.key() == key))
}

/// `GET /v1/backups` query. Every value is a string so that bad values get our messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    site: Option<String>,
    schema: Option<String>,
    #[serde(rename = "type")]
    backup_type: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

/// Empty query values (`?site=`) mean "no filter", as an HTML form would send them.
fn present(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

#[utoipa::path(get, path = "/v1/backups", tag = "backups", params(("site" = Option<String>, Query, description = "Only this site"), ("schema" = Option<String>, Query, description = "Only this schema key"), ("type" = Option<String>, Query, description = "manual or scheduled"), ("from" = Option<String>, Query, description = "YYYY-MM-DD or RFC 3339"), ("to" = Option<String>, Query, description = "YYYY-MM-DD (inclusive) or RFC 3339"), ("page" = Option<String>, Query, description = "Page number, from 1")), responses((status = 200, description = "20 a page, newest first; without dates the newest 50", body = crate::api::wire::BackupList), crate::api::openapi::ApiErrors))]
pub(super) async fn list(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<BackupList>> {
    let bad = |code, msg: String| ApiError::bad_request(code, msg);
    let page = match present(q.page) {
        None => 1,
        Some(p) => p.parse::<u64>().ok().filter(|&p| p >= 1).ok_or_else(|| {
            bad(
                "invalid_query",
                format!("page: {p:?} is not a positive integer"),
            )
        })?,
    };
    let backup_type = present(q.backup_type)
        .map(|t| {
            t.parse::<BackupType>().map_err(|_| {
                bad(
                    "invalid_query",
                    format!("type: {t:?} is not \"manual\" or \"scheduled\""),
                )
            })
        })
        .transpose()?;
    let from = present(q.from)
        .map(|d| dates::parse("from", &d, End::From))
        .transpose()
        .map_err(|m| bad("invalid_date", m))?;
    let to = present(q.to)
        .map(|d| dates::parse("to", &d, End::To))
        .transpose()
        .map_err(|m| bad("invalid_date", m))?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(bad("invalid_date", "from must be before to".to_owned()));
    }
    let capped = from.is_none() && to.is_none();
    let filter = BackupFilter {
        site: present(q.site),
        schema_key: present(q.schema),
        backup_type,
        from,
        to,
    };
    let offset = (page - 1).saturating_mul(u64::from(PAGE_SIZE));
    let limit = if capped {
        // Past the cap a page is empty; just short of it, it is shortened.
        u64::from(PAGE_SIZE).min(NEWEST_WITHOUT_DATES.saturating_sub(offset))
    } else {
        u64::from(PAGE_SIZE)
    };
    let result = state
        .store
        .list_backups(
            filter,
            PageRequest {
                // `limit` is at most PAGE_SIZE, so it fits.
                limit: u32::try_from(limit).unwrap_or(PAGE_SIZE),
                offset,
            },
        )
        .await?;
    let total = if capped {
        result.total.min(NEWEST_WITHOUT_DATES)
    } else {
        result.total
    };
    // Past the cap the page is empty, whatever the store makes of "limit 0".
    let items = if limit == 0 { Vec::new() } else { result.items };
    Ok(Json(BackupList {
        items,
        page,
        per_page: PAGE_SIZE,
        total,
        pages: total.div_ceil(u64::from(PAGE_SIZE)),
        matching: result.total,
    }))
}

/// The main-pass and background kinds whose entry counts `show` reports.
const SHOWN_KINDS: [&str; 10] = [
    kind::SCHEMA,
    kind::CONFIG,
    kind::STATUS_TYPE,
    kind::REFERENCE_TYPE,
    kind::ICON,
    kind::OBJECT_TYPE,
    kind::ATTRIBUTE,
    kind::OBJECT,
    kind::HISTORY,
    kind::ISSUE,
];

#[utoipa::path(get, path = "/v1/backups/{id}", tag = "backups", params(("id" = String, Path, description = "Backup id (a positive integer)")), responses((status = 200, body = crate::api::wire::BackupDetail), crate::api::openapi::ApiErrors))]
pub(super) async fn show(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BackupDetail>> {
    let id = parse_id("backup", &id)?;
    let (backup, entries) = state
        .store
        .run(move |s| {
            let backup = s.get_backup(id)?;
            let mut entries = BTreeMap::new();
            for k in SHOWN_KINDS {
                entries.insert(k.to_owned(), s.count_entries(id, k)?);
            }
            Ok((backup, entries))
        })
        .await?;
    Ok(Json(BackupDetail { backup, entries }))
}

#[utoipa::path(delete, path = "/v1/backups/{id}", tag = "backups", params(("id" = String, Path, description = "Backup id (a positive integer)")), responses((status = 200, body = crate::api::wire::BackupDeleted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(backup_id = %id))]
pub(super) async fn delete(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BackupDeleted>> {
    let id = parse_id("backup", &id)?;
    // `delete_backup` removes backups of any status; only complete (visible) ones may go
    // through the API, so a running backup can never be pulled from under its job.
    let stats = state
        .store
        .run(move |s| {
            s.get_backup(id)?;
            s.delete_backup(id)
        })
        .await?;
    tracing::info!(blobs_removed = stats.blobs_removed, "Backup deleted.");
    Ok(Json(BackupDeleted {
        deleted: id,
        blobs_removed: stats.blobs_removed,
        bytes_freed: stats.bytes_freed,
    }))
}

/// 202 + `Location` of a job just enqueued: the answer of every route that starts a job.
pub(super) fn job_started(id: JobId) -> impl IntoResponse {
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/jobs/{id}"))],
        Json(JobStarted {
            job_id: id,
            status: JobStatus::Queued,
        }),
    )
}

/// Maps a failure to enqueue a job.
pub(super) fn enqueue_error(e: EnqueueError) -> ApiError {
    match e {
        EnqueueError::InProgress { .. } => {
            ApiError::new(ErrorKind::Conflict, "backup_in_progress", e.to_string())
        }
        EnqueueError::ShuttingDown => {
            ApiError::new(ErrorKind::ShuttingDown, "shutting_down", e.to_string())
        }
        EnqueueError::Store(e) => ApiError::from(e),
    }
}

/// Verifies a backup as a job (re-hashing every blob of a large backup takes a while).
#[utoipa::path(post, path = "/v1/backups/{id}/verify", tag = "backups", params(("id" = String, Path, description = "Backup id (a positive integer)")), responses((status = 202, description = "Queued", body = crate::api::wire::JobStarted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(backup_id = %id))]
pub(super) async fn verify(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_id("backup", &id)?;
    state.store.get_backup(id).await?;
    let spec = JobSpec::Verify(VerifySpec { backup_id: id });
    let job = state.jobs.enqueue(&spec).await.map_err(enqueue_error)?;
    Ok(job_started(job))
}

/// The backup's object types as a tree with object counts, for a person picking `--types`.
/// Reads every object of the backup once (its type), so it takes a moment on a large backup.
#[utoipa::path(get, path = "/v1/backups/{id}/objecttypes", tag = "backups", params(("id" = String, Path, description = "Backup id (a positive integer)")), responses((status = 200, body = crate::api::wire::BackupObjectTypes), crate::api::openapi::ApiErrors))]
pub(super) async fn object_types(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BackupObjectTypes>> {
    let id = parse_id("backup", &id)?;
    let backup = state.store.get_backup(id).await?;
    let types = match crate::restore::type_tree(&state.store, id).await {
        Ok(t) => t,
        Err(crate::restore::Error::Store(e)) => return Err(e.into()),
        Err(e) => match super::restores::corrupt_blob(&e) {
            Some(first) => return Err(super::restores::backup_corrupt(&state, id, first).await),
            None => return Err(ApiError::internal(&e)),
        },
    };
    Ok(Json(BackupObjectTypes {
        backup_id: id,
        schema_key: backup.schema_key,
        types,
    }))
}
