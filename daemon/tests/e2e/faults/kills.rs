//! The fault suite's backup half (issue 8, "what must show"): one backup killed (SIGKILL) in
//! every stage of its main pass and in both background phases (history, issues), each time
//! while a simulator barrier holds a request of that stage, restarted each time; it ends with
//! exactly one complete backup, every phase done, holding entry for entry what an
//! uninterrupted backup of the same data holds. The restore half is
//! `restore_daemon::sigkill_in_every_stage_resumes_without_duplicates`.
//!
//! A run killed in the main pass starts the backup again (recovery drops the half-written one
//! and requeues its job); one killed in a background phase resumes the same backup's phases.
//! Each barrier counts from the restart that precedes it: the first request of the stage in
//! that run is the one held.

use std::collections::BTreeSet;

use assets_sim::barrier::{BarrierSpec, Condition};

use crate::restore_daemon::support::{Env, wait_for};

/// Stages in order, main pass then background phases, with the method and path of the
/// request each starts with.
const STAGES: [(&str, &str, &str); 10] = [
    ("schema", "GET", "/objectschema/{id}"),
    ("config", "GET", "/global/config/objectschema/{id}"),
    ("status types", "GET", "/config/statustype"),
    ("reference types", "GET", "/config/referencetype"),
    ("object types", "GET", "/objectschema/{id}/objecttypes/flat"),
    ("icons", "GET", "/icon/{id}"),
    ("attributes", "GET", "/objecttype/{id}/attributes"),
    ("objects", "POST", "/object/aql"),
    ("history", "GET", "/object/{id}/history"),
    ("issues", "GET", "/rest/api/3/field"),
];

/// Every entry of a backup: `(kind, original id, blob)`.
fn entries(env: &Env, backup: i64) -> BTreeSet<(String, String, String)> {
    let db = rusqlite::Connection::open(env.db()).expect("store");
    let mut stmt = db
        .prepare("SELECT kind, original_id, hash FROM manifest WHERE backup_id = ?1")
        .expect("query");
    stmt.query_map([backup], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("entries")
}

fn count(env: &Env, sql: &str) -> i64 {
    let db = rusqlite::Connection::open(env.db()).expect("store");
    db.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_every_backup_stage_backs_up_exactly_once() {
    let mut env = Env::new(240).await;
    env.start().await;
    env.cli(&["schemas", "sync", "--site", "s1"])
        .await
        .ok(&["schemas sync"]);
    let barrier = |env: &Env, (_, method, path): (&str, &str, &str)| {
        env.sim
            .barrier(BarrierSpec::new(method, path).site("s1").nth(1))
            .expect("barrier")
    };
    let mut held = Some(barrier(&env, STAGES[0]));
    let started = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    let job = started["job_id"].as_i64().expect("job id");
    for (k, (stage, _, _)) in STAGES.iter().enumerate() {
        let h = held.take().expect("armed");
        h.wait_held(1).await;
        let view = env
            .client()
            .get(&format!("/v1/jobs/{job}"))
            .await
            .expect("job");
        assert_eq!(view.body["status"], "running", "{stage}: {}", view.body);
        env.kill().await;
        // The held request's client is gone: it is never answered.
        h.wait(Condition {
            abandoned: Some(1),
            ..Condition::default()
        })
        .await;
        drop(h);
        if let Some(next) = STAGES.get(k + 1) {
            held = Some(barrier(&env, *next));
        }
        env.start().await;
    }
    let done = wait_for("the backup job ends", || async {
        let v = env
            .client()
            .get(&format!("/v1/jobs/{job}"))
            .await
            .ok()?
            .body;
        matches!(v["status"].as_str(), Some("done" | "failed")).then_some(v)
    })
    .await;
    assert_eq!(done["status"], "done", "{done}");
    let killed = done["result"]["backup"]["id"].as_i64().expect("backup id");
    assert_eq!(
        count(&env, "SELECT count(*) FROM backups"),
        1,
        "one backup, nothing half-written"
    );
    assert_eq!(
        count(&env, "SELECT count(*) FROM jobs"),
        1,
        "one job, run again after each kill"
    );

    // What an uninterrupted backup of the same data holds, entry for entry.
    let show = env
        .cli_json(&["backups", "show", &killed.to_string()])
        .await;
    for phase in ["history", "issues"] {
        assert_eq!(show[phase]["status"], "done", "{phase}: {show}");
    }
    let reference = env.backup("ITSM").await;
    wait_for("the reference backup's phases end", || async {
        let b = env
            .cli_json(&["backups", "show", &reference.to_string()])
            .await;
        (b["history"]["status"] == "done" && b["issues"]["status"] == "done").then_some(())
    })
    .await;
    let got = entries(&env, killed);
    let want = entries(&env, reference);
    assert_eq!(
        got, want,
        "the killed backup differs from an uninterrupted one"
    );
    let objects: BTreeSet<String> = got
        .iter()
        .filter(|(kind, _, _)| kind == "object")
        .map(|(_, id, _)| id.clone())
        .collect();
    let source: BTreeSet<String> = env
        .site("s1")
        .originals("ITSM")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(objects, source, "every object of the schema, once");
    let histories: BTreeSet<&String> = got
        .iter()
        .filter(|(kind, _, _)| kind == "history")
        .map(|(_, id, _)| id)
        .collect();
    assert_eq!(histories.len(), source.len(), "one history per object");
    env.stop().await;
}
