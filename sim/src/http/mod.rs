//! The HTTP front: the gate every request passes (site and workspace resolution, auth, rate
//! limits, faults, counters) and the router of Assets, Jira and admin endpoints.
//!
//! The gate rewrites the public paths to internal ones and puts the resolved `Arc<Site>` in the
//! request's extensions, so handlers are written once for every path form: Cloud's
//! `/jsm/assets/workspace/{ws}/v1/...` and `/ex/jira/{cloudId}/jsm/assets/workspace/{ws}/v1/...`
//! become `/a/...`, its `/site/{name}/rest/...` and `/ex/jira/{cloudId}/rest/...` become
//! `/j/...`; a Data Center site's `/site/{name}/rest/assets/1.0/...` (and the legacy
//! `/rest/insight/1.0/...`) become `/d/...`, its `/site/{name}/rest/api/2/...` `/dj/...`.
//! Assets handlers shared by both products are mounted under `/a` and `/d` alike and render
//! by the site's flavor; those of one product only are mounted under its prefix alone.

mod admin;
mod assets_attrs;
mod assets_config;
mod assets_objects;
mod assets_schemas;
mod assets_types;
mod dc_extras;
mod dc_jira;
mod extract;
mod jira;
mod jql;

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use parking_lot::{Mutex, RwLock};
use tower::util::BoxCloneSyncService;

use crate::barrier::Stage;
use crate::clock::{self, Clock};
use crate::config::{Flavor, SimConfig, SiteConfig};
use crate::error::ApiError;
use crate::faults::{Action, Faults};
use crate::ratelimit::{Class, Decision, RateLimiter};
use crate::ws::Workspace;

pub use extract::{Fields, JsonBody, Params};

/// One simulated site.
pub struct Site {
    pub cfg: SiteConfig,
    pub flavor: Flavor,
    /// Whether the rate limiter applies (see `SiteConfig::rate_limited`).
    pub rate_limited: bool,
    pub name: String,
    pub ws_id: String,
    pub cloud_id: String,
    pub data: RwLock<Workspace>,
    pub aql: crate::aql::Cache,
    /// The base of links inside responses: `{url}/jsm/assets/workspace/{ws}/v1` (Cloud),
    /// `{url}/site/{name}/rest/assets/1.0` (Data Center).
    pub api_base: String,
    /// `{url}/site/{name}`: the Jira site (Cloud) or the base URL (Data Center).
    pub site_url: String,
}

impl Site {
    /// A renderer for this site's workspace, with links under its API base.
    pub fn ctx<'a>(&'a self, ws: &'a Workspace) -> crate::render::Ctx<'a> {
        crate::render::Ctx {
            ws,
            base: &self.api_base,
        }
    }

