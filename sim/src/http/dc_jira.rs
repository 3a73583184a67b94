//! The Jira side of a Data Center site, as far as an Assets backup tool needs it (REST v2 under
//! the site's base URL): server info, users by key or username, user search, group members,
//! fields, JQL search with `startAt`/`maxResults`/`total` paging, and issues with Assets field
//! values as object keys. Fields, issues and group search share Cloud's handlers, which render
//! by the site's flavor.

use std::sync::Arc;

use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};

use super::assets_schemas::ok;
use super::jira::{edit_issue, fields, groups_picker, issue, issues_page, matching};
use super::{App, JsonBody, Params, Site};
use crate::error::{ApiError, ApiResult};
use crate::model::User;

pub fn routes() -> Router<Arc<App>> {
    let v2 = |path: &str| format!("/dj/rest/api/2/{path}");
    Router::new()
        .route(&v2("serverInfo"), get(server_info))
        .route(&v2("myself"), get(myself))
        .route(&v2("user"), get(user))
        .route(&v2("user/search"), get(user_search))
        .route(&v2("groups/picker"), get(groups_picker))
        .route(&v2("group/member"), get(group_member))
        .route(&v2("field"), get(fields))
        .route(&v2("search"), get(search_get).post(search_post))
        .route(&v2("issue/{key}"), get(issue).put(edit_issue))
}

/// A Jira Data Center user: `key` (what Assets User values hold) and `name` (the username).
fn user_json(site: &Site, u: &User) -> Value {
    let avatar = format!("{}/secure/useravatar?ownerId={}", site.site_url, u.username);
    json!({
        "self": format!("{}/rest/api/2/user?username={}", site.site_url, u.username),
        "key": u.account_id, "name": u.username, "emailAddress": u.email,
        "displayName": u.display_name, "active": u.active, "deleted": false,
        "timeZone": "Europe/Berlin", "locale": "en_US",
        "avatarUrls": {"48x48": avatar, "24x24": avatar, "16x16": avatar, "32x32": avatar},
    })
}

async fn server_info(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    ok(json!({
        "baseUrl": site.site_url, "version": "9.12.0", "versionNumbers": [9, 12, 0],
        "deploymentType": "Server", "buildNumber": 9_120_000, "serverTitle": site.name,
    }))
}

async fn myself(Extension(site): Extension<Arc<Site>>) -> ApiResult<Response> {
    let ws = site.data.read();
    let me = ws.users.get(ws.actor as usize).map(|u| user_json(&site, u));
    ok(me.ok_or_else(|| ApiError::not_found("No current user"))?)
}

/// Users `start..start + max` of a list, rendered.
fn users_page(site: &Site, users: &[&User], start: usize, max: usize) -> Vec<Value> {
    let page = users.iter().skip(start).take(max);
    page.map(|u| user_json(site, u)).collect()
}

/// `GET /user?username=` or `?key=`.
async fn user(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let ws = site.data.read();
    let found = match (p.str("username"), p.str("key")) {
        (Some(name), _) => ws
            .users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(name)),
        (None, Some(key)) => ws.users.iter().find(|u| u.account_id == key),
        (None, None) => {
            return Err(ApiError::bad_request(
                "Either the 'username' or the 'key' query parameter must be given",
            ));
        }
    };
    let u = found.ok_or_else(|| {
        let who = p.str("username").or(p.str("key")).unwrap_or("");
        ApiError::not_found(format!("The user named '{who}' does not exist"))
    })?;
    ok(user_json(&site, u))
}

/// `GET /user/search?username=` (the search text; `query` is taken too): matches username,
/// display name and email prefix; `.` lists everyone.
async fn user_search(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let q = p
        .str("username")
        .or(p.str("query"))
        .ok_or_else(|| ApiError::bad_request("The 'username' query parameter is required"))?
        .trim()
        .to_lowercase();
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", 50)?.min(1000);
    let active = p.bool("includeActive", true)?;
    let inactive = p.bool("includeInactive", false)?;
    let matches = |u: &User| {
        let email = u.email.as_deref().unwrap_or("").to_lowercase();
        q == "."
            || u.username.to_lowercase().starts_with(&q)
            || u.display_name.to_lowercase().contains(&q)
            || (!email.is_empty() && email.starts_with(&q))
    };
    let ws = site.data.read();
    let hits: Vec<&User> = ws
        .users
        .iter()
        .filter(|u| if u.active { active } else { inactive })
        .filter(|u| matches(u))
        .collect();
    ok(Value::Array(users_page(&site, &hits, start, max)))
}

/// `GET /group/member?groupname=`: a page of the group's users.
async fn group_member(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let name = p
        .str("groupname")
        .ok_or_else(|| ApiError::bad_request("The 'groupname' query parameter is required"))?;
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", 50)?.clamp(1, 50);
    let inactive = p.bool("includeInactiveUsers", false)?;
    let ws = site.data.read();
    ws.group(name)
        .ok_or_else(|| ApiError::not_found(format!("The group '{name}' does not exist")))?;
    let members: Vec<&User> = ws
        .users
        .iter()
        .filter(|u| u.groups.iter().any(|g| g == name) && (u.active || inactive))
        .collect();
    let values = users_page(&site, &members, start, max);
    let is_last = start + values.len() >= members.len();
    ok(json!({
        "self": format!("{}/rest/api/2/group/member?groupname={name}&startAt={start}&maxResults={max}", site.site_url),
        "maxResults": max, "startAt": start, "total": members.len(), "isLast": is_last, "values": values,
    }))
}

/// One `startAt`/`maxResults` page of issues, with `total`.
fn search(site: &Site, jql: &str, fields: &[String], start: usize, max: usize) -> ApiResult<Value> {
    let ws = site.data.read();
    let hits = matching(site, &ws, jql)?;
    let max = max.clamp(1, 1000);
    let issues = issues_page(site, &ws, &hits, start, max, fields);
    Ok(json!({
        "expand": "schema,names", "startAt": start, "maxResults": max, "total": hits.len(), "issues": issues,
    }))
}

async fn search_get(Extension(site): Extension<Arc<Site>>, p: Params) -> ApiResult<Response> {
    let fields = p.list("fields");
    let start = p.count("startAt", 0)?;
    let max = p.count("maxResults", 50)?;
    ok(search(
        &site,
        p.str("jql").unwrap_or(""),
        &fields,
        start,
        max,
    )?)
}

/// The body of `POST /search`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    #[serde(default)]
    jql: String,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    start_at: usize,
    #[serde(default = "fifty")]
    max_results: usize,
}

fn fifty() -> usize {
    50
}

async fn search_post(
    Extension(site): Extension<Arc<Site>>,
    JsonBody(b): JsonBody,
) -> ApiResult<Response> {
    let body: SearchBody = serde_json::from_value(Value::Object(b))
        .map_err(|e| ApiError::bad_request(format!("The search request is invalid: {e}")))?;
    let (start, max) = (body.start_at, body.max_results);
    ok(search(&site, &body.jql, &body.fields, start, max)?)
}
