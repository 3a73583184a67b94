//! The Jira endpoints of a site that an Assets backup tool needs (reference §1.2, §18):
//! workspace discovery, users (search and the whole directory), groups (picker and bulk),
//! fields, JQL search (a subset) and Assets field values.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

use super::assets_schemas::ok;
use super::{App, Fields, JsonBody, Params, Site};
use crate::config::Flavor;
use crate::error::{ApiError, ApiResult};
use crate::model::{Issue, User};
use crate::ws::Workspace;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/j/rest/servicedeskapi/assets/workspace", get(workspaces))
        .route("/j/rest/api/3/myself", get(myself))
        .route("/j/rest/api/3/user/search", get(user_search))
        .route("/j/rest/api/3/user", get(user))
        .route("/j/rest/api/3/users/search", get(users_directory))
        .route("/j/rest/api/3/groups/picker", get(groups_picker))
        .route("/j/rest/api/3/group/bulk", get(groups_bulk))
        .route("/j/rest/api/3/field", get(fields))
        .route(
            "/j/rest/api/3/search/jql",
            post(search_post).get(search_get),
        )
        .route("/j/rest/api/3/issue/{key}", get(issue).put(edit_issue))
}

async fn workspaces(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let start = p.count("start", 0)?;
    let limit = p.count("limit", 50)?;
    let all = [json!({"workspaceId": site.ws_id})];
    let values: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let base = format!("{}/rest/servicedeskapi", site.site_url);
    ok(json!({
        "_expands": [], "size": values.len(), "start": start, "limit": limit,
        "isLastPage": start + values.len() >= all.len(),
        "_links": {
            "base": base, "context": "",
            "next": format!("{base}/assets/workspace?start={}&limit={limit}", start + limit),
            "prev": format!("{base}/assets/workspace?start={}&limit={limit}", start.saturating_sub(limit)),
        },
        "values": values,
    }))
}

fn user_json(site: &Site, u: &User) -> Value {
    let avatar = format!("{}/avatar/{}", site.site_url, u.account_id);
    let mut v = json!({
        "self": format!("{}/rest/api/3/user?accountId={}", site.site_url, u.account_id),
        "accountId": u.account_id, "accountType": "atlassian", "displayName": u.display_name,
        "active": u.active, "timeZone": "Europe/Berlin", "locale": "en_US",
        "avatarUrls": {"48x48": avatar, "24x24": avatar, "16x16": avatar, "32x32": avatar},
    });
    if let Some(e) = &u.email {
        v["emailAddress"] = json!(e);
    }
    v
}

async fn myself(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    let ws = site.data.read();
    let u = ws
        .users
        .get(ws.actor as usize)
        .ok_or_else(|| ApiError::not_found("No current user"))?;
    ok(user_json(&site, u))
}

async fn user_search(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let query = p.str("query").map(str::to_lowercase);
    let account = p.str("accountId");
    if query.is_none() && account.is_none() {
        return Err(ApiError::bad_request(
            "One of 'query' or 'accountId' must be specified",
        ));
    }
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", 50)?.min(1000);
    let ws = site.data.read();
    let hits: Vec<Value> = ws
        .users
        .iter()
        .filter(|u| account.is_none_or(|a| u.account_id == a))
        .filter(|u| {
            query.as_deref().is_none_or(|q| {
                u.display_name.to_lowercase().contains(q)
                    || u.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().starts_with(q))
            })
        })
        .skip(start)
        .take(max)
        .map(|u| user_json(&site, u))
        .collect();
    ok(Value::Array(hits))
}

/// Most entries a Jira page returns, whatever `maxResults` asks for.
const MAX_PAGE: usize = 1000;

/// `startAt` and `maxResults` of a paged Jira list: non-negative integers, `maxResults` at
/// least 1 (Jira caps it silently at [`MAX_PAGE`]).
fn page_params(p: &Params, default_max: i64) -> ApiResult<(usize, usize)> {
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", default_max)?;
    if max == 0 {
        return Err(ApiError::bad_request(
            "Query parameter maxResults must be at least 1",
        ));
    }
    Ok((start, max.min(MAX_PAGE)))
}

