//! End-to-end tests of schedules, retention and `/metrics`: the simulator and the daemon run
//! in this process (real HTTP, a real SQLite file), the daemon on a manual clock that the test
//! moves before waking the scheduler; a request barrier of the simulator holds a backup in
//! flight. Nothing sleeps: every wait is on a channel, an event stream or a barrier.
//!
//! - `a_schedule_fires_on_the_clock_never_overlaps_and_its_retention_prunes`: a firing queues
//!   a scheduled backup; while the barrier holds it, the next firing is skipped (no second
//!   job); the schedule shows next firing, last firing and last result; `/metrics` parses and
//!   its counters move; after more firings the retention keeps the newest two scheduled
//!   backups and never the manual one; `backups prune --dry-run` says which rule keeps what;
//! - `a_run_missed_while_down_runs_once_at_start_and_failures_are_visible`: a restart an hour
//!   later runs the schedule once; a schedule whose backups fail (an unknown schema) is retried
//!   and its failure shows in `schedules list` and in `/metrics`; API schedules survive the
//!   restart and config ones cannot be changed through the API;
//! - `backup_run_follow_streams_the_backup_until_it_ends`: `backup run --follow` prints the
//!   job's state, stages and end, and with `--json` one event a line.

pub(crate) mod support;

use assets_sim::barrier::BarrierSpec;
use serde_json::{Value, json};
use time::macros::datetime;

use assetark::clock::ManualClock;
use assetark::store::{FireOutcome, FireReason};
use support::{Daemon, at, config_text, count, sample, sim as start_sim};

