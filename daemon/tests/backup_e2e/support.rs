//! Support for the backup e2e tests: the simulator configuration, clients of the code under
//! test, an independent plain-HTTP client (`Raw`) for fresh reads, and comparison helpers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use assetark::assets::{AssetsClient, Limits, Secret, SiteConn};
use assetark::backup::{self, BackupRequest, Progress};
use assetark::clock::SharedClock;
use assetark::store::{AsyncStore, BackupId, BackupType, SqliteStore};
use assets_sim::server::SimHandle;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const TOKENS: [&str; 3] = ["tok-a", "tok-b", "tok-c"];

/// One site `s1` with a seeded cmdb dataset (schemas ITSM and LOC) and a pool of three
/// tokens; `scale` multiplies the simulator's rate limits (0 = limits off).
pub async fn sim(objects: u32, scale: u32) -> SimHandle {
    let toml = format!(
        r#"
admin_api = true
[rate_limits]
enabled = {}
scale = {}
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-a"
extra_tokens = ["tok-b", "tok-c"]
[sites.dataset]
kind = "{}"
objects = {objects}
seed = 7
"#,
        scale > 0,
        scale.max(1),
        if objects > 0 { "cmdb" } else { "empty" },
    );
    let cfg = assets_sim::config::SimConfig::from_toml(&toml).expect("config");
    assets_sim::server::start(cfg).await.expect("simulator")
}

/// A client with `tokens` credentials and the documented limits × `scale`.
pub fn client(sim: &SimHandle, tokens: usize, scale: u32) -> AssetsClient {
    let s = &sim.ready.sites[0];
    let d = Limits::default();
    AssetsClient::new(SiteConn {
        name: s.name.clone(),
        api_url: s.api_url.clone(),
        site_url: s.site_url.clone(),
        email: s.email.clone(),
        tokens: TOKENS[..tokens].iter().map(|t| Secret::from(*t)).collect(),
        limits: Limits {
            aql_legacy_per_minute: d.aql_legacy_per_minute * scale,
            aql_per_minute: d.aql_per_minute * scale,
            object_per_minute: d.object_per_minute * scale,
            other_per_minute: d.other_per_minute * scale,
            jira_per_minute: d.jira_per_minute * scale,
            // Short backoffs keep fault tests fast; Retry-After values are still honoured.
            retry_base_ms: 20,
            retry_max_ms: 500,
            max_retries: 10,
            ..d
        },
    })
    .expect("client")
}

pub fn store(dir: &Path) -> AsyncStore {
    AsyncStore::new(Arc::new(
        SqliteStore::open(dir.join("store.db")).expect("store"),
    ))
}

/// The clock the pipelines take.
pub fn clock() -> SharedClock {
    assetark::clock::system()
}

pub fn request(key: &str) -> BackupRequest {
    BackupRequest {
        site: "s1".into(),
        schema_key: key.into(),
        backup_type: BackupType::Manual,
        description: Some("e2e".into()),
    }
}

/// Runs a backup on a spawned task (which also proves the future is `Send`).
pub async fn backup(
    client: &AssetsClient,
    store: &AsyncStore,
    key: &str,
) -> Result<BackupId, backup::Error> {
    let (client, store, req) = (client.clone(), store.clone(), request(key));
    tokio::spawn(async move {
        backup::run(
            &client,
            &store,
            &req,
            &|_: Progress| {},
            CancellationToken::new(),
            &clock(),
        )
        .await
    })
    .await
    .expect("backup task")
}

/// Plain HTTP to the simulator, independent of the code under test.
pub struct Raw {
    http: reqwest::Client,
    api: String,
    site: String,
    email: String,
    token: String,
}

impl Raw {
    pub fn new(sim: &SimHandle) -> Raw {
        let s = &sim.ready.sites[0];
        Raw {
            http: reqwest::Client::new(),
            api: s.api_url.clone(),
            site: s.site_url.clone(),
            email: s.email.clone(),
            token: s.token.clone(),
        }
    }
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<&Value>,
    ) -> Vec<u8> {
        let mut rb = self
            .http
            .request(method, &url)
            .basic_auth(&self.email, Some(&self.token));
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let r = rb.send().await.expect("raw request");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.expect("raw body").to_vec()
    }
    pub async fn get(&self, path: &str) -> Value {
        let b = self
            .send(reqwest::Method::GET, format!("{}{path}", self.api), None)
            .await;
        serde_json::from_slice(&b).expect("json")
    }
    pub async fn bytes(&self, path: &str) -> Vec<u8> {
        self.send(reqwest::Method::GET, format!("{}{path}", self.api), None)
            .await
    }
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let b = self
            .send(
                reqwest::Method::POST,
                format!("{}{path}", self.api),
                Some(&body),
            )
            .await;
        serde_json::from_slice(&b).expect("json")
    }
    pub async fn jira(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let b = self
            .send(method, format!("{}{path}", self.site), body.as_ref())
            .await;
        serde_json::from_slice(&b).expect("json")
    }
}

/// Calls the simulator's admin API at `url` (`/__sim/{path}`).
pub async fn admin(url: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut rb = reqwest::Client::new().request(method, format!("{url}/__sim/{path}"));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("admin");
    assert!(r.status().is_success(), "admin {path}: {}", r.status());
    r.json().await.expect("admin json")
}

pub fn read(dir: &Path, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(file)).expect(file)).expect(file)
}

pub fn lines(dir: &Path, file: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(file))
        .expect(file)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line"))
        .collect()
}

pub fn by_id(list: impl IntoIterator<Item = Value>) -> BTreeMap<u64, Value> {
    list.into_iter()
        .map(|v| {
            (
                v["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("numeric id"),
                v,
            )
        })
        .collect()
}

pub fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("expected an array, got {other}"),
    }
}

/// An attribute value reduced to what identifies it, whatever the endpoint's detail level.
pub fn value_key(v: &Value) -> Value {
    json!({
        "value": v["value"], "displayValue": v["displayValue"],
        "ref": v["referencedObject"]["id"], "status": v["status"]["id"],
        "user": v["user"]["key"], "group": v["group"]["name"],
    })
}

pub fn values_by_attr(attrs: &Value) -> BTreeMap<String, Vec<Value>> {
    attrs
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| {
            let id = a["objectTypeAttributeId"]
                .as_str()
                .expect("attr id")
                .to_owned();
            let vals = a["objectAttributeValues"].as_array().expect("values");
            (id, vals.iter().map(value_key).collect())
        })
        .collect()
}

/// Byte-compares two export directories, except `manifest.json` (ids and times differ).
pub fn assert_same_export(a: &Path, b: &Path) {
    let names = |d: &Path| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for sub in ["", "icons"] {
            for e in std::fs::read_dir(d.join(sub)).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_file() {
                    out.insert(
                        Path::new(sub)
                            .join(e.file_name())
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        out
    };
    let files = names(a);
    assert_eq!(files, names(b));
    assert!(files.len() > 12, "{files:?}");
    for f in files.iter().filter(|f| *f != "manifest.json") {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs ({} vs {} bytes)", x.len(), y.len());
    }
    assert_eq!(
        read(a, "manifest.json")["counts"],
        read(b, "manifest.json")["counts"]
    );
}
