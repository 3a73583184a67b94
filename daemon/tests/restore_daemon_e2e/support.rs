//! Helpers of the restore daemon tests: a simulator with two sites (`s1` with a CMDB, `s2`
//! empty), a daemon child process whose config knows only `s1` (the tests add `s2` through the
//! CLI), the CLI runner, polling, and an independent view of the target sites through plain
//! HTTP (objects counted by `ORIGINAL_ID`).

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assets_sim::config::SimConfig;
use assets_sim::server::SimHandle;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_assetark");
/// Token of `s1` (config, token file).
pub const S1_TOKEN: &str = "tok-s1-9d2c7e11aa";
/// Token of `s2`; given inline to `sites add`, so it must never appear in plaintext anywhere.
pub const S2_TOKEN: &str = "tok-s2-inline-5f0e8b3c47d1";
/// Environment variable of the daemon that also holds the `s2` token (for `--token-env`).
pub const S2_TOKEN_ENV: &str = "E2E_S2_TOKEN";
pub const DEADLINE: Duration = Duration::from_secs(120);
/// The simulator runs without rate limits, so the client's governor need not pace requests.
const LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 2\n";

/// A daemon's files and, while running, its process, with the simulator it talks to.
pub struct Env {
    pub dir: TempDir,
    pub sim: SimHandle,
    child: Option<Child>,
}

impl Env {
    pub async fn new(objects: u32) -> Env {
        Self::with_control(objects, "").await
    }

    /// Like [`Env::new`], with extra `[control]` keys (e.g. a short request timeout).
    pub async fn with_control(objects: u32, control: &str) -> Env {
        let toml = format!(
            "admin_api = true\n[rate_limits]\nenabled = false\n\
             [[sites]]\nname = \"s1\"\nemail = \"admin@s1.example\"\ntoken = \"{S1_TOKEN}\"\n\
             [sites.dataset]\nkind = \"cmdb\"\nobjects = {objects}\nseed = 11\n\
             [[sites]]\nname = \"s2\"\nemail = \"admin@s2.example\"\ntoken = \"{S2_TOKEN}\"\n\
             [sites.dataset]\nkind = \"empty\"\n"
        );
        let sim = assets_sim::server::start(SimConfig::from_toml(&toml).expect("sim config"))
            .await
            .expect("sim starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let s1 = sim.site("s1").expect("site s1").clone();
        std::fs::write(dir.path().join("s1.token"), format!("{S1_TOKEN}\n")).expect("token");
        let config = format!(
            "[store]\npath = \"data/assetark.db\"\n[control]\nsocket = \"ctl.sock\"\n{control}\n\
             [[sites]]\nname = \"s1\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
             token_file = \"s1.token\"\n{LIMITS}",
            s1.api_url, s1.site_url, s1.email
        );
        std::fs::write(dir.path().join("assetark.toml"), config).expect("config");
        Env {
            dir,
            sim,
            child: None,
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("assetark.toml")
    }
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/assetark.db")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// Starts `assetark serve` (debug logging, appended to `daemon.log`) and waits until the
    /// socket answers.
    pub async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("log file");
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(self.config())
            .env("RUST_LOG", "debug")
            .env(S2_TOKEN_ENV, S2_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("daemon spawns");
        self.child = Some(child);
        let client = assetark::cli::ControlClient::new(self.dir.path().join("ctl.sock"));
        let t0 = Instant::now();
        while client.get("/healthz").await.is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("daemon exited with {status}: {}", self.log_text());
            }
            assert!(t0.elapsed() < DEADLINE, "daemon did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("pid").to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await;
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM failed");
        let status = tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("daemon stops in time")
            .expect("wait");
        assert!(status.success(), "daemon exit {status}");
    }

    /// SIGKILL: no cleanup at all.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().await.expect("kill");
    }

    /// Runs the CLI against this daemon (stdin is not a terminal).
    pub async fn cli(&self, args: &[&str]) -> Out {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(self.config())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("cli runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the CLI with `--json`, asserts success, parses stdout.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all).await;
        out.ok(args);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
    }

    /// `restores show ID --json`.
    pub async fn show(&self, id: i64) -> Value {
        self.cli_json(&["restores", "show", &id.to_string()]).await
    }

    /// Polls `restores show` until `cond` holds; returns that view.
    pub async fn wait_restore(&self, id: i64, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
        wait_for(what, || async {
            let r = self.show(id).await;
            cond(&r).then_some(r)
        })
        .await
    }

    /// Adds `s2` to the daemon with its token inline.
    pub async fn add_s2(&self) {
        let s2 = self.sim.site("s2").expect("s2").clone();
        let out = self
            .cli(&[
                "sites",
                "add",
                "s2",
                "--api-url",
                &s2.api_url,
                "--site-url",
                &s2.site_url,
                "--email",
                &s2.email,
                "--token",
                S2_TOKEN,
            ])
            .await;
        out.ok(&["sites", "add", "s2"]);
    }

    /// Backs up schema `key` of `s1` and returns the backup id.
    pub async fn backup(&self, key: &str) -> i64 {
        let job = self
            .cli_json(&["backup", "run", "--site", "s1", "--schema", key, "--wait"])
            .await;
        assert_eq!(job["status"], "done", "{job}");
        job["result"]["backup"]["id"].as_i64().expect("backup id")
    }

    /// Makes the simulator answer the next `count` requests with `status`.
    pub async fn force(&self, status: u16, count: u32) {
        let r = reqwest::Client::new()
            .post(format!("{}/__sim/force", self.sim.url()))
            .json(&json!({ "status": status, "count": count }))
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success());
    }

    /// Sets the simulator's added latency per request.
    pub async fn latency(&self, ms: u64) {
        let r = reqwest::Client::new()
            .put(format!("{}/__sim/faults", self.sim.url()))
            .json(&json!({ "latency_ms": ms }))
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success());
    }

