//! `/v1/schedules`: list the schedules with their next and last firing and the result of
//! their last backup, add or change one, remove one, fire one now; and
//! `POST /v1/backups/prune`, which applies the schedules' retention (or shows, as a dry run,
//! what it would keep, by which rule, and remove).
//!
//! Schedules of the config file are listed like the others but cannot be changed or removed
//! here (409 `schedule_in_config`), as with sites.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use super::ApiState;
use super::backups::{job_started, schema_exists};
use super::error::{ApiError, ApiJson, ApiPath, ApiResult, ErrorKind};
use super::wire::{
    JobOutcome, JobStatus, LastResult, PruneReport, PruneRequest, RunResult, ScheduleList,
    SchedulePrune, ScheduleRemoved, ScheduleView, SetScheduleRequest,
};
use crate::schedules::{
    Origin, Policy, QueueRefusal, RemoveError, RunError, ScheduleEntry, ScheduleInput, ScheduleKey,
    SetError, prune,
};

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/schedules", get(list).post(set))
        .route("/v1/schedules/{site}/{schema}", delete(remove))
        .route("/v1/schedules/{site}/{schema}/run", post(run))
        .route("/v1/backups/prune", post(prune_backups))
}

#[utoipa::path(get, path = "/v1/schedules", tag = "schedules", responses((status = 200, description = "Every schedule with its next and last firing and last result", body = crate::api::wire::ScheduleList), crate::api::openapi::ApiErrors))]
pub(super) async fn list(State(state): State<ApiState>) -> ApiResult<Json<ScheduleList>> {
    let entries = state.schedules.list().await;
    let figures = state.store.figures().await?;
    let mut items = Vec::with_capacity(entries.len());
    for e in entries {
        let failed = figures
            .scheduled_failures
            .get(&(e.schedule.key.site.clone(), e.schedule.key.schema.clone()))
            .copied()
            .unwrap_or(0);
        items.push(view(&state, e, failed).await);
    }
    Ok(Json(ScheduleList { items }))
}

/// The API's view of a schedule: its state and, read from the job queue, how the backup of
/// its last firing stands.
async fn view(state: &ApiState, e: ScheduleEntry, failed: u64) -> ScheduleView {
    let last_result = match e.state.last_job_id {
        Some(id) => match state.jobs.view(id).await {
            Ok(job) => Some(LastResult {
                job_id: id,
                status: match job.status {
                    JobStatus::Queued => RunResult::Queued,
                    JobStatus::Running => RunResult::Running,
                    JobStatus::Done => RunResult::Succeeded,
                    JobStatus::Failed => RunResult::Failed,
                },
                attempts: job.attempts,
                backup_id: match &job.result {
                    Some(JobOutcome::Backup(b)) => Some(b.backup.id),
                    _ => None,
                },
                error: job.error,
                updated_at: job.updated_at,
            }),
            Err(err) => {
                tracing::warn!(job_id = id, error = %crate::error::error_chain(&err), "The job of a schedule's last firing cannot be read.");
                None
            }
        },
        None => None,
    };
    let s = e.schedule;
    ScheduleView {
        site: s.key.site,
        schema: s.key.schema,
        cron: s.timing.cron().to_owned(),
        tz: s.timing.tz().name().to_owned(),
        enabled: s.enabled,
        retention: s.policy,
        full_every: s.full_every,
        source: s.origin,
        next_fire_at: e.state.next_fire_at,
        last_fired_at: e.state.last_fired_at,
        last_reason: e.state.last_reason,
        last_firing: e.state.last_outcome,
        last_note: e.state.last_note,
        last_result,
        fired: e.state.fired,
        skipped: e.state.skipped,
        failed,
    }
}

#[utoipa::path(post, path = "/v1/schedules", tag = "schedules", request_body = crate::api::wire::SetScheduleRequest, responses((status = 200, description = "Stored; `Location` names it", body = crate::api::wire::ScheduleView), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(site = %body.site, schema = %body.schema))]
pub(super) async fn set(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<SetScheduleRequest>,
) -> ApiResult<impl IntoResponse> {
    let site = state.sites.get(&body.site);
    let input = ScheduleInput {
        site: body.site.clone(),
        schema: body.schema.clone(),
        cron: body.cron,
        tz: body.tz,
        enabled: body.enabled,
        policy: Policy {
            keep_last: body.keep_last.unwrap_or(0),
            keep_hourly: body.keep_hourly.unwrap_or(0),
            keep_daily: body.keep_daily.unwrap_or(0),
            keep_weekly: body.keep_weekly.unwrap_or(0),
            keep_monthly: body.keep_monthly.unwrap_or(0),
        },
        full_every: body.full_every,
    };
    let checked = input.check(Origin::Api);
    let mut fields = match &checked {
        Ok(_) => BTreeMap::new(),
        Err(f) => f.clone(),
    };
    if site.is_none() && !body.site.is_empty() {
        fields.insert(
            "site".to_owned(),
            format!("no site named {:?} is configured", body.site),
        );
    }
    let (Ok(schedule), Some(site), true) = (checked, site, fields.is_empty()) else {
        return Err(ApiError::validation(fields));
    };
    let key = schedule.key.clone();
    if state.schedules.get(&key).await.is_none()
        && !schema_exists(&state, &site, &key.schema).await?
    {
        let mut fields = BTreeMap::new();
        fields.insert(
            "schema".to_owned(),
            format!("site {} has no schema with key {:?}", key.site, key.schema),
        );
        return Err(ApiError::validation(fields));
    }
    let entry = state.schedules.set(schedule).await.map_err(|e| match e {
        SetError::InConfig(_) => ApiError::conflict("schedule_in_config", e.to_string()),
        SetError::Store(s) => ApiError::from(s),
    })?;
    let failed = state
        .store
        .figures()
        .await?
        .scheduled_failures
        .get(&(key.site.clone(), key.schema.clone()))
        .copied()
        .unwrap_or(0);
    Ok((
        StatusCode::OK,
        [(
            header::LOCATION,
            format!("/v1/schedules/{}/{}", key.site, key.schema),
        )],
        Json(view(&state, entry, failed).await),
    ))
}

