//! `GET /metrics`: the daemon's figures in the Prometheus text format (OpenMetrics, which
//! Prometheus scrapes natively), with `prometheus-client`.
//!
//! Most figures are collected at scrape time from state that already exists, so they need no
//! counters of their own and survive restarts where the state does: the store
//! ([`StoreFigures`]: jobs by kind and status, objects backed up and restored, failed and last
//! successful scheduled backups, backups, database size), each site's client counters
//! ([`ClientStats`]: requests and 429s per endpoint class, governor wait, retries) and the
//! scheduler's state (firings, skips, next firing). Only job durations are observed as they
//! happen ([`JobMetrics`], fed by the job runner), since nothing stores them.
//!
//! Names follow Prometheus conventions: `assetark_` prefix, counters end in `_total` (the
//! encoder appends it), units in the name (`_seconds`, `_bytes`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::AtomicU64;

use crate::assets::ClientStats;
use crate::schedules::ScheduleEntry;
use crate::store::StoreFigures;

/// The content type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Label pairs of one series.
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn new_duration_histogram() -> Histogram {
    // 0.5 s .. ~36 h: a verify of a tiny backup to a restore of a huge schema.
    Histogram::new(exponential_buckets(0.5, 4.0, 10))
}

/// Durations of finished jobs, observed by the job runner.
#[derive(Debug, Clone)]
pub struct JobMetrics {
    durations: Family<Labels, Histogram, fn() -> Histogram>,
}

impl Default for JobMetrics {
    fn default() -> Self {
        JobMetrics {
            durations: Family::new_with_constructor(new_duration_histogram),
        }
    }
}

impl JobMetrics {
    /// Records that a job of `kind` ended with `status` after `seconds` (all its runs).
    pub fn observe(&self, kind: &str, status: &str, seconds: f64) {
        self.durations
            .get_or_create(&labels(&[("kind", kind), ("status", status)]))
            .observe(seconds);
    }
}

/// One site's client counters.
#[derive(Debug, Clone)]
pub struct SiteStats {
    /// Site name.
    pub site: String,
    /// Its client's counters.
    pub stats: ClientStats,
}

/// Everything one scrape shows.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// From the store.
    pub figures: StoreFigures,
    /// From each site's client.
    pub sites: Vec<SiteStats>,
    /// From the scheduler.
    pub schedules: Vec<ScheduleEntry>,
    /// From the job runner.
    pub jobs: JobMetrics,
}

fn counter_family() -> Family<Labels, Counter> {
    Family::default()
}

fn float_counter_family() -> Family<Labels, Counter<f64, AtomicU64>> {
    Family::default()
}

fn gauge_family() -> Family<Labels, Gauge> {
    Family::default()
}

