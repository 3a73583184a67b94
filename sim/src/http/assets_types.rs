//! Object type endpoints: create, find, update, delete, position, their attributes, and icons
//! (global icon catalogue and PNGs).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;

use super::assets_schemas::{created, ok, path_id};
use super::{App, Fields, JsonBody, Params, Site};
use crate::error::{ApiError, ApiResult};
use crate::ws::{TypeSpec, TypeUpdate};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/objecttype/create", post(create))
        .route("/objecttype/{id}", get(find).put(update).delete(delete))
        .route("/objecttype/{id}/position", post(position))
        .route("/objecttype/{id}/attributes", get(attributes))
        .route("/objecttype/{id}/icon.png", get(type_icon_png))
        .route("/icon/global", get(global_icons))
        .route("/icon/{id}", get(icon))
        .route("/icon/{id}/icon.png", get(icon_png))
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let spec = TypeSpec {
        schema_id: b.required_id("objectSchemaId")?,
        name: b.required_string("name")?,
        description: b.string("description")?,
        icon_id: b.required_id("iconId")?,
        parent: b.id("parentObjectTypeId")?,
        inherited: b.bool("inherited")?.unwrap_or(false),
        abstract_type: b.bool("abstractObjectType")?.unwrap_or(false),
    };
    let mut ws = site.data.write();
    let id = ws.create_type(spec, app.clock.now())?;
    let ctx = site.ctx(&ws);
    created(ctx.object_type(&ws.types[&id], 0))
}

async fn find(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(ctx.object_type(ws.object_type(id)?, ws.type_object_count(id)))
}

async fn update(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type")?;
    let patch = TypeUpdate {
        name: b.string("name")?,
        description: b
            .contains_key("description")
            .then(|| b.string("description"))
            .transpose()?,
        icon_id: b.id("iconId")?,
        inherited: b.bool("inherited")?,
        abstract_type: b.bool("abstractObjectType")?,
    };
    let mut ws = site.data.write();
    ws.update_type(id, patch, app.clock.now())?;
    let ctx = site.ctx(&ws);
    ok(ctx.object_type(&ws.types[&id], ws.type_object_count(id)))
}

async fn delete(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type")?;
    let mut ws = site.data.write();
    let t = ws.delete_type(id)?;
    let ctx = site.ctx(&ws);
    ok(ctx.object_type(&t, 0))
}

async fn position(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type")?;
    let to = b.id("toObjectTypeId")?;
    let pos = b
        .int("position")?
        .ok_or_else(|| ApiError::field("position", "position is required"))?;
    let pos =
        i32::try_from(pos).map_err(|_| ApiError::field("position", "position is out of range"))?;
    let mut ws = site.data.write();
    ws.move_type(id, to, pos, app.clock.now())?;
    let ctx = site.ctx(&ws);
    ok(ctx.object_type(&ws.types[&id], ws.type_object_count(id)))
}

async fn attributes(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type")?;
    let only_editable = p.bool("onlyValueEditable", false)?;
    let order_by_name = p.bool("orderByName", false)?;
    let exclude_parent = p.bool("excludeParentAttributes", false)?;
    let include_children = p.bool("includeChildren", false)?;
    let order_by_required = p.bool("orderByRequired", false)?;
    let query = p.str("query").unwrap_or("").to_lowercase();
    let ws = site.data.read();
    ws.object_type(id)?;
    let ctx = site.ctx(&ws);
    let own = ws.type_attrs.get(&id).cloned().unwrap_or_default();
    let mut ids: Vec<u32> = if exclude_parent {
        own
    } else {
        ws.visible_attrs(id)
    };
    if include_children {
        for child in ws.type_and_descendants(id).into_iter().skip(1) {
            for a in ws.type_attrs.get(&child).into_iter().flatten() {
                if !ids.contains(a) {
                    ids.push(*a);
                }
            }
        }
    }
    let mut list: Vec<(usize, &crate::model::Attribute)> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, a)| ws.attrs.get(a).map(|a| (i, a)))
        .filter(|(_, a)| !only_editable || a.editable())
        .filter(|(_, a)| query.is_empty() || a.name.to_lowercase().contains(&query))
        .collect();
    if order_by_name {
        list.sort_by_key(|(_, a)| a.name.to_lowercase());
    }
    if order_by_required {
        list.sort_by_key(|(_, a)| a.min_cardinality < 1);
    }
    let out: Vec<Value> = list
        .into_iter()
        .map(|(i, a)| ctx.attribute(a, i as i32, true))
        .collect();
    ok(Value::Array(out))
}

async fn global_icons(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(Value::Array(
        ws.icons
            .values()
            .filter(|i| i.schema_id.is_none())
            .map(|i| ctx.icon(i))
            .collect(),
    ))
}

async fn icon(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "icon")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(ctx.icon(ws.icon(id)?))
}

fn png_response(rgb: [u8; 3], p: &Params) -> ApiResult<Response> {
    let size = p.int("size", 48)?;
    if !(1..=512).contains(&size) {
        return Err(ApiError::bad_request("size must be between 1 and 512"));
    }
    let bytes = crate::icons::png(rgb, size as u32);
    let mut resp = bytes.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(resp)
}

async fn icon_png(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "icon")?;
    let rgb = site.data.read().icon(id)?.rgb;
    png_response(rgb, &p)
}

async fn type_icon_png(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "object type")?;
    let ws = site.data.read();
    let rgb = ws.icon(ws.object_type(id)?.icon_id)?.rgb;
    drop(ws);
    png_response(rgb, &p)
}
