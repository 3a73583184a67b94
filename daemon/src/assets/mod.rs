//! The Assets Cloud client: one [`AssetsClient`] per site, shared by every job on that site.
//!
//! A request goes through, in order: the rate [`Governor`] (token bucket per credential and
//! endpoint class; picks the credential of a pool that is ready soonest), the site's adaptive
//! concurrency limit ([`Aimd`]), a last check that no 429 blocked the credential meanwhile, one
//! HTTP exchange on the site's reqwest client (rustls, timeouts, User-Agent), and the
//! retry policy of [`retry`] (429 → the governor blocks that credential+class for
//! `Retry-After`; 5xx, timeouts, resets → jittered exponential backoff; other 4xx → permanent
//! [`Error::Api`] with the API's own body). Paging helpers are in [`paging`].
//!
//! Secrets: tokens live in [`Secret`], whose `Debug`/`Display` print `***`; they are only
//! exposed to reqwest's `basic_auth`, which marks the header sensitive.

mod error;
pub mod governor;
pub mod paging;
pub mod retry;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderMap};
use serde_json::Value;

pub use error::Error;
pub use governor::{Aimd, Class, EventKind, Governor, GovernorEvent, classify};
pub use paging::{AqlPage, AqlPager, JqlPager};

use retry::Backoff;

/// User-Agent of every request.
const USER_AGENT: &str = concat!("assetark/", env!("CARGO_PKG_VERSION"));
/// Connect timeout: a site that does not accept a TCP connection in this time is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Page size of the schema list (the API default is 25; fewer round trips for big sites).
const SCHEMA_PAGE: usize = 50;
/// Page size of workspace discovery.
const WORKSPACE_PAGE: usize = 50;
/// Accept header for JSON calls.
const JSON: &str = "application/json";

/// A secret (API token) whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself; only for the place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How to reach one site.
#[derive(Debug, Clone)]
pub struct SiteConn {
    /// Site name from the configuration.
    pub name: String,
    /// Workspace base, e.g. `https://api.atlassian.com/jsm/assets/workspace/{ws}/v1`.
    pub api_url: String,
    /// Jira site, e.g. `https://x.atlassian.net`.
    pub site_url: String,
    /// Account email for Basic auth.
    pub email: String,
    /// API tokens of the account; more than one makes a credential pool.
    pub tokens: Vec<Secret>,
    /// Rate limits, retries and timeouts.
    pub limits: Limits,
}

/// Per-site limits. Per-minute numbers are per credential and endpoint class.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Deprecated AQL endpoints and `/object/aql/totalcount` (documented: 500).
    pub aql_legacy_per_minute: u32,
    /// `POST /object/aql` (documented: 1000).
    pub aql_per_minute: u32,
    /// Object get/create, type attributes, connected tickets (documented: 2000).
    pub object_per_minute: u32,
    /// Every other Assets endpoint (undocumented; 3000 by default).
    pub other_per_minute: u32,
    /// The site's Jira endpoints.
    pub jira_per_minute: u32,
    /// Upper bound of the adaptive concurrency limit.
    pub max_concurrency: usize,
    /// Retries of 5xx and transport failures (429 has its own, larger budget).
    pub max_retries: u32,
    /// First backoff delay, doubled each retry.
    pub retry_base_ms: u64,
    /// Backoff cap.
    pub retry_max_ms: u64,
    /// Timeout of one whole request.
    pub request_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            aql_legacy_per_minute: 500,
            aql_per_minute: 1000,
            object_per_minute: 2000,
            other_per_minute: 3000,
            jira_per_minute: 3000,
            max_concurrency: 16,
            max_retries: 8,
            retry_base_ms: 500,
            retry_max_ms: 30_000,
            request_timeout_secs: 60,
        }
    }
}