/// `GET /rest/api/3/users/search`: every account of the site, active or not, as a bare array
/// (no total: a page shorter than asked is the last).
async fn users_directory(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let (start, max) = page_params(&p, 50)?;
    let ws = site.data.read();
    let page: Vec<Value> = ws
        .users
        .iter()
        .skip(start)
        .take(max)
        .map(|u| user_json(&site, u))
        .collect();
    ok(Value::Array(page))
}

/// `GET /rest/api/3/group/bulk`: the site's groups, filtered by any number of `groupId` and
/// `groupName` parameters (exact; unknown ones are left out), as a PageBean.
async fn groups_bulk(
    Extension(site): Extension<Arc<Site>>,
    p: Params,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (start, max) = page_params(&p, 50)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("The query string is malformed: {e}")))?;
    let wanted = |key: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (ids, names) = (wanted("groupId"), wanted("groupName"));
    let ws = site.data.read();
    let hits: Vec<_> = ws
        .groups
        .iter()
        .filter(|g| {
            (ids.is_empty() && names.is_empty())
                || ids.contains(&g.group_id.as_str())
                || names.contains(&g.name.as_str())
        })
        .collect();
    let values: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|g| json!({"name": g.name, "groupId": g.group_id}))
        .collect();
    let is_last = start + values.len() >= hits.len();
    let base = format!("{}/rest/api/3/group/bulk", site.site_url);
    let mut page = json!({
        "self": format!("{base}?startAt={start}&maxResults={max}"),
        "maxResults": max, "startAt": start, "total": hits.len(), "isLast": is_last,
        "values": values,
    });
    if !is_last {
        page["nextPage"] = json!(format!("{base}?startAt={}&maxResults={max}", start + max));
    }
    ok(page)
}

async fn user(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let account = p
        .str("accountId")
        .ok_or_else(|| ApiError::bad_request("accountId is required"))?;
    let ws = site.data.read();
    let u = ws.user(account).ok_or_else(|| {
        ApiError::not_found(format!("User with accountId {account} does not exist"))
    })?;
    ok(user_json(&site, u))
}

pub(super) async fn groups_picker(
    Extension(site): Extension<Arc<Site>>,
    p: Params,
) -> ApiResult<Response> {
    let q = p.str("query").unwrap_or("").to_lowercase();
    let max = p.count("maxResults", 20)?;
    let ws = site.data.read();
    let hits: Vec<_> = ws
        .groups
        .iter()
        .filter(|g| g.name.to_lowercase().contains(&q))
        .collect();
    let shown: Vec<Value> = hits
        .iter()
        .take(max)
        .map(|g| json!({"name": g.name, "html": g.name.replacen(&q, &format!("<b>{q}</b>"), 1), "groupId": g.group_id}))
        .collect();
    ok(
        json!({"header": format!("Showing {} of {} matching groups", shown.len(), hits.len()), "total": hits.len(), "groups": shown}),
    )
}

pub(super) async fn fields(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    let ws = site.data.read();
    let mut out: Vec<Value> = [("summary", "Summary", "string"), ("project", "Project", "project"), ("created", "Created", "datetime"), ("updated", "Updated", "datetime")]
        .iter()
        .map(|(id, name, ty)| {
            json!({"id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true, "searchable": true,
                   "clauseNames": [id], "schema": {"type": ty, "system": id}})
        })
        .collect();
    // Data Center's Assets field keeps the Insight plugin's type key (reference §18.3).
    let custom = match site.flavor {
        Flavor::Cloud => "com.atlassian.jira.plugins.cmdb:cmdb-object-cftype",
        Flavor::Dc => "com.riadalabs.jira.plugins.insight:rlabs-customfield-default-object",
    };
    for f in &ws.fields {
        out.push(json!({
            "id": f.id, "key": f.id, "name": f.name, "custom": true, "orderable": true, "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{}]", f.custom_id), f.name],
            "schema": {"type": "array", "items": "cmdb-object-field", "custom": custom, "customId": f.custom_id},
        }));
    }
    ok(Value::Array(out))
}

