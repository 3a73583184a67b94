//! Helpers of the daemon end-to-end tests: the simulator, a daemon child process with its
//! config, socket, store and log in a `TempDir`, the CLI runner and condition polling.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assetark::cli::ControlClient;
use assets_sim::config::SimConfig;
use assets_sim::server::SimHandle;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_assetark");
/// Site token in the simulator; must never show up in the daemon's output.
pub const SITE_TOKEN: &str = "tok-e2e-3b9f1c0d5a";
/// Bearer token of the daemon's TCP listener.
pub const API_TOKEN: &str = "api-e2e-77c2d9e41f";
pub const DEADLINE: Duration = Duration::from_secs(60);
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
    child: Option<Child>,
    pub tcp_port: u16,
}

impl Env {
    pub async fn new(objects: u32) -> Env {
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
             email = \"{}\"\ntoken = \"not-the-token\"\n{LIMITS}{JOBS}",
            site.api_url, site.site_url, site.email, site.api_url, site.site_url, site.email
        );
        std::fs::write(dir.path().join("assetark.toml"), config).expect("config");
        Env {
            dir,
            sim,
            child: None,
            tcp_port,
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("assetark.toml")
    }
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/assetark.db")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }
    pub fn client(&self) -> ControlClient {
        ControlClient::new(self.socket())
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
            .env("E2E_API_TOKEN", API_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("daemon spawns");
        self.child = Some(child);
        let client = self.client();
        let t0 = Instant::now();
        while client.get("/healthz").await.is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("daemon exited with {status}: {}", self.log_text());
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "daemon did not start: {}",
                self.log_text()
            );
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
        assert!(
            status.success(),
            "daemon exit {status}: {}",
            self.log_text()
        );
    }

    /// SIGKILL: no cleanup at all.
    pub async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().await.expect("kill");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
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

    /// Runs the CLI, asserts success, parses stdout as JSON.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.cli(&all).await;
        out.ok(args);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
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

pub fn line_count(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .count() as u64
}
