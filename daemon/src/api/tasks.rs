//! Post-restore tasks: `POST /v1/restores/{id}/tasks` starts one (202 + `Location:
//! /v1/tasks/{id}`), `GET /v1/restores/{id}/tasks` lists a restore's tasks, `GET
//! /v1/tasks/{id}` shows one with its per-item report and, while it runs, its live progress.
//! The task runs as a job in its restore's target-site queue (`jobs::tasks`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::ApiState;
use super::backups::enqueue_error;
use super::error::{ApiError, ApiJson, ApiPath, ApiResult, parse_id};
use super::wire::{TaskDetail, TaskList, TaskRequest, TaskStarted, TaskStatus, TaskView};
use crate::store::Task;

pub(super) fn router() -> Router<ApiState> {
    Router::new()
        .route("/v1/restores/{id}/tasks", get(list).post(start))
        .route("/v1/tasks/{id}", get(show))
}

/// A task's view with its job's live progress while it runs.
pub(super) async fn view(state: &ApiState, t: &Task) -> TaskView {
    let mut v = TaskView::from_row(t);
    if t.status == TaskStatus::InProgress
        && let Some(job) = t.job_id
    {
        v.progress = state.jobs.view(job).await.ok().and_then(|j| j.progress);
    }
    v
}

/// The views of a restore's tasks, oldest first.
pub(super) async fn of_restore(state: &ApiState, restore: i64) -> ApiResult<Vec<TaskView>> {
    let rows = state.store.list_tasks(Some(restore)).await?;
    let mut items = Vec::with_capacity(rows.len());
    for t in &rows {
        items.push(view(state, t).await);
    }
    Ok(items)
}

#[utoipa::path(post, path = "/v1/restores/{id}/tasks", tag = "tasks", params(("id" = String, Path, description = "Restore id (a positive integer)")), request_body = crate::api::wire::TaskRequest, responses((status = 202, description = "Stored and queued; `Location: /v1/tasks/{id}`", body = crate::api::wire::TaskStarted), crate::api::openapi::ApiErrors))]
#[tracing::instrument(skip_all, err(level = "warn"), fields(restore_id = %id))]
pub(super) async fn start(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<TaskRequest>,
) -> ApiResult<Response> {
    let id = parse_id("restore", &id)?;
    if let Err(message) = request.check() {
        let fields = [("options".to_owned(), message)].into_iter().collect();
        return Err(ApiError::validation(fields));
    }
    let restore = state.store.get_restore(id).await?;
    let (task_id, job_id) = state
        .jobs
        .start_task(&restore, &request)
        .await
        .map_err(enqueue_error)?;
    tracing::info!(task_id, job_id, kind = %request.kind(), "Task started.");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/tasks/{task_id}"))],
        Json(TaskStarted {
            task_id,
            job_id,
            restore_id: id,
            kind: request.kind().as_str().to_owned(),
            status: TaskStatus::Pending,
        }),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/restores/{id}/tasks", tag = "tasks", params(("id" = String, Path, description = "Restore id (a positive integer)")), responses((status = 200, body = crate::api::wire::TaskList), crate::api::openapi::ApiErrors))]
pub(super) async fn list(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskList>> {
    let id = parse_id("restore", &id)?;
    state.store.get_restore(id).await?;
    Ok(Json(TaskList {
        items: of_restore(&state, id).await?,
    }))
}

#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path, description = "Task id (a positive integer)")), responses((status = 200, body = crate::api::wire::TaskDetail), crate::api::openapi::ApiErrors))]
pub(super) async fn show(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<TaskDetail>> {
    let id = parse_id("task", &id)?;
    let t = state.store.get_task(id).await?;
    let items = state.store.task_items(id).await?;
    Ok(Json(TaskDetail {
        view: view(&state, &t).await,
        items,
    }))
}
