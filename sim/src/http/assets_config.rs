//! Status type and reference type endpoints (`/config/statustype`, `/config/referencetype`).

use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use super::assets_schemas::{created, ok, path_id};
use super::{App, Fields, JsonBody, Params, Site};
use crate::error::{ApiError, ApiResult};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/config/statustype", get(list_statuses).post(create_status))
        .route(
            "/config/statustype/{id}",
            get(find_status).put(update_status).delete(delete_status),
        )
        .route(
            "/config/referencetype",
            get(list_ref_types).post(create_ref_type),
        )
}

async fn list_statuses(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let schema = p.id("objectSchemaId")?;
    let ws = site.data.read();
    if let Some(s) = schema {
        ws.schema(s)?;
    }
    let ctx = site.ctx(&ws);
    ok(Value::Array(
        ws.statuses
            .values()
            .filter(|s| s.schema_id == schema)
            .map(|s| ctx.status(s, false))
            .collect(),
    ))
}

async fn create_status(
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let name = b.required_string("name")?;
    let category = b
        .int("category")?
        .ok_or_else(|| ApiError::field("category", "category is required"))?;
    let description = b.string("description")?;
    let schema = b.id("objectSchemaId")?;
    let mut ws = site.data.write();
    let id = ws.create_status(&name, description, category, schema)?;
    let ctx = site.ctx(&ws);
    created(ctx.status(&ws.statuses[&id], true))
}

async fn find_status(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "status type")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(ctx.status(ws.status(id)?, true))
}

async fn update_status(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = path_id(&id, "status type")?;
    let name = b.string("name")?;
    let category = b.int("category")?;
    let description = b
        .contains_key("description")
        .then(|| b.string("description"))
        .transpose()?;
    let mut ws = site.data.write();
    ws.update_status(id, name.as_deref(), description, category)?;
    let ctx = site.ctx(&ws);
    ok(ctx.status(&ws.statuses[&id], true))
}

async fn delete_status(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "status type")?;
    site.data.write().delete_status(id)?;
    Ok(StatusCode::OK.into_response())
}

async fn list_ref_types(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let schema = p.id("objectSchemaId")?;
    let include_all = p.bool("includeAll", false)?;
    let ws = site.data.read();
    if let Some(s) = schema {
        ws.schema(s)?;
    }
    let ctx = site.ctx(&ws);
    let out = ws
        .ref_types
        .values()
        .filter(|r| match schema {
            // With a schema: its own types, plus the global ones when includeAll.
            Some(s) => r.schema_id == Some(s) || (include_all && r.schema_id.is_none()),
            None => r.schema_id.is_none() || include_all,
        })
        .map(|r| ctx.ref_type(r))
        .collect();
    ok(Value::Array(out))
}

async fn create_ref_type(
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let name = b.required_string("name")?;
    let description = b.string("description")?;
    let color = b.string("color")?;
    let schema = b.id("objectSchemaId")?;
    let mut ws = site.data.write();
    let id = ws.create_ref_type(&name, description, color, schema)?;
    let ctx = site.ctx(&ws);
    created(ctx.ref_type(&ws.ref_types[&id]))
}
