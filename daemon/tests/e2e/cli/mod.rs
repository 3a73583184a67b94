//! End-to-end tests of the daemon and the CLI as real processes: the simulator runs in-process
//! (real HTTP), `assetark serve` runs as a child process with a real SQLite file and control
//! socket in a `TempDir`, and every step is driven through the `assetark` CLI binary (or, for
//! malformed input the CLI cannot produce, raw HTTP over the socket).
//!
//! Tests:
//! - `cli_drives_the_whole_backup_lifecycle`: sites, schemas, backup run --wait, list filters
//!   and paging, show, verify, export, delete; SIGTERM removes the socket; a blob corrupted on
//!   disk is reported by `verify` after a restart; no secret in any output or the daemon log;
//! - `bad_input_gets_clear_errors_and_changes_nothing`: unknown site/schema, bad dates, bad ids,
//!   malformed JSON, wrong methods and routes, TCP auth;
//! - `sigkill_mid_backup_leaves_nothing_and_the_job_resumes`: a slow backup killed in its
//!   objects stage leaves no visible backup; after a restart the requeued job completes, and
//!   another backup succeeds; SIGTERM mid-backup exits cleanly and requeues the job;
//! - `temporary_failures_are_retried_with_backoff_then_fail_typed` (issue 8 item 8): 503s
//!   beyond the client's retries make the runner run the backup again, which then completes;
//!   503s that outlast every retry end the job `failed` with a typed temporary failure that
//!   carries the API's status, after exactly `1 + max_retries` runs, and add no backup;
//! - `incremental` (issue 14): `backup run --full`, a schedule's `full_every` from the config,
//!   the `backups show` capture line, and deleting any backup of a chain damaging no other;
//! - `manual_cycle`: manual backups follow the covering schedule's `full_every` (config or
//!   API), else `[backup] full_every`.
//!
//! Helpers (simulator, daemon process, CLI runner, polling) live in `daemon_e2e/support.rs`.
//!
//! No fixed sleeps: every wait polls a condition with a deadline.

mod background;
mod incremental;
mod manual_cycle;
mod support;

use hyper::Method;
use serde_json::{Value, json};
use tokio::process::Command;

