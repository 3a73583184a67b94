//! Test harness: starts the simulator in-process on 127.0.0.1:0 and talks to it over real HTTP
//! with a small client that keeps status, headers and JSON of every response; `RemoteBarrier`
//! drives request barriers of a simulator running as a process.

use std::time::Duration;

pub use assets_sim::barrier::{BarrierCounts, BarrierSpec, Condition, Stage};
use assets_sim::config::SimConfig;
use assets_sim::server::{SimHandle, SiteInfo};
use reqwest::Method;
use serde_json::Value;

/// Starts a simulator from TOML text.
pub async fn start_sim(toml: &str) -> SimHandle {
    let cfg = SimConfig::from_toml(toml).expect("valid simulator config");
    assets_sim::server::start(cfg)
        .await
        .expect("simulator starts")
}

/// A config with one site `s1` holding a cmdb dataset of `objects` objects, limits off.
pub fn cmdb_config(objects: u32, limits: bool) -> String {
    format!(
        r#"
admin_api = true
[rate_limits]
enabled = {limits}
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-s1"
extra_tokens = ["tok-s1-b"]
[sites.dataset]
kind = "cmdb"
objects = {objects}
seed = 7
"#
    )
}

/// A config with one empty site `s1`, limits off.
pub fn empty_config() -> String {
    r#"
admin_api = true
[rate_limits]
enabled = false
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-s1"
"#
    .to_string()
}

/// One response: status, headers and the body parsed as JSON (`Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
    /// The `errors` map of an error body, asserting the `Errors` envelope.
    #[track_caller]
    pub fn errors(&self) -> &serde_json::Map<String, Value> {
        assert!(
            self.body["errorMessages"].is_array(),
            "no errorMessages array in {}",
            self.body
        );
        self.body["errors"]
            .as_object()
            .unwrap_or_else(|| panic!("no errors object in {}", self.body))
    }
    /// All messages of an error body (general and per field) joined, for `contains` checks.
    pub fn messages(&self) -> String {
        let mut out: Vec<String> = self.body["errorMessages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect();
        if let Some(m) = self.body["errors"].as_object() {
            out.extend(
                m.iter()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(""))),
            );
        }
        out.join(" | ")
    }
}

/// A client of one site, Basic auth, addressing Assets paths relative to the workspace base.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub site_url: String,
    pub email: String,
    pub token: String,
    pub workspace_id: String,
}

