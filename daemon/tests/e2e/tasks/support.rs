//! Helpers of the task tests: a simulator with `s1` (the cmdb dataset: ITSM and LOC, whose
//! ITSM offices reference LOC sites, and ITSM issues pointing at objects), `s2` (empty, its
//! Jira a copy of `s1`'s issues, as after a Jira migration) and `s3` (empty, no issues), a
//! daemon child process that knows the three sites (and, for a test that needs it, another
//! daemon with its own store), the CLI, and helpers for backups, restores and tasks.

use assetark_tests::kit::SiteReader;
use assets_sim::barrier::Condition;
use assets_sim::config::SimConfig;
use assets_sim::server::{Barrier, SimHandle};
use serde_json::Value;

pub use assetark_tests::kit::{Out, wait_for};

use crate::proc::Daemon;

const S1_TOKEN: &str = "tok-task-s1-41b7";
const S2_TOKEN: &str = "tok-task-s2-93c0";
const S3_TOKEN: &str = "tok-task-s3-5e21";
/// The simulator runs without rate limits, so the client's governor need not pace requests.
const LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 2\n";

/// A daemon (its directory and, while running, its process) with the simulator it talks to.
pub struct Env {
    pub sim: SimHandle,
    daemon: Daemon,
    /// The daemon's `[[sites]]` config and the files it names, for [`Env::other_store`].
    sites: String,
    files: Vec<(String, String)>,
}

impl Env {
    pub async fn new(objects: u32) -> Env {
        let toml = format!(
            "admin_api = true\n[rate_limits]\nenabled = false\n\
             [[sites]]\nname = \"s1\"\nemail = \"admin@s1.example\"\ntoken = \"{S1_TOKEN}\"\n\
             [sites.dataset]\nkind = \"cmdb\"\nobjects = {objects}\nseed = 5\n\
             [[sites]]\nname = \"s2\"\nemail = \"admin@s2.example\"\ntoken = \"{S2_TOKEN}\"\n\
             [sites.dataset]\nkind = \"empty\"\njira_issues_from = \"s1\"\n\
             [[sites]]\nname = \"s3\"\nemail = \"admin@s3.example\"\ntoken = \"{S3_TOKEN}\"\n\
             [sites.dataset]\nkind = \"empty\"\n"
        );
        let sim = assets_sim::server::start(SimConfig::from_toml(&toml).expect("sim config"))
            .await
            .expect("sim starts");
        let mut config = String::new();
        let mut files = Vec::new();
        for (name, token) in [("s1", S1_TOKEN), ("s2", S2_TOKEN), ("s3", S3_TOKEN)] {
            let site = sim.site(name).expect("site").clone();
            files.push((format!("{name}.token"), token));
            config.push_str(&format!(
                "[[sites]]\nname = \"{name}\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
                 token_file = \"{name}.token\"\n{LIMITS}",
                site.api_url, site.site_url, site.email
            ));
        }
        let files: Vec<(String, String)> =
            files.into_iter().map(|(n, t)| (n, t.to_owned())).collect();
        let daemon = Daemon::new(&borrowed(&files), &config);
        Env {
            sim,
            daemon,
            sites: config,
            files,
        }
    }

    /// Another daemon (not started) with its own store, knowing the same sites: what it
    /// restores has no record in this daemon's store.
    pub fn other_store(&self) -> Daemon {
        Daemon::new(&borrowed(&self.files), &self.sites)
    }

    pub async fn start(&mut self) {
        self.daemon.start().await;
    }

    /// SIGKILL: no cleanup at all.
    pub async fn kill(&mut self) {
        self.daemon.kill().await;
    }

    /// Runs the CLI against this daemon (stdin is not a terminal).
    pub async fn cli(&self, args: &[&str]) -> Out {
        self.daemon.cli(args).await
    }

    /// Runs the CLI with `--json`, asserts success, parses stdout.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        self.daemon.cli_json(args).await
    }

    /// Plain HTTP to a site of the simulator, independent of the daemon's client.
    pub fn site(&self, name: &str) -> SiteReader {
        SiteReader::new(&self.sim, name)
    }

    /// Backs up schema `key` of `s1` and returns the backup id.
    pub async fn backup(&self, key: &str) -> String {
        let job = self
            .cli_json(&["backup", "run", "--site", "s1", "--schema", key, "--wait"])
            .await;
        assert_eq!(job["status"], "done", "{job}");
        job["result"]["backup"]["id"]
            .as_i64()
            .expect("backup id")
            .to_string()
    }

    /// Backs up schema `key` of `s1` and waits until its objects-in-issues phase is done.
    pub async fn backup_with_issues(&self, key: &str) -> String {
        let id = self.backup(key).await;
        wait_for("the backup's issues phase", || async {
            let b = self.cli_json(&["backups", "show", &id]).await;
            let status = b["issues"]["status"].as_str().map(str::to_owned);
            assert_ne!(status.as_deref(), Some("failed"), "{b}");
            (status.as_deref() == Some("done")).then_some(())
        })
        .await;
        id
    }

    /// Restores `backup` into a new schema `key` on `site`, waiting; returns the restore id.
    pub async fn restore(&self, backup: &str, key: &str, site: &str) -> String {
        let r = self
            .cli_json(&[
                "restore",
                "start",
                backup,
                "--to",
                "new-schema",
                "--name",
                &format!("{key} restored"),
                "--key",
                key,
                "--site",
                site,
                "--wait",
            ])
            .await;
        assert_eq!(r["status"], "completed", "{r}");
        r["id"].as_i64().expect("restore id").to_string()
    }

    /// `tasks show ID --json`.
    pub async fn task(&self, id: &str) -> Value {
        self.cli_json(&["tasks", "show", id]).await
    }

    /// Starts a task (`tasks start ARGS`, not waiting) whose request `held` holds, SIGKILLs the
    /// daemon once the request is held (the task `in_progress`) and the request abandoned,
    /// restarts it, and returns the task's id and the task once it ended.
    pub async fn killed_and_resumed(&mut self, args: &[&str], held: Barrier) -> (String, Value) {
        let mut start = vec!["tasks", "start"];
        start.extend_from_slice(args);
        let started = self.cli_json(&start).await;
        let id = started["task_id"].as_i64().expect("task id").to_string();
        held.wait_held(1).await;
        assert_eq!(self.task(&id).await["status"], "in_progress");
        self.kill().await;
        held.wait(Condition {
            abandoned: Some(1),
            ..Condition::default()
        })
        .await;
        drop(held);
        self.start().await;
        let ended = self.wait_task(&id).await;
        (id, ended)
    }

    /// Polls `tasks show` until the task ended.
    pub async fn wait_task(&self, id: &str) -> Value {
        wait_for("the task ends", || async {
            let t = self.task(id).await;
            matches!(t["status"].as_str(), Some("success" | "error")).then_some(t)
        })
        .await
    }
}

/// `(name, content)` pairs as the daemon harness takes them.
fn borrowed(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect()
}

/// `(outcome, item)` pairs of a task's report.
pub fn outcomes(task: &Value) -> Vec<(String, String)> {
    task["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["outcome"].as_str().expect("outcome").to_owned(),
                i["item"].as_str().expect("item").to_owned(),
            )
        })
        .collect()
}

/// How many items of a report have `outcome`.
pub fn count(task: &Value, outcome: &str) -> usize {
    outcomes(task).iter().filter(|(o, _)| o == outcome).count()
}