impl Limits {
    /// Per-minute limits indexed like [`Class::ALL`].
    fn per_minute(&self) -> [u32; 5] {
        [
            self.aql_legacy_per_minute,
            self.aql_per_minute,
            self.object_per_minute,
            self.other_per_minute,
            self.jira_per_minute,
        ]
    }

    /// 429s tolerated per request: more than 5xx, because a 429 is an instruction, not a
    /// failure, and a forced storm can hit one request several times.
    fn max_throttles(&self) -> u32 {
        self.max_retries.saturating_mul(4).max(16)
    }
}

/// Counters of one client (all jobs on the site).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    /// Requests sent, by class name (`aql_legacy`, `aql`, `object`, `other`, `jira`).
    pub sent: BTreeMap<&'static str, u64>,
    /// 429 responses received.
    pub throttled: u64,
    /// 429 responses received, by class name.
    pub throttled_by_class: BTreeMap<&'static str, u64>,
    /// Time requests spent waiting for the governor, by class name, in microseconds.
    pub governor_wait_micros: BTreeMap<&'static str, u64>,
    /// Retries made (after 429, 5xx or transport failures).
    pub retries: u64,
    /// Writes reported as [`Error::Ambiguous`].
    pub ambiguous: u64,
    /// 5xx responses received.
    pub server_errors: u64,
    /// Transport failures (connect, timeout, reset).
    pub transport_errors: u64,
    /// The adaptive concurrency limit now.
    pub concurrency_limit: usize,
}

#[derive(Default)]
struct Counters {
    sent: [AtomicU64; 5],
    throttled: AtomicU64,
    throttled_by_class: [AtomicU64; 5],
    governor_wait_micros: [AtomicU64; 5],
    retries: AtomicU64,
    ambiguous: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

struct Inner {
    site: SiteConn,
    http: reqwest::Client,
    governor: Governor,
    aimd: Aimd,
    backoff: Backoff,
    counters: Counters,
}

/// The Assets (and Jira) client of one site. Cheap to clone; clones share the governor, the
/// concurrency limit and the counters.
#[derive(Clone)]
pub struct AssetsClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AssetsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetsClient")
            .field("site", &self.inner.site.name)
            .field("api_url", &self.inner.site.api_url)
            .field("credentials", &self.inner.site.tokens.len())
            .finish_non_exhaustive()
    }
}

/// Where a path is relative to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Assets,
    Jira,
}

/// Whether a request may be repeated freely.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Idempotent,
    Once,
}

impl AssetsClient {
    /// Builds the client of one site.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without tokens or with unparsable URLs; [`Error::Transport`] when the
    /// TLS backend cannot be initialised.
    pub fn new(site: SiteConn) -> Result<AssetsClient, Error> {
        if site.tokens.is_empty() {
            return Err(Error::Config(format!(
                "site {:?} has no API token",
                site.name
            )));
        }
        for (what, url) in [("api_url", &site.api_url), ("site_url", &site.site_url)] {
            reqwest::Url::parse(url).map_err(|e| {
                Error::Config(format!(
                    "site {:?}: {what} {url:?} is not a URL: {e}",
                    site.name
                ))
            })?;
        }
        let http = site_http().map_err(|source| Error::Transport {
            method: String::new(),
            path: String::new(),
            source,
        })?;
        let limits = &site.limits;
        let inner = Inner {
            governor: Governor::new(site.tokens.len(), limits.per_minute()),
            aimd: Aimd::new(limits.max_concurrency),
            backoff: Backoff {
                base: Duration::from_millis(limits.retry_base_ms),
                max: Duration::from_millis(limits.retry_max_ms.max(limits.retry_base_ms)),
            },
            counters: Counters::default(),
            http,
            site,
        };
        Ok(AssetsClient {
            inner: Arc::new(inner),
        })
    }

    /// The site this client talks to.
    pub fn site(&self) -> &SiteConn {
        &self.inner.site
    }

    /// The site's rate governor (diagnostics: event recording for tests).
    pub fn governor(&self) -> &Governor {
        &self.inner.governor
    }

