//! Helpers of the restore daemon tests: a simulator with two sites (`s1` with a CMDB, `s2`
//! empty), a daemon child process whose config knows only `s1` (the tests add `s2` through the
//! CLI), the CLI runner, polling, and an independent view of the target sites through plain
//! HTTP (objects counted by `ORIGINAL_ID`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assetark_tests::kit::{self, Cli, DaemonProcess, SiteReader};
use assets_sim::config::SimConfig;
use assets_sim::server::SimHandle;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use assetark_tests::kit::{Out, wait_for};

pub use crate::BIN;
/// Token of `s1` (config, token file).
pub const S1_TOKEN: &str = "tok-s1-9d2c7e11aa";
/// Token of `s2`; given inline to `sites add`, so it must never appear in plaintext anywhere.
pub const S2_TOKEN: &str = "tok-s2-inline-5f0e8b3c47d1";
/// Environment variable of the daemon that also holds the `s2` token (for `--token-env`).
pub const S2_TOKEN_ENV: &str = "E2E_S2_TOKEN";
/// The simulator runs without rate limits, so the client's governor need not pace requests.
const LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 2\n";

/// A daemon's files and, while running, its process, with the simulator it talks to.
pub struct Env {
    pub dir: TempDir,
    pub sim: SimHandle,
    daemon: DaemonProcess,
    cli: Cli,
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
        let path = dir.path().join("assetark.toml");
        std::fs::write(&path, config).expect("config");
        let daemon = DaemonProcess::new(
            Path::new(BIN),
            &path,
            &dir.path().join("ctl.sock"),
            &dir.path().join("daemon.log"),
        )
        .env(S2_TOKEN_ENV, S2_TOKEN);
        let cli = Cli::new(Path::new(BIN), &path);
        Env {
            dir,
            sim,
            daemon,
            cli,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/assetark.db")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    /// Starts `assetark serve` (debug logging, appended to `daemon.log`) and waits until the
    /// socket answers.
    pub async fn start(&mut self) {
        self.daemon.start().await;
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(&mut self) {
        self.daemon.term().await;
    }

    /// SIGKILL: no cleanup at all.
    pub async fn kill(&mut self) {
        self.daemon.kill().await;
    }

    /// Starts the daemon expecting it to refuse; returns its exit code.
    pub async fn start_fails(&mut self) -> i32 {
        self.daemon.start_fails().await
    }

    /// The file mode creation mask of the daemon (from its next start on) and the CLI.
    pub fn umask(&mut self, mask: u32) {
        self.daemon.set_umask(mask);
        self.cli.set_umask(mask);
    }

    /// A client of the daemon's control socket (for status codes the CLI does not show).
    pub fn client(&self) -> assetark::cli::ControlClient {
        self.daemon.client()
    }

    /// The pid of the running daemon.
    pub fn daemon_pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// The daemon's control socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }

    /// Runs the CLI against this daemon (stdin is not a terminal).
    pub async fn cli(&self, args: &[&str]) -> Out {
        self.cli.run(args).await
    }

    /// Runs the CLI with `--json`, asserts success, parses stdout.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        self.cli.json(args).await
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
    pub fn site(&self, name: &str) -> SiteReader {
        SiteReader::new(&self.sim, name)
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
    kit::assert_each_object_once(&env.site("s1"), source_key, &env.site(site), key).await
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
