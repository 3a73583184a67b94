//! Support of the daemon CLI tests: the simulator, a daemon child process (the kit's
//! `DaemonProcess`) with its config, socket, store and log in a `TempDir`, the kit's CLI.

use std::path::{Path, PathBuf};

use assetark::cli::ControlClient;
use assetark_tests::kit::{Cli, DaemonProcess};
use assets_sim::config::SimConfig;
use assets_sim::server::SimHandle;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use assetark_tests::kit::{Out, wait_for};

pub use crate::BIN;
/// Site token in the simulator; must never show up in the daemon's output.
pub const SITE_TOKEN: &str = "tok-e2e-3b9f1c0d5a";
/// Bearer token of the daemon's TCP listener.
pub const API_TOKEN: &str = "api-e2e-77c2d9e41f";
/// Retries of temporary job failures wait milliseconds, not the default seconds.
pub const JOBS: &str = "[jobs]\nretry_base_ms = 50\nretry_max_ms = 200\n";
/// The simulator runs without rate limits, so the client's governor need not pace requests
/// (per-object history calls would otherwise take 20 ms each).
pub const LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 2\n";

pub async fn start_sim(objects: u32) -> SimHandle {
    let toml = format!(
        "admin_api = true\n[rate_limits]\nenabled = false\n[[sites]]\nname = \"s1\"\n\
         email = \"admin@s1.example\"\ntoken = \"{SITE_TOKEN}\"\n[sites.dataset]\nkind = \"cmdb\"\n\
         objects = {objects}\nseed = 7\n"
    );
    assets_sim::server::start(SimConfig::from_toml(&toml).expect("sim config"))
        .await
        .expect("sim starts")
}

/// A daemon's files and, while running, its process.
pub struct Env {
    pub dir: TempDir,
    pub sim: SimHandle,
    daemon: DaemonProcess,
    cli: Cli,
    pub tcp_port: u16,
}

impl Env {
    pub async fn new(objects: u32) -> Env {
        Env::with_config(objects, "").await
    }

    /// [`Env::new`] with `extra` appended to the daemon's config (e.g. `[[schedules]]`).
    pub async fn with_config(objects: u32, extra: &str) -> Env {
        let sim = start_sim(objects).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let site = sim.site("s1").expect("site s1").clone();
        std::fs::write(dir.path().join("token.txt"), format!("{SITE_TOKEN}\n")).expect("token");
        // A free port for the TCP listener: bind, note, release.
        let tcp_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let config = format!(
            "[store]\nkind = \"sqlite\"\npath = \"data/assetark.db\"\n\
             [control]\nsocket = \"ctl.sock\"\ntcp = \"127.0.0.1:{tcp_port}\"\ntoken_env = \"E2E_API_TOKEN\"\n\
             [[sites]]\nname = \"s1\"\nflavor = \"cloud\"\napi_url = \"{}\"\nsite_url = \"{}\"\n\
             email = \"{}\"\ntoken_file = \"token.txt\"\n{LIMITS}\
             [[sites]]\nname = \"wrongtoken\"\napi_url = \"{}\"\nsite_url = \"{}\"\n\
             email = \"{}\"\ntoken = \"not-the-token\"\n{LIMITS}{JOBS}{extra}",
            site.api_url, site.site_url, site.email, site.api_url, site.site_url, site.email
        );
        let path = dir.path().join("assetark.toml");
        std::fs::write(&path, config).expect("config");
        let daemon = DaemonProcess::new(
            Path::new(BIN),
            &path,
            &dir.path().join("ctl.sock"),
            &dir.path().join("daemon.log"),
        )
        .env("E2E_API_TOKEN", API_TOKEN);
        let cli = Cli::new(Path::new(BIN), &path);
        Env {
            dir,
            sim,
            daemon,
            cli,
            tcp_port,
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/assetark.db")
    }
    pub fn client(&self) -> ControlClient {
        ControlClient::new(self.socket())
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

    pub fn log_text(&self) -> String {
        self.daemon.log_text()
    }

    /// Runs the CLI against this daemon (stdin is not a terminal).
    pub async fn cli(&self, args: &[&str]) -> Out {
        self.cli.run(args).await
    }

    /// Runs the CLI, asserts success, parses stdout as JSON.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        self.cli.json(args).await
    }

    pub async fn backup_count(&self) -> u64 {
        self.cli_json(&["backups", "list"]).await["total"]
            .as_u64()
            .expect("total")
    }

    /// Makes the simulator answer the next `count` requests with `status`.
    pub async fn sim_force(&self, status: u16, count: u32) {
        let r = reqwest::Client::new()
            .post(format!("{}/__sim/force", self.sim.url()))
            .json(&json!({ "status": status, "count": count }))
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success());
    }

    pub async fn sim_latency(&self, ms: u64) {
        let r = reqwest::Client::new()
            .put(format!("{}/__sim/faults", self.sim.url()))
            .json(&json!({ "latency_ms": ms }))
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success());
    }
}

pub fn line_count(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .count() as u64
}
