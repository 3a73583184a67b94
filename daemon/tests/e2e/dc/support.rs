//! Helpers of the Data Center tests: a simulator with a Data Center site `d1` holding a CMDB
//! (long Text values, comments, attachments), an empty Data Center site `d2` (its Jira a copy
//! of `d1`'s issues, as after a Jira migration) and an empty
//! Cloud site `c1`; a daemon child process whose config knows `d1` (personal access token from
//! a file) and `c1`; the CLI runner; independent readers of the sites (plain HTTP).

use assetark_tests::kit::DcApi;
use assets_sim::config::SimConfig;
use assets_sim::server::SimHandle;
use serde_json::Value;

pub use assetark_tests::kit::Out;

use crate::proc::Daemon;

/// Token of `d1` (a personal access token, from a file).
pub const D1_TOKEN: &str = "pat-d1-7c1e";
/// Password of `d2`'s account (Basic auth with the email).
pub const D2_PASSWORD: &str = "pw-d2-31ab";
/// Token of `c1`.
pub const C1_TOKEN: &str = "tok-c1-55e0";
/// The simulator runs Cloud without rate limits, so the Cloud client need not pace requests.
const CLOUD_LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 2\n";

/// A daemon (its directory and, while running, its process) with the simulator it talks to.
pub struct Env {
    pub sim: SimHandle,
    daemon: Daemon,
}

impl Env {
    /// `objects` in `d1`'s CMDB; `extra_sim` is added to the simulator's config (top level).
    pub async fn new(objects: u32, extra_sim: &str) -> Env {
        Env::with_d1_limits(objects, extra_sim, "").await
    }

    /// [`Env::new`] with `d1_limits` (lines) added to `d1`'s `[sites.limits]`.
    pub async fn with_d1_limits(objects: u32, extra_sim: &str, d1_limits: &str) -> Env {
        let toml = format!(
            "admin_api = true\n{extra_sim}\n[rate_limits]\nenabled = false\n\
             [[sites]]\nname = \"d1\"\nflavor = \"dc\"\nemail = \"admin@d1.example\"\ntoken = \"{D1_TOKEN}\"\n\
             [sites.dataset]\nkind = \"cmdb\"\nobjects = {objects}\nseed = 5\n\
             [[sites]]\nname = \"d2\"\nflavor = \"dc\"\nemail = \"admin@d2.example\"\ntoken = \"pat-d2\"\n\
             password = \"{D2_PASSWORD}\"\n[sites.dataset]\nkind = \"empty\"\njira_issues_from = \"d1\"\n\
             [[sites]]\nname = \"c1\"\nemail = \"admin@c1.example\"\ntoken = \"{C1_TOKEN}\"\n\
             [sites.dataset]\nkind = \"empty\"\n"
        );
        let sim = assets_sim::server::start(SimConfig::from_toml(&toml).expect("sim config"))
            .await
            .expect("sim starts");
        let d1 = sim.dc_site("d1").expect("site d1").clone();
        let c1 = sim.site("c1").expect("site c1").clone();
        let config = format!(
            "[[sites]]\nname = \"d1\"\nflavor = \"dc\"\nbase_url = \"{}\"\ntoken_file = \"d1.token\"\n\
             [sites.limits]\nmax_retries = 3\nretry_base_ms = 20\nretry_max_ms = 200\n{d1_limits}\
             [[sites]]\nname = \"c1\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
             token = \"{C1_TOKEN}\"\n{CLOUD_LIMITS}",
            d1.base_url, c1.api_url, c1.site_url, c1.email
        );
        let token = format!("{D1_TOKEN}\n");
        let daemon = Daemon::new(&[("d1.token", &token)], &config);
        Env { sim, daemon }
    }

    /// Starts `assetark serve` and waits until the socket answers.
    pub async fn start(&mut self) {
        self.daemon.start().await;
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(&mut self) {
        self.daemon.term().await;
    }

    /// The daemon's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// Runs the CLI against this daemon.
    pub async fn cli(&self, args: &[&str]) -> Out {
        self.daemon.cli(args).await
    }

    /// Runs the CLI with `--json`, asserts success, parses stdout.
    pub async fn cli_json(&self, args: &[&str]) -> Value {
        self.daemon.cli_json(args).await
    }

    /// Adds `d2` (Basic auth: email and password) through the CLI.
    pub async fn add_d2(&self) {
        let d2 = self.sim.dc_site("d2").expect("d2").clone();
        self.cli(&[
            "sites",
            "add",
            "d2",
            "--flavor",
            "dc",
            "--base-url",
            &d2.base_url,
            "--email",
            &d2.email,
            "--token",
            D2_PASSWORD,
        ])
        .await
        .ok(&["sites", "add", "d2"]);
    }

    /// Backs up schema `key` of `site`; returns the finished job.
    pub async fn backup(&self, site: &str, key: &str) -> Value {
        let job = self
            .cli_json(&["backup", "run", "--site", site, "--schema", key, "--wait"])
            .await;
        assert_eq!(job["status"], "done", "{job}");
        job
    }

    /// A Data Center site of the simulator, read through plain HTTP.
    pub fn dc(&self, name: &str) -> DcApi {
        DcApi::for_site(&self.sim, name)
    }

    /// Appends `toml` to the daemon's config (before `start`): hooks, more sites.
    pub fn append_config(&self, toml: &str) {
        self.daemon.append_config(toml);
    }
}

/// The schema with key `key` of a Data Center site (its list entry).
pub async fn dc_schema(api: &DcApi, key: &str) -> Value {
    let list = api.get("/objectschema/list").await.expect(200);
    list["objectschemas"]
        .as_array()
        .expect("objectschemas")
        .iter()
        .find(|s| s["objectSchemaKey"] == key)
        .cloned()
        .unwrap_or_else(|| panic!("no schema {key}: {list}"))
}
