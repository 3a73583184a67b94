//! Support of the backup tests: the simulator configuration and export comparison helpers;
//! clients, store and the independent reader (`Raw`) come from the kit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assetark::assets::AssetsClient;
use assetark::backup::BackupRequest;
use assetark_tests::kit;
use assets_sim::server::SimHandle;
use serde_json::{Value, json};

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

/// A client of `s1` with `tokens` credentials and the documented limits × `scale`.
pub fn client(sim: &SimHandle, tokens: usize, scale: u32) -> AssetsClient {
    kit::pipeline::client(sim, "s1", &TOKENS[..tokens], scale)
}

pub use kit::SiteReader as Raw;
pub use kit::pipeline::{backup, clock, store};

pub fn request(key: &str) -> BackupRequest {
    kit::pipeline::backup_request("s1", key)
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