    /// The credential an `Authorization` header proves, as a rate-limit key. Basic takes the
    /// email and a token (on Data Center also the username, and the password); Bearer a token
    /// (Data Center: a personal access token).
    fn accepts(&self, auth: &str) -> Option<u64> {
        let tokens = std::iter::once(&self.cfg.token).chain(self.cfg.extra_tokens.iter());
        if let Some(b) = auth.strip_prefix("Basic ") {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()?;
            let (user, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
            let dc = self.flavor == Flavor::Dc;
            let known = user.eq_ignore_ascii_case(&self.cfg.email)
                || (dc && user.eq_ignore_ascii_case(&self.username()));
            let password = dc && self.cfg.password.as_deref() == Some(secret);
            return (known && (password || tokens.into_iter().any(|t| t == secret)))
                .then(|| credential_hash(secret));
        }
        if let Some(t) = auth.strip_prefix("Bearer ") {
            let t = t.trim();
            return tokens
                .into_iter()
                .any(|x| x == t)
                .then(|| credential_hash(t));
        }
        None
    }
}

impl Site {
    /// The site account's username (Data Center Basic auth takes it instead of the email).
    fn username(&self) -> String {
        let ws = self.data.read();
        ws.users
            .get(ws.actor as usize)
            .map(|u| u.username.clone())
            .unwrap_or_default()
    }
}

fn credential_hash(token: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

/// Request counters for the admin API.
#[derive(Default)]
pub struct Stats {
    pub by_class: HashMap<&'static str, u64>,
    pub by_endpoint: HashMap<&'static str, u64>,
    pub by_site: HashMap<String, u64>,
    pub by_status: HashMap<u16, u64>,
}

/// Shared state of the whole simulator.
pub struct App {
    pub sites: Vec<Arc<Site>>,
    pub clock: Clock,
    pub limiter: RateLimiter,
    pub faults: Faults,
    pub stats: Mutex<Stats>,
    pub barriers: crate::barrier::Barriers,
    pub admin_api: bool,
}

impl App {
    pub fn site_by_name(&self, name: &str) -> Option<&Arc<Site>> {
        self.sites.iter().find(|s| s.name == name)
    }
}

/// Where a public path leads.
struct Route {
    site: Arc<Site>,
    /// Internal path: `/a/...` (Assets) or `/j/...` (Jira).
    internal: String,
}

impl Route {
    /// The path as the API documents it: Assets paths after the API base (`/object/create`),
    /// Jira paths from `/rest/` on. Barriers match on it.
    fn api_path(&self) -> &str {
        let i = self.internal[1..]
            .find('/')
            .map_or(self.internal.len(), |i| i + 1);
        &self.internal[i..]
    }
}

/// Maps a public path to a site and an internal path; `Err` is the response to give.
fn route(app: &App, path: &str) -> Result<Option<Route>, ApiError> {
    let segs: Vec<&str> = path.trim_start_matches('/').splitn(6, '/').collect();
    let not_found = || ApiError::not_found("Representation of the target resource do not exist");
    let assets =
        |site: Option<&Arc<Site>>, ws: &str, rest: &str| -> Result<Option<Route>, ApiError> {
            let site = site.ok_or_else(not_found)?;
            if site.ws_id != ws {
                return Err(ApiError::not_found(format!(
                    "No workspace found with id: {ws}"
                )));
            }
            Ok(Some(Route {
                site: site.clone(),
                internal: format!("/a/{rest}"),
            }))
        };
    let cloud = |s: &&Arc<Site>| s.flavor == Flavor::Cloud;
    let by_ws = |ws: &str| app.sites.iter().filter(cloud).find(|s| s.ws_id == ws);
    let by_cloud = |c: &str| app.sites.iter().filter(cloud).find(|s| s.cloud_id == c);
    match segs.as_slice() {
        ["jsm", "assets" | "insight", "workspace", ws, "v1", rest] => assets(by_ws(ws), ws, rest),
        ["jsm", "assets" | "insight", "workspace", ws, "v1"] => assets(by_ws(ws), ws, ""),
        ["ex", "jira", cloud, "jsm", "assets" | "insight", rest] => {
            let inner: Vec<&str> = rest.splitn(4, '/').collect();
            match inner.as_slice() {
                ["workspace", ws, "v1", rest] => assets(by_cloud(cloud), ws, rest),
                _ => Err(not_found()),
            }
        }
        ["ex", "jira", cloud, "rest", ..] => {
            let site = by_cloud(cloud).ok_or_else(not_found)?;
            let rest = path
                .trim_start_matches('/')
                .splitn(4, '/')
                .nth(3)
                .unwrap_or("");
            Ok(Some(Route {
                site: site.clone(),
                internal: format!("/j/{rest}"),
            }))
        }
        ["site", name, "rest", ..] => {
            let site = app.site_by_name(name).ok_or_else(not_found)?;
            let rest = path
                .trim_start_matches('/')
                .splitn(3, '/')
                .nth(2)
                .unwrap_or("");
            let internal = match site.flavor {
                Flavor::Cloud => format!("/j/{rest}"),
                Flavor::Dc => dc_internal(rest).ok_or_else(not_found)?,
            };
            Ok(Some(Route {
                site: site.clone(),
                internal,
            }))
        }
        ["__sim", ..] if app.admin_api => Ok(None),
        _ => Err(not_found()),
    }
}

/// The internal path of a Data Center site's `rest/...` path: Assets (current and legacy
/// prefix) under `/d`, Jira REST v2 (`latest` is v2) under `/dj/rest/api/2`.
fn dc_internal(rest: &str) -> Option<String> {
    let segs: Vec<&str> = rest.splitn(4, '/').collect();
    match segs.as_slice() {
        ["rest", "assets" | "insight", "1.0"] => Some("/d/".into()),
        ["rest", "assets" | "insight", "1.0", tail] => Some(format!("/d/{tail}")),
        ["rest", "api", "2" | "latest", tail] => Some(format!("/dj/rest/api/2/{tail}")),
        _ => None,
    }
}

/// Collapses `//` (one client sends `v1//objecttype/...`) and drops a trailing `/`.
fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() { "/".into() } else { out }
}

/// The rate-limit class and endpoint template of an internal request.
fn classify(method: &axum::http::Method, internal: &str) -> (Class, &'static str) {
    use axum::http::Method;
    let segs: Vec<&str> = internal.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["j" | "dj", ..] => (Class::Jira, "jira"),
        ["a" | "d", rest @ ..] => {
            assets_limits::classify(method == Method::GET, method == Method::POST, rest)
        }
        _ => (Class::Other, "other"),
    }
}

