//! The daemon as a child process with its own files, shared by the e2e modules that drive it
//! through the CLI (`tasks`, `dc`): a temporary directory holding the config (whose store and
//! control socket live next to it), the files it names, the daemon's log, and the CLI bound to
//! that config.

use std::path::Path;

use assetark_tests::kit::{Cli, DaemonProcess, Out};
use serde_json::Value;
use tempfile::TempDir;

use crate::BIN;

/// The head of every config: the store and the control socket inside the directory.
const HEAD: &str = "[store]\npath = \"data/assetark.db\"\n[control]\nsocket = \"ctl.sock\"\n";

/// A daemon's directory and, while it runs, its process.
pub struct Daemon {
    /// Holds the store, config and socket; removed on drop.
    _dir: TempDir,
    process: DaemonProcess,
    cli: Cli,
}

impl Daemon {
    /// Writes `files` (name, content) and the config (the store and socket lines, then
    /// `sites`: the `[[sites]]` tables) into a new directory; nothing runs yet.
    pub fn new(files: &[(&str, &str)], sites: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("file");
        }
        let path = dir.path().join("assetark.toml");
        std::fs::write(&path, format!("{HEAD}{sites}")).expect("config");
        let process = DaemonProcess::new(
            Path::new(BIN),
            &path,
            &dir.path().join("ctl.sock"),
            &dir.path().join("daemon.log"),
        );
        let cli = Cli::new(Path::new(BIN), &path);
        Daemon {
            _dir: dir,
            process,
            cli,
        }
    }

    /// Starts `assetark serve` and waits until the socket answers.
    pub async fn start(&mut self) {
        self.process.start().await;
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn term(&mut self) {
        self.process.term().await;
    }

    /// SIGKILL: no cleanup at all.
    pub async fn kill(&mut self) {
        self.process.kill().await;
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Runs the CLI against this daemon (stdin is not a terminal).
    pub async fn cli(&self, args: &[&str]) -> Out {
        self.cli.run(args).await
    }

    /// Runs the CLI with `--json`, asserts success, parses stdout.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        self.cli.json(args).await
    }

    /// Appends `toml` to the config (before `start`): hooks, more sites.
    pub fn append_config(&self, toml: &str) {
        use std::io::Write;
        let path = self._dir.path().join("assetark.toml");
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("config");
        writeln!(f, "\n{toml}").expect("config written");
    }
}