    /// Plain HTTP to a site of the simulator, independent of the daemon's client.
    pub fn site(&self, name: &str) -> Site {
        let s = self.sim.site(name).expect("site");
        Site {
            http: reqwest::Client::new(),
            api: s.api_url.clone(),
            email: s.email.clone(),
            token: s.token.clone(),
        }
    }
}

/// One simulated site, read through its REST API.
pub struct Site {
    http: reqwest::Client,
    api: String,
    email: String,
    token: String,
}

impl Site {
    async fn send(&self, req: reqwest::RequestBuilder) -> Value {
        let r = req
            .basic_auth(&self.email, Some(&self.token))
            .send()
            .await
            .expect("site request");
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.expect("site json")
    }

    /// Every schema: key -> id.
    pub async fn schemas(&self) -> HashMap<String, String> {
        let url = format!("{}/objectschema/list?startAt=0&maxResults=100", self.api);
        let page = self.send(self.http.get(url)).await;
        page["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["objectSchemaKey"].as_str().unwrap_or_default().to_owned(),
                    s["id"]
                        .as_str()
                        .map_or_else(|| s["id"].to_string(), str::to_owned),
                )
            })
            .collect()
    }

    /// Objects of schema `key`: per object, its id and its `ORIGINAL_ID` value (if any).
    pub async fn objects(&self, key: &str) -> Vec<(String, Option<String>)> {
        let Some(schema) = self.schemas().await.remove(key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        loop {
            let url = format!(
                "{}/object/aql?startAt={}&maxResults=500&includeAttributes=true",
                self.api,
                out.len()
            );
            let body = json!({ "qlQuery": format!("objectSchemaId = {schema}") });
            let page = self.send(self.http.post(url).json(&body)).await;
            let names: HashMap<String, String> = page["objectTypeAttributes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| (text(&d["id"]), text(&d["name"])))
                .collect();
            let values = page["values"].as_array().cloned().unwrap_or_default();
            let n = values.len();
            for o in values {
                let original = o["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|a| {
                        let name = names.get(&text(&a["objectTypeAttributeId"]))?;
                        (name == "ORIGINAL_ID")
                            .then(|| text(&a["objectAttributeValues"][0]["value"]))
                    });
                out.push((text(&o["id"]), original));
            }
            if page["isLast"].as_bool().unwrap_or(true) || n == 0 {
                return out;
            }
        }
    }
}

/// A JSON string or number as text.
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(&self, what: &[&str]) {
        assert_eq!(self.code, 0, "{what:?} failed: {self:?}");
    }
    #[track_caller]
    pub fn fails(&self, code: i32, stderr_part: &str) {
        assert_eq!(self.code, code, "{self:?}");
        assert!(
            self.stderr.contains(stderr_part),
            "stderr lacks {stderr_part:?}: {self:?}"
        );
    }
}

/// Polls `cond` until it returns `Some`, or panics after [`DEADLINE`].
pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut cond: impl FnMut() -> F,
) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        assert!(t0.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub fn ended(r: &Value) -> bool {
    matches!(
        r["status"].as_str(),
        Some("completed" | "error" | "stopped")
    )
}

/// Asserts that schema `key` on `site` holds each object of the source schema exactly once.
pub async fn assert_each_object_once(env: &Env, source_key: &str, site: &str, key: &str) -> usize {
    let source: BTreeSet<String> = env
        .site("s1")
        .objects(source_key)
        .await
        .into_iter()
        .map(|(id, orig)| orig.unwrap_or(id))
        .collect();
    let restored = env.site(site).objects(key).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (id, orig) in &restored {
        let orig = orig
            .clone()
            .unwrap_or_else(|| panic!("object {id} without ORIGINAL_ID"));
        *seen.entry(orig).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "duplicated objects in {site}/{key}: {twice:?}"
    );
    let got: BTreeSet<String> = seen.into_keys().collect();
    let missing: Vec<_> = source.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "objects missing in {site}/{key}: {missing:?}"
    );
    assert_eq!(got, source);
    source.len()
}

/// The full log of a restore via `restores log ID --full`.
pub async fn full_log(env: &Env, id: i64) -> Vec<Value> {
    let out = env
        .cli(&["restores", "log", &id.to_string(), "--full"])
        .await;
    out.ok(&["restores", "log", "--full"]);
    serde_json::from_str::<Vec<Value>>(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// Per-object entries (no `Level`): asserts one per object key and returns the keys.
pub fn object_entries(log: &[Value]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for e in log.iter().filter(|e| e.get("Level").is_none()) {
        let key = e["ObjectKey"].as_str().expect("ObjectKey").to_owned();
        assert_eq!(e["Result"], true, "{e}");
        assert!(keys.insert(key.clone()), "two log entries for {key}");
    }
    keys
}