#[utoipa::path(delete, path = "/v1/schedules/{site}/{schema}", tag = "schedules", params(("site" = String, Path, description = "Site name"), ("schema" = String, Path, description = "Schema key")), responses((status = 200, body = crate::api::wire::ScheduleRemoved), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(%site, %schema))]
pub(super) async fn remove(
    State(state): State<ApiState>,
    ApiPath((site, schema)): ApiPath<(String, String)>,
) -> ApiResult<Json<ScheduleRemoved>> {
    let key = ScheduleKey::new(site, schema);
    state.schedules.remove(&key).await.map_err(|e| match e {
        RemoveError::NotFound(_) => ApiError::not_found("schedule_not_found", e.to_string()),
        RemoveError::InConfig(_) => ApiError::conflict("schedule_in_config", e.to_string()),
        RemoveError::Store(s) => ApiError::from(s),
    })?;
    Ok(Json(ScheduleRemoved {
        site: key.site,
        schema: key.schema,
    }))
}

#[utoipa::path(post, path = "/v1/schedules/{site}/{schema}/run", tag = "schedules", params(("site" = String, Path, description = "Site name"), ("schema" = String, Path, description = "Schema key")), responses((status = 202, description = "Fired: its scheduled backup is queued", body = crate::api::wire::JobStarted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(%site, %schema))]
pub(super) async fn run(
    State(state): State<ApiState>,
    ApiPath((site, schema)): ApiPath<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let key = ScheduleKey::new(site, schema);
    match state.schedules.run_now(&key).await {
        Ok(job) => Ok(job_started(job)),
        Err(RunError::NotFound(_)) => Err(ApiError::not_found(
            "schedule_not_found",
            format!("no schedule for {key}"),
        )),
        Err(RunError::Refused(QueueRefusal::Active(job))) => Err(ApiError::conflict(
            "backup_in_progress",
            format!(
                "a backup of schema {} on site {} is already queued or running (job {job})",
                key.schema, key.site
            ),
        )),
        Err(RunError::Refused(QueueRefusal::ShuttingDown)) => Err(ApiError::new(
            ErrorKind::ShuttingDown,
            "shutting_down",
            "the daemon is shutting down",
        )),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

#[utoipa::path(post, path = "/v1/backups/prune", tag = "backups", request_body = crate::api::wire::PruneRequest, responses((status = 200, description = "Per schedule: kept (with the rules) and removed", body = crate::api::wire::PruneReport), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(dry_run = body.dry_run))]
pub(super) async fn prune_backups(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<PruneRequest>,
) -> ApiResult<Json<PruneReport>> {
    let present = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let (site, schema) = (present(&body.site), present(&body.schema));
    let chosen: Vec<ScheduleEntry> = state
        .schedules
        .list()
        .await
        .into_iter()
        .filter(|e| site.as_ref().is_none_or(|s| *s == e.schedule.key.site))
        .filter(|e| schema.as_ref().is_none_or(|s| *s == e.schedule.key.schema))
        .collect();
    if let (Some(site), Some(schema), true) = (&site, &schema, chosen.is_empty()) {
        return Err(ApiError::not_found(
            "schedule_not_found",
            format!(
                "no schedule for {site}/{schema}: only scheduled backups are pruned, by their schedule's retention"
            ),
        ));
    }
    let mut report = PruneReport {
        dry_run: body.dry_run,
        schedules: Vec::new(),
        removed: 0,
        blobs_removed: 0,
        bytes_freed: 0,
    };
    for e in chosen {
        let s = e.schedule;
        let plan = prune::plan(&state.store, &s.key, s.policy, s.timing.tz()).await?;
        report.removed += plan.remove.len() as u64;
        if !body.dry_run {
            let done = prune::execute(&state.store, &plan).await?;
            report.blobs_removed += done.blobs_removed;
            report.bytes_freed += done.bytes_freed;
            if done.removed > 0 {
                tracing::info!(schedule = %s.key, removed = done.removed, "Backups pruned.");
            }
        }
        report.schedules.push(SchedulePrune {
            site: s.key.site,
            schema: s.key.schema,
            tz: s.timing.tz().name().to_owned(),
            retention: s.policy,
            keep: plan.keep,
            remove: plan.remove,
        });
    }
    Ok(Json(report))
}
