//! End-to-end tests of the restore pipeline: real HTTP to in-process simulators
//! (`assets-sim`), a real SQLite store in a `TempDir`, backups made by `assetark::backup::run`.
//! Results are checked through the Assets API with a plain reqwest client (`support::Raw`),
//! independent of the code under test.
//!
//! Tests:
//! - round trip to a new schema on the same site and on another site (fidelity), and a
//!   restore of the restored schema's backup (the first identity survives);
//! - into an existing schema: duplicates skipped or created, references to them, type and
//!   attribute matching, one AQL scan (`existing`);
//! - the backup's own site keeps every accountId, a gone one is matched by name (`same_site`);
//! - migration to a site whose users differ (display-name matching, log entries; a search
//!   per name), and with many distinct users one read of the users directory (`users`);
//! - interrupted in every stage with requests, each cut exactly at a request of that stage held
//!   by a simulator barrier (dropped future and STOP), resumed: no duplicates, none missing;
//! - lost responses on object creates (ambiguous creates): no duplicates;
//! - 429 storms, 5xx and dropped connections: the same result;
//! - STOP mid-restore: stopped, log and id map consistent with the target;
//! - a new schema whose name or key exists: the API's error, nothing created;
//! - the plan changes nothing, predicts the requests, ~1 request per object without cycles;
//! - Data Center Text over 255 characters: per-object failures with the API's body;
//! - `--history`, `--with-icons`, both, their refusals, and the storage backend rule
//!   (`options`);
//! - plans and backups of a store written by earlier code restore; a plan of a newer format
//!   ends its restore in error (`plans`).

mod existing;
mod incremental;
mod missing;
mod options;
mod plans;
mod same_site;
pub(crate) mod support;
mod types;
mod users;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use assetark::assets::AssetsClient;
use assetark::restore::{self, RestoreEvent, RestorePlan, Stage};
use assetark::store::{AsyncStore, LogLevel, RestoreId, RestoreStatus};
use assetark_tests::kit;
use assets_sim::barrier::Condition;
use assets_sim::server::{Barrier, SimHandle};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use support::{
    Raw, Snapshot, assert_restored, backup, client, clock, config, execute, full_log, plan,
};

/// Restores backup `b` with `plan` until it completes (a retryable error resumes, as the job
/// runner would); returns the outcome's new schema id.
async fn complete(store: &AsyncStore, c: &AssetsClient, id: RestoreId, p: &RestorePlan) -> String {
    for _ in 0..3 {
        match execute(store, c, id, p, CancellationToken::new()).await.0 {
            Ok(o) => {
                assert!(!o.stopped);
                return o.schema_id.expect("schema id");
            }
            Err(e) if e.is_retryable() => eprintln!("retryable error, resuming: {e}"),
            Err(e) => panic!("restore failed: {e:?}"),
        }
    }
    panic!("restore did not complete in 3 runs");
}

