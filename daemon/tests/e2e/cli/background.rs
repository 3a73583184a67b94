//! Issue 8 item 2: a daemon killed (SIGKILL) while a backup's background history phase runs.
//! After the restart the same job resumes the same backup's phases where they stopped (the
//! histories stored before the kill are not read again) and every phase ends; there is one
//! backup, not two. The old code ran the job again as a second backup and left the first
//! one's history `pending` for ever.

use assets_sim::barrier::{BarrierSpec, Condition};
use serde_json::Value;

use super::support::{Env, wait_for};

/// The history read of every object of a backup.
fn history_reads() -> BarrierSpec {
    BarrierSpec::new("GET", "/object/{id}/history").site("s1")
}

fn store_count(env: &Env, sql: &str, backup: i64) -> i64 {
    let conn = rusqlite::Connection::open(env.db()).expect("db");
    conn.query_row(sql, [backup], |r| r.get(0)).expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_in_the_history_phase_resumes_the_same_backup() {
    let mut env = Env::new(1500).await;
    env.start().await;
    // The 700th history read is held: the histories of the first round (500 objects) are
    // stored, the second round is in flight.
    let held = env.sim.barrier(history_reads().nth(700)).expect("barrier");
    let started = env
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    let job = started["job_id"].as_i64().expect("job id");
    held.wait_held(1).await;
    let list = env.cli_json(&["backups", "list"]).await;
    assert_eq!(list["total"], 1, "{list}");
    let backup = &list["items"][0];
    let id = backup["id"].as_i64().expect("id");
    let objects = backup["object_count"].as_i64().expect("count");
    assert!(objects > 1000, "{backup}");
    assert_eq!(backup["history"]["status"], "running", "{backup}");

    env.kill().await;
    held.wait(Condition {
        abandoned: Some(1),
        ..Condition::default()
    })
    .await;
    drop(held);
    let kept = store_count(
        &env,
        "SELECT count(*) FROM manifest WHERE backup_id = ?1 AND kind = 'history'",
        id,
    );
    assert!(
        (500..700).contains(&kept),
        "{kept} histories stored before the kill"
    );

    // Restart: the job runs again and resumes its backup's phases; history reads are counted.
    let reads = env
        .sim
        .barrier(history_reads().occurrences(u64::MAX..=u64::MAX))
        .expect("counter");
    env.start().await;
    let path = format!("/v1/jobs/{job}");
    let client = env.client();
    let done: Value = wait_for("the resumed job", || {
        let (client, path) = (client.clone(), path.clone());
        async move {
            let v = client.get(&path).await.ok()?.body;
            matches!(v["status"].as_str(), Some("done" | "failed")).then_some(v)
        }
    })
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["result"]["backup"]["id"], id, "{done}");

    let list = env.cli_json(&["backups", "list"]).await;
    assert_eq!(list["total"], 1, "no second backup: {list}");
    let show = env.cli_json(&["backups", "show", &id.to_string()]).await;
    assert_eq!(show["history"]["status"], "done", "{show}");
    assert_eq!(show["issues"]["status"], "done", "{show}");
    let histories = store_count(
        &env,
        "SELECT count(*) FROM manifest WHERE backup_id = ?1 AND kind = 'history'",
        id,
    );
    assert_eq!(histories, objects, "one history per object");
    let read = reads.counts().matched as i64;
    assert_eq!(
        read,
        objects - kept,
        "only objects without a stored history are read"
    );
    env.cli(&["backups", "verify", &id.to_string()])
        .await
        .ok(&["verify"]);
}