impl Api {
    pub fn new(site: &SiteInfo) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Api {
            http,
            base: site.api_url.clone(),
            site_url: site.site_url.clone(),
            email: site.email.clone(),
            token: site.token.clone(),
            workspace_id: site.workspace_id.clone(),
        }
    }

    pub fn for_site(sim: &SimHandle, name: &str) -> Api {
        Api::new(sim.site(name).expect("site exists"))
    }

    /// Sends a request to an absolute URL with this site's credentials.
    pub async fn send_url(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        let mut rb = self
            .http
            .request(method, url)
            .basic_auth(&self.email, Some(&self.token));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let raw = r.bytes().await?.to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Ok(Resp {
            status,
            headers,
            body,
            raw,
        })
    }

    /// Sends to `{base}{path}` and validates the response against the OpenAPI document.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}{path}", self.base);
        let r = self
            .send_url(method.clone(), &url, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        crate::openapi_check::check(method.as_str(), path, &r);
        r
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(&body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(&body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }
    /// A Jira endpoint of the site (`{site_url}{path}`).
    pub async fn jira(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}{path}", self.site_url);
        self.send_url(method.clone(), &url, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
}

/// Admin API calls (`/__sim/...`).
pub async fn admin(sim: &SimHandle, method: Method, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let mut rb = client.request(method, format!("{}/__sim/{path}", sim.url()));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("admin call");
    assert!(r.status().is_success(), "admin {path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// Creates a schema and returns its id.
pub async fn schema(api: &Api, name: &str, key: &str) -> String {
    let v = api
        .post(
            "/objectschema/create",
            serde_json::json!({"name": name, "objectSchemaKey": key}),
        )
        .await
        .expect(201);
    v["id"].as_str().expect("schema id").to_string()
}

/// Creates an object type and returns its id.
pub async fn object_type(api: &Api, schema_id: &str, name: &str, parent: Option<&str>) -> String {
    let mut body = serde_json::json!({"name": name, "objectSchemaId": schema_id, "iconId": "1"});
    if let Some(p) = parent {
        body["parentObjectTypeId"] = Value::String(p.to_string());
    }
    let v = api.post("/objecttype/create", body).await.expect(201);
    v["id"].as_str().expect("type id").to_string()
}

/// Creates an attribute and returns its id.
pub async fn attribute(api: &Api, type_id: &str, body: Value) -> String {
    let v = api
        .post(&format!("/objecttypeattribute/{type_id}"), body)
        .await
        .expect(201);
    v["id"].as_str().expect("attribute id").to_string()
}

/// The id of a type's attribute by name.
pub async fn attr_id(api: &Api, type_id: &str, name: &str) -> String {
    let list = api
        .get(&format!("/objecttype/{type_id}/attributes"))
        .await
        .expect(200);
    list.as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == name)
        .and_then(|a| a["id"].as_str())
        .unwrap_or_else(|| panic!("no attribute {name} on type {type_id}"))
        .to_string()
}

/// `{"objectTypeAttributeId": id, "objectAttributeValues": [{"value": v}, ...]}`.
pub fn av(attr: &str, values: &[&str]) -> Value {
    serde_json::json!({
        "objectTypeAttributeId": attr,
        "objectAttributeValues": values.iter().map(|v| serde_json::json!({"value": v})).collect::<Vec<_>>(),
    })
}

/// A barrier of a simulator reached over its admin API (`/__sim/barriers`), for tests that run
/// the simulator (or the daemon) as a process. In-process tests use `SimHandle::barrier`.
pub struct RemoteBarrier {
    http: reqwest::Client,
    url: String,
    pub id: u64,
}

#[derive(serde::Deserialize)]
struct CountsBody {
    counts: BarrierCounts,
}

impl RemoteBarrier {
    /// Adds a barrier to the simulator listening at `sim_url` (`http://127.0.0.1:PORT`).
    pub async fn add(sim_url: &str, spec: &BarrierSpec) -> RemoteBarrier {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{sim_url}/__sim/barriers"))
            .json(spec)
            .send()
            .await
            .expect("admin API reachable");
        assert_eq!(
            r.status().as_u16(),
            201,
            "adding a barrier: {:?}",
            r.text().await
        );
        let c: CountsBody = r.json().await.expect("barrier body");
        RemoteBarrier {
            http,
            url: format!("{sim_url}/__sim/barriers/{}", c.counts.id),
            id: c.counts.id,
        }
    }

    async fn call(&self, method: Method, suffix: &str, body: Option<Value>) -> BarrierCounts {
        let mut rb = self.http.request(method, format!("{}{suffix}", self.url));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("admin API reachable");
        assert!(
            r.status().is_success(),
            "barrier {}{suffix}: {}",
            self.id,
            r.status()
        );
        r.json::<CountsBody>().await.expect("counts").counts
    }

    pub async fn counts(&self) -> BarrierCounts {
        self.call(Method::GET, "", None).await
    }
    /// Waits (server-side, on a condition) until `n` requests are held.
    pub async fn wait_held(&self, n: u64) -> BarrierCounts {
        self.wait(Condition::held(n)).await
    }
    pub async fn wait(&self, cond: Condition) -> BarrierCounts {
        let mut body = serde_json::to_value(cond).expect("condition");
        body["timeout_seconds"] = serde_json::json!(60);
        self.call(Method::POST, "/wait", Some(body)).await
    }
    pub async fn release(&self, count: usize) -> BarrierCounts {
        self.call(
            Method::POST,
            "/release",
            Some(serde_json::json!({"count": count})),
        )
        .await
    }
    pub async fn release_all(&self) -> BarrierCounts {
        self.call(
            Method::POST,
            "/release",
            Some(serde_json::json!({"all": true})),
        )
        .await
    }
    /// Removes the barrier (releasing what it holds); returns the final counts.
    pub async fn remove(self) -> BarrierCounts {
        self.call(Method::DELETE, "", None).await
    }
}