use support::{API_TOKEN, BIN, Env, SITE_TOKEN, line_count, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_drives_the_whole_backup_lifecycle() {
    let mut env = Env::new(300).await;
    env.start().await;
    let mut outputs = Vec::new();

    let sites = env.cli(&["sites", "list"]).await;
    sites.ok(&["sites", "list"]);
    assert!(sites.stdout.contains("s1"), "{sites:?}");
    let sites = env.cli_json(&["sites", "list"]).await;
    assert_eq!(sites["items"][0]["tokens"], 1);
    let test = env.cli(&["sites", "test", "s1"]).await;
    test.ok(&["sites", "test"]);
    assert!(test.stdout.contains("site s1 ok"), "{test:?}");

    let empty = env.cli(&["schemas", "list", "--site", "s1"]).await;
    assert!(empty.stdout.contains("no synced schemas"), "{empty:?}");
    let synced = env.cli(&["schemas", "sync", "--site", "s1"]).await;
    synced.ok(&["schemas", "sync"]);
    assert!(synced.stdout.contains("ITSM"), "{synced:?}");
    let schemas = env.cli_json(&["schemas", "list", "--site", "s1"]).await;
    let itsm = schemas["items"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["key"] == "ITSM"))
        .expect("ITSM synced")
        .clone();
    let objects = itsm["object_count"].as_u64().expect("count");
    assert!(objects > 0 && itsm["last_backup"].is_null(), "{itsm}");

    // --wait --json: the final job view; progress lines go to stderr (not a terminal).
    let run = env
        .cli(&[
            "backup",
            "run",
            "--site",
            "s1",
            "--schema",
            "ITSM",
            "--description",
            "first",
            "--wait",
            "--json",
        ])
        .await;
    run.ok(&["backup", "run"]);
    let job: Value = serde_json::from_str(&run.stdout).expect("job json");
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["backup"]["object_count"], objects);
    assert!(run.stderr.contains("stage "), "{run:?}");
    let run = env
        .cli(&[
            "backup", "run", "--site", "s1", "--schema", "ITSM", "--wait",
        ])
        .await;
    run.ok(&["backup", "run"]);
    assert!(
        run.stdout
            .contains(&format!("backup 2 complete: {objects} objects")),
        "{run:?}"
    );
    outputs.push(run.stdout);
    let schemas = env.cli_json(&["schemas", "list", "--site", "s1"]).await;
    let itsm = schemas["items"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["key"] == "ITSM"))
        .cloned();
    assert_eq!(itsm.expect("ITSM")["last_backup"]["id"], 2);

    // 21 more backups of the small LOC schema, for paging.
    for _ in 0..21 {
        let run = env
            .cli(&["backup", "run", "--site", "s1", "--schema", "LOC", "--wait"])
            .await;
        run.ok(&["backup", "run", "LOC"]);
    }
    let page1 = env.cli_json(&["backups", "list"]).await;
    assert_eq!(page1["total"], 23);
    assert_eq!(page1["pages"], 2);
    assert_eq!(page1["items"].as_array().map(Vec::len), Some(20));
    assert_eq!(page1["items"][0]["id"], 23, "newest first");
    let page2 = env.cli_json(&["backups", "list", "--page", "2"]).await;
    let ids: Vec<i64> = page2["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|b| b["id"].as_i64())
        .collect();
    assert_eq!(ids, [3, 2, 1]);
    let page3 = env.cli_json(&["backups", "list", "--page", "3"]).await;
    assert_eq!(page3["items"], json!([]));
    for (args, total) in [
        (vec!["--schema", "ITSM"], 2),
        (vec!["--schema", "LOC", "--site", "s1"], 21),
        (vec!["--site", "other"], 0),
        (vec!["--type", "manual"], 23),
        (vec!["--type", "scheduled"], 0),
        (vec!["--from", "2000-01-01"], 23),
        (vec!["--from", "2000-01-01", "--to", "2000-01-02"], 0),
        (
            vec!["--from", "2000-01-01T00:00:00Z", "--schema", "ITSM"],
            2,
        ),
    ] {
        let mut all = vec!["backups", "list"];
        all.extend(&args);
        assert_eq!(env.cli_json(&all).await["total"], total, "{args:?}");
    }
    let text = env.cli(&["backups", "list", "--schema", "ITSM"]).await;
    assert!(
        text.stdout.contains("first") && text.stdout.contains("page 1 of 1"),
        "{text:?}"
    );
    outputs.push(text.stdout);

    let show = env.cli(&["backups", "show", "1"]).await;
    show.ok(&["backups", "show"]);
    assert!(
        show.stdout.contains("ITSM") && show.stdout.contains("first"),
        "{show:?}"
    );
    env.cli(&["backups", "show", "999"])
        .await
        .fails(1, "backup 999 not found");
    let verify = env.cli(&["backups", "verify", "1"]).await;
    verify.ok(&["backups", "verify"]);
    assert!(verify.stdout.contains("ok"), "{verify:?}");

    let out = env.dir.path().join("export");
    let export = env
        .cli_json(&[
            "backups",
            "export",
            "1",
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .await;
    assert_eq!(export["counts"]["objects.jsonl"], objects);
    for file in [
        "manifest.json",
        "schema.json",
        "objecttypes.json",
        "attributes.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert_eq!(line_count(&out.join("objects.jsonl")), objects);

    let refused = env.cli(&["backups", "delete", "2"]).await;
    refused.fails(1, "without --yes");
    assert_eq!(env.backup_count().await, 23);
    env.cli(&["backups", "delete", "2", "--yes"])
        .await
        .ok(&["delete"]);
    env.cli(&["backups", "show", "2"])
        .await
        .fails(1, "not found");
    assert_eq!(env.backup_count().await, 22);

    // Graceful stop removes the socket; a blob corrupted while stopped is found by verify.
    env.stop().await;
    assert!(!env.socket().exists(), "socket left behind");
    let conn = rusqlite::Connection::open(env.db()).expect("db");
    let hash: String = conn
        .query_row(
            "SELECT hash FROM manifest WHERE backup_id = 1 AND kind = 'object' ORDER BY hash LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("an object blob");
    conn.execute(
        "UPDATE blobs SET data = x'00010203' WHERE hash = ?1",
        [&hash],
    )
    .expect("corrupt");
    drop(conn);
    env.start().await;
    // A job's result is in the store, not in the daemon's memory: it survives the restart.
    let job1 = env.client().get("/v1/jobs/1").await.expect("job 1").body;
    assert_eq!(job1["status"], "done", "{job1}");
    assert_eq!(job1["result"]["backup"]["id"], 1, "{job1}");
    assert_eq!(job1["result"]["backup"]["object_count"], objects, "{job1}");
    let verify = env.cli(&["backups", "verify", "1"]).await;
    verify.fails(1, "failed verification");
    assert!(verify.stdout.contains(&hash), "{verify:?}");
    let verify = env.cli(&["backups", "verify", "1", "--json"]).await;
    let body: Value = serde_json::from_str(&verify.stdout).expect("json");
    assert_eq!(body["ok"], false);
    assert_eq!(body["bad_blobs"][0]["hash"], hash.as_str());
    env.stop().await;

    let log = env.log_text();
    assert!(log.contains("Daemon started."), "{log}");
    for text in outputs.iter().chain([&log]) {
        assert!(
            !text.contains(SITE_TOKEN) && !text.contains(API_TOKEN),
            "secret leaked: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let mut env = Env::new(40).await;
    env.start().await;
    env.cli(&["backup", "run", "--site", "s1", "--schema", "LOC", "--wait"])
        .await
        .ok(&["run"]);
    let before = env.backup_count().await;
    assert_eq!(before, 1);

    env.cli(&["backup", "run", "--site", "nope", "--schema", "ITSM"])
        .await
        .fails(1, "no site named \"nope\"");
    env.cli(&["backup", "run", "--site", "s1", "--schema", "NOPE"])
        .await
        .fails(1, "has no schema with key \"NOPE\"");
    env.cli(&["sites", "test", "nope"])
        .await
        .fails(1, "no site named");
    // Credentials the site refuses: the site's status in a clear message.
    env.cli(&["sites", "test", "wrongtoken"])
        .await
        .fails(1, "answered 401");
    env.cli(&["schemas", "sync", "--site", "nope"])
        .await
        .fails(1, "no site named");
    env.cli(&["backups", "list", "--from", "2025-13-45"])
        .await
        .fails(1, "is not a date");
    env.cli(&["backups", "list", "--to", "last week"])
        .await
        .fails(1, "is not a date");
    env.cli(&[
        "backups",
        "list",
        "--from",
        "2025-02-01",
        "--to",
        "2025-01-01",
    ])
    .await
    .fails(1, "from must be before to");
    env.cli(&["backups", "show", "abc"])
        .await
        .fails(2, "invalid value");
    env.cli(&["backups", "delete", "0", "--yes"])
        .await
        .fails(2, "invalid value");
    env.cli(&["backups", "delete", "77", "--yes"])
        .await
        .fails(1, "backup 77 not found");
    env.cli(&["backups", "verify", "77"])
        .await
        .fails(1, "not found");
    env.cli(&["backups", "list", "--type", "weekly"])
        .await
        .fails(2, "invalid value");
    let no_socket = Command::new(BIN)
        .args(["sites", "list"])
        .env_remove("ASSETARK_SOCKET")
        .output()
        .await
        .expect("cli");
    assert_eq!(no_socket.status.code(), Some(2));

    // Raw HTTP for what the CLI never sends.
    let c = env.client();
    let raw = |method: Method, path: &'static str, body: Option<&'static str>| {
        let c = c.clone();
        async move {
            let (status, _, bytes) = c
                .send_raw(method, path, body.map(str::to_owned))
                .await
                .expect("http");
            let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (
                status,
                v["error"]["code"]
                    .as_str()
                    .unwrap_or("<no error code>")
                    .to_owned(),
                v,
            )
        }
    };
    for (method, path, body, status, code) in [
        (
            Method::POST,
            "/v1/backups",
            Some("{"),
            400,
            "malformed_json",
        ),
        (
            Method::POST,
            "/v1/backups",
            Some("[1, 2]"),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/backups",
            Some(r#"{"site": 1, "schema": "LOC"}"#),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/backups",
            Some(r#"{"site": "s1", "schema": "LOC", "x": 1}"#),
            400,
            "invalid_body",
        ),
        (
            Method::POST,
            "/v1/backups",
            Some(r#"{"site": "s1", "schema": "LOC", "type": "weekly"}"#),
            422,
            "validation_failed",
        ),
        (
            Method::POST,
            "/v1/backups",
            Some(r#"{"site": "s1", "schema": ""}"#),
            422,
            "validation_failed",
        ),
        (Method::GET, "/v1/backups/abc", None, 400, "invalid_id"),
        (Method::GET, "/v1/backups/-1", None, 400, "invalid_id"),
        (
            Method::GET,
            "/v1/backups/99999999999999999999999",
            None,
            400,
            "invalid_id",
        ),
        (
            Method::DELETE,
            "/v1/backups/5",
            None,
            404,
            "backup_not_found",
        ),
        (Method::GET, "/v1/jobs/x", None, 400, "invalid_id"),
        (Method::GET, "/v1/jobs/999", None, 404, "job_not_found"),
        (
            Method::GET,
            "/v1/backups?page=0",
            None,
            400,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/backups?page=x",
            None,
            400,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/backups?type=daily",
            None,
            400,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/backups?colour=red",
            None,
            400,
            "invalid_query",
        ),
        (
            Method::GET,
            "/v1/backups?from=2025-02-30",
            None,
            400,
            "invalid_date",
        ),
        (
            Method::GET,
            "/v1/backups/999/export",
            None,
            404,
            "backup_not_found",
        ),
        (
            Method::GET,
            "/v1/sites/nope/schemas",
            None,
            404,
            "site_not_found",
        ),
        (Method::GET, "/v1/nothing", None, 404, "not_found"),
        (Method::PUT, "/v1/backups", None, 405, "method_not_allowed"),
    ] {
        let (got, got_code, v) = raw(method.clone(), path, body).await;
        assert_eq!(
            (got, got_code.as_str()),
            (status, code),
            "{method} {path} {body:?}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    // A body without a JSON content type.
    let (status, _, _) = c
        .send_raw(Method::POST, "/v1/backups", Some(String::new()))
        .await
        .expect("http");
    assert_eq!(status, 400);

    // TCP: bearer token required (healthz excepted).
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", env.tcp_port);
    let r = http
        .get(format!("{base}/v1/sites"))
        .send()
        .await
        .expect("tcp");
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .get(format!("{base}/v1/sites"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("tcp");
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .get(format!("{base}/v1/sites"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .expect("tcp");
    assert_eq!(r.status().as_u16(), 200);
    let body = r.text().await.expect("body");
    assert!(!body.contains(SITE_TOKEN), "{body}");
    let r = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("tcp");
    assert_eq!(r.status().as_u16(), 200);

    assert_eq!(
        env.backup_count().await,
        before,
        "bad input changed the backups"
    );
    env.stop().await;
    let log = env.log_text();
    assert!(
        !log.contains(SITE_TOKEN) && !log.contains(API_TOKEN),
        "secret in log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_backup_leaves_nothing_and_the_job_resumes() {
    let mut env = Env::new(1500).await;
    env.start().await;
    env.cli(&["schemas", "sync", "--site", "s1"])
        .await
        .ok(&["sync"]);
    env.sim_latency(150).await;
    let started = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    let job = started["job_id"].as_i64().expect("job id");
    let path = format!("/v1/jobs/{job}");
    let client = env.client();
    wait_for("progress in the objects stage", || {
        let (client, path) = (client.clone(), path.clone());
        async move {
            let v = client.get(&path).await.ok()?.body;
            (v["progress"]["stage"] == "objects" && v["progress"]["done"].as_u64() > Some(0))
                .then_some(())
        }
    })
    .await;
    // A second backup of the same schema while one runs is a conflict.
    env.cli(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await
        .fails(1, "already queued or running");

    env.kill().await;
    {
        let conn = rusqlite::Connection::open(env.db()).expect("db");
        let running: i64 = conn
            .query_row(
                "SELECT count(*) FROM backups WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(running, 1, "the killed backup is half-written on disk");
    }

    // Restart: recovery drops the half backup and requeues the job, which runs again (slowly).
    env.start().await;
    assert_eq!(
        env.backup_count().await,
        0,
        "a half-written backup is visible"
    );
    env.sim_latency(0).await;
    let done = wait_for("the resumed job", || {
        let (client, path) = (client.clone(), path.clone());
        async move {
            let v = client.get(&path).await.ok()?.body;
            matches!(v["status"].as_str(), Some("done" | "failed")).then_some(v)
        }
    })
    .await;
    assert_eq!(done["status"], "done", "{done}");
    let list = env.cli_json(&["backups", "list"]).await;
    assert_eq!(list["total"], 1);
    let objects = list["items"][0]["object_count"].as_u64().expect("count");
    assert!(objects > 1000, "{list}");
    // The resumed backup got a new id: the killed one's id is never reused.
    let id = list["items"][0]["id"].as_i64().expect("id");
    assert!(id >= 2, "ids of removed backups are not reused");
    let id = id.to_string();
    env.cli(&["backups", "verify", &id]).await.ok(&["verify"]);

    let run = env
        .cli(&[
            "backup", "run", "--site", "s1", "--schema", "ITSM", "--wait",
        ])
        .await;
    run.ok(&["backup", "run"]);
    assert!(
        run.stdout.contains(&format!("complete: {objects} objects")),
        "{run:?}"
    );
    assert_eq!(env.backup_count().await, 2);

    // SIGTERM mid-backup: a clean exit, the partial backup failed, the job back in the queue.
    env.sim_latency(150).await;
    let started = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    let job = started["job_id"].as_i64().expect("job id");
    let path = format!("/v1/jobs/{job}");
    wait_for("progress in the objects stage", || {
        let (client, path) = (client.clone(), path.clone());
        async move {
            let v = client.get(&path).await.ok()?.body;
            (v["progress"]["stage"] == "objects").then_some(())
        }
    })
    .await;
    env.stop().await;
    let conn = rusqlite::Connection::open(env.db()).expect("db");
    let status: String = conn
        .query_row("SELECT status FROM jobs WHERE id = ?1", [job], |r| r.get(0))
        .expect("job row");
    assert_eq!(status, "queued", "an interrupted job is requeued");
    let running: i64 = conn
        .query_row(
            "SELECT count(*) FROM backups WHERE status = 'running'",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(
        running, 0,
        "the cancelled backup was failed, not left running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_are_retried_with_backoff_then_fail_typed() {
    let mut env = Env::new(40).await;
    env.start().await;
    // Synced, so starting a backup asks the site nothing: the forced answers hit the job.
    env.cli(&["schemas", "sync", "--site", "s1"])
        .await
        .ok(&["sync"]);
    // The client tries each request 3 times (max_retries = 2): the first run's first request
    // gets three 503s, so the run fails temporarily and the runner runs the backup again.
    env.sim_force(503, 3).await;
    let job = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "LOC", "--wait"])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert!(job["error"].is_null() && job["failure"].is_null(), "{job}");
    assert!(
        job["result"]["backup"]["object_count"].as_u64() > Some(0),
        "{job}"
    );
    assert_eq!(env.backup_count().await, 1);

    // Every run of 4 (1 + [jobs] max_retries) meets three 503s: the job fails, typed.
    env.sim_force(503, 12).await;
    let out = env
        .cli(&["backup", "run", "--site", "s1", "--schema", "LOC", "--wait"])
        .await;
    out.fails(1, "backup job 2 failed: assets api: ");
    assert!(out.stderr.contains("answered 503"), "{out:?}");
    let job = env.client().get("/v1/jobs/2").await.expect("job").body;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 4, "{job}");
    assert_eq!(job["failure"]["kind"], "temporary", "{job}");
    assert_eq!(job["failure"]["status"], 503, "{job}");
    assert!(job["result"].is_null(), "{job}");
    assert_eq!(env.backup_count().await, 1, "a failed job adds no backup");

    // A permanent failure (a 400) is not retried.
    env.sim_force(400, 1).await;
    env.cli(&["backup", "run", "--site", "s1", "--schema", "LOC", "--wait"])
        .await
        .fails(1, "answered 400");
    let job = env.client().get("/v1/jobs/3").await.expect("job").body;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(job["failure"]["kind"], "permanent", "{job}");
    assert_eq!(job["failure"]["status"], 400, "{job}");
    env.stop().await;
}
