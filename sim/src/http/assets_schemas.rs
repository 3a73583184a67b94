//! Object schema endpoints, global and schema configuration, and usage.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::{App, Fields, JsonBody, Params, Site};
use crate::config::Flavor;
use crate::error::{ApiError, ApiResult};

/// Routes of both products.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/objectschema/list", get(list))
        .route("/objectschema/create", post(create))
        .route("/objectschema/{id}", get(find).put(update).delete(delete))
        .route("/objectschema/{id}/attributes", get(attributes))
        .route(
            "/objectschema/{id}/objecttypes/flat",
            get(object_types_flat),
        )
}

/// Routes Data Center does not have (reference §19: no global configuration or usage).
pub fn cloud_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/objectschema/{id}/objecttypes", get(object_types))
        .route("/global/config", get(global_config))
        .route("/global/config/objectschema/{id}", get(schema_config))
        .route(
            "/global/config/objectschema/{id}/property",
            post(set_schema_config),
        )
        .route("/usage", get(usage))
}

/// Parses a path id; anything that is not an id cannot exist.
pub fn path_id(raw: &str, what: &str) -> ApiResult<u32> {
    crate::ws::parse_id(raw)
        .ok_or_else(|| ApiError::not_found(format!("No {what} found with id: {raw}")))
}

pub fn ok(v: Value) -> ApiResult<Response> {
    Ok(Json(v).into_response())
}

pub fn created(v: Value) -> ApiResult<Response> {
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// One `startAt`/`maxResults` page: `{startAt, maxResults, total, isLast, last, values}`.
pub fn page(values: Vec<Value>, start: usize, max: usize, total: usize) -> Value {
    let is_last = start + values.len() >= total;
    json!({"startAt": start, "maxResults": max, "total": total, "isLast": is_last, "last": is_last, "values": values})
}

async fn list(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    if site.flavor == Flavor::Dc {
        return dc_list(&site, &p);
    }
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", 25)?;
    let counts = p.bool("includeCounts", false)?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    let total = ws.schemas.len();
    let values = ws
        .schemas
        .values()
        .skip(start)
        .take(max)
        .map(|s| ctx.schema(s, counts))
        .collect();
    ok(page(values, start, max, total))
}

/// Data Center's list: every schema, with counts, as `{"objectschemas": [...]}`.
fn dc_list(site: &Site, p: &Params) -> ApiResult<Response> {
    let query = p.str("query").unwrap_or("").to_lowercase();
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    let all: Vec<Value> = ws
        .schemas
        .values()
        .filter(|s| query.is_empty() || s.name.to_lowercase().contains(&query))
        .map(|s| ctx.schema(s, true))
        .collect();
    ok(json!({ "objectschemas": all }))
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let name = b.required_string("name")?;
    let key = b.required_string("objectSchemaKey")?;
    let description = b.string("description")?;
    let mut ws = site.data.write();
    let id = ws.create_schema(&name, &key, description, app.clock.now())?;
    let ctx = site.ctx(&ws);
    created(ctx.schema(&ws.schemas[&id], true))
}

async fn find(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(ctx.schema(ws.schema(id)?, true))
}

async fn update(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let name = b.string("name")?;
    let key = b.string("objectSchemaKey")?;
    let description = b
        .contains_key("description")
        .then(|| b.string("description"))
        .transpose()?;
    let mut ws = site.data.write();
    ws.update_schema(
        id,
        name.as_deref(),
        key.as_deref(),
        description,
        app.clock.now(),
    )?;
    let ctx = site.ctx(&ws);
    ok(ctx.schema(&ws.schemas[&id], true))
}

async fn delete(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let mut ws = site.data.write();
    let s = ws.delete_schema(id)?;
    let ctx = site.ctx(&ws);
    let mut v = ctx.schema(&s, false);
    v["objectCount"] = json!(0);
    ok(v)
}

async fn attributes(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let only_editable = p.bool("onlyValueEditable", false)?;
    let extended = p.bool("extended", false)?;
    let query = p.str("query").unwrap_or("").to_lowercase();
    let ws = site.data.read();
    ws.schema(id)?;
    let ctx = site.ctx(&ws);
    let out: Vec<Value> = ws
        .types
        .values()
        .filter(|t| t.schema_id == id)
        .flat_map(|t| ws.type_attrs.get(&t.id).into_iter().flatten())
        .filter_map(|a| ws.attrs.get(a))
        .filter(|a| !only_editable || a.editable())
        .filter(|a| query.is_empty() || a.name.to_lowercase().contains(&query))
        .map(|a| ctx.attribute(a, a.position, extended))
        .collect();
    ok(Value::Array(out))
}

async fn object_types(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let exclude_abstract = p.bool("excludeAbstract", false)?;
    let ws = site.data.read();
    ws.schema(id)?;
    let ctx = site.ctx(&ws);
    let out: Vec<Value> = ws
        .types
        .values()
        .filter(|t| t.schema_id == id && !(exclude_abstract && t.abstract_type))
        .map(|t| ctx.object_type(t, 0))
        .collect();
    ok(Value::Array(out))
}

async fn object_types_flat(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let counts = p.bool("includeObjectCounts", false)?;
    // The spec types `query` as boolean; clients send a name filter. Accept both.
    let query = p
        .str("query")
        .filter(|q| !matches!(q.to_ascii_lowercase().as_str(), "true" | "false"))
        .unwrap_or("")
        .to_lowercase();
    let exclude = p.str("exclude").unwrap_or("").to_lowercase();
    let ws = site.data.read();
    ws.schema(id)?;
    let ctx = site.ctx(&ws);
    let mut types: Vec<_> = ws.types.values().filter(|t| t.schema_id == id).collect();
    types.sort_by_key(|t| (t.parent.is_some(), t.position, t.id));
    let out: Vec<Value> = types
        .into_iter()
        .filter(|t| query.is_empty() || t.name.to_lowercase().contains(&query))
        .filter(|t| exclude.is_empty() || t.name.to_lowercase() != exclude)
        .map(|t| {
            ctx.object_type(
                t,
                if counts {
                    ws.type_object_count(t.id)
                } else {
                    0
                },
            )
        })
        .collect();
    ok(Value::Array(out))
}

async fn global_config(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    let ws = site.data.read();
    let c = ws.global_config;
    ok(json!({
        "allowOtherObjectSchema": c.allow_other_object_schema,
        "validateQuickCreate": c.validate_quick_create,
        "quickCreateObjects": c.quick_create_objects,
    }))
}

async fn schema_config(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(ctx.schema_config(&ws.schema(id)?.config))
}

async fn set_schema_config(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = path_id(&id, "object schema")?;
    let allow = b.bool("allowOtherObjectSchema")?;
    let validate = b.bool("validateQuickCreate")?;
    let quick = b.bool("quickCreateObjects")?;
    let mut ws = site.data.write();
    ws.set_schema_config(id, |c| {
        if let Some(v) = allow {
            c.allow_other_object_schema = v;
        }
        if let Some(v) = validate {
            c.validate_quick_create = v;
        }
        if let Some(v) = quick {
            c.quick_create_objects = v;
        }
    })?;
    Ok(StatusCode::OK.into_response())
}

async fn usage(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    let ws = site.data.read();
    let per: Vec<Value> = ws
        .schemas
        .values()
        .map(|s| {
            json!({"schemaId": s.id, "schemaName": s.name, "schemaCreatedAt": crate::clock::iso(s.created), "objectCount": ws.schema_object_count(s.id)})
        })
        .collect();
    ok(json!({"totalObjectsCount": ws.object_count(), "perSchemaUsageInfo": per}))
}