fn dropped_response() -> Response {
    // A body that fails at once makes hyper abort the connection: the client sees a reset
    // or an incomplete message, never a status it could trust.
    let stream = futures::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("dropped"))
    });
    Response::new(Body::from_stream(stream))
}

/// A JSON-looking body of `len` bytes, streamed in 64 KiB pieces without a
/// `Content-Length`: the client learns its size only by reading it.
fn oversized_response(status: u16, len: u64) -> Response {
    const PIECE: u64 = 64 * 1024;
    let filler = bytes::Bytes::from(vec![b' '; PIECE as usize]);
    let pieces = futures::stream::unfold(0u64, move |sent| {
        let filler = filler.clone();
        async move {
            let n = (len - sent).min(PIECE);
            (n > 0).then(|| {
                let piece = if sent == 0 {
                    let mut first = filler.to_vec();
                    first[0] = b'[';
                    bytes::Bytes::from(first).slice(..n as usize)
                } else {
                    filler.slice(..n as usize)
                };
                (Ok::<_, std::io::Error>(piece), sent + n)
            })
        }
    });
    let mut resp = Response::new(Body::from_stream(pieces));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn rate_headers(h: &mut HeaderMap, limit: u32, remaining: u32, reset_ms: i64) {
    h.insert("X-RateLimit-Limit", HeaderValue::from(limit));
    h.insert("X-RateLimit-Remaining", HeaderValue::from(remaining));
    if let Ok(v) = HeaderValue::from_str(&clock::iso_minutes(reset_ms)) {
        h.insert("X-RateLimit-Reset", v);
    }
}

/// The gate: resolve, authenticate, count, inject faults, rate-limit, then route.
async fn gate(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let path = normalize(req.uri().path());
    let routed = match route(&app, &path) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let Some(route) = routed else {
        // Admin API: no auth, no limits, no faults.
        return next.run(req).await;
    };
    let site = route.site.clone();
    let cred = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| site.accepts(a));
    let (class, endpoint) = classify(req.method(), &route.internal);
    {
        let mut st = app.stats.lock();
        *st.by_class.entry(class.name()).or_default() += 1;
        *st.by_endpoint.entry(endpoint).or_default() += 1;
        *st.by_site.entry(site.name.clone()).or_default() += 1;
    }
    let Some(cred) = cred else {
        let e = match site.flavor {
            Flavor::Cloud => ApiError::unauthorized(),
            Flavor::Dc => ApiError::unauthorized_dc(),
        };
        return count(&app, e.into_response());
    };
    let mut after = Vec::new();
    for barrier in app
        .barriers
        .arrive(&site.name, req.method(), route.api_path())
    {
        match barrier.spec().stage {
            Stage::Before => barrier.hold().wait().await,
            Stage::After => after.push(barrier),
        }
    }
    if let Some(f) = app.faults.take_forced() {
        if let Some(len) = f.body_bytes {
            return count(&app, oversized_response(f.status, len));
        }
        let mut e = ApiError::status(
            StatusCode::from_u16(f.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "Forced by the simulator",
        );
        if f.status == 429 || f.status == 503 {
            e.retry_after = Some(f.retry_after);
        }
        let mut resp = e.into_response();
        if f.status == 429 {
            resp.headers_mut().insert(
                "RateLimit-Reason",
                HeaderValue::from_static("jira-quota-based"),
            );
        }
        return count(&app, resp);
    }
    let (action, latency) = app.faults.decide(class);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    match action {
        Action::Drop => return dropped_response(),
        Action::Error {
            status,
            retry_after,
        } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut e = ApiError::status(
                code,
                "Something went wrong. Please try again later. If the error persists, contact our support team.",
            );
            if status == 503 {
                e.retry_after = Some(retry_after);
            }
            return count(&app, e.into_response());
        }
        Action::Pass | Action::LoseResponse => {}
    }
    let decision = if site.rate_limited {
        app.limiter.check(cred, class, endpoint)
    } else {
        Decision::Unlimited
    };
    if let Decision::Deny {
        limit,
        retry_after_secs,
    } = decision
    {
        let mut e = ApiError::status(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
        e.retry_after = Some(retry_after_secs);
        let mut resp = e.into_response();
        let h = resp.headers_mut();
        rate_headers(
            h,
            limit,
            0,
            ceil_minute(app.clock.now() + retry_after_secs as i64 * 1000),
        );
        h.insert(
            "RateLimit-Reason",
            HeaderValue::from_static("jira-quota-based"),
        );
        return count(&app, resp);
    }
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    match format!("{}{query}", route.internal).parse::<Uri>() {
        Ok(u) => *req.uri_mut() = u,
        Err(_) => return ApiError::bad_request("Malformed request path").into_response(),
    }
    req.extensions_mut().insert(site);
    let mut resp = next.run(req).await;
    if let Decision::Allow {
        limit,
        remaining,
        near_limit,
    } = decision
    {
        let reset = ceil_minute(app.clock.now() + 60_000);
        let success = resp.status().is_success();
        let h = resp.headers_mut();
        rate_headers(h, limit, remaining, reset);
        if near_limit && success {
            h.insert("X-RateLimit-NearLimit", HeaderValue::from_static("true"));
        }
    }
    for barrier in after {
        barrier.hold().wait().await;
    }
    if action == Action::LoseResponse {
        return dropped_response();
    }
    count(&app, resp)
}

fn ceil_minute(ms: i64) -> i64 {
    (ms + 59_999) / 60_000 * 60_000
}

fn count(app: &App, resp: Response) -> Response {
    *app.stats
        .lock()
        .by_status
        .entry(resp.status().as_u16())
        .or_default() += 1;
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("Representation of the target resource do not exist")
}

async fn method_not_allowed() -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        "The method is not allowed for this resource",
    )
}

