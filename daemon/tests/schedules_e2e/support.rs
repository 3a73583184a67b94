//! Helpers of the schedule end-to-end tests: the simulator in-process, and the daemon
//! in-process on a manual clock (`daemon::serve_with`), whose readiness comes through a
//! channel and whose scheduler the test wakes after moving the clock: no polling, no sleeps.

use std::sync::Arc;

use assetark::api::client::ControlClient;
use assetark::clock::ManualClock;
use assetark::config::{Config, Sources};
use assetark::daemon::{Ready, ServeOptions, serve_with};
use assets_sim::config::SimConfig;
use assets_sim::server::SimHandle;
use serde_json::Value;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub const SITE_TOKEN: &str = "tok-sched-5e1d";
/// No pacing by the client's governor against an unlimited simulator; quick job retries.
pub const LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 1\n\
    retry_base_ms = 10\nretry_max_ms = 20\n";
pub const JOBS: &str = "[jobs]\nmax_retries = 2\nretry_base_ms = 20\nretry_max_ms = 40\n";

pub async fn start_sim(objects: u32) -> SimHandle {
    let toml = format!(
        "admin_api = true\n[rate_limits]\nenabled = false\n[[sites]]\nname = \"s1\"\n\
         email = \"admin@s1.example\"\ntoken = \"{SITE_TOKEN}\"\n[sites.dataset]\nkind = \"cmdb\"\n\
         objects = {objects}\nseed = 11\n"
    );
    assets_sim::server::start(SimConfig::from_toml(&toml).expect("sim config"))
        .await
        .expect("sim starts")
}

/// The config of a daemon on `sim` in `dir`, with `extra` appended (schedules).
pub fn config_text(sim: &SimHandle, extra: &str) -> String {
    let site = sim.site("s1").expect("site s1");
    format!(
        "[store]\npath = \"data/assetark.db\"\n[control]\nsocket = \"ctl.sock\"\n\
         [[sites]]\nname = \"s1\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
         token = \"{SITE_TOKEN}\"\n{LIMITS}{JOBS}{extra}",
        site.api_url, site.site_url, site.email
    )
}

/// A daemon running in this process.
pub struct Daemon {
    pub ready: Ready,
    pub client: ControlClient,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Daemon {
    /// Starts a daemon on `dir` with `config` and `clock`; returns once it serves.
    pub async fn start(dir: &std::path::Path, config: &str, clock: Arc<ManualClock>) -> Daemon {
        let path = dir.join("assetark.toml");
        std::fs::write(&path, config).expect("config");
        let cfg = Config::parse(config, &path, &Sources::process()).expect("valid config");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stop = CancellationToken::new();
        let options = ServeOptions {
            clock,
            wall_clock_trigger: false,
            ready: Some(tx),
        };
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                serve_with(cfg, stop, options).await.expect("daemon runs");
            }
        });
        let ready = rx.await.expect("daemon ready");
        let client = ControlClient::new(ready.socket.clone());
        Daemon {
            ready,
            client,
            stop,
            task,
        }
    }

    /// Stops the daemon as a signal would and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("daemon task");
    }

    pub async fn get(&self, path: &str) -> Value {
        self.client.get(path).await.expect(path).body
    }

    /// The scheduled backup jobs' state, from `GET /v1/schedules`.
    pub async fn schedule(&self, schema: &str) -> Value {
        let list = self.get("/v1/schedules").await;
        list["items"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["schema"] == schema))
            .cloned()
            .unwrap_or_else(|| panic!("no schedule of {schema}: {list}"))
    }

    /// Waits (on the job's event stream) until a job ends; returns its final `end` event.
    pub async fn wait_job(&self, job: i64) -> Value {
        let mut text = String::new();
        self.client
            .stream(&format!("/v1/jobs/{job}/events"), |chunk| {
                text.push_str(&String::from_utf8_lossy(chunk));
                true
            })
            .await
            .expect("event stream");
        text.split("\n\n")
            .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find(|v| v["event"] == "end")
            .unwrap_or_else(|| panic!("job {job} stream without end: {text}"))
    }

    /// `GET /metrics`, parsed by a Prometheus text parser.
    pub async fn metrics(&self) -> prometheus_parse::Scrape {
        let (status, _, raw) = self
            .client
            .send_raw(hyper::Method::GET, "/metrics", None)
            .await
            .expect("metrics");
        assert_eq!(status, 200);
        let text = String::from_utf8(raw.to_vec()).expect("utf-8");
        let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_owned())).collect();
        prometheus_parse::Scrape::parse(lines.into_iter()).expect("the metrics parse")
    }
}

/// The value of a series with these labels (0 when absent).
pub fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

pub fn at(t: &str) -> OffsetDateTime {
    OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).expect("rfc3339")
}