const EVERY_10S: &str =
    "[[schedules]]\nsite = \"s1\"\nschema = \"ITSM\"\ncron = \"*/10 * * * * *\"\nkeep_last = 2\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_on_the_clock_never_overlaps_and_its_retention_prunes() {
    let sim = start_sim(80).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(datetime!(2030-01-01 00:00:05 UTC));
    let d = Daemon::start(dir.path(), &config_text(&sim, EVERY_10S), clock.clone()).await;
    let s = d.schedule("ITSM").await;
    assert_eq!(
        at(s["next_fire_at"].as_str().expect("next")),
        datetime!(2030-01-01 00:00:10 UTC)
    );
    assert_eq!(
        (s["fired"].as_u64(), s["source"].as_str()),
        (Some(0), Some("config"))
    );

    // The first firing's backup is held in its objects stage.
    let hold = sim
        .barrier(BarrierSpec::new("POST", "/object/aql").nth(1))
        .expect("barrier");
    let mut fired = d.ready.scheduler.subscribe();
    clock.set(datetime!(2030-01-01 00:00:10 UTC));
    d.ready.scheduler.wake();
    let first = fired.recv().await.expect("fires");
    assert_eq!(
        (first.reason, first.outcome),
        (FireReason::Cron, FireOutcome::Enqueued)
    );
    let job = first.job.expect("a job");
    hold.wait_held(1).await;
    let s = d.schedule("ITSM").await;
    assert_eq!(s["last_result"]["status"], "running", "{s}");
    assert_eq!(s["last_firing"], "enqueued");

    // Due again while the backup runs: skipped, no second job.
    clock.set(datetime!(2030-01-01 00:00:20 UTC));
    d.ready.scheduler.wake();
    let second = fired.recv().await.expect("fires again");
    assert_eq!(
        (second.outcome, second.job),
        (FireOutcome::Skipped, Some(job))
    );
    let s = d.schedule("ITSM").await;
    assert_eq!(
        (s["fired"].as_u64(), s["skipped"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["last_firing"], "skipped");
    assert_eq!(
        at(s["last_fired_at"].as_str().expect("last")),
        datetime!(2030-01-01 00:00:20 UTC)
    );
    assert_eq!(
        at(s["next_fire_at"].as_str().expect("next")),
        datetime!(2030-01-01 00:00:30 UTC)
    );
    let jobs_now = d.metrics().await;
    assert_eq!(
        sample(&jobs_now, "assetark_jobs", &[("kind", "backup")]),
        1.0,
        "one backup job"
    );

    hold.release_all();
    let end = d.wait_job(job).await;
    assert_eq!(end["status"], "done", "{end}");
    let objects = end["result"]["backup"]["object_count"]
        .as_f64()
        .expect("count");
    let s = d.schedule("ITSM").await;
    assert_eq!(s["last_result"]["status"], "succeeded", "{s}");
    assert_eq!(s["last_result"]["backup_id"], end["result"]["backup"]["id"]);

    let m = d.metrics().await;
    let itsm = [("site", "s1"), ("schema", "ITSM")];
    assert_eq!(
        sample(
            &m,
            "assetark_schedule_firings_total",
            &[("outcome", "skipped")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "assetark_schedule_firings_total",
            &[("outcome", "enqueued")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "assetark_jobs",
            &[("kind", "backup"), ("status", "done")]
        ),
        1.0
    );
    assert_eq!(
        sample(&m, "assetark_objects_backed_up_total", &[("site", "s1")]),
        objects
    );
    assert!(
        sample(
            &m,
            "assetark_requests_total",
            &[("site", "s1"), ("class", "aql")]
        ) >= 1.0
    );
    assert!(
        sample(
            &m,
            "assetark_schedule_last_success_timestamp_seconds",
            &itsm
        ) > 1.6e9
    );
    assert_eq!(sample(&m, "assetark_schedule_failures_total", &itsm), 0.0);
    assert_eq!(
        count(&m, "assetark_job_duration_seconds", &[("kind", "backup")]),
        1.0
    );
    assert!(sample(&m, "assetark_store_size_bytes", &[]) > 0.0);
    let requests_before = sample(&m, "assetark_requests_total", &[("site", "s1")]);

    // A manual backup, then two more firings: the third scheduled backup prunes the first.
    let manual = d
        .client()
        .post("/v1/backups", &json!({"site": "s1", "schema": "ITSM"}))
        .await
        .expect("manual backup");
    let manual_job = manual.body["job_id"].as_i64().expect("job");
    d.wait_job(manual_job).await;
    for t in [
        datetime!(2030-01-01 00:00:30 UTC),
        datetime!(2030-01-01 00:00:40 UTC),
    ] {
        clock.set(t);
        d.ready.scheduler.wake();
        let f = fired.recv().await.expect("fires");
        assert_eq!(f.outcome, FireOutcome::Enqueued);
        assert_eq!(d.wait_job(f.job.expect("job")).await["status"], "done");
    }
    let scheduled = d.get("/v1/backups?type=scheduled").await;
    assert_eq!(scheduled["total"], 2, "keep_last = 2: {scheduled}");
    let kept: Vec<i64> = scheduled["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|b| b["id"].as_i64())
        .collect();
    assert!(!kept.contains(&end["result"]["backup"]["id"].as_i64().expect("id")));
    assert_eq!(
        d.get("/v1/backups?type=manual").await["total"],
        1,
        "manual backups are never pruned"
    );

    let m = d.metrics().await;
    assert_eq!(
        sample(
            &m,
            "assetark_jobs",
            &[("kind", "backup"), ("status", "done")]
        ),
        4.0
    );
    assert_eq!(
        sample(&m, "assetark_objects_backed_up_total", &[("site", "s1")]),
        4.0 * objects
    );
    assert!(sample(&m, "assetark_requests_total", &[("site", "s1")]) > requests_before);
    assert_eq!(
        sample(&m, "assetark_backups", &[("type", "scheduled")]),
        2.0
    );

    let dry = d
        .client()
        .post("/v1/backups/prune", &json!({"dry_run": true}))
        .await
        .expect("prune")
        .body;
    let p = &dry["schedules"][0];
    assert_eq!(p["remove"].as_array().map(Vec::len), Some(0), "{dry}");
    let rules: Vec<Value> = p["keep"]
        .as_array()
        .expect("keep")
        .iter()
        .map(|v| v["kept_by"].clone())
        .collect();
    assert_eq!(rules, [json!(["last", "newest"]), json!(["last"])], "{dry}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_missed_while_down_runs_once_at_start_and_failures_are_visible() {
    let sim = start_sim(40).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = datetime!(2030-01-01 00:00:05 UTC);
    let clock = ManualClock::new(t0);
    // NOPE does not exist on the site: its scheduled backups fail (permanently).
    let extra = format!(
        "{EVERY_10S}[[schedules]]\nsite = \"s1\"\nschema = \"NOPE\"\ncron = \"0 0 2 * * *\"\n"
    );
    let config = config_text(&sim, &extra);
    let d = Daemon::start(dir.path(), &config, clock.clone()).await;
    // Schedules of the config cannot be changed through the API; API ones can.
    let err = d
        .client()
        .post(
            "/v1/schedules",
            &json!({"site": "s1", "schema": "ITSM", "cron": "0 0 3 * * *"}),
        )
        .await
        .expect_err("config schedule");
    assert!(err.to_string().contains("config file"), "{err}");
    let bad = d
        .client()
        .post(
            "/v1/schedules",
            &json!({"site": "s2", "schema": "ITSM", "cron": "0 3 * * *", "tz": "Mars/Base"}),
        )
        .await
        .expect_err("bad input");
    assert!(
        err_fields(&bad).contains("cron") && err_fields(&bad).contains("tz"),
        "{bad}"
    );
    d.stop().await;

    // Down for an hour: the ITSM schedule missed 360 firings and runs once at start.
    clock.set(t0 + time::Duration::hours(1));
    let d = Daemon::start(dir.path(), &config, clock.clone()).await;
    let s = d.schedule("ITSM").await;
    assert_eq!(
        (s["last_reason"].as_str(), s["fired"].as_u64()),
        (Some("missed"), Some(1)),
        "{s}"
    );
    let job = s["last_result"]["job_id"].as_i64().expect("job");
    assert_eq!(d.wait_job(job).await["status"], "done");
    assert_eq!(d.get("/v1/backups?type=scheduled").await["total"], 1);
    let nope = d.schedule("NOPE").await;
    assert_eq!(nope["fired"], 0, "not due, not missed: {nope}");

    // A backup that fails: retried per [jobs], then visible in the list and the metrics.
    let run = d
        .client()
        .post_empty("/v1/schedules/s1/NOPE/run")
        .await
        .expect("run now");
    let job = run.body["job_id"].as_i64().expect("job");
    let end = d.wait_job(job).await;
    assert_eq!(end["status"], "failed", "{end}");
    let nope = d.schedule("NOPE").await;
    assert_eq!(nope["last_result"]["status"], "failed", "{nope}");
    assert_eq!(nope["last_reason"], "manual");
    assert_eq!(nope["failed"], 1);
    assert!(
        nope["last_result"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("NOPE")),
        "{nope}"
    );
    let m = d.metrics().await;
    assert_eq!(
        sample(
            &m,
            "assetark_schedule_failures_total",
            &[("site", "s1"), ("schema", "NOPE")]
        ),
        1.0
    );
    let cli_text = schedules_text(&d).await;
    assert!(cli_text.contains("FAILED"), "{cli_text}");
    d.stop().await;
}

fn err_fields(e: &assetark::api::client::ClientError) -> String {
    e.to_string()
}

/// `schedules list` as text, through the CLI's own code path (the binary).
async fn schedules_text(d: &Daemon) -> String {
    let out = tokio::process::Command::new(crate::BIN)
        .args(["schedules", "list"])
        .env("ASSETARK_SOCKET", &d.ready.socket)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("cli runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_run_follow_streams_the_backup_until_it_ends() {
    let sim = start_sim(40).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(datetime!(2030-01-01 00:00 UTC));
    let d = Daemon::start(dir.path(), &config_text(&sim, ""), clock).await;
    let cli = |args: &'static [&'static str]| {
        let socket = d.ready.socket.clone();
        async move {
            tokio::process::Command::new(crate::BIN)
                .args(args)
                .env("ASSETARK_SOCKET", socket)
                .stdin(std::process::Stdio::null())
                .output()
                .await
                .expect("cli runs")
        }
    };
    let out = cli(&[
        "backup", "run", "--site", "s1", "--schema", "ITSM", "--follow",
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.lines().next().is_some_and(|l| l.starts_with("job ")),
        "{text}"
    );
    assert!(text.contains("stage objects"), "{text}");
    assert!(text.contains("backup 1 complete:"), "{text}");
    let out = cli(&[
        "backup", "run", "--site", "s1", "--schema", "ITSM", "--follow", "--json",
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
        .collect();
    assert_eq!(
        events.first().map(|e| e["event"].clone()),
        Some(json!("state"))
    );
    let end = events.last().expect("events");
    assert_eq!(
        (end["event"].as_str(), end["status"].as_str()),
        (Some("end"), Some("done"))
    );
    assert_eq!(end["result"]["backup"]["id"], 2);
    d.stop().await;
}
