//! The daemon side of the kit: `assetark serve` in-process ([`InProcessDaemon`], the default)
//! or as a child process ([`DaemonProcess`], for tests that SIGKILL or SIGTERM it), the CLI
//! run as a process ([`Cli`]), and what it printed ([`Out`]).
//!
//! Process tests need the path of the `assetark` binary, which only the daemon package's
//! integration tests know (`env!("CARGO_BIN_EXE_assetark")`): they pass it in.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assetark::cli::ControlClient;
use assetark::config::Config;
use serde_json::Value;
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::wait::{DEADLINE, wait_for};

/// A daemon served on a task of the test's runtime, stopped through its cancellation token.
pub struct InProcessDaemon {
    client: ControlClient,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), assetark::daemon::Error>>,
}

impl InProcessDaemon {
    /// Serves `config` and waits until its control socket answers.
    pub async fn start(config: Config) -> InProcessDaemon {
        let client = ControlClient::new(config.control.socket.clone());
        let stop = CancellationToken::new();
        let task = tokio::spawn(assetark::daemon::serve(config, stop.clone()));
        let d = InProcessDaemon { client, stop, task };
        wait_for("the in-process daemon to answer", || async {
            assert!(!d.task.is_finished(), "the daemon stopped while starting");
            d.client.get("/healthz").await.ok().map(drop)
        })
        .await;
        d
    }

    /// Serves `config` with `options` (an injected clock, the wall-clock trigger off) and
    /// returns once it serves, with what the daemon hands out then (its scheduler, to wake
    /// after moving the clock, and its job runner). No polling: the daemon says when.
    pub async fn start_with(
        config: Config,
        mut options: assetark::daemon::ServeOptions,
    ) -> (InProcessDaemon, assetark::daemon::Ready) {
        let client = ControlClient::new(config.control.socket.clone());
        let stop = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        options.ready = Some(tx);
        let task = tokio::spawn(assetark::daemon::serve_with(config, stop.clone(), options));
        let ready = match rx.await {
            Ok(ready) => ready,
            Err(_) => panic!("the daemon stopped while starting: {:?}", task.await),
        };
        (InProcessDaemon { client, stop, task }, ready)
    }

    /// Serves the config file at `path`.
    pub async fn start_file(path: &Path) -> InProcessDaemon {
        let config = Config::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self::start(config).await
    }

    /// A client of its control socket.
    pub fn client(&self) -> &ControlClient {
        &self.client
    }

    /// Stops it as SIGTERM would and asserts a clean exit.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task
            .await
            .expect("daemon task")
            .expect("daemon stops cleanly");
    }
}

/// `assetark serve --config F` as a child process, logging (debug) to a file.
pub struct DaemonProcess {
    bin: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    umask: Option<u32>,
    child: Option<Child>,
}

impl DaemonProcess {
    /// A daemon of binary `bin` with config file `config`, whose control socket is `socket`;
    /// its stderr is appended to `log`. Not started yet.
    pub fn new(bin: &Path, config: &Path, socket: &Path, log: &Path) -> DaemonProcess {
        DaemonProcess {
            bin: bin.to_path_buf(),
            config: config.to_path_buf(),
            socket: socket.to_path_buf(),
            log: log.to_path_buf(),
            env: Vec::new(),
            umask: None,
            child: None,
        }
    }

    /// Starts the daemon under this file mode creation mask.
    pub fn set_umask(&mut self, mask: u32) {
        self.umask = Some(mask);
    }

    /// An environment variable of every start.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn client(&self) -> ControlClient {
        ControlClient::new(self.socket.clone())
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The pid of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts the process and waits until its socket answers (or panics with its log if it
    /// exits first).
    pub async fn start(&mut self) {
        let child = self.spawn();
        self.child = Some(child);
        let client = self.client();
        let t0 = std::time::Instant::now();
        while client.get("/healthz").await.is_err() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("daemon exited with {status}: {}", self.log_text());
            }
            assert!(
                t0.elapsed() < DEADLINE,
                "daemon did not answer: {}",
                self.log_text()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Starts the process and waits until it exits; returns its exit code (for starts that
    /// must be refused).
    pub async fn start_fails(&mut self) -> i32 {
        let mut child = self.spawn();
        let status = tokio::time::timeout(DEADLINE, child.wait())
            .await
            .expect("the refused start exits in time")
            .expect("wait");
        status.code().unwrap_or(-1)
    }

    fn spawn(&self) -> Child {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        umasked(&self.bin, self.umask)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "debug")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("daemon spawns")
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn term(&mut self) {
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
}

/// A command running `bin`, under `mask` when given (through `sh -c 'umask M; exec'`, as the
/// `unsafe` `umask(2)` is forbidden here).
fn umasked(bin: &Path, mask: Option<u32>) -> Command {
    match mask {
        None => Command::new(bin),
        Some(mask) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("umask {mask:03o} && exec \"$0\" \"$@\""))
                .arg(bin);
            sh
        }
    }
}

/// The `assetark` CLI of binary `bin` run with `--config F`, stdin not a terminal.
#[derive(Clone)]
pub struct Cli {
    bin: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    umask: Option<u32>,
}

impl Cli {
    pub fn new(bin: &Path, config: &Path) -> Cli {
        Cli {
            bin: bin.to_path_buf(),
            config: config.to_path_buf(),
            env: Vec::new(),
            umask: None,
        }
    }

    /// Runs the CLI under this file mode creation mask (see [`DaemonProcess::set_umask`]).
    pub fn set_umask(&mut self, mask: u32) {
        self.umask = Some(mask);
    }

    /// An environment variable of every run.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub async fn run(&self, args: &[&str]) -> Out {
        let out = umasked(&self.bin, self.umask)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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

    /// Runs with `--json`, asserts success, parses stdout.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all).await;
        out.ok(args);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {out:?}"))
    }
}

/// What a CLI run printed and its exit code.
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