/// The user rule as a closure over the target's directory; `refused` lists (attribute key,
/// display name) pairs the target refuses even though the name matches.
fn rule(
    accounts: HashMap<String, Option<String>>,
    refused: &'static [(&'static str, &'static str)],
) -> impl Fn(&str, &str) -> Option<String> + Sync {
    move |attr, name| {
        if refused.contains(&(attr, name)) {
            return None;
        }
        accounts.get(name).cloned().flatten()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_round_trips_to_a_new_schema_on_the_same_site_on_another_site_and_again() {
    let t0 = Instant::now();
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let src = Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await;

    let (p1, r1) = plan(&store, &s1, b, "IT Assets Restored", "ITR").await;
    assert_eq!(p1.conflict, None);
    assert!(
        p1.order.deferred_references > 0,
        "the cmdb dataset has cycles"
    );
    let new1 = complete(&store, &s1, r1, &p1).await;
    let rule1 = rule(support::user_rule(&raw1, &p1).await, &[]);
    assert_restored(&src, &Snapshot::read(&raw1, &new1).await, &p1, &rule1);

    // A backup of the restored schema restores with the *first* identity (DESIGN §4): its
    // objects keep the ORIGINAL_ID / ORIGINAL_KEY of the ITSM objects.
    let b1 = backup(&s1, &store, "ITR").await;
    let (pc, rc) = plan(&store, &s1, b1, "IT Assets Again", "ITR2").await;
    assert!(
        pc.attributes
            .iter()
            .all(|a| a.action != restore::AttrAction::Added)
    );
    let again = complete(&store, &s1, rc, &pc).await;
    assert_restored(&src, &Snapshot::read(&raw1, &again).await, &p1, &rule1);

    let (p2, r2) = plan(&store, &s2, b, "IT Assets", "ITSM").await;
    let new2 = complete(&store, &s2, r2, &p2).await;
    let rule2 = rule(
        support::user_rule(&raw2, &p2).await,
        &[("Server.Administrators", "Chen Wei")],
    );
    assert_restored(&src, &Snapshot::read(&raw2, &new2).await, &p2, &rule2);

    for (id, p) in [(r1, &p1), (r2, &p2)] {
        let row = store.get_restore(id).await.unwrap();
        assert_eq!(row.status, RestoreStatus::Completed);
        let log = full_log(&store, id).await;
        let objects: Vec<_> = log.iter().filter(|e| e.level.is_none()).collect();
        assert_eq!(objects.len() as u64, p.order.objects);
        assert!(
            objects
                .iter()
                .all(|e| e.result && e.message == restore::OK_MESSAGE)
        );
    }
    eprintln!(
        "round trip: {} objects to two sites in {:?}; s2 stats {:?}",
        p1.order.objects,
        t0.elapsed(),
        s2.stats()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_migration_matches_users_by_display_name_and_logs_the_others_by_name() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;
    let (p, id) = plan(&store, &s2, b, "IT Assets", "ITSM").await;
    let by_name: HashMap<&str, &restore::UserMatch> = p
        .users
        .iter()
        .map(|u| (u.display_name.as_str(), u))
        .collect();
    assert!(by_name["Jordan Lee"].account_id.is_some());
    assert_eq!(by_name["Priya Natarajan"].account_id, None);
    assert!(by_name["Priya Natarajan"].reason.contains("2 users"));
    assert_eq!(by_name["Alex Morgan"].account_id, None);
    assert!(by_name["Fatima Zahra"].reason.contains("no user"));
    // Few names: one search each, and the plan says so.
    let lookup = p.lookups.expect("a new plan records its lookups").users;
    assert_eq!(lookup.method, restore::UserLookupMethod::Search);
    assert_eq!(
        (lookup.names, lookup.requests),
        (p.users.len() as u64, p.users.len() as u64)
    );
    let new = complete(&store, &s2, id, &p).await;

    let raw1 = Raw::new(&sim, "s1");
    let raw2 = Raw::new(&sim, "s2");
    let src = Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await;
    let rule = rule(
        support::user_rule(&raw2, &p).await,
        &[("Server.Administrators", "Chen Wei")],
    );
    assert_restored(&src, &Snapshot::read(&raw2, &new).await, &p, &rule);
    // Every user left empty is named in the log, for an object that held it.
    let notes: Vec<String> = full_log(&store, id)
        .await
        .into_iter()
        .filter(|e| e.level == Some(LogLevel::Warn))
        .map(|e| format!("{} {}", e.object_key, e.message))
        .collect();
    for u in p.users.iter().filter(|u| u.account_id.is_none()) {
        let named = notes
            .iter()
            .any(|n| n.contains(&format!("User \\\"{}\\\"", u.display_name)));
        assert!(named, "no log entry names {:?}", u.display_name);
    }
    assert!(
        notes.iter().any(|n| n.contains("Administrators")
            && n.contains("refused")
            && n.contains("Chen Wei")),
        "the refused Chen Wei is logged"
    );
    sim.shutdown().await;
}

/// How an interruption happens.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// The future is dropped (a crash or a kill): in-flight requests are abandoned.
    Drop,
    /// The STOP token fires.
    Stop,
}

/// Runs the restore until the `nth` request of `stage` in this run is held at the simulator
/// (before it is processed), then interrupts it there; returns whether it was interrupted
/// (false: the stage ended before its `nth` request and the run went on to the end).
///
/// The barrier is added when the stage starts (the event sink runs on the restore's task,
/// before the stage's first request), so every request it counts is one of that stage.
#[allow(clippy::too_many_arguments)]
async fn interrupt(
    sim: &SimHandle,
    store: &AsyncStore,
    c: &AssetsClient,
    id: RestoreId,
    p: &RestorePlan,
    stage: Stage,
    nth: u64,
    cut: Cut,
) -> bool {
    let spec = kit::restore_stage_barrier(stage, "s1")
        .expect("a stage with requests")
        .nth(nth);
    let (armed, mut barrier) = tokio::sync::watch::channel::<Option<Arc<Barrier>>>(None);
    let sink = move |e: RestoreEvent| {
        if let RestoreEvent::StageStarted { stage: s, .. } = e
            && s == stage
        {
            armed.send_replace(Some(Arc::new(sim.barrier(spec.clone()).expect("barrier"))));
        }
    };
    let held = async {
        let b = barrier
            .wait_for(Option::is_some)
            .await
            .expect("sink alive")
            .clone()
            .expect("armed");
        b.wait_held(1).await;
        b
    };
    let clock = clock();
    let stop = CancellationToken::new();
    let mut run = Box::pin(restore::execute(
        store,
        c,
        id,
        p,
        &sink,
        stop.clone(),
        &clock,
    ));
    let b = tokio::select! {
        r = &mut run => {
            r.expect("run");
            return false;
        }
        b = held => b,
    };
    match cut {
        // Dropping the run abandons the held request: it is never processed (the barrier
        // goes only once the simulator saw the client leave, or it would let it through).
        Cut::Drop => {
            drop(run);
            b.wait(Condition {
                abandoned: Some(1),
                ..Condition::default()
            })
            .await;
            true
        }
        Cut::Stop => {
            stop.cancel();
            b.release_all();
            let o = run.await.expect("stopped run");
            o.stopped
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_interrupted_in_every_stage_resumes_without_duplicates() {
    let t0 = Instant::now();
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let raw = Raw::new(&sim, "s1");
    let statuses_before = raw.list("/config/statustype").await.len();
    let (p, id) = plan(&store, &s1, b, "Resumed", "RES").await;
    let mut cuts = 0;
    for stage in Stage::ALL {
        let requests = p.requests_of(stage);
        if kit::restore_stage_request(stage).is_none() || requests == 0 {
            continue;
        }
        // Where each run is cut, counted from the start of the stage in that run: the first
        // request (nothing of the stage done), then further in; each cut holds a request
        // before it is processed, so the cuts of a stage leave enough requests for the next.
        let plan: Vec<(u64, Cut)> = match stage {
            Stage::ObjectEntries => vec![
                (1, Cut::Drop),
                (60, Cut::Drop),
                (40, Cut::Stop),
                (20, Cut::Drop),
            ],
            Stage::Attributes => vec![(1, Cut::Drop), (10, Cut::Drop), (10, Cut::Stop)],
            _ if requests >= 3 => vec![(1, Cut::Drop), (2, Cut::Stop)],
            _ => vec![(1, Cut::Drop), (1, Cut::Stop)],
        };
        for (nth, cut) in plan {
            assert!(
                interrupt(&sim, &store, &s1, id, &p, stage, nth, cut).await,
                "the cut of {stage} at its request {nth} ({cut:?}) did not land"
            );
            cuts += 1;
        }
    }
    assert!(cuts >= 12, "{cuts} cuts");
    let new = complete(&store, &s1, id, &p).await;
    let src = Snapshot::read(&raw, &support::schema_id(&raw, "ITSM").await).await;
    let dst = Snapshot::read(&raw, &new).await;
    let r = rule(support::user_rule(&raw, &p).await, &[]);
    assert_restored(&src, &dst, &p, &r);
    // Nothing global twice: the statuses the restore matched or created exist once each.
    let globals = raw.list("/config/statustype").await;
    let names: HashSet<String> = globals.iter().map(|g| g["name"].to_string()).collect();
    assert_eq!(names.len(), globals.len(), "a global status exists twice");
    assert_eq!(globals.len(), statuses_before);
    let schemas = raw.schemas().await;
    assert_eq!(
        schemas
            .iter()
            .filter(|s| s["objectSchemaKey"] == "RES")
            .count(),
        1
    );
    let log = full_log(&store, id).await;
    let created: Vec<_> = log
        .iter()
        .filter(|e| e.level.is_none() && e.result)
        .collect();
    let keys: HashSet<&str> = created.iter().map(|e| e.object_key.as_str()).collect();
    assert_eq!(
        keys.len(),
        created.len(),
        "an object logged as created twice"
    );
    assert_eq!(created.len() as u64, p.order.objects);
    eprintln!("resume: {cuts} interruptions, {:?}", t0.elapsed());
    sim.shutdown().await;
}

async fn admin(
    sim: &assets_sim::server::SimHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut rb = reqwest::Client::new().request(method, format!("{}/__sim/{path}", sim.url()));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("admin");
    assert!(r.status().is_success(), "admin {path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_responses_on_object_creates_create_no_duplicates() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let (p, id) = plan(&store, &s1, b, "Lossy", "LOSSY").await;
    let faults = json!({"seed": 5, "lost_response_rate": 0.15, "classes": ["object"]});
    admin(&sim, reqwest::Method::PUT, "faults", Some(faults)).await;
    let new = complete(&store, &s1, id, &p).await;
    admin(&sim, reqwest::Method::PUT, "faults", Some(json!({}))).await;
    let stats = s1.stats();
    assert!(stats.ambiguous > 10, "{stats:?}");
    let raw = Raw::new(&sim, "s1");
    let src = Snapshot::read(&raw, &support::schema_id(&raw, "ITSM").await).await;
    let r = rule(support::user_rule(&raw, &p).await, &[]);
    assert_restored(&src, &Snapshot::read(&raw, &new).await, &p, &r);
    eprintln!("lost responses: {stats:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_429_storms_5xx_and_dropped_connections_the_result_is_the_same() {
    let t0 = Instant::now();
    let sim = support::start(&config(150, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let (p, id) = plan(&store, &s1, b, "Stormy", "STORM").await;
    // Every 503 says Retry-After: 1 and every fault halves the client's concurrency, so the
    // rates are kept where the test stays fast yet sees every kind many times.
    let faults =
        json!({"seed": 11, "error_rate": 0.08, "drop_rate": 0.04, "lost_response_rate": 0.02});
    admin(&sim, reqwest::Method::PUT, "faults", Some(faults)).await;
    // 429 storms (Retry-After 1 s) at the start of the big stages and every 60 objects; the
    // admin calls are spawned from the event sink, so no test code sleeps.
    let url = sim.url().to_owned();
    let objects = Arc::new(AtomicUsize::new(0));
    let handle = tokio::runtime::Handle::current();
    let sink = move |e: RestoreEvent| {
        let storm = match e {
            RestoreEvent::StageStarted { stage, .. } => {
                matches!(
                    stage,
                    Stage::ObjectTypes | Stage::Attributes | Stage::ObjectEntries
                )
            }
            RestoreEvent::Object { .. } => objects.fetch_add(1, Ordering::SeqCst) % 60 == 59,
            _ => false,
        };
        if storm {
            let url = url.clone();
            handle.spawn(async move {
                let body = json!({"status": 429, "retry_after": 1, "count": 2});
                let _ = reqwest::Client::new()
                    .post(format!("{url}/__sim/force"))
                    .json(&body)
                    .send()
                    .await;
            });
        }
    };
    let mut done = None;
    for _ in 0..3 {
        match restore::execute(
            &store,
            &s1,
            id,
            &p,
            &sink,
            CancellationToken::new(),
            &clock(),
        )
        .await
        {
            Ok(o) => {
                done = o.schema_id;
                break;
            }
            Err(e) if e.is_retryable() => eprintln!("retryable, resuming: {e}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    admin(&sim, reqwest::Method::PUT, "faults", Some(json!({}))).await;
    let new = done.expect("completed under faults");
    let stats = s1.stats();
    assert!(
        stats.throttled >= 3 && stats.server_errors > 0 && stats.transport_errors > 0,
        "{stats:?}"
    );
    let raw = Raw::new(&sim, "s1");
    let src = Snapshot::read(&raw, &support::schema_id(&raw, "ITSM").await).await;
    let r = rule(support::user_rule(&raw, &p).await, &[]);
    assert_restored(&src, &Snapshot::read(&raw, &new).await, &p, &r);
    let sim_stats = admin(&sim, reqwest::Method::GET, "stats", None).await;
    eprintln!(
        "faults: {:?}; client {stats:?}; sim faults {}",
        t0.elapsed(),
        sim_stats["faults"]
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_mid_restore_leaves_the_log_and_id_map_consistent_with_the_target() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let (p, id) = plan(&store, &s1, b, "Stopped", "STOP").await;
    let cancel = CancellationToken::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let sink = {
        let (cancel, seen) = (cancel.clone(), seen.clone());
        move |e: RestoreEvent| {
            if matches!(e, RestoreEvent::Object { .. })
                && seen.fetch_add(1, Ordering::SeqCst) + 1 == 100
            {
                cancel.cancel();
            }
        }
    };
    let o = restore::execute(&store, &s1, id, &p, &sink, cancel, &clock())
        .await
        .unwrap();
    assert!(o.stopped);
    assert_eq!(
        store.get_restore(id).await.unwrap().status,
        RestoreStatus::Stopped
    );
    let schema = o.schema_id.clone().unwrap();
    // In-flight creates finished and were recorded: more than 100, fewer than all.
    assert!(
        o.objects_created >= 100 && o.objects_created < p.order.objects,
        "{o:?}"
    );
    let raw = Raw::new(&sim, "s1");
    let on_target = raw.objects(&format!("objectSchemaId = {schema}")).await;
    let log = full_log(&store, id).await;
    let logged = log.iter().filter(|e| e.level.is_none() && e.result).count() as u64;
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .restore_ids(id, "object", after.as_deref(), 1000)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|x| x.0.clone());
        map.extend(page);
    }
    assert_eq!(logged, o.objects_created);
    assert_eq!(map.len() as u64, o.objects_created);
    assert_eq!(
        on_target.len() as u64,
        o.objects_created,
        "the target holds exactly what was recorded"
    );
    let target_ids: HashSet<String> = on_target
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(map.values().all(|n| target_ids.contains(n)));
    // And it resumes to the end.
    let new = complete(&store, &s1, id, &p).await;
    assert_eq!(new, schema);
    let src = Snapshot::read(&raw, &support::schema_id(&raw, "ITSM").await).await;
    let r = rule(support::user_rule(&raw, &p).await, &[]);
    assert_restored(&src, &Snapshot::read(&raw, &new).await, &p, &r);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_schema_whose_name_or_key_exists_fails_with_the_api_message_and_creates_nothing() {
    let sim = support::start(&config(150, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "LOC").await;
    let raw = Raw::new(&sim, "s1");
    // The last case names the existing schema exactly: a rerun must not adopt it as "the
    // schema an interrupted run created".
    let cases = [
        ("IT Assets", "FRESH", "name"),
        ("Fresh", "ITSM", "key"),
        ("IT Assets", "ITSM", "both"),
    ];
    for (name, key, clash) in cases {
        let schemas = raw.schemas().await.len();
        let globals = raw.list("/config/statustype").await.len();
        let (p, id) = plan(&store, &s1, b, name, key).await;
        assert!(
            p.conflict.as_deref().is_some_and(|c| c.contains("exists")),
            "{p:?}"
        );
        for run in 0..2 {
            let err = execute(&store, &s1, id, &p, CancellationToken::new())
                .await
                .0
                .unwrap_err();
            let body = err
                .api_body()
                .unwrap_or_else(|| panic!("no API body: {err:?}"))
                .to_string();
            assert!(
                body.contains("already exists"),
                "{clash}, run {run}: {body}"
            );
            let row = store.get_restore(id).await.unwrap();
            assert_eq!(row.status, RestoreStatus::Error);
            assert!(row.result.unwrap().contains("already exists"));
            assert_eq!(row.new_schema_id, None);
            assert_eq!(raw.schemas().await.len(), schemas, "a schema was created");
            assert_eq!(raw.list("/config/statustype").await.len(), globals);
        }
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_plan_changes_nothing_and_predicts_the_requests_one_per_object_without_cycles() {
    // LOC (regions and sites, no cycles) gets 3 % of the dataset's objects.
    let sim = support::start(&config(4500, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "LOC").await;
    let raw = Raw::new(&sim, "s1");
    let state = || async {
        json!([
            raw.schemas().await,
            raw.list("/config/statustype").await,
            raw.list("/config/referencetype").await,
            raw.get("/usage").await
        ])
    };
    let before = state().await;
    let (p, id) = plan(&store, &s1, b, "Locations Copy", "LOC2").await;
    assert_eq!(state().await, before, "the plan changed the target");
    assert_eq!(p.order.deferred_references, 0, "LOC has no cycles");
    assert!(
        p.order.objects >= 100 && p.order.waves.len() >= 2,
        "{:?}",
        p.order
    );
    // Requests per stage, measured between the stage's start and finish events.
    let sent = |c: &AssetsClient| c.stats().sent.values().sum::<u64>();
    let per_stage: Arc<std::sync::Mutex<BTreeMap<Stage, (u64, u64)>>> = Arc::default();
    let sink = {
        let (c, per_stage) = (s1.clone(), per_stage.clone());
        move |e: RestoreEvent| match e {
            RestoreEvent::StageStarted { stage, .. } => {
                per_stage.lock().unwrap().insert(stage, (sent(&c), 0));
            }
            RestoreEvent::StageFinished { stage, .. } => {
                if let Some(x) = per_stage.lock().unwrap().get_mut(&stage) {
                    x.1 = sent(&c);
                }
            }
            _ => {}
        }
    };
    let total_before = sent(&s1);
    let o = restore::execute(
        &store,
        &s1,
        id,
        &p,
        &sink,
        CancellationToken::new(),
        &clock(),
    )
    .await
    .unwrap();
    assert!(!o.stopped);
    let total = sent(&s1) - total_before;
    let per_stage = per_stage.lock().unwrap().clone();
    for (stage, (start, end)) in &per_stage {
        assert_eq!(end - start, p.requests_of(*stage), "requests of {stage}");
    }
    assert_eq!(total, p.requests.total, "{:?}", p.requests);
    let (s, e) = per_stage[&Stage::ObjectEntries];
    let objects = p.order.objects as f64;
    assert!(
        (e - s) as f64 <= 1.05 * objects,
        "{} requests for {objects} objects",
        e - s
    );
    eprintln!(
        "requests: {} objects, {} waves, {total} requests in all",
        p.order.objects,
        p.order.waves.len()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_text_over_255_characters_fails_per_object_with_the_api_body() {
    let sim = support::start(&config(300, true)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let (p, id) = plan(&store, &s1, b, "From DC", "FROMDC").await;
    let long: u64 = p.attributes.iter().map(|a| a.long_text_values).sum();
    assert!(long > 0, "the dataset has long texts");
    let (o, _) = execute(&store, &s1, id, &p, CancellationToken::new()).await;
    let o = o.unwrap();
    assert_eq!(o.objects_failed, long);
    assert_eq!(o.objects_created + o.objects_failed, p.order.objects);
    let failed: Vec<_> = full_log(&store, id)
        .await
        .into_iter()
        .filter(|e| e.level.is_none() && !e.result)
        .collect();
    assert_eq!(failed.len() as u64, long);
    for f in &failed {
        let errors = f.message["errors"]
            .as_object()
            .expect("the API's error body");
        assert!(
            errors
                .values()
                .any(|m| m.as_str().unwrap().contains("less than 255 characters")),
            "{}",
            f.message
        );
    }
    sim.shutdown().await;
}
