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
//! - `issues_point_at_the_restored_objects_after_a_sigkill_and_a_second_run_changes_nothing`:
//!   ITSM and LOC migrated to `s2`, whose Jira holds `s1`'s issues; the issues task of the ITSM
//!   restore is killed (SIGKILL) while a barrier holds its second issue edit, resumes after the
//!   restart, then the LOC restore's runs: every Assets field of every issue on `s2` points at
//!   the restored counterparts of the objects it pointed at on `s1` (checked through
//!   `ORIGINAL_ID`); second runs report every field `unchanged` and leave the issues as they
//!   are; on `s3`, whose Jira lacks the issues, every field is reported skipped ("issue not
//!   found") and nothing changes.
//!
//! - The same task on a Data Center target: `dc::issues`.
//!
//! - `references::*`: the cross-schema references task (see that module).
//! - `original_id::*`: the same with a referenced schema another store restored.
//!
//! No fixed sleeps: every wait polls a condition with a deadline or waits on a barrier.

mod original_id;
mod references;
mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use assets_sim::barrier::BarrierSpec;
use serde_json::{Value, json};

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
    let (_, resumed) = env
        .killed_and_resumed(&["object-type-ids", &restore, "--yes"], held)
        .await;
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

/// Issue key -> Assets field -> object ids, of every ITSM issue of a site's Jira.
async fn issue_objects(
    site: &assetark_tests::kit::SiteReader,
) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let fields = ["customfield_10191", "customfield_10192"];
    let page = site
        .jira_call(
            reqwest::Method::POST,
            "/rest/api/3/search/jql",
            Some(json!({"jql": "project = ITSM", "fields": fields, "maxResults": 1000})),
        )
        .await;
    let mut out = BTreeMap::new();
    for issue in page["issues"].as_array().expect("issues") {
        let key = issue["key"].as_str().expect("key").to_owned();
        let mut by_field = BTreeMap::new();
        for f in fields {
            let ids: BTreeSet<String> = issue["fields"][f]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| assetark_tests::kit::s(&d["objectId"]))
                .collect();
            if !ids.is_empty() {
                by_field.insert(f.to_owned(), ids);
            }
        }
        out.insert(key, by_field);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_point_at_the_restored_objects_after_a_sigkill_and_a_second_run_changes_nothing() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    let itsm = env.backup_with_issues("ITSM").await;
    let loc = env.backup_with_issues("LOC").await;
    let r_loc = env.restore(&loc, "LOC2", "s2").await;
    let r_itsm = env.restore(&itsm, "ITSM2", "s2").await;
    let source = issue_objects(&env.site("s1")).await;
    assert!(!source.is_empty());
    assert_eq!(
        issue_objects(&env.site("s2")).await,
        source,
        "s2 holds s1's issues"
    );

    // The ITSM restore's task, killed while its second issue edit is held.
    let held = env
        .sim
        .barrier(
            BarrierSpec::new("PUT", "/rest/api/3/issue/{key}")
                .site("s2")
                .nth(2),
        )
        .expect("barrier");
    let (id, first) = env.killed_and_resumed(&["issues", &r_itsm], held).await;
    assert_eq!(first["status"], "success", "{first}");
    let lines = first["items"].as_array().expect("items").len();
    assert!(lines > 0, "{first}");
    assert_eq!(
        count(&first, "updated") + count(&first, "unchanged"),
        lines,
        "{first}"
    );
    let loc_task = env
        .cli_json(&["tasks", "start", "issues", &r_loc, "--wait"])
        .await;
    assert_eq!(loc_task["status"], "success", "{loc_task}");
    assert_eq!(
        count(&loc_task, "failed") + count(&loc_task, "skipped"),
        0,
        "{loc_task}"
    );

    // Every field points at the restored counterparts of what it pointed at on s1.
    let s2 = env.site("s2");
    let mut original: HashMap<String, String> = HashMap::new();
    for key in ["ITSM2", "LOC2"] {
        for (id, orig) in s2.originals(key).await {
            original.insert(id, orig.expect("ORIGINAL_ID"));
        }
    }
    let after = issue_objects(&s2).await;
    let translated: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = after
        .iter()
        .map(|(k, fields)| {
            let f = fields
                .iter()
                .map(|(f, ids)| {
                    let ids = ids
                        .iter()
                        .map(|i| {
                            original
                                .get(i)
                                .cloned()
                                .unwrap_or_else(|| format!("unrestored {i}"))
                        })
                        .collect();
                    (f.clone(), ids)
                })
                .collect();
            (k.clone(), f)
        })
        .collect();
    assert_eq!(
        translated, source,
        "issues on s2 point at the restored objects"
    );

    // Second runs change nothing.
    for r in [&r_itsm, &r_loc] {
        let again = env
            .cli_json(&["tasks", "start", "issues", r, "--wait"])
            .await;
        assert_eq!(again["status"], "success", "{again}");
        let lines = again["items"].as_array().expect("items").len();
        assert_eq!(count(&again, "unchanged"), lines, "{again}");
    }
    assert_eq!(issue_objects(&s2).await, after);
    let text = env.cli(&["tasks", "show", &id]).await;
    assert!(
        text.stdout.contains("fields validation results"),
        "{text:?}"
    );

    // s3's Jira lacks the issues: reported, nothing changed.
    let r_s3 = env.restore(&itsm, "ITSMX", "s3").await;
    let none = env
        .cli_json(&["tasks", "start", "issues", &r_s3, "--wait"])
        .await;
    assert_eq!(none["status"], "success", "{none}");
    let lines = none["items"].as_array().expect("items").len();
    assert_eq!(count(&none, "skipped"), lines, "{none}");
    assert!(lines > 0);
    let reasons = &none["summary"]["fields"][0]["reasons"];
    assert!(
        reasons["issue not found on the target"].as_u64() > Some(0),
        "{none}"
    );
    assert!(issue_objects(&env.site("s3")).await.is_empty());
}
