//! `GET /metrics`: the daemon's figures in the Prometheus text format (see `crate::metrics`),
//! gathered at scrape time from the store, each site's client, the scheduler and the job
//! runner. Unversioned, as Prometheus expects, and behind the same auth as the rest of the
//! API (the TCP listener wants the bearer token; Prometheus sends it with
//! `authorization: {credentials: ...}`).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::ApiState;
use super::error::{ApiError, ApiResult};
use crate::metrics::{CONTENT_TYPE, SiteStats, Snapshot, render};

pub(super) fn router() -> Router<ApiState> {
    Router::new().route("/metrics", get(metrics))
}

#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text format (OpenMetrics)", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String), crate::api::openapi::ApiErrors))]
pub(super) async fn metrics(State(state): State<ApiState>) -> ApiResult<impl IntoResponse> {
    let snapshot = Snapshot {
        figures: state.store.figures().await?,
        sites: state
            .sites
            .list()
            .iter()
            .map(|s| SiteStats {
                site: s.info().name.clone(),
                stats: s.stats(),
            })
            .collect(),
        schedules: state.schedules.list().await,
        jobs: state.jobs.metrics().clone(),
    };
    let text = render(&snapshot).map_err(|e| ApiError::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}
