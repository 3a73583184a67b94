//! The control API (axum): the CLI and other local clients drive the daemon through it.
//!
//! [`router`] builds the routes from one module per resource (`sites`, `schemas`, `backups`,
//! `restores` with its live `events` and its views in `restore_view`, `tasks` (post-restore
//! tasks), `jobs` with their live
//! `job_events`, `schedules` with `backups/prune`, `metrics`, and `openapi`, the API's own
//! description) and is independent of how it is served; `listen` serves it on the Unix socket and the optional
//! loopback TCP port. Routes live under `/v1/`, plus an unversioned `/healthz`. Errors are
//! always `{"error": {"code", "message"}}` (see `error`). Every request is bounded by
//! [`ApiLimits::request_timeout`] until its answer starts (streams then take their time).
//!
//! Both sides of the wire live here: [`wire`] holds every request and answer as a typed
//! struct that the handlers serialize, and [`client`] is the client of the Unix socket that
//! the CLI (and the tests) use to send and read them.

mod backups;
pub mod client;
mod dates;
mod error;
mod events;
mod export;
mod job_events;
mod jobs;
pub mod listen;
mod metrics;
pub mod openapi;
mod request_line;
mod restore_view;
mod restores;
mod schedules;
mod schemas;
mod sites;
mod tasks;
#[cfg(test)]
mod tests;
pub mod wire;
mod wire_schedules;
mod wire_tasks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;

use crate::clock::SharedClock;
use crate::jobs::Jobs;
use crate::sites::Sites;
use crate::store::AsyncStore;

pub use error::{ApiError, ApiResult, ErrorKind};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    /// The backup store.
    pub store: AsyncStore,
    /// Configured sites and their clients.
    pub sites: Arc<Sites>,
    /// The job runner.
    pub jobs: Arc<Jobs>,
    /// The scheduler.
    pub schedules: Arc<crate::schedules::Scheduler>,
    /// The daemon's clock.
    pub clock: SharedClock,
    /// Time limits of requests.
    pub limits: ApiLimits,
}

/// Time limits of the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    /// Longest time a request may take until its answer starts (a streamed body, such as live
    /// events or the full restore log, may then take as long as it needs).
    pub request_timeout: Duration,
    /// Longest time a dry run may plan; shorter than the request timeout, so that its answer
    /// says what happened rather than a generic timeout.
    pub plan_timeout: Duration,
}

impl ApiLimits {
    /// The limits for a request timeout: a dry run gets three quarters of it.
    pub fn from_request_timeout(request_timeout: Duration) -> Self {
        ApiLimits {
            request_timeout,
            plan_timeout: request_timeout.saturating_mul(3) / 4,
        }
    }
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self::from_request_timeout(crate::config::DEFAULT_REQUEST_TIMEOUT)
    }
}

/// The control API's routes over `state`, with JSON fallbacks for unknown routes and methods.
pub fn router(state: ApiState) -> Router {
    let timeout = state.limits.request_timeout;
    Router::new()
        .route("/healthz", get(healthz))
        .merge(sites::router())
        .merge(schemas::router())
        .merge(backups::router())
        .merge(restores::router())
        .merge(jobs::router())
        .merge(schedules::router())
        .merge(tasks::router())
        .merge(job_events::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            error::request_timeout,
        ))
        .layer(axum::middleware::from_fn(error::log_internal_errors))
        .with_state(state)
}

/// Whether the daemon answers (no token needed on TCP).
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, body = wire::Health), openapi::ApiErrors))]
async fn healthz() -> axum::Json<wire::Health> {
    axum::Json(wire::Health {
        status: "ok".to_owned(),
    })
}
