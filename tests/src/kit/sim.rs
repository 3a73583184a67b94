//! The simulator side of the kit: starts the simulator in-process on 127.0.0.1:0 and talks to it over real HTTP
//! with a small client that keeps status, headers and JSON of every response; `RemoteBarrier`
//! drives request barriers of a simulator running as a process.

use std::time::Duration;

pub use assets_sim::barrier::{BarrierCounts, BarrierSpec, Condition, Stage};
use assets_sim::config::SimConfig;
use assets_sim::server::{DcSiteInfo, SimHandle, SiteInfo};
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

/// A config with one Data Center site `d1` (password `pw-d1`) holding a cmdb dataset of
/// `objects` objects, and one empty Cloud site `c1`.
pub fn dc_config(objects: u32) -> String {
    format!(
        r#"
admin_api = true
[[sites]]
name = "d1"
flavor = "dc"
email = "admin@d1.example"
token = "pat-d1"
password = "pw-d1"
[sites.dataset]
kind = "cmdb"
objects = {objects}
seed = 5
[[sites]]
name = "c1"
email = "admin@c1.example"
token = "tok-c1"
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

/// Reads a whole response.
async fn read(r: reqwest::Response) -> Result<Resp, reqwest::Error> {
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
        read(rb.send().await?).await
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

/// How a `DcApi` authenticates.
#[derive(Clone, Debug)]
pub enum DcAuth {
    /// `Authorization: Bearer <personal access token>`.
    Bearer(String),
    /// `Authorization: Basic user:secret`.
    Basic(String, String),
}

/// A client of one Data Center site: Assets paths relative to `{base_url}/rest/assets/1.0`,
/// Jira paths relative to the base URL. Responses are not checked against Cloud's OpenAPI
/// document, which does not describe Data Center.
#[derive(Clone)]
pub struct DcApi {
    pub http: reqwest::Client,
    pub base_url: String,
    pub auth: DcAuth,
}

impl DcApi {
    /// Bearer with the site's token.
    pub fn new(site: &DcSiteInfo) -> DcApi {
        DcApi {
            http: reqwest::Client::new(),
            base_url: site.base_url.clone(),
            auth: DcAuth::Bearer(site.token.clone()),
        }
    }
    pub fn for_site(sim: &SimHandle, name: &str) -> DcApi {
        DcApi::new(sim.dc_site(name).expect("dc site exists"))
    }
    /// The same site with other credentials.
    pub fn with_auth(&self, auth: DcAuth) -> DcApi {
        DcApi {
            auth,
            ..self.clone()
        }
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            DcAuth::Bearer(t) => rb.bearer_auth(t),
            DcAuth::Basic(u, p) => rb.basic_auth(u, Some(p)),
        }
    }

    /// Sends to `{base_url}{path}` (`path` starts with `/rest/`).
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self.authed(
            self.http
                .request(method.clone(), format!("{}{path}", self.base_url)),
        );
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        read(r)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, &format!("/rest/assets/1.0{path}"), None)
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            Method::POST,
            &format!("/rest/assets/1.0{path}"),
            Some(&body),
        )
        .await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, &format!("/rest/assets/1.0{path}"), Some(&body))
            .await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, &format!("/rest/assets/1.0{path}"), None)
            .await
    }
    /// An absolute URL with this client's credentials (attachment downloads).
    pub async fn get_url(&self, url: &str) -> Resp {
        let r = self
            .authed(self.http.get(url))
            .send()
            .await
            .expect("reachable");
        read(r).await.expect("body")
    }
    /// `POST /attachments/object/{id}` with `files` (name, MIME type, bytes) as `file` parts,
    /// with or without the XSRF header Jira requires.
    pub async fn upload(
        &self,
        object_id: u64,
        files: &[(&str, &str, &[u8])],
        comment: Option<&str>,
        xsrf: bool,
    ) -> Resp {
        let mut form = reqwest::multipart::Form::new();
        for (name, mime, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str(mime)
                .expect("MIME type");
            form = form.part("file", part);
        }
        if let Some(c) = comment {
            form = form.text("comment", c.to_string());
        }
        let url = format!(
            "{}/rest/assets/1.0/attachments/object/{object_id}",
            self.base_url
        );
        let mut rb = self.authed(self.http.post(url)).multipart(form);
        if xsrf {
            rb = rb.header("X-Atlassian-Token", "no-check");
        }
        read(rb.send().await.expect("reachable"))
            .await
            .expect("body")
    }
}

/// Every object id an AQL query finds on a Data Center site, paging `GET /aql/objects`.
pub async fn dc_all_ids(api: &DcApi, aql: &str, per_page: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    for page in 1.. {
        let q = format!(
            "/aql/objects?qlQuery={}&page={page}&resultPerPage={per_page}&includeAttributes=false",
            urlencode(aql)
        );
        let r = api.get(&q).await.expect(200);
        let entries = r["objectEntries"]
            .as_array()
            .expect("objectEntries")
            .clone();
        ids.extend(
            entries
                .iter()
                .map(|o| o["id"].as_u64().expect("integer id")),
        );
        if page >= r["pageSize"].as_u64().expect("pageSize") {
            break;
        }
    }
    ids
}

/// Every `value` of the attributes of the objects in `list` (AQL `values` or `objectEntries`).
pub fn attribute_values(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| o["attributes"].as_array().into_iter().flatten())
        .flat_map(|a| a["objectAttributeValues"].as_array().into_iter().flatten())
        .filter_map(|v| v["value"].as_str())
        .collect()
}

/// The `id` of the entry named `name` in a JSON array (attributes, types, schemas).
#[track_caller]
pub fn id_named(list: &Value, name: &str) -> Value {
    list.as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == name)
        .map(|a| a["id"].clone())
        .unwrap_or_else(|| panic!("nothing named {name} in {list}"))
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
