//! Helpers of the schedule tests on the kit: the config of a daemon on the kit's simulator
//! with schedules, the daemon in-process on a manual clock (`InProcessDaemon::start_with`),
//! and readers of its answers: a schedule, a job's end (from its event stream), `/metrics`
//! parsed by a Prometheus text parser.

use std::sync::Arc;

use assetark::clock::ManualClock;
use assetark::config::{Config, Sources};
use assetark::daemon::{Ready, ServeOptions};
use assetark_tests::kit::{InProcessDaemon, cmdb_config, start_sim};
use assets_sim::server::SimHandle;
use serde_json::Value;
use time::OffsetDateTime;

/// No pacing by the client's governor against an unlimited simulator; quick job retries.
const LIMITS: &str = "[sites.limits]\naql_legacy_per_minute = 1000000\naql_per_minute = 1000000\n\
    object_per_minute = 1000000\nother_per_minute = 1000000\njira_per_minute = 1000000\nmax_retries = 1\n\
    retry_base_ms = 10\nretry_max_ms = 20\n";
const JOBS: &str = "[jobs]\nmax_retries = 2\nretry_base_ms = 20\nretry_max_ms = 40\n";

/// The kit's simulator with one cmdb site `s1`, limits off.
pub async fn sim(objects: u32) -> SimHandle {
    start_sim(&cmdb_config(objects, false)).await
}

/// The config of a daemon on `sim` (store and socket relative to the file), with `extra`
/// appended (schedules).
pub fn config_text(sim: &SimHandle, extra: &str) -> String {
    let site = sim.site("s1").expect("site s1");
    format!(
        "[store]\npath = \"data/assetark.db\"\n[control]\nsocket = \"ctl.sock\"\n\
         [[sites]]\nname = \"s1\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
         token = \"{}\"\n{LIMITS}{JOBS}{extra}",
        site.api_url, site.site_url, site.email, site.token
    )
}

/// A daemon in-process on a manual clock.
pub struct Daemon {
    pub ready: Ready,
    pub inner: InProcessDaemon,
}

impl Daemon {
    /// Writes `config` into `dir` and serves it on `clock`, the wall-clock trigger off.
    pub async fn start(dir: &std::path::Path, config: &str, clock: Arc<ManualClock>) -> Daemon {
        let path = dir.join("assetark.toml");
        std::fs::write(&path, config).expect("config");
        let cfg = Config::parse(config, &path, &Sources::process()).expect("valid config");
        let options = ServeOptions {
            clock,
            wall_clock_trigger: false,
            ready: None,
        };
        let (inner, ready) = InProcessDaemon::start_with(cfg, options).await;
        Daemon { ready, inner }
    }

    pub fn client(&self) -> &assetark::api::client::ControlClient {
        self.inner.client()
    }

    pub async fn stop(self) {
        self.inner.stop().await;
    }

    pub async fn get(&self, path: &str) -> Value {
        self.client().get(path).await.expect(path).body
    }

    /// One schedule from `GET /v1/schedules`.
    pub async fn schedule(&self, schema: &str) -> Value {
        let list = self.get("/v1/schedules").await;
        list["items"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["schema"] == schema))
            .cloned()
            .unwrap_or_else(|| panic!("no schedule of {schema}: {list}"))
    }

    /// Waits on a job's event stream until it ends; returns the `end` event.
    pub async fn wait_job(&self, job: i64) -> Value {
        let mut text = String::new();
        self.client()
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
            .client()
            .send_raw(hyper::Method::GET, "/metrics", None)
            .await
            .expect("metrics");
        assert_eq!(status, 200);
        let text = String::from_utf8(raw.to_vec()).expect("utf-8");
        let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_owned())).collect();
        prometheus_parse::Scrape::parse(lines.into_iter()).expect("the metrics parse")
    }
}

/// The sum of the series of `name` with these labels (0 when absent).
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

/// The observations of a histogram with these labels.
pub fn count(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let histograms: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .filter_map(|s| match &s.value {
            prometheus_parse::Value::Histogram(h) => h.last().map(|b| b.count),
            _ => None,
        })
        .sum();
    // The parser folds the buckets into one sample (the +Inf bucket is the count) and may
    // also keep `_count` as a sample of its own: take the buckets when it made them.
    if histograms > 0.0 {
        histograms
    } else {
        sample(scrape, &format!("{name}_count"), labels)
    }
}

pub fn at(t: &str) -> OffsetDateTime {
    OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).expect("rfc3339")
}
