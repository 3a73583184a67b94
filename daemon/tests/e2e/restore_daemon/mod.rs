//! End-to-end tests of restores and run-time sites through the daemon and the CLI as real
//! processes: the simulator runs in-process (real HTTP) with two sites, `assetark serve` runs
//! as a child process with a real SQLite store, and every step goes through the `assetark`
//! binary. What a restore created is checked through the simulator's own API, counting
//! objects by `ORIGINAL_ID`.
//!
//! Tests:
//! - `sites_are_added_tested_and_removed`: a bad token saves nothing; inline, env and file
//!   tokens; the inline token is in no byte of the store, no API answer and no log line; added
//!   sites survive a restart; config sites can't be removed; `remove` needs `--yes` off a TTY;
//! - `restores_to_a_new_schema_on_the_same_and_another_site`: dry run changes nothing; `--wait`
//!   to both sites; list, show, `log --full` (one entry per object), `log --follow` (SSE) and
//!   `log`; every object restored exactly once;
//! - `same_site_restores_queue_and_stop_ends_cleanly`: a second restore to a busy site waits
//!   `pending`; STOP mid-restore ends `stopped` with no stuck job and a log of what exists;
//!   STOP of a pending restore; a restore to another site runs meanwhile; a restore stored
//!   without its job is adopted at the next start;
//! - `conflicts_and_bad_input_change_nothing`: name/key in use ends `error` with the API's
//!   message and creates nothing; unknown backup, bad key, unknown site, bad ids;
//! - `a_slow_plan_runs_in_the_restore_job_and_a_dry_run_is_bounded` (issue 8 item 17): with
//!   a slow target, `--dry-run` answers a clear timeout instead of hanging, while a real start
//!   answers at once (`pending`) and its job plans and completes the restore; a request
//!   slower than the request timeout gets a 504; a plan the target refuses ends the restore
//!   in error with the API's answer;
//! - `sigkill_in_every_stage_resumes_without_duplicates`: one restore killed (SIGKILL) in every
//!   stage that sends a request, each time while a simulator barrier holds a request of that
//!   stage (checked via `restores show --json`), restarted each time; it completes with every
//!   object exactly once. A SIGTERM mid-objects exits cleanly and the restore resumes after
//!   the restart.
//!
//! No fixed sleeps: every wait polls a condition with a deadline.

mod options;
pub(crate) mod support;

use std::collections::{BTreeSet, HashMap};

use assetark::restore::{RestorePlan, Stage};
use assetark_tests::kit;
use assets_sim::barrier::Condition;
use serde_json::Value;

use support::{
    Env, S2_TOKEN, S2_TOKEN_ENV, assert_each_object_once, ended, full_log, object_entries, wait_for,
};

