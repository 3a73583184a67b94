//! Manual backups follow the full/incremental cycle of the schedule that covers their schema
//! (issue 14's note: they used the default 7 whatever the schedule said), through the real
//! CLI and daemon process: a config schedule (`full_every = 2`), a schema no schedule covers
//! (`[backup] full_every = 3`), then a schedule added through the API (`full_every = 1`).
//! Each backup's `capture` line and its JSON `incremental` / `parent_id` are checked.

use serde_json::{Value, json};

use super::support::Env;

/// ITSM: a schedule that never fires by itself during the test (1 January), every second
/// backup full. LOC has no schedule: the daemon's `[backup] full_every` applies.
const CONFIG: &str = "[backup]\nfull_every = 3\n[[schedules]]\nsite = \"s1\"\nschema = \"ITSM\"\n\
    cron = \"0 0 0 1 1 *\"\nfull_every = 2\n";

/// `backup run --wait --json` of `schema`; returns the new backup's id.
async fn manual(env: &Env, schema: &str) -> u64 {
    let job = env
        .cli_json(&[
            "backup", "run", "--site", "s1", "--schema", schema, "--wait",
        ])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    job["result"]["backup"]["id"].as_u64().expect("backup id")
}

/// Backup `id`'s capture: its `capture` line in `backups show`, and its JSON fields.
async fn capture(env: &Env, id: u64) -> (String, Value) {
    let ids = id.to_string();
    let text = env.cli(&["backups", "show", &ids]).await;
    text.ok(&["backups", "show", &ids]);
    let line = text
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("capture"))
        .unwrap_or_else(|| panic!("no capture line in {}", text.stdout))
        .to_owned();
    let json = env.cli_json(&["backups", "show", &ids]).await;
    (line, json!([json["incremental"], json["parent_id"]]))
}

/// What `capture` gives for a full backup (`None`) or one incremental from `parent`.
fn expected(parent: Option<u64>) -> (String, Value) {
    let line = match parent {
        Some(p) => format!("incremental (unchanged objects' history from backup {p})"),
        None => "full".to_owned(),
    };
    (
        format!("{:<12} {line}", "capture"),
        json!([parent.is_some(), parent]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_backups_follow_the_covering_schedules_full_every() {
    let mut env = Env::with_config(60, CONFIG).await;
    env.start().await;

    // ITSM, schedule full_every = 2: full, incremental, full (the default 7 would make the
    // third incremental).
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(manual(&env, "ITSM").await);
    }
    // LOC, no schedule, `[backup] full_every = 3`: full, incremental, incremental, full.
    for _ in 0..4 {
        made.push(manual(&env, "LOC").await);
    }
    // A schedule of LOC added through the API, full_every = 1: every backup full, though
    // the last full one (7) began a cycle of 3.
    let set = env
        .cli(&[
            "schedules",
            "set",
            "--site",
            "s1",
            "--schema",
            "LOC",
            "--cron",
            "0 0 0 1 1 *",
            "--full-every",
            "1",
        ])
        .await;
    set.ok(&["schedules", "set"]);
    made.push(manual(&env, "LOC").await);
    assert_eq!(made, (1..=8).collect::<Vec<u64>>());

    let parents = [None, Some(1), None, None, Some(4), Some(5), None, None];
    for (id, parent) in made.iter().zip(parents) {
        assert_eq!(
            capture(&env, *id).await,
            expected(parent),
            "backup {id} of {made:?}"
        );
    }
    env.stop().await;
}
