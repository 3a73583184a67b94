//! Object endpoints (create, find, update, delete, attributes, history, reference info,
//! connected tickets) and AQL search in its current and deprecated forms.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

use super::assets_schemas::{created, ok, path_id};
use super::{App, Fields, JsonBody, Params, Site};
use crate::config::Flavor;
use crate::error::{ApiError, ApiResult};
use crate::render::{AttrMode, Ctx, PageCache};
use crate::ws::{AttrInput, Workspace};

/// Largest page the simulator serves; larger `maxResults` are cut to it.
pub const MAX_PAGE: usize = 5000;

/// Routes of both products.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/object/create", post(create))
        .route("/object/navlist/aql", post(navlist))
        .route("/object/navlist/iql", post(navlist))
        .route("/aql/objects", get(aql_objects))
        .route("/iql/objects", get(aql_objects))
        .route("/object/{id}", get(find).put(update).delete(delete))
        .route("/object/{id}/attributes", get(attributes))
        .route("/object/{id}/history", get(history))
        .route("/object/{id}/referenceinfo", get(reference_info))
        .route("/objectconnectedtickets/{id}/tickets", get(tickets))
}

/// Cloud's AQL endpoints (Data Center searches with `GET /aql/objects`, reference §19).
pub fn cloud_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/object/aql", post(aql))
        .route("/object/aql/totalcount", post(total_count))
}

/// Parses the `attributes` array of an `ObjectIn` body.
fn inputs(b: &Map<String, Value>, required: bool) -> ApiResult<Vec<AttrInput>> {
    let bad = |m: &str| ApiError::field("attributes", m.to_string());
    let list = match b.get("attributes") {
        None | Some(Value::Null) if required => return Err(bad("attributes is required")),
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("attributes must be an array")),
    };
    list.iter()
        .map(|entry| {
            let m = entry
                .as_object()
                .ok_or_else(|| bad("each attribute must be an object"))?;
            let attr_id = m.required_string("objectTypeAttributeId")?;
            let values = match m.get("objectAttributeValues") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(vs)) => vs
                    .iter()
                    .map(|v| match v.get("value") {
                        Some(Value::String(s)) => Ok(s.clone()),
                        Some(Value::Number(n)) => Ok(n.to_string()),
                        Some(Value::Bool(x)) => Ok(x.to_string()),
                        None | Some(Value::Null) => Ok(String::new()),
                        Some(_) => Err(bad("objectAttributeValues[].value must be a string")),
                    })
                    .collect::<ApiResult<Vec<_>>>()?,
                Some(_) => return Err(bad("objectAttributeValues must be an array")),
            };
            Ok(AttrInput { attr_id, values })
        })
        .collect()
}

fn with_extended_info(ws: &Workspace, id: u32, mut v: Value) -> Value {
    let open = ws
        .issues
        .values()
        .any(|i| i.assets.iter().any(|(_, ids)| ids.contains(&id)));
    let attachments = ws.attachments.get(&id).is_some_and(|a| !a.is_empty());
    v["extendedInfo"] = json!({"openIssuesExists": open, "attachmentsExists": attachments});
    v
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let type_id = b.required_id("objectTypeId")?;
    let inputs = inputs(&b, true)?;
    let mut ws = site.data.write();
    let actor = ws.actor;
    let id = ws.create_object(type_id, &inputs, actor, app.clock.now())?;
    let ctx = site.ctx(&ws);
    created(ctx.object(ws.object(id)?, AttrMode::None, &mut PageCache::default()))
}

async fn find(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    let v = ctx.object(
        ws.object(id)?,
        AttrMode::WithDefinitions,
        &mut PageCache::default(),
    );
    ok(with_extended_info(&ws, id, v))
}

async fn update(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let type_id = b.id("objectTypeId")?;
    let inputs = inputs(&b, false)?;
    let mut ws = site.data.write();
    let actor = ws.actor;
    ws.update_object(id, type_id, &inputs, actor, app.clock.now())?;
    let ctx = site.ctx(&ws);
    ok(ctx.object(
        ws.object(id)?,
        AttrMode::WithDefinitions,
        &mut PageCache::default(),
    ))
}

async fn delete(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let mut ws = site.data.write();
    if site.flavor == Flavor::Cloud {
        ws.delete_object(id)?;
        return Ok(StatusCode::OK.into_response());
    }
    // Data Center answers with the deleted object.
    let gone = site
        .ctx(&ws)
        .object(ws.object(id)?, AttrMode::None, &mut PageCache::default());
    ws.delete_object(id)?;
    ok(gone)
}

async fn attributes(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    ok(Value::Array(ctx.object_attributes(
        ws.object(id)?,
        true,
        &mut PageCache::default(),
    )))
}