/// The internal router (behind the gate): Assets handlers of both products under `/a`
/// (Cloud) and `/d` (Data Center), those of one product under its prefix only, then Jira.
pub fn router(app: Arc<App>) -> Router {
    let shared = || {
        Router::new()
            .merge(assets_schemas::routes())
            .merge(assets_types::routes())
            .merge(assets_attrs::routes())
            .merge(assets_objects::routes())
            .merge(assets_config::routes())
    };
    let cloud = shared()
        .merge(assets_schemas::cloud_routes())
        .merge(assets_objects::cloud_routes());
    let dc = shared().merge(dc_extras::routes());
    Router::new()
        .nest("/a", cloud)
        .nest("/d", dc)
        .merge(jira::routes())
        .merge(dc_jira::routes())
        .merge(admin::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// The whole service: the gate wrapped around the router (it rewrites paths, so it must run
/// before routing), with a body size limit.
pub fn service(
    app: Arc<App>,
    max_body_bytes: usize,
) -> BoxCloneSyncService<Request, Response, Infallible> {
    let inner = router(app.clone()).layer(axum::extract::DefaultBodyLimit::max(max_body_bytes));
    BoxCloneSyncService::new(tower::Layer::layer(
        &axum::middleware::from_fn_with_state(app, gate),
        inner,
    ))
}

/// Builds the shared state for a configuration (sites get their datasets).
pub fn build_app(cfg: &SimConfig, url: &str) -> Arc<App> {
    let sites = cfg
        .sites
        .iter()
        .map(|s| {
            let ws_id = s
                .workspace_id
                .clone()
                .unwrap_or_else(|| derived_uuid(&s.name, "workspace"));
            let cloud_id = s
                .cloud_id
                .clone()
                .unwrap_or_else(|| derived_uuid(&s.name, "cloud"));
            let site_url = format!("{url}/site/{}", s.name);
            let api_base = match s.flavor {
                Flavor::Dc => format!("{site_url}/rest/assets/1.0"),
                Flavor::Cloud if cfg.links_use_cloud_id => {
                    format!("{url}/ex/jira/{cloud_id}/jsm/assets/workspace/{ws_id}/v1")
                }
                Flavor::Cloud => format!("{url}/jsm/assets/workspace/{ws_id}/v1"),
            };
            Arc::new(Site {
                cfg: s.clone(),
                flavor: s.flavor,
                rate_limited: s.rate_limited(),
                name: s.name.clone(),
                data: RwLock::new(crate::dataset::build(s, &ws_id)),
                ws_id,
                cloud_id,
                aql: crate::aql::Cache::new(),
                api_base,
                site_url,
            })
        })
        .collect::<Vec<Arc<Site>>>();
    for site in &sites {
        copy_jira_issues(&sites, site);
    }
    Arc::new(App {
        sites,
        clock: Clock::default(),
        limiter: RateLimiter::new(cfg.rate_limits.clone()),
        faults: Faults::new(cfg.faults.clone()),
        stats: Mutex::new(Stats::default()),
        barriers: crate::barrier::Barriers::default(),
        admin_api: cfg.admin_api,
    })
}

/// Gives `site` a copy of the Jira issues (and Assets fields) of the site its dataset's
/// `jira_issues_from` names, as they are now; a no-op for other sites.
pub(crate) fn copy_jira_issues(sites: &[Arc<Site>], site: &Site) {
    let Some(from) = &site.cfg.dataset.jira_issues_from else {
        return;
    };
    // The config check guarantees another site of the same flavor; never lock a site twice.
    let Some(source) = sites
        .iter()
        .find(|s| &s.name == from && s.name != site.name)
    else {
        return;
    };
    let (issues, fields) = {
        let src = source.data.read();
        (src.issues.clone(), src.fields.clone())
    };
    let mut ws = site.data.write();
    ws.issues = issues;
    ws.fields = fields;
}

/// A stable UUID-shaped id derived from a site name (so URLs survive restarts).
fn derived_uuid(name: &str, salt: &str) -> String {
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (name, salt, i).hash(&mut h);
        *p = h.finish();
    }
    let hex = format!("{:016x}{:016x}", parts[0], parts[1]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize("/jsm/assets/workspace/w/v1//objecttype/3/attributes"),
            "/jsm/assets/workspace/w/v1/objecttype/3/attributes"
        );
        assert_eq!(normalize("/a/b/"), "/a/b");
        assert_eq!(normalize("//"), "/");
    }

    #[test]
    fn classifies_documented_limits() {
        use axum::http::Method;
        assert_eq!(classify(&Method::POST, "/a/object/aql").0, Class::Aql);
        assert_eq!(
            classify(&Method::POST, "/a/object/aql/totalcount").0,
            Class::AqlLegacy
        );
        assert_eq!(classify(&Method::GET, "/a/aql/objects").0, Class::AqlLegacy);
        assert_eq!(classify(&Method::POST, "/a/object/create").0, Class::Object);
        assert_eq!(classify(&Method::GET, "/a/object/5").0, Class::Object);
        assert_eq!(classify(&Method::PUT, "/a/object/5").0, Class::Other);
        assert_eq!(
            classify(&Method::GET, "/a/objecttype/5/attributes").0,
            Class::Object
        );
        assert_eq!(
            classify(&Method::GET, "/j/rest/api/3/myself").0,
            Class::Jira
        );
    }

    #[test]
    fn derived_ids_are_stable_and_uuid_shaped() {
        let a = derived_uuid("acme", "workspace");
        assert_eq!(a, derived_uuid("acme", "workspace"));
        assert_ne!(a, derived_uuid("acme", "cloud"));
        assert_eq!(a.len(), 36);
    }
}