pub(super) fn issue_json(site: &Site, ws: &Workspace, i: &Issue, wanted: &[String]) -> Value {
    let all = wanted.is_empty() || wanted.iter().any(|f| f == "*all" || f == "*navigable");
    let want = |f: &str| all || wanted.iter().any(|w| w == f);
    let mut fields = Map::new();
    if want("summary") {
        fields.insert("summary".into(), json!(i.summary));
    }
    if want("project") {
        fields.insert(
            "project".into(),
            json!({"key": i.project, "name": i.project}),
        );
    }
    if want("created") {
        fields.insert("created".into(), json!(crate::clock::iso(i.created)));
    }
    if want("updated") {
        fields.insert("updated".into(), json!(crate::clock::iso(i.updated)));
    }
    for f in &ws.fields {
        if want(&f.id) {
            let ids = i
                .assets
                .iter()
                .find(|(id, _)| *id == f.id)
                .map(|(_, v)| v.as_slice())
                .unwrap_or(&[]);
            // Cloud: `{workspaceId, id, objectId}` descriptors; Data Center: object keys.
            let v: Vec<Value> = ids
                .iter()
                .map(|o| match site.flavor {
                    Flavor::Cloud => json!({"workspaceId": ws.ws_id, "id": format!("{}:{o}", ws.ws_id), "objectId": o.to_string()}),
                    Flavor::Dc => json!({"key": ws.get_object(*o).map(|x| ws.object_key(x)).unwrap_or_default()}),
                })
                .collect();
            fields.insert(
                f.id.clone(),
                if v.is_empty() {
                    Value::Null
                } else {
                    Value::Array(v)
                },
            );
        }
    }
    let version = match site.flavor {
        Flavor::Cloud => 3,
        Flavor::Dc => 2,
    };
    json!({"id": i.id.to_string(), "key": i.key, "self": format!("{}/rest/api/{version}/issue/{}", site.site_url, i.id), "fields": fields})
}

/// Issues `start..start + max` of `hits`, rendered with the `fields` asked for.
pub(super) fn issues_page(
    site: &Site,
    ws: &Workspace,
    hits: &[u32],
    start: usize,
    max: usize,
    fields: &[String],
) -> Vec<Value> {
    hits.iter()
        .skip(start)
        .take(max)
        .filter_map(|id| ws.issues.get(id))
        .map(|i| issue_json(site, ws, i, fields))
        .collect()
}

/// The ids of the issues a JQL query finds, in order.
pub(super) fn matching(site: &Site, ws: &Workspace, jql: &str) -> ApiResult<Vec<u32>> {
    let bad = |e: String| ApiError::bad_request(format!("Error in the JQL Query: {e}"));
    super::jql::parse(jql)
        .map_err(bad)?
        .run(ws, &site.aql)
        .map_err(bad)
}

fn search(
    site: &Site,
    jql: &str,
    fields: &[String],
    max: usize,
    token: Option<&str>,
) -> ApiResult<Value> {
    let ws = site.data.read();
    let start: usize = match token {
        None | Some("") => 0,
        Some(t) => t
            .parse()
            .map_err(|_| ApiError::bad_request("The nextPageToken is invalid or expired"))?,
    };
    let hits = matching(site, &ws, jql)?;
    let page = issues_page(site, &ws, &hits, start, max.clamp(1, 5000), fields);
    let next = start + page.len();
    let is_last = next >= hits.len();
    Ok(
        json!({"issues": page, "isLast": is_last, "nextPageToken": if is_last { Value::Null } else { json!(next.to_string()) }}),
    )
}

async fn search_post(
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let jql = b.string("jql")?.unwrap_or_default();
    let fields = b.string_list("fields")?.unwrap_or_default();
    let max = b.int("maxResults")?.unwrap_or(50).max(1) as usize;
    let token = b.string("nextPageToken")?;
    ok(search(&site, &jql, &fields, max, token.as_deref())?)
}

async fn search_get(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let jql = p.str("jql").unwrap_or("").to_string();
    let fields: Vec<String> = p
        .str("fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let max = p.count("maxResults", 50)?.max(1);
    ok(search(&site, &jql, &fields, max, p.str("nextPageToken"))?)
}

fn find_issue<'a>(ws: &'a Workspace, key: &str) -> ApiResult<&'a Issue> {
    ws.issues
        .values()
        .find(|i| i.key.eq_ignore_ascii_case(key) || i.id.to_string() == key)
        .ok_or_else(|| {
            ApiError::not_found("Issue does not exist or you do not have permission to see it.")
        })
}

