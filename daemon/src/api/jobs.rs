//! `/v1/jobs/{id}`: a job's typed view (`jobs::JobView`): status, spec, live progress
//! (`stage`, `done`, `total`), and its stored result or typed failure; every `--wait` of the
//! CLI polls it.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::ApiState;
use super::error::{ApiPath, ApiResult, parse_id};
use crate::jobs::JobView;

pub(super) fn router() -> Router<ApiState> {
    Router::new().route("/v1/jobs/{id}", get(show))
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "Job id (a positive integer)")), responses((status = 200, body = crate::api::wire::JobView), crate::api::openapi::ApiErrors))]
pub(super) async fn show(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobView>> {
    let id = parse_id("job", &id)?;
    Ok(Json(state.jobs.view(id).await?))
}