async fn history(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let asc = p.bool("asc", false)?;
    let ws = site.data.read();
    ws.object(id)?;
    let ctx = site.ctx(&ws);
    let entries = ws.history.get(&id).map(Vec::as_slice).unwrap_or(&[]);
    let mut out: Vec<Value> = entries.iter().map(|h| ctx.history(id, h)).collect();
    if !asc {
        out.reverse();
    }
    ok(Value::Array(out))
}

async fn reference_info(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let ws = site.data.read();
    ws.object(id)?;
    let ctx = site.ctx(&ws);
    let out: Vec<Value> = ws
        .inbound_references(id)
        .into_iter()
        .filter_map(|(type_id, refs, n)| {
            let t = ws.types.get(&type_id)?;
            let refs: Vec<Value> = refs.iter().filter_map(|r| ws.ref_types.get(r)).map(|r| ctx.ref_type(r)).collect();
            Some(json!({"referenceTypes": refs, "objectType": ctx.object_type(t, 0), "numberOfReferencedObjects": n, "openIssuesExists": false}))
        })
        .collect();
    ok(Value::Array(out))
}

async fn tickets(
    Extension(site): Extension<Arc<Site>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = path_id(&id, "object")?;
    let ws = site.data.read();
    ws.object(id)?;
    let issues: Vec<_> = ws
        .issues
        .values()
        .filter(|i| i.assets.iter().any(|(_, ids)| ids.contains(&id)))
        .collect();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    let ctx = site.ctx(&ws);
    let tickets: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut t = json!({
                "key": i.key,
                "reporter": ws.users.get(ws.actor as usize).map(|u| u.account_id.clone()).unwrap_or_default(),
                "created": crate::clock::iso(i.created), "updated": crate::clock::iso(i.updated), "title": i.summary,
                "status": {"name": "Open", "description": "The issue is open", "colorName": "blue-gray"},
                "type": {"name": "Task", "description": "A task that needs to be done.", "iconUrl": format!("{}/images/task.svg", site.site_url)},
                "priority": {"name": "Medium", "iconUrl": format!("{}/images/medium.svg", site.site_url)},
            });
            ctx.identify(&mut t, i.id);
            t
        })
        .collect();
    ok(json!({"tickets": tickets, "allTicketsQuery": format!("issuekey IN ({})", keys.join(", "))}))
}

/// Runs an AQL query through the site's cache; syntax errors are 400s.
fn search(site: &Site, ws: &Workspace, q: &str) -> ApiResult<Arc<Vec<u32>>> {
    site.aql
        .search(ws, q)
        .map_err(|e| ApiError::field("qlQuery", e))
}

/// Definitions of the attributes of the types on a page, each once, with nested types.
fn type_attributes(ctx: &Ctx, ids: &[u32]) -> Vec<Value> {
    let mut types: Vec<u32> = ids
        .iter()
        .filter_map(|id| ctx.ws.get_object(*id))
        .map(|o| o.type_id)
        .collect();
    types.sort_unstable();
    types.dedup();
    let mut seen = std::collections::HashSet::new();
    types
        .into_iter()
        .flat_map(|t| {
            ctx.ws
                .visible_attrs(t)
                .into_iter()
                .enumerate()
                .collect::<Vec<_>>()
        })
        .filter(|(_, a)| seen.insert(*a))
        .filter_map(|(i, a)| {
            ctx.ws
                .attrs
                .get(&a)
                .map(|a| ctx.attribute(a, i as i32, true))
        })
        .collect()
}