fn float_gauge_family() -> Family<Labels, Gauge<f64, AtomicU64>> {
    Family::default()
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Renders a snapshot in the text format.
///
/// # Errors
///
/// Only if writing into the string fails (it does not).
pub fn render(s: &Snapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();

    let jobs = gauge_family();
    for ((kind, status), n) in &s.figures.jobs {
        jobs.get_or_create(&labels(&[("kind", kind), ("status", status)]))
            .set(to_i64(*n));
    }
    registry.register(
        "assetark_jobs",
        "Jobs in the store by kind and status",
        jobs,
    );
    registry.register_with_unit(
        "assetark_job_duration",
        "Time from a job's first run to its end, by kind and final status (since the daemon started)",
        Unit::Seconds,
        s.jobs.durations.clone(),
    );

    let requests = counter_family();
    let throttled = counter_family();
    let waited = float_counter_family();
    let retries = counter_family();
    let server_errors = counter_family();
    let transport_errors = counter_family();
    for site in &s.sites {
        let st = &site.stats;
        for (class, n) in &st.sent {
            requests
                .get_or_create(&labels(&[("site", &site.site), ("class", class)]))
                .inc_by(*n);
        }
        for (class, n) in &st.throttled_by_class {
            throttled
                .get_or_create(&labels(&[("site", &site.site), ("class", class)]))
                .inc_by(*n);
        }
        for (class, micros) in &st.governor_wait_micros {
            waited
                .get_or_create(&labels(&[("site", &site.site), ("class", class)]))
                .inc_by(*micros as f64 / 1e6);
        }
        let site_only = labels(&[("site", &site.site)]);
        retries.get_or_create(&site_only).inc_by(st.retries);
        server_errors
            .get_or_create(&site_only)
            .inc_by(st.server_errors);
        transport_errors
            .get_or_create(&site_only)
            .inc_by(st.transport_errors);
    }
    registry.register(
        "assetark_requests",
        "Requests sent to a site's Assets and Jira APIs, by endpoint class (since the daemon started)",
        requests,
    );
    registry.register(
        "assetark_throttled",
        "429 answers received, by site and endpoint class (since the daemon started)",
        throttled,
    );
    registry.register_with_unit(
        "assetark_governor_wait",
        "Time requests waited for the rate governor, by site and endpoint class (since the daemon started)",
        Unit::Seconds,
        waited,
    );
    registry.register(
        "assetark_request_retries",
        "Requests retried after a 429, 5xx or transport failure (since the daemon started)",
        retries,
    );
    registry.register(
        "assetark_server_errors",
        "5xx answers received (since the daemon started)",
        server_errors,
    );
    registry.register(
        "assetark_transport_errors",
        "Connect failures, timeouts and resets (since the daemon started)",
        transport_errors,
    );

    let backed_up = counter_family();
    for (site, n) in &s.figures.objects_backed_up {
        backed_up
            .get_or_create(&labels(&[("site", site)]))
            .inc_by(*n);
    }
    registry.register(
        "assetark_objects_backed_up",
        "Objects in the backups of completed backup jobs, by site",
        backed_up,
    );
    let restored = counter_family();
    for (site, n) in &s.figures.objects_restored {
        restored
            .get_or_create(&labels(&[("site", site)]))
            .inc_by(*n);
    }
    registry.register(
        "assetark_objects_restored",
        "Objects created by completed restore jobs, by target site",
        restored,
    );

    let last_success = float_gauge_family();
    for ((site, schema), at) in &s.figures.scheduled_success {
        last_success
            .get_or_create(&labels(&[("site", site), ("schema", schema)]))
            .set(at.unix_timestamp() as f64);
    }
    registry.register_with_unit(
        "assetark_schedule_last_success_timestamp",
        "End of the newest complete scheduled backup of a schema (Unix time); alert when it grows old",
        Unit::Seconds,
        last_success,
    );
    let failures = counter_family();
    for ((site, schema), n) in &s.figures.scheduled_failures {
        failures
            .get_or_create(&labels(&[("site", site), ("schema", schema)]))
            .inc_by(*n);
    }
    let firings = counter_family();
    let next = float_gauge_family();
    let enabled = gauge_family();
    for e in &s.schedules {
        let (site, schema) = (e.schedule.key.site.as_str(), e.schedule.key.schema.as_str());
        // A schedule without failures still shows a zero, so an alert can use rate().
        failures
            .get_or_create(&labels(&[("site", site), ("schema", schema)]))
            .inc_by(0);
        for (outcome, n) in [("enqueued", e.state.fired), ("skipped", e.state.skipped)] {
            firings
                .get_or_create(&labels(&[
                    ("site", site),
                    ("schema", schema),
                    ("outcome", outcome),
                ]))
                .inc_by(n);
        }
        if let Some(t) = e.state.next_fire_at {
            next.get_or_create(&labels(&[("site", site), ("schema", schema)]))
                .set(t.unix_timestamp() as f64);
        }
        enabled
            .get_or_create(&labels(&[("site", site), ("schema", schema)]))
            .set(i64::from(e.schedule.enabled));
    }
    registry.register(
        "assetark_schedule_failures",
        "Scheduled backups that failed after their retries, by schema",
        failures,
    );
    registry.register(
        "assetark_schedule_firings",
        "Firings of a schedule that queued a backup (enqueued) or found one queued or running (skipped)",
        firings,
    );
    registry.register_with_unit(
        "assetark_schedule_next_firing_timestamp",
        "When a schedule fires next (Unix time)",
        Unit::Seconds,
        next,
    );
    registry.register(
        "assetark_schedule_enabled",
        "Whether a schedule fires (1) or not (0)",
        enabled,
    );

    let backups = gauge_family();
    for (t, n) in &s.figures.backups {
        backups
            .get_or_create(&labels(&[("type", t)]))
            .set(to_i64(*n));
    }
    registry.register("assetark_backups", "Complete backups by type", backups);
    let size: Gauge = Gauge::default();
    size.set(to_i64(s.figures.db_bytes));
    registry.register_with_unit(
        "assetark_store_size",
        "Size of the store's database file",
        Unit::Bytes,
        size,
    );

    let mut out = String::new();
    encode(&mut out, &registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions_and_the_text_parses() {
        let mut figures = StoreFigures::default();
        figures.jobs.insert(("backup".into(), "done".into()), 3);
        figures.objects_backed_up.insert("prod".into(), 600);
        figures.db_bytes = 4096;
        let jobs = JobMetrics::default();
        jobs.observe("backup", "done", 1.5);
        let mut stats = ClientStats::default();
        stats.sent.insert("aql", 7);
        stats.throttled_by_class.insert("aql", 2);
        stats.governor_wait_micros.insert("aql", 1_500_000);
        let text = render(&Snapshot {
            figures,
            sites: vec![SiteStats {
                site: "prod".into(),
                stats,
            }],
            schedules: vec![],
            jobs,
        })
        .unwrap();
        for line in [
            "assetark_jobs{kind=\"backup\",status=\"done\"} 3",
            "assetark_requests_total{site=\"prod\",class=\"aql\"} 7",
            "assetark_throttled_total{site=\"prod\",class=\"aql\"} 2",
            "assetark_governor_wait_seconds_total{site=\"prod\",class=\"aql\"} 1.5",
            "assetark_objects_backed_up_total{site=\"prod\"} 600",
            "assetark_store_size_bytes 4096",
            "assetark_job_duration_seconds_count{kind=\"backup\",status=\"done\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_owned())).collect();
        let parsed = prometheus_parse::Scrape::parse(lines.into_iter()).expect("parses");
        assert!(
            parsed
                .samples
                .iter()
                .any(|s| s.metric == "assetark_store_size_bytes")
        );
    }
}