pub(super) async fn issue(
    Extension(site): Extension<Arc<Site>>,
    Path(key): Path<String>,
    p: Params,
) -> ApiResult<Response> {
    let fields: Vec<String> = p
        .str("fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let ws = site.data.read();
    ok(issue_json(&site, &ws, find_issue(&ws, &key)?, &fields))
}

/// Reads `[{workspaceId, id, objectId}]` descriptors (Data Center: `[{"key": "ITSM-5"}]`)
/// into object ids of this workspace.
fn object_refs(ws: &Workspace, field: &str, v: &Value) -> ApiResult<Vec<u32>> {
    let bad = |m: String| ApiError::field(field, m);
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => return Err(bad("The value must be an array of Assets objects".into())),
    };
    list.iter()
        .map(|d| {
            if ws.flavor == Flavor::Dc {
                let key = d.get("key").and_then(Value::as_str).unwrap_or("");
                return ws
                    .resolve_object(key)
                    .map(|o| o.id)
                    .ok_or_else(|| bad(format!("The Assets object {key} does not exist")));
            }
            let oid = d
                .get("objectId")
                .and_then(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .or_else(|| x.as_u64().map(|n| n.to_string()))
                })
                .or_else(|| {
                    d.get("id")
                        .and_then(Value::as_str)
                        .and_then(|g| g.rsplit_once(':'))
                        .map(|(_, id)| id.to_string())
                })
                .ok_or_else(|| bad("Each Assets object needs an objectId".into()))?;
            if let Some(w) = d.get("workspaceId").and_then(Value::as_str)
                && w != ws.ws_id
            {
                return Err(bad(format!(
                    "The workspace {w} is not this site's Assets workspace"
                )));
            }
            let id = crate::ws::parse_id(&oid).filter(|id| ws.get_object(*id).is_some());
            id.ok_or_else(|| bad(format!("The Assets object with id {oid} does not exist")))
        })
        .collect()
}

pub(super) async fn edit_issue(
    State(app): State<Arc<App>>,
    Extension(site): Extension<Arc<Site>>,
    Path(key): Path<String>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let mut ws = site.data.write();
    let issue_id = find_issue(&ws, &key)?.id;
    let mut changes: Vec<(String, Vec<u32>)> = Vec::new();
    let field_ids: Vec<String> = ws.fields.iter().map(|f| f.id.clone()).collect();
    let known = |f: &str| field_ids.iter().any(|x| x == f);
    let current = |ws: &Workspace, f: &str| -> Vec<u32> {
        ws.issues[&issue_id]
            .assets
            .iter()
            .find(|(x, _)| x == f)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Some(Value::Object(fields)) = b.get("fields") {
        for (f, v) in fields {
            if f == "summary" {
                continue;
            }
            if !known(f) {
                return Err(ApiError::field(
                    f.as_str(),
                    "Field cannot be set. It is not on the appropriate screen, or unknown.",
                ));
            }
            changes.push((f.clone(), object_refs(&ws, f, v)?));
        }
    }
    if let Some(Value::Object(update)) = b.get("update") {
        for (f, ops) in update {
            if !known(f) {
                return Err(ApiError::field(
                    f.as_str(),
                    "Field cannot be set. It is not on the appropriate screen, or unknown.",
                ));
            }
            let mut ids = current(&ws, f);
            for op in ops.as_array().into_iter().flatten() {
                for (verb, v) in op.as_object().into_iter().flatten() {
                    let refs =
                        object_refs(&ws, f, &if v.is_array() { v.clone() } else { json!([v]) })?;
                    match verb.as_str() {
                        "set" => ids = refs,
                        "add" => ids.extend(
                            refs.into_iter()
                                .filter(|r| !ids.contains(r))
                                .collect::<Vec<_>>(),
                        ),
                        "remove" => ids.retain(|x| !refs.contains(x)),
                        other => {
                            return Err(ApiError::field(
                                f.as_str(),
                                format!("Unsupported operation {other}"),
                            ));
                        }
                    }
                }
            }
            changes.push((f.clone(), ids));
        }
    }
    let summary = b
        .get("fields")
        .and_then(|f| f.get("summary"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let now = app.clock.now();
    let issue = ws.issues.get_mut(&issue_id).expect("found above");
    for (f, ids) in changes {
        match issue.assets.iter_mut().find(|(x, _)| *x == f) {
            Some((_, v)) => *v = ids,
            None => issue.assets.push((f, ids)),
        }
    }
    if let Some(s) = summary {
        issue.summary = s;
    }
    issue.updated = now;
    ws.touch();
    Ok(StatusCode::NO_CONTENT.into_response())
}
