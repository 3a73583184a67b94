//! `GET /v1/openapi.json`: the control API described by itself, generated from the code with
//! utoipa — the handlers carry `#[utoipa::path]` (method, path, parameters, answers) and the
//! wire types derive `ToSchema`, so the document changes with them. A test checks that every
//! route the router serves is in the document and every operation of the document is served
//! (`tests` below), and `dev/schemathesis.sh` runs schemathesis against it over the TCP
//! listener.
//!
//! Errors: every operation lists the error statuses of the API (`ApiErrors`), each with the
//! one error body `{"error": {"code", "message", "fields"?}}`.

use axum::Json;
use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

use super::ApiState;
use super::wire::ErrorBody;

/// The error answers every operation may give (all `ErrorBody`).
#[derive(IntoResponses)]
#[allow(dead_code)] // Only its description is used.
pub(super) enum ApiErrors {
    /// Malformed JSON, a bad id, query or date.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No or a wrong bearer token on the TCP listener.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The route, site, backup, job, restore or schedule does not exist.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The route does not take this method.
    #[response(status = 405)]
    MethodNotAllowed(ErrorBody),
    /// A conflict with the current state (a backup in progress, a config-file item).
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// The body is larger than the API takes.
    #[response(status = 413)]
    PayloadTooLarge(ErrorBody),
    /// The request line is longer than the API takes.
    #[response(status = 414)]
    UriTooLong(ErrorBody),
    /// The body is not JSON.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// Values are wrong; `fields` says which.
    #[response(status = 422)]
    Validation(ErrorBody),
    /// The Assets site answered with an error or could not be reached.
    #[response(status = 502)]
    Upstream(ErrorBody),
    /// The daemon is shutting down.
    #[response(status = 503)]
    ShuttingDown(ErrorBody),
    /// The request took longer than its time limit.
    #[response(status = 504)]
    Timeout(ErrorBody),
}

/// The bearer token of the TCP listener (the Unix socket needs none).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "assetark control API",
        description = "The control API of the assetark daemon: sites, schemas, backups, restores, \
                       post-restore tasks, schedules, jobs and metrics. Served on a Unix socket (mode 0600) and, \
                       optionally, on a loopback TCP port that requires a bearer token."
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    paths(
        super::healthz,
        super::sites::list,
        super::sites::add,
        super::sites::show,
        super::sites::remove,
        super::sites::test,
        super::schemas::list,
        super::schemas::sync,
        super::backups::list,
        super::backups::start,
        super::backups::show,
        super::backups::delete,
        super::backups::verify,
        super::backups::object_types,
        super::export::export,
        super::schedules::prune_backups,
        super::jobs::show,
        super::job_events::events,
        super::restores::list,
        super::restores::start,
        super::restores::show,
        super::restores::stop,
        super::restores::resume,
        super::restores::log,
        super::events::events,
        super::tasks::start,
        super::tasks::list,
        super::tasks::show,
        super::schedules::list,
        super::schedules::set,
        super::schedules::remove,
        super::schedules::run,
        super::metrics::metrics,
        openapi_json,
    ),
    tags(
        (name = "sites", description = "Assets sites and their credentials"),
        (name = "schemas", description = "Schemas of a site, as last synced"),
        (name = "backups", description = "Backups: start, list, show, delete, verify, export, prune"),
        (name = "jobs", description = "Jobs: status and live events"),
        (name = "restores", description = "Restores: plan, start, stop, history, logs, live events"),
        (name = "tasks", description = "Post-restore tasks: references, object type ids, objects in issues"),
        (name = "schedules", description = "Cron schedules of backups, with their retention"),
        (name = "meta", description = "Health, metrics and this document")
    )
)]
pub struct ApiDoc;

pub(super) fn router() -> Router<ApiState> {
    Router::new().route("/v1/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object), ApiErrors))]
pub(super) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests;