    /// GET an Assets path (relative to `api_url`, query included) and parse the JSON.
    ///
    /// # Errors
    ///
    /// See [`Error`]; retried per [`retry`].
    pub async fn get(&self, path: &str) -> Result<Value, Error> {
        self.json(Method::GET, Target::Assets, path, None, Mode::Idempotent)
            .await
    }

    /// GET an Assets path and return the raw body (icons).
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, Error> {
        let b = self
            .execute(
                Method::GET,
                Target::Assets,
                path,
                None,
                Mode::Idempotent,
                "*/*",
            )
            .await?;
        Ok(b.to_vec())
    }

    /// POST to an Assets path, retried like a read (for searches such as `/object/aql`).
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.json(
            Method::POST,
            Target::Assets,
            path,
            Some(body),
            Mode::Idempotent,
        )
        .await
    }

    /// POST a non-idempotent write: retried only when the request surely was not processed
    /// (429, connect errors, 503 with `Retry-After`).
    ///
    /// # Errors
    ///
    /// [`Error::Ambiguous`] when it may have been applied; otherwise see [`Error`].
    pub async fn post_once(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.json(Method::POST, Target::Assets, path, Some(body), Mode::Once)
            .await
    }

    /// PUT to an Assets path (idempotent: the same body twice gives the same state).
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.json(
            Method::PUT,
            Target::Assets,
            path,
            Some(body),
            Mode::Idempotent,
        )
        .await
    }

    /// DELETE an Assets path.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn delete(&self, path: &str) -> Result<(), Error> {
        self.execute(
            Method::DELETE,
            Target::Assets,
            path,
            None,
            Mode::Idempotent,
            JSON,
        )
        .await
        .map(drop)
    }

    /// GET a Jira path (relative to `site_url`, e.g. `/rest/api/3/myself`).
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn jira_get(&self, path: &str) -> Result<Value, Error> {
        self.json(Method::GET, Target::Jira, path, None, Mode::Idempotent)
            .await
    }

    /// POST to a Jira path, retried like a read (searches).
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn jira_post(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.json(
            Method::POST,
            Target::Jira,
            path,
            Some(body),
            Mode::Idempotent,
        )
        .await
    }

    /// PUT to a Jira path (issue edits); a 204 gives `Value::Null`.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn jira_put(&self, path: &str, body: &Value) -> Result<Value, Error> {
        self.json(
            Method::PUT,
            Target::Jira,
            path,
            Some(body),
            Mode::Idempotent,
        )
        .await
    }

    /// Checks credentials on both sides: `GET /rest/api/3/myself` and the first page of
    /// `/objectschema/list`. Returns the Jira user.
    ///
    /// # Errors
    ///
    /// The first failing call's error.
    pub async fn test_connection(&self) -> Result<Value, Error> {
        let user = self.jira_get("/rest/api/3/myself").await?;
        self.get("/objectschema/list?startAt=0&maxResults=1")
            .await?;
        Ok(user)
    }

    /// The site's Assets workspace id (JSM `start`/`limit` paging).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the site has no workspace (no JSM Premium), else see [`Error`].
    pub async fn discover_workspace(&self) -> Result<String, Error> {
        const PATH: &str = "/rest/servicedeskapi/assets/workspace";
        let mut start = 0usize;
        loop {
            let path = format!("{PATH}?start={start}&limit={WORKSPACE_PAGE}");
            let page = self.jira_get(&path).await?;
            let values = page["values"]
                .as_array()
                .ok_or_else(|| Error::decode("GET", &path, "a page with `values`"))?;
            if let Some(ws) = values.iter().find_map(|v| v["workspaceId"].as_str()) {
                return Ok(ws.to_owned());
            }
            let last = page["isLastPage"].as_bool().unwrap_or(true);
            if last || values.is_empty() {
                return Err(Error::Config(format!(
                    "site {:?} has no Assets workspace",
                    self.inner.site.name
                )));
            }
            start += values.len();
        }
    }

    /// Every schema of the workspace, with counts (`includeCounts=true`), all pages.
    ///
    /// # Errors
    ///
    /// See [`Error`].
    pub async fn list_schemas(&self) -> Result<Vec<Value>, Error> {
        let mut out = Vec::new();
        let mut start = 0usize;
        loop {
            let path = format!(
                "/objectschema/list?startAt={start}&maxResults={SCHEMA_PAGE}&includeCounts=true"
            );
            let page = self.get(&path).await?;
            let values = page["values"]
                .as_array()
                .ok_or_else(|| Error::decode("GET", &path, "a page with `values`"))?;
            let n = values.len();
            out.extend(values.iter().cloned());
            // Loop on isLast, never on total; an empty page also ends (defensive).
            if page["isLast"].as_bool().unwrap_or(n < SCHEMA_PAGE) || n == 0 {
                return Ok(out);
            }
            start += n;
        }
    }

    /// A pager over `POST /object/aql` for `ql`, `page_size` objects a page, with attributes.
    pub fn aql(&self, ql: &str, page_size: usize) -> AqlPager {
        AqlPager::new(self.clone(), ql, page_size)
    }

    /// A pager over `POST /rest/api/3/search/jql` (`nextPageToken` paging).
    pub fn jql(&self, jql: &str, fields: Vec<String>, page_size: usize) -> JqlPager {
        JqlPager::new(self.clone(), jql, fields, page_size)
    }

    /// Counters so far.
    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            sent: Class::ALL
                .iter()
                .zip(&c.sent)
                .map(|(cl, n)| (cl.name(), load(n)))
                .collect(),
            throttled: load(&c.throttled),
            throttled_by_class: Class::ALL
                .iter()
                .zip(&c.throttled_by_class)
                .map(|(cl, n)| (cl.name(), load(n)))
                .collect(),
            governor_wait_micros: Class::ALL
                .iter()
                .zip(&c.governor_wait_micros)
                .map(|(cl, n)| (cl.name(), load(n)))
                .collect(),
            retries: load(&c.retries),
            ambiguous: load(&c.ambiguous),
            server_errors: load(&c.server_errors),
            transport_errors: load(&c.transport_errors),
            concurrency_limit: self.inner.aimd.limit(),
        }
    }

    async fn json(
        &self,
        method: Method,
        target: Target,
        path: &str,
        body: Option<&Value>,
        mode: Mode,
    ) -> Result<Value, Error> {
        let bytes = self
            .execute(method.clone(), target, path, body, mode, JSON)
            .await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            what: "JSON",
            source: Some(e),
        })
    }

    /// One logical request: concurrency slot, governor, HTTP exchange, retry policy.
    async fn execute(
        &self,
        method: Method,
        target: Target,
        path: &str,
        body: Option<&Value>,
        mode: Mode,
        accept: &'static str,
    ) -> Result<Bytes, Error> {
        let inner = &*self.inner;
        let site = &inner.site;
        let (base, class) = match target {
            Target::Assets => (&site.api_url, classify(&method, path)),
            Target::Jira => (&site.site_url, Class::Jira),
        };
        let url = format!("{}{}", base.trim_end_matches('/'), path);
        let c = &inner.counters;
        let (mut retries, mut throttles) = (0u32, 0u32);
        let api_error = |status: u16, body: &Bytes| Error::Api {
            method: method.to_string(),
            path: path.to_owned(),
            status,
            body: serde_json::from_slice(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
        };
        loop {
            // Rate first, then a concurrency slot, then the block check: a request waiting out
            // a Retry-After never holds a slot that requests of other classes could use.
            let waiting = tokio::time::Instant::now();
            let cred = inner.governor.reserve(class).await;
            let waited = u64::try_from(waiting.elapsed().as_micros()).unwrap_or(u64::MAX);
            c.governor_wait_micros[class as usize].fetch_add(waited, Ordering::Relaxed);
            let slot = inner.aimd.acquire().await;
            if !inner.governor.commit(cred, class) {
                continue;
            }
            bump(&c.sent[class as usize]);
            let mut rb = inner
                .http
                .request(method.clone(), &url)
                .basic_auth(&site.email, Some(site.tokens[cred].expose()))
                .header(ACCEPT, accept)
                .timeout(Duration::from_secs(site.limits.request_timeout_secs.max(1)));
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let outcome: Result<(u16, HeaderMap, Bytes), reqwest::Error> = async {
                let r = rb.send().await?;
                let (status, headers) = (r.status().as_u16(), r.headers().clone());
                Ok((status, headers, r.bytes().await?))
            }
            .await;
            let started = slot.started;
            drop(slot);
            let wait = match outcome {
                Ok((status, headers, bytes)) if (200..300).contains(&status) => {
                    if retry::near_limit(&headers) {
                        inner.governor.near_limit(cred, class);
                    }
                    inner.aimd.on_success();
                    return Ok(bytes);
                }
                Ok((429, headers, bytes)) => {
                    bump(&c.throttled);
                    bump(&c.throttled_by_class[class as usize]);
                    inner.aimd.on_congestion(started);
                    let wait = retry::server_wait(&headers, unix_now())
                        .unwrap_or_else(|| inner.backoff.delay(throttles));
                    inner.governor.block(cred, class, wait);
                    tracing::debug!(site = %site.name, class = class.name(), wait_ms = wait.as_millis() as u64, "Request throttled.");
                    throttles += 1;
                    if throttles > site.limits.max_throttles() {
                        return Err(api_error(429, &bytes));
                    }
                    // The governor holds this credential+class until the block ends (or picks
                    // another credential of the pool), so no extra sleep here.
                    Duration::ZERO
                }
                Ok((status, headers, bytes)) if status >= 500 => {
                    bump(&c.server_errors);
                    inner.aimd.on_congestion(started);
                    let told = (status == 503)
                        .then(|| retry::server_wait(&headers, unix_now()))
                        .flatten();
                    if mode == Mode::Once && told.is_none() {
                        bump(&c.ambiguous);
                        return Err(Error::Ambiguous {
                            method: method.to_string(),
                            path: path.to_owned(),
                            status: Some(status),
                            source: None,
                        });
                    }
                    if retries >= site.limits.max_retries {
                        return Err(api_error(status, &bytes));
                    }
                    let wait = told.unwrap_or_else(|| inner.backoff.delay(retries));
                    retries += 1;
                    wait
                }
                Ok((status, _, bytes)) => return Err(api_error(status, &bytes)),
                Err(e) => {
                    bump(&c.transport_errors);
                    if e.is_timeout() {
                        inner.aimd.on_congestion(started);
                    }
                    // Only a failed connect proves the server never saw the request.
                    if mode == Mode::Once && !e.is_connect() {
                        bump(&c.ambiguous);
                        return Err(Error::Ambiguous {
                            method: method.to_string(),
                            path: path.to_owned(),
                            status: None,
                            source: Some(e),
                        });
                    }
                    if retries >= site.limits.max_retries {
                        return Err(Error::Transport {
                            method: method.to_string(),
                            path: path.to_owned(),
                            source: e,
                        });
                    }
                    let wait = inner.backoff.delay(retries);
                    retries += 1;
                    wait
                }
            };
            bump(&c.retries);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The reqwest client of one site. One per site rather than per process: a pooled
/// connection belongs to the tokio runtime that opened it, and sites (and tests) that outlive
/// each other's runtimes must not share one; within a site every job shares it.
fn site_http() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// Wall-clock Unix seconds, only to compare with `X-RateLimit-Reset` (a wall-clock stamp).
fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