/// Objects in the simulated CMDB of `s1` (over all its schemas).
pub(crate) const OBJECTS: u32 = 240;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sites_are_added_tested_and_removed() {
    // Tokens from the daemon's environment and files are off by default (issue 8 item 16).
    let mut env = Env::with_control(40, "allow_token_sources = true").await;
    env.start().await;
    let s2 = env.sim.site("s2").expect("s2").clone();
    let add = |name: &str, token: [&str; 2]| {
        let mut args: Vec<String> = [
            "sites",
            "add",
            name,
            "--api-url",
            &s2.api_url,
            "--site-url",
            &s2.site_url,
            "--email",
            &s2.email,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(token.iter().map(|s| (*s).to_owned()));
        args
    };
    let run = |args: Vec<String>| {
        let env = &env;
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            env.cli(&refs).await
        }
    };

    // A refused token: the API's error, nothing saved.
    let bad = run(add("s2", ["--token", "not-the-token"])).await;
    bad.fails(1, "connection test failed, nothing was saved");
    assert!(bad.stderr.contains("401"), "{bad:?}");
    let bad = run(add("s2", ["--token-env", "E2E_NOT_SET"])).await;
    bad.fails(1, "E2E_NOT_SET is not set");
    let bad = run(add("bad name", ["--token", S2_TOKEN])).await;
    bad.fails(1, "not a valid site name");
    let sites = env.cli_json(&["sites", "list"]).await;
    assert_eq!(sites["items"].as_array().map(Vec::len), Some(1), "{sites}");

    // Inline, env and file tokens.
    let added = run(add("s2", ["--token", S2_TOKEN])).await;
    added.ok(&["sites", "add", "s2"]);
    assert!(added.stdout.contains("site s2 added"), "{added:?}");
    run(add("s2env", ["--token-env", S2_TOKEN_ENV]))
        .await
        .ok(&["add s2env"]);
    std::fs::write(env.dir.path().join("s2.token"), S2_TOKEN).expect("token file");
    run(add("s2file", ["--token-file", "s2.token"]))
        .await
        .fails(1, "cannot read token file");
    let path = env.dir.path().join("s2.token");
    run(add(
        "s2file",
        ["--token-file", path.to_str().expect("utf-8")],
    ))
    .await
    .ok(&["add s2file"]);
    run(add("s2", ["--token", S2_TOKEN]))
        .await
        .fails(1, "exists already");
    let sites = env.cli_json(&["sites", "list"]).await;
    let by_name: HashMap<&str, &Value> = sites["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| (s["name"].as_str().expect("name"), s))
        .collect();
    assert_eq!(by_name["s1"]["source"], "config");
    assert_eq!(by_name["s2"]["token_source"], "inline");
    assert_eq!(by_name["s2env"]["token_source"], "env");
    assert_eq!(by_name["s2file"]["token_source"], "file");
    env.cli(&["sites", "test", "s2"])
        .await
        .ok(&["sites test s2"]);

    // Config sites stay; removal asks, off a terminal it needs --yes.
    env.cli(&["sites", "remove", "s1", "--yes"])
        .await
        .fails(1, "defined in the config file");
    env.cli(&["sites", "remove", "s2file"])
        .await
        .fails(1, "without --yes");
    env.cli(&["sites", "remove", "s2file", "--yes"])
        .await
        .ok(&["sites remove"]);
    env.cli(&["sites", "remove", "nope", "--yes"])
        .await
        .fails(1, "no site named");

    // Added sites survive a restart; the inline token still opens.
    env.stop().await;
    env.start().await;
    let names: BTreeSet<String> = env.cli_json(&["sites", "list"]).await["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["s1", "s2", "s2env"].map(str::to_owned).into());
    let test = env.cli(&["sites", "test", "s2"]).await;
    test.ok(&["sites test s2 after restart"]);
    assert!(test.stdout.contains("site s2 ok"), "{test:?}");
    env.stop().await;

    // The inline token is nowhere in plaintext: store (with WAL and key file), log, output.
    let mut files = vec![env.log()];
    for entry in std::fs::read_dir(env.db().parent().expect("data dir")).expect("data dir") {
        files.push(entry.expect("entry").path());
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !bytes
                .windows(S2_TOKEN.len())
                .any(|w| w == S2_TOKEN.as_bytes()),
            "token in {}",
            f.display()
        );
    }
    assert!(!sites.to_string().contains(S2_TOKEN));
    let key = std::fs::metadata(env.db().with_file_name("assetark.key")).expect("key file");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777,
        0o600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_to_a_new_schema_on_the_same_and_another_site() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await.to_string();
    let s1_schemas = env.site("s1").schema_ids().await;

    // Dry run: the plan, nothing changed.
    let plan = env
        .cli_json(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "ITSM copy",
            "--key",
            "ITSMC",
            "--dry-run",
        ])
        .await;
    assert_eq!(plan["source"]["key"], "ITSM", "{plan}");
    assert!(plan["conflict"].is_null(), "{plan}");
    let text = env
        .cli(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "ITSM copy",
            "--key",
            "ITSMC",
            "--site",
            "s2",
            "--dry-run",
        ])
        .await;
    text.ok(&["dry run text"]);
    assert!(text.stdout.contains("nothing was changed"), "{text:?}");
    assert_eq!(env.site("s1").schema_ids().await, s1_schemas);
    assert!(env.site("s2").schema_ids().await.is_empty());
    let none = env.cli_json(&["restores", "list"]).await;
    assert_eq!(none["items"], serde_json::json!([]));

    // Same site, waiting: stage lines on stderr, a result line on stdout.
    let same = env
        .cli(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "ITSM copy",
            "--key",
            "ITSMC",
            "--wait",
        ])
        .await;
    same.ok(&["restore to s1"]);
    assert!(same.stderr.contains("Restoring object entries"), "{same:?}");
    assert!(same.stdout.contains("restore 1 completed"), "{same:?}");
    // Another site, waiting, JSON.
    let other = env
        .cli_json(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "ITSM moved",
            "--key",
            "ITSMM",
            "--site",
            "s2",
            "--wait",
        ])
        .await;
    assert_eq!(other["status"], "completed", "{other}");
    let n = assert_each_object_once(&env, "ITSM", "s1", "ITSMC").await;
    assert_eq!(
        assert_each_object_once(&env, "ITSM", "s2", "ITSMM").await,
        n
    );

    // History and details.
    let list = env.cli_json(&["restores", "list"]).await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let r2 = &items[0];
    assert_eq!(r2["id"], 2);
    assert_eq!(r2["source"]["site"], "s1");
    assert_eq!(r2["source"]["schema_key"], "ITSM");
    assert_eq!(r2["destination"]["site"], "s2");
    assert_eq!(r2["destination"]["schema_key"], "ITSMM");
    assert_eq!(r2["destination"]["schema_name"], "ITSM moved");
    assert_eq!(r2["destination"]["kind"], "new_schema");
    let link = r2["destination"]["link"].as_str().expect("link");
    let s2 = env.sim.site("s2").expect("s2");
    assert!(link.starts_with(&s2.site_url), "{link}");
    assert!(
        r2["started_at"].is_string() && r2["ended_at"].is_string(),
        "{r2}"
    );
    let only_s2 = env.cli_json(&["restores", "list", "--site", "s2"]).await;
    assert_eq!(only_s2["items"].as_array().map(Vec::len), Some(1));
    let shown = env.show(1).await;
    let objects = shown["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .find(|c| c["stage"] == "object_entries")
        .cloned()
        .expect("object stage");
    assert_eq!(objects["done"], n as u64);
    assert_eq!(objects["total"], n as u64);
    assert_eq!(shown["options"]["destination"]["key"], "ITSMC");
    let text = env.cli(&["restores", "list"]).await;
    assert!(text.stdout.contains("s2/ITSMM ITSM moved"), "{text:?}");
    let text = env.cli(&["restores", "show", "1"]).await;
    assert!(text.stdout.contains("Restoring object entries"), "{text:?}");

    // Full log: one entry per object, and as many as the target holds.
    assert_eq!(object_entries(&full_log(&env, 1).await).len(), n);
    assert_eq!(object_entries(&full_log(&env, 2).await).len(), n);

    // Live events: a slowed restore followed to its end over SSE.
    env.latency(15).await;
    let started = env
        .cli_json(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "ITSM live",
            "--key",
            "ITSML",
            "--site",
            "s2",
        ])
        .await;
    let id = started["restore_id"].as_i64().expect("id").to_string();
    let follow = env.cli(&["restores", "log", &id, "--follow"]).await;
    follow.ok(&["restores log --follow"]);
    assert!(
        follow.stdout.contains("Restoring object types started"),
        "{follow:?}"
    );
    assert!(
        follow.stdout.contains("Restoring object entries"),
        "{follow:?}"
    );
    assert!(
        follow
            .stdout
            .trim_end()
            .ends_with("restore ended: completed (completed)"),
        "{follow:?}"
    );
    env.latency(0).await;
    let last = env.cli(&["restores", "log", &id]).await;
    last.ok(&["restores log"]);
    assert!(last.stdout.contains("restore ended: completed"), "{last:?}");
    let events = env.cli(&["restores", "log", &id, "--json"]).await;
    let first: Value =
        serde_json::from_str(events.stdout.lines().next().expect("a line")).expect("json line");
    assert!(first["event"].is_string(), "{first}");
    env.stop().await;
    // After a restart the last events come from the stored log.
    env.start().await;
    let again = env.cli(&["restores", "log", &id]).await;
    assert!(again.stdout.contains(" OK\n"), "{again:?}");
    assert!(
        again.stdout.contains("restore ended: completed"),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_site_restores_queue_and_stop_ends_cleanly() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await.to_string();
    env.latency(25).await;
    let start = |key: &'static str, site: &'static str| {
        let env = &env;
        let backup = backup.clone();
        async move {
            let r = env
                .cli_json(&[
                    "restore",
                    "start",
                    &backup,
                    "--to",
                    "new-schema",
                    "--name",
                    key,
                    "--key",
                    key,
                    "--site",
                    site,
                ])
                .await;
            (
                r["restore_id"].as_i64().expect("id"),
                r["job_id"].as_i64().expect("job"),
            )
        }
    };
    let (a, _) = start("QA", "s1").await;
    let (b, _) = start("QB", "s1").await;
    let (c, _) = start("QC", "s2").await;
    // B waits for A; C (another site) runs meanwhile.
    env.wait_restore(a, "A in progress", |r| r["status"] == "in_progress")
        .await;
    env.wait_restore(c, "C in progress", |r| r["status"] == "in_progress")
        .await;
    let rb = env.show(b).await;
    assert_eq!(rb["status"], "pending", "{rb}");
    let ra = env.wait_restore(a, "A ends", ended).await;
    assert_eq!(ra["status"], "completed", "{ra}");
    let rb = env.wait_restore(b, "B ends", ended).await;
    assert_eq!(rb["status"], "completed", "{rb}");
    assert!(
        rb["started_at"].as_str() >= ra["ended_at"].as_str(),
        "B started before A ended: {ra} {rb}"
    );
    env.wait_restore(c, "C ends", ended).await;

    // STOP mid-restore: the stage in flight ends cleanly.
    let (d, d_job) = start("QD", "s1").await;
    let (e, e_job) = start("QE", "s1").await;
    env.wait_restore(d, "D creating objects", |r| {
        r["stage"] == "object_entries" && r["progress"]["done"].as_u64().unwrap_or(0) > 5
    })
    .await;
    env.cli(&["restores", "stop", &d.to_string()])
        .await
        .fails(1, "without --yes");
    // A pending restore is just marked stopped.
    let stop_e = env
        .cli(&["restores", "stop", &e.to_string(), "--yes"])
        .await;
    stop_e.ok(&["stop pending"]);
    assert!(
        stop_e.stdout.contains(&format!("restore {e} stopped")),
        "{stop_e:?}"
    );
    let stop_d = env
        .cli(&["restores", "stop", &d.to_string(), "--yes"])
        .await;
    stop_d.ok(&["stop running"]);
    assert!(stop_d.stdout.contains("stopping"), "{stop_d:?}");
    let rd = env.wait_restore(d, "D stopped", ended).await;
    assert_eq!(rd["status"], "stopped", "{rd}");
    let re = env.show(e).await;
    assert_eq!(re["status"], "stopped", "{re}");
    assert!(re["started_at"].is_null(), "{re}");
    // No stuck jobs.
    for job in [d_job, e_job] {
        let client = assetark::cli::ControlClient::new(env.dir.path().join("ctl.sock"));
        let view = wait_for("job ends", || async {
            let j = client
                .get(&format!("/v1/jobs/{job}"))
                .await
                .expect("job")
                .body;
            (j["status"] == "done").then_some(j)
        })
        .await;
        assert!(view["error"].is_null(), "{view}");
    }
    env.latency(0).await;
    // The log lists exactly what was created.
    let created = env.site("s1").originals("QD").await;
    let logged = object_entries(&full_log(&env, d).await);
    assert!(
        !created.is_empty() && created.len() < 200,
        "{}",
        created.len()
    );
    assert_eq!(logged.len(), created.len());
    assert!(!env.site("s1").schema_ids().await.contains_key("QE"));
    env.cli(&["restores", "stop", &d.to_string(), "--yes"])
        .await
        .fails(1, "has already ended (stopped)");
    // Another restore to the same site still runs after the stops.
    let (f, _) = start("QF", "s1").await;
    let rf = env.wait_restore(f, "F ends", ended).await;
    assert_eq!(rf["status"], "completed", "{rf}");

    // A restore stored without its job (a crash between the two writes) is adopted at the
    // next start: here a copy of E's row, which never ran.
    env.stop().await;
    let orphan = {
        use assetark::store::{NewRestore, RestoreStore as _, SqliteStore};
        let store = SqliteStore::open_without_recovery(env.db()).expect("store");
        let e_row = store.get_restore(e).expect("E");
        store
            .create_restore(&NewRestore {
                backup_id: e_row.backup_id,
                target_site: e_row.target_site.clone(),
                options: e_row.options.clone(),
                plan: e_row.plan.clone(),
                details: Default::default(),
                created_at: e_row.created_at,
            })
            .expect("orphan row")
    };
    env.start().await;
    let ro = env.wait_restore(orphan, "the orphan ends", ended).await;
    assert_eq!(ro["status"], "completed", "{ro}");
    assert_eq!(assert_each_object_once(&env, "ITSM", "s1", "QE").await, {
        env.site("s1").originals("ITSM").await.len()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_bad_input_change_nothing() {
    let mut env = Env::new(60).await;
    env.start().await;
    let backup = env.backup("ITSM").await.to_string();
    let before = env.site("s1").schema_ids().await;
    let name_taken = env
        .cli(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "Other",
            "--key",
            "ITSM",
            "--wait",
        ])
        .await;
    assert_eq!(name_taken.code, 1, "{name_taken:?}");
    assert!(
        name_taken.stdout.contains("restore 1 error"),
        "{name_taken:?}"
    );
    assert!(
        name_taken.stderr.contains("restore 1 error"),
        "{name_taken:?}"
    );
    let r = env.show(1).await;
    assert_eq!(r["status"], "error");
    let result = r["result"].as_str().expect("result");
    assert!(
        result.contains("objectSchemaKey"),
        "the API's message: {result}"
    );
    assert_eq!(env.site("s1").schema_ids().await, before);

    for (args, message) in [
        (
            vec!["99", "--name", "N", "--key", "NEWK"],
            "no complete backup with id 99",
        ),
        (
            vec![&backup, "--name", "N", "--key", "bad-key"],
            "is not a schema key",
        ),
        (
            vec![&backup, "--name", " ", "--key", "NEWK"],
            "name: must not be empty",
        ),
        (
            vec![&backup, "--name", "N", "--key", "NEWK", "--site", "nowhere"],
            "no site named \"nowhere\"",
        ),
    ] {
        let mut all = vec!["restore", "start"];
        all.extend(&args);
        all.extend(["--to", "new-schema"]);
        env.cli(&all).await.fails(1, message);
    }
    env.cli(&[
        "restore", "start", &backup, "--to", "existing", "--name", "N", "--key", "K",
    ])
    .await
    .fails(2, "invalid value");
    env.cli(&["restores", "show", "99"])
        .await
        .fails(1, "restore 99 not found");
    env.cli(&["restores", "log", "99", "--full"])
        .await
        .fails(1, "restore 99 not found");
    env.cli(&["restores", "stop", "99", "--yes"])
        .await
        .fails(1, "restore 99 not found");
    let list = env.cli_json(&["restores", "list"]).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(env.site("s1").schema_ids().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_every_stage_resumes_without_duplicates() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let backup = env.backup("ITSM").await.to_string();
    let args = [
        "restore",
        "start",
        &backup,
        "--to",
        "new-schema",
        "--name",
        "Crash test",
        "--key",
        "CRASH",
        "--site",
        "s2",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let plan: RestorePlan = serde_json::from_value(env.cli_json(&dry).await).expect("a plan");
    // Every stage that sends a request is killed once, while a request of that stage is held
    // (not yet processed) by a barrier: at its first request, the object entries mid-stage.
    let kills: Vec<(Stage, u64)> = Stage::ALL
        .into_iter()
        .filter(|s| kit::restore_stage_request(*s).is_some() && plan.requests_of(*s) > 0)
        .map(|s| match s {
            Stage::ObjectEntries => (s, (plan.requests_of(s) / 2).max(1)),
            _ => (s, 1),
        })
        .collect();
    for must in [
        Stage::Schema,
        Stage::ObjectTypes,
        Stage::Attributes,
        Stage::ObjectEntries,
    ] {
        assert!(
            kills.iter().any(|(s, _)| *s == must),
            "{must} sends no request: {kills:?}"
        );
    }
    // The occurrence to hold counts every request of the same kind the run sends before it:
    // the rest of the stage killed last (which starts again at the request that was held)
    // and the stages in between.
    let occurrence = |k: usize| -> u64 {
        let (stage, nth) = kills[k];
        let from = if k == 0 { 0 } else { kills[k - 1].0 as usize };
        let before: u64 = Stage::ALL
            .iter()
            .filter(|s| (**s as usize) >= from && (**s as usize) < stage as usize)
            .filter(|s| kit::same_request(**s, stage))
            .map(|s| {
                let killed_at = (k > 0 && kills[k - 1].0 == *s).then(|| kills[k - 1].1);
                plan.requests_of(*s) - killed_at.map_or(0, |n| n - 1)
            })
            .sum();
        before + nth
    };
    let mut barrier = Some(
        env.sim
            .barrier(
                kit::restore_stage_barrier(kills[0].0, "s2")
                    .unwrap()
                    .nth(occurrence(0)),
            )
            .expect("barrier"),
    );
    let started = env.cli_json(&args).await;
    let id = started["restore_id"].as_i64().expect("id");
    for (k, (stage, nth)) in kills.iter().enumerate() {
        let held = barrier.take().expect("armed");
        held.wait_held(1).await;
        let r = env.show(id).await;
        let want = serde_json::to_value(stage).expect("stage name");
        assert_eq!(r["stage"], want, "held request {nth} of {stage}: {r}");
        assert_eq!(r["status"], "in_progress", "{r}");
        env.kill().await;
        // The held request's client is gone: it is never processed.
        held.wait(Condition {
            abandoned: Some(1),
            ..Condition::default()
        })
        .await;
        drop(held);
        if k + 1 < kills.len() {
            let next = kit::restore_stage_barrier(kills[k + 1].0, "s2").unwrap();
            barrier = Some(
                env.sim
                    .barrier(next.nth(occurrence(k + 1)))
                    .expect("barrier"),
            );
        }
        env.start().await;
    }
    let r = env.wait_restore(id, "the restore ends", ended).await;
    assert_eq!(r["status"], "completed", "{r}");
    let n = assert_each_object_once(&env, "ITSM", "s2", "CRASH").await;
    let log = full_log(&env, id).await;
    assert_eq!(object_entries(&log).len(), n, "one log entry per object");
    let s2_schemas = env.site("s2").schema_ids().await;
    assert_eq!(s2_schemas.len(), 1, "one schema created: {s2_schemas:?}");
    eprintln!("killed in: {kills:?}");

    // SIGTERM mid-objects (the 6th create held): a clean exit that leaves the restore to
    // resume, not `stopped`.
    let held = env
        .sim
        .barrier(
            kit::restore_stage_barrier(Stage::ObjectEntries, "s2")
                .unwrap()
                .nth(6),
        )
        .expect("barrier");
    let mut term = args.to_vec();
    term[6] = "Term test";
    term[8] = "TERM";
    let started = env.cli_json(&term).await;
    let id = started["restore_id"].as_i64().expect("id");
    held.wait_held(1).await;
    // The held create is let go as the daemon stops (shutdown waits for it).
    let release = async {
        held.release_all();
    };
    tokio::join!(env.stop(), release);
    drop(held);
    env.start().await;
    let r = env
        .wait_restore(id, "the resumed restore ends", ended)
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    assert_eq!(assert_each_object_once(&env, "ITSM", "s2", "TERM").await, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_plan_runs_in_the_restore_job_and_a_dry_run_is_bounded() {
    let mut env = Env::with_control(60, "request_timeout_secs = 2").await;
    env.start().await;
    let backup = env.backup("ITSM").await.to_string();
    // Every request to the site now takes a second: planning (several reads of the target)
    // outlasts the dry run's bound, three quarters of the 2 s request timeout.
    env.latency(1000).await;
    let args = [
        "restore",
        "start",
        &backup,
        "--to",
        "new-schema",
        "--name",
        "Slow plan",
        "--key",
        "SLOW",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    env.cli(&dry)
        .await
        .fails(1, "planning took longer than 1.5 s");
    assert!(
        env.cli_json(&["restores", "list"]).await["items"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "a dry run stores nothing"
    );
    // A real start answers within the request timeout although planning takes longer: its
    // job plans the restore, which meanwhile is pending.
    let started = env.cli_json(&args).await;
    assert_eq!(started["status"], "pending", "{started}");
    let id = started["restore_id"].as_i64().expect("id");
    let r = env.show(id).await;
    assert_eq!(r["status"], "pending", "{r}");
    assert!(r["plan"]["objects"].is_null(), "not planned yet: {r}");
    // Any request that calls a site slower than the request timeout gets a clear 504.
    env.latency(2500).await;
    env.cli(&["sites", "test", "s1"])
        .await
        .fails(1, "the request took longer than 2 s");
    env.latency(0).await;
    let r = env.wait_restore(id, "the restore ends", ended).await;
    assert_eq!(r["status"], "completed", "{r}");
    let n = assert_each_object_once(&env, "ITSM", "s1", "SLOW").await;
    assert_eq!(r["plan"]["objects"], n as u64, "{r}");

    // A plan the target refuses ends the restore in error with the API's answer (issue 8
    // item 4: never pending for ever). Starting asks the site nothing, so the forced answer
    // meets the job's first read.
    env.force(400, 1).await;
    let started = env
        .cli_json(&[
            "restore",
            "start",
            &backup,
            "--to",
            "new-schema",
            "--name",
            "Refused",
            "--key",
            "REFUSED",
        ])
        .await;
    let id = started["restore_id"].as_i64().expect("id");
    let r = env
        .wait_restore(id, "the refused restore ends", ended)
        .await;
    assert_eq!(r["status"], "error", "{r}");
    let result = r["result"].as_str().expect("result");
    assert!(
        result.contains(&format!("restore {id} failed: planning failed"))
            && result.contains("answered 400"),
        "{result}"
    );
    assert!(!env.site("s1").schema_ids().await.contains_key("REFUSED"));
}