async fn aql(
    Extension(site): Extension<Arc<Site>>,
    p: Params,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", 25)?.min(MAX_PAGE);
    let with_attrs = p.bool("includeAttributes", true)?;
    let q = b.required_string("qlQuery")?;
    let ws = site.data.read();
    let ids = search(&site, &ws, &q)?;
    let ctx = site.ctx(&ws);
    let page_ids: Vec<u32> = ids.iter().skip(start).take(max).copied().collect();
    let mode = if with_attrs {
        AttrMode::Bare
    } else {
        AttrMode::None
    };
    let is_last = start + page_ids.len() >= ids.len();
    // Written straight to text: a page holds up to 5,000 objects (see render::objects).
    let mut out = String::with_capacity(4096 * page_ids.len().max(1));
    let _ = write!(
        out,
        r#"{{"startAt":{start},"maxResults":{max},"total":{},"isLast":{is_last},"last":{is_last},"values":"#,
        ids.len()
    );
    write_objects(&ctx, &mut out, &page_ids, mode);
    out.push_str(r#","objectTypeAttributes":"#);
    let defs = if with_attrs {
        type_attributes(&ctx, &page_ids)
    } else {
        Vec::new()
    };
    out.push_str(&Value::Array(defs).to_string());
    out.push('}');
    Ok(json_text(out))
}

/// Writes `[obj, obj, ...]` for the given ids. Large pages are rendered on every core: the
/// simulator must never be the bottleneck of a client paging through a million objects.
fn write_objects(ctx: &Ctx, out: &mut String, ids: &[u32], mode: AttrMode) {
    let render = |chunk: &[u32]| {
        let mut cache = PageCache::default();
        let mut s = String::with_capacity(4096 * chunk.len());
        for o in chunk.iter().filter_map(|id| ctx.ws.get_object(*id)) {
            s.push(',');
            ctx.write_object(&mut s, o, mode, &mut cache);
        }
        s
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let parts: Vec<String> = if ids.len() >= 200 && threads > 1 {
        let size = ids.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .chunks(size)
                .map(|c| scope.spawn(move || render(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        })
    } else {
        vec![render(ids)]
    };
    out.push('[');
    let start = out.len();
    for p in parts {
        out.push_str(&p);
    }
    // Each object was written with a leading comma; the first one goes.
    if out.len() > start {
        out.remove(start);
    }
    out.push(']');
}

/// A 200 response with a JSON text body.
fn json_text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn total_count(
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let q = b.required_string("qlQuery")?;
    let ws = site.data.read();
    let n = search(&site, &ws, &q)?.len();
    ok(json!({"totalCount": n}))
}

/// The page-based result (`ObjectListResult`): Cloud's deprecated search, Data Center's
/// search. Written straight to text like `aql`: Data Center clients page through it all.
fn object_list(
    ctx: &Ctx,
    site: &Site,
    q: &str,
    page: usize,
    per_page: usize,
    with_attrs: bool,
    type_id: Option<u32>,
) -> ApiResult<Response> {
    if page == 0 || per_page == 0 {
        return Err(ApiError::bad_request(
            "page and resultPerPage must be 1 or greater",
        ));
    }
    let per_page = per_page.min(MAX_PAGE);
    let all = search(site, ctx.ws, q)?;
    let ids: Vec<u32> = match type_id {
        Some(t) => all
            .iter()
            .copied()
            .filter(|id| ctx.ws.get_object(*id).is_some_and(|o| o.type_id == t))
            .collect(),
        None => all.to_vec(),
    };
    let start = (page - 1).saturating_mul(per_page);
    let page_ids: Vec<u32> = ids.iter().skip(start).take(per_page).copied().collect();
    let mode = if with_attrs {
        AttrMode::Bare
    } else {
        AttrMode::None
    };
    let n = page_ids.len();
    let mut out = String::with_capacity(4096 * n.max(1));
    out.push_str(r#"{"objectEntries":"#);
    write_objects(ctx, &mut out, &page_ids, mode);
    let defs = if with_attrs {
        type_attributes(ctx, &page_ids)
    } else {
        Vec::new()
    };
    let _ = write!(
        out,
        r#","objectTypeAttributes":{},"totalFilterCount":{},"startIndex":{start},"toIndex":{},"pageObjectSize":{n},"pageNumber":{page},"pageSize":{},"orderWay":"ascending","qlQuery":{q},"iql":{q},"conversionPossible":false,"qlQuerySearchResult":true,"iqlSearchResult":true,"objectTypeIsInherited":false,"abstractObjectType":false"#,
        Value::Array(defs),
        ids.len(),
        start + n,
        ids.len().div_ceil(per_page),
        q = Value::String(q.to_string()),
    );
    if let Some(t) = type_id {
        let _ = write!(out, r#","objectTypeId":{}"#, ctx.id(t));
    }
    out.push('}');
    Ok(json_text(out))
}

async fn aql_objects(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let q = p.str("qlQuery").or(p.str("iql")).unwrap_or("").to_string();
    let page = p.count("page", 1)?;
    let per_page = p.count("resultPerPage", 25)?;
    let with_attrs = p.bool("includeAttributes", true)?;
    let ws = site.data.read();
    let ctx = site.ctx(&ws);
    object_list(&ctx, &site, &q, page, per_page, with_attrs, None)
}

async fn navlist(
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let q = match b.string("qlQuery")? {
        Some(q) => q,
        None => b.string("iql")?.unwrap_or_default(),
    };
    let type_id = b.required_id("objectTypeId")?;
    let per_page = b
        .int("resultsPerPage")?
        .ok_or_else(|| ApiError::field("resultsPerPage", "resultsPerPage is required"))?;
    let schema_id = b.required_id("objectSchemaId")?;
    let page = b.int("page")?.unwrap_or(1);
    let with_attrs = b.bool("includeAttributes")?.unwrap_or(true);
    let ws = site.data.read();
    if ws.object_type(type_id)?.schema_id != schema_id {
        return Err(ApiError::field(
            "objectTypeId",
            "The object type does not belong to the object schema",
        ));
    }
    let ctx = site.ctx(&ws);
    let (page, per_page) = (
        usize::try_from(page).unwrap_or(0),
        usize::try_from(per_page).unwrap_or(0),
    );
    object_list(&ctx, &site, &q, page, per_page, with_attrs, Some(type_id))
}
