//! End-to-end tests of the post-restore tasks through the daemon and the CLI as real
//! processes: the simulator in-process (real HTTP) with `s1` (cmdb) and `s2` (empty, its Jira a
//! copy of `s1`'s), `assetark serve` as a child process with a real SQLite store, every step
//! through the `assetark` binary, and what a task did checked through the simulator's own API.
//!
//! Tests:
//! - `object_type_ids_are_written_once_and_survive_a_sigkill`: the task refuses to run without
//!   `--yes` off a terminal; with it, every restored object type's description on `s2` is its
//!   id on `s1` (checked type by type by name); a second run reports every type `unchanged`
//!   and changes nothing; `restores show` and `tasks list` list the tasks; a SIGKILL while a
//!   simulator barrier holds the third description update, then a restart: the task resumes and
//!   the target holds exactly what a clean run gives, with one report line per type.
//!
//! No fixed sleeps: every wait polls a condition with a deadline or waits on a barrier.

mod support;

use std::collections::BTreeMap;

use assets_sim::barrier::{BarrierSpec, Condition};
use serde_json::Value;

use support::{Env, count};

/// Objects in the simulated CMDB of `s1`.
const OBJECTS: u32 = 120;

/// Object type name -> (id, description) of schema `key` on a site.
async fn types(
    site: &assetark_tests::kit::SiteReader,
    key: &str,
) -> BTreeMap<String, (String, String)> {
    let id = &site.schema_ids().await[key];
    site.list(&format!("/objectschema/{id}/objecttypes/flat"))
        .await
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("name").to_owned(),
                (
                    assetark_tests::kit::s(&t["id"]),
                    t["description"].as_str().unwrap_or("").to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_type_ids_are_written_once_and_survive_a_sigkill() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    let backup = env.backup("ITSM").await;
    let restore = env.restore(&backup, "ITSM2", "s2").await;
    let source = types(&env.site("s1"), "ITSM").await;

    // Overwriting descriptions needs --yes off a terminal; nothing starts.
    env.cli(&["tasks", "start", "object-type-ids", &restore])
        .await
        .fails(1, "without --yes");
    let none = env.cli_json(&["tasks", "list", &restore]).await;
    assert_eq!(none["items"], serde_json::json!([]), "{none}");

    let first = env
        .cli_json(&[
            "tasks",
            "start",
            "object-type-ids",
            &restore,
            "--yes",
            "--wait",
        ])
        .await;
    assert_eq!(first["status"], "success", "{first}");
    assert_eq!(first["kind"], "object-type-ids");
    assert!(
        first["started_at"].is_string() && first["ended_at"].is_string(),
        "{first}"
    );
    assert_eq!(count(&first, "updated"), source.len(), "{first}");
    assert_eq!(first["summary"]["updated"], source.len());
    let target = types(&env.site("s2"), "ITSM2").await;
    assert_eq!(target.len(), source.len());
    for (name, (old_id, _)) in &source {
        assert_eq!(&target[name].1, old_id, "description of {name}");
    }

    // A second run changes nothing.
    let second = env
        .cli_json(&[
            "tasks",
            "start",
            "object-type-ids",
            &restore,
            "--yes",
            "--wait",
        ])
        .await;
    assert_eq!(second["status"], "success", "{second}");
    assert_eq!(count(&second, "unchanged"), source.len(), "{second}");
    assert_eq!(second["summary"]["updated"], 0);
    assert_eq!(types(&env.site("s2"), "ITSM2").await, target);

    let listed = env.cli_json(&["tasks", "list", &restore]).await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    let shown = env.cli_json(&["restores", "show", &restore]).await;
    let kinds: Vec<&Value> = shown["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| &t["status"])
        .collect();
    assert_eq!(
        kinds,
        [&Value::from("success"), &Value::from("success")],
        "{shown}"
    );
    let text = env.cli(&["restores", "show", &restore]).await;
    assert!(text.stdout.contains("object-type-ids"), "{text:?}");
    let text = env
        .cli(&[
            "tasks",
            "show",
            first["id"].as_i64().expect("id").to_string().as_str(),
        ])
        .await;
    assert!(text.stdout.contains("updated"), "{text:?}");

    // SIGKILL mid-task: a fresh restore, its third description update held, the daemon killed.
    let restore = env.restore(&backup, "ITSM3", "s2").await;
    let held = env
        .sim
        .barrier(
            BarrierSpec::new("PUT", "/objecttype/{id}")
                .site("s2")
                .nth(3),
        )
        .expect("barrier");
    let started = env
        .cli_json(&["tasks", "start", "object-type-ids", &restore, "--yes"])
        .await;
    let id = started["task_id"].as_i64().expect("task id").to_string();
    held.wait_held(1).await;
    assert_eq!(env.task(&id).await["status"], "in_progress");
    env.kill().await;
    held.wait(Condition {
        abandoned: Some(1),
        ..Condition::default()
    })
    .await;
    drop(held);
    env.start().await;
    let resumed = env.wait_task(&id).await;
    assert_eq!(resumed["status"], "success", "{resumed}");
    let lines = resumed["items"].as_array().expect("items").len();
    assert_eq!(lines, source.len(), "one report line per type: {resumed}");
    // Two types were updated before the kill; the resumed run updated the rest.
    assert_eq!(
        count(&resumed, "updated") + count(&resumed, "unchanged"),
        source.len()
    );
    assert!(count(&resumed, "updated") >= source.len() - 2, "{resumed}");
    let target = types(&env.site("s2"), "ITSM3").await;
    for (name, (old_id, _)) in &source {
        assert_eq!(
            &target[name].1, old_id,
            "description of {name} after the resume"
        );
    }
}
