//! Object type attribute endpoints: create, update, delete.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{Map, Value};

use super::assets_schemas::{created, ok, path_id};
use super::{App, Fields, JsonBody, Site};
use crate::error::ApiResult;
use crate::ws::AttrSpec;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/objecttypeattribute/{type_id}",
            post(create).delete(delete_one),
        )
        .route(
            "/objecttypeattribute/{type_id}/{id}",
            axum::routing::put(update),
        )
}

fn spec(b: &Map<String, Value>) -> ApiResult<AttrSpec> {
    Ok(AttrSpec {
        name: b.string("name")?,
        label: b.bool("label")?,
        description: b.string("description")?,
        type_code: b.int("type")?,
        default_type_id: b.int("defaultTypeId")?,
        type_value: b.string("typeValue")?,
        type_value_multi: b.string_list("typeValueMulti")?,
        additional_value: b.string("additionalValue")?,
        min_cardinality: b.int("minimumCardinality")?,
        max_cardinality: b.int("maximumCardinality")?,
        suffix: b.string("suffix")?,
        include_child_object_types: b.bool("includeChildObjectTypes")?,
        hidden: b.bool("hidden")?,
        unique: b.bool("uniqueAttribute")?,
        summable: b.bool("summable")?,
        regex_validation: b.string("regexValidation")?,
        ql_query: match b.string("qlQuery")? {
            Some(q) => Some(q),
            None => b.string("iql")?,
        },
        options: b.string("options")?,
    })
}

async fn create(
    Extension(site): Extension<Arc<Site>>,
    Path(type_id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let type_id = path_id(&type_id, "object type")?;
    let spec = spec(&b)?;
    let mut ws = site.data.write();
    let id = ws.create_attr(type_id, spec)?;
    let pos = ws
        .visible_attrs(type_id)
        .iter()
        .position(|a| *a == id)
        .unwrap_or(0) as i32;
    let ctx = site.ctx(&ws);
    created(ctx.attribute(&ws.attrs[&id], pos, true))
}

async fn update(
    Extension(site): Extension<Arc<Site>>,
    Path((type_id, id)): Path<(String, String)>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let type_id = path_id(&type_id, "object type")?;
    let id = path_id(&id, "object type attribute")?;
    let spec = spec(&b)?;
    let mut ws = site.data.write();
    ws.update_attr(type_id, id, spec)?;
    let pos = ws
        .visible_attrs(type_id)
        .iter()
        .position(|a| *a == id)
        .unwrap_or(0) as i32;
    let ctx = site.ctx(&ws);
    ok(ctx.attribute(&ws.attrs[&id], pos, true))
}

/// `DELETE /objecttypeattribute/{id}`: 200 with no body.
async fn delete_one(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type attribute")?;
    site.data.write().delete_attr(id)?;
    Ok(StatusCode::OK.into_response())
}
