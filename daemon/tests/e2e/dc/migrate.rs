//! Migrations between Data Center and Cloud sites (issue 13), through the daemon process and
//! the CLI, checked on each target through its own API ([`super::objects`]):
//!
//! - `dc_to_dc_keeps_long_texts_and_maps_users`: `d1` -> `d2`: the plan finds no Text too
//!   long for a Data Center target; every object, value, reference and user (by display name,
//!   written as `d2`'s user key) arrives whole; `tasks start comments` writes every comment
//!   as a comment naming its author and time, `tasks start attachments` uploads every file
//!   (bytes checked); second runs write nothing;
//! - `dc_to_cloud_without_the_hook_names_each_refused_object`: `d1` -> `c1` without a hook:
//!   the plan counts the Text values over Cloud's 255; the restore log lists exactly the
//!   objects holding one, each refused with the API's message;
//! - `dc_to_cloud_with_text_to_textarea_restores_everything`: with
//!   `scripts/text_to_textarea.rhai`, every object restored with its values whole; the
//!   comments task fills the Textarea `OBJECT_COMMENTS` (author, time in Central European
//!   time, text) and says so; the attachments task reports them not offered, kept in the
//!   backup;
//! - `cloud_to_dc_restores_everything`: a Cloud schema (`c0`) onto `d2`.

use std::collections::BTreeSet;

use assetark_tests::kit::SiteReader;
use serde_json::Value;

use super::carried::{
    assert_cloud_comments, assert_dc_comments, assert_dc_files, by_original, outcomes, run_task,
    source_comments, source_files,
};
use super::objects::{Reader, expected_on, long_text_keys, reduce, text, without_keys};
use super::support::Env;

/// Objects in `d1`'s CMDB.
const OBJECTS: u32 = 120;

/// The text-to-textarea hook, off unless a restore asks for it.
fn t2t_hook() -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/text_to_textarea.rhai"
    );
    format!(
        "[[hooks]]\nname = \"t2t\"\npoint = \"transform_attribute\"\nkind = \"rhai\"\n\
         path = \"{script}\"\nenabled = false\n"
    )
}

/// Backs up `key` of `site`; returns the backup id.
async fn backup(env: &Env, site: &str, key: &str) -> String {
    let job = env.backup(site, key).await;
    text(&job["result"]["backup"]["id"])
}

/// Restores backup `id` to a new schema `key` on `site` with `extra` flags, waiting; returns
/// the restore as the CLI prints it.
async fn restore(env: &Env, id: &str, site: &str, key: &str, extra: &[&str]) -> Value {
    let name = format!("Migrated {key}");
    let mut args = vec![
        "restore",
        "start",
        id,
        "--to",
        "new-schema",
        "--name",
        &name,
        "--key",
        key,
        "--site",
        site,
    ];
    args.extend_from_slice(extra);
    let mut dry = args.clone();
    dry.push("--dry-run");
    let plan = env.cli_json(&dry).await;
    args.extend(["--wait", "--json"]);
    let out = env.cli(&args).await;
    let done: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    assert!(done.is_object(), "{out:?}");
    serde_json::json!({"plan": plan, "restore": done})
}

/// Text values the plan expects the target to refuse.
fn long_text_values(plan: &Value) -> u64 {
    plan["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| a["long_text_values"].as_u64().unwrap_or(0))
        .sum()
}

/// The per-object lines of a restore's log: object key -> (result, message).
async fn log(env: &Env, restore: &Value) -> Vec<(String, bool, String)> {
    let id = text(&restore["id"]);
    let out = env.cli(&["restores", "log", &id, "--full"]).await;
    out.ok(&["restores", "log", "--full"]);
    let lines: Vec<Value> = serde_json::from_str(&out.stdout).expect("log JSON");
    lines
        .iter()
        .filter(|e| e.get("Level").is_none())
        .map(|e| {
            (
                text(&e["ObjectKey"]),
                e["Result"] == true,
                text(&e["Message"]),
            )
        })
        .collect()
}

/// Asserts that schema `key` on `target` holds `source` whole (users by the target's rule).
async fn assert_whole(source: &[Value], target: &Reader, key: &str) {
    let names = target.unique_names().await;
    let expected = expected_on(&reduce(source, false), &names);
    let got = without_keys(reduce(&target.full_objects(key).await, true));
    assert_eq!(got.len(), expected.len(), "objects on the target");
    for (id, want) in &expected {
        assert_eq!(got.get(id), Some(want), "object {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_to_dc_keeps_long_texts_and_maps_users() {
    let mut env = Env::new(OBJECTS, "").await;
    env.start().await;
    env.add_d2().await;
    let id = backup(&env, "d1", "ITSM").await;
    let source = Reader::Dc(env.dc("d1")).full_objects("ITSM").await;
    assert!(
        !long_text_keys(&source, 255).is_empty(),
        "the dataset has Text over 255"
    );
    let ran = restore(&env, &id, "d2", "MIG", &[]).await;
    assert_eq!(long_text_values(&ran["plan"]), 0, "{}", ran["plan"]);
    assert_eq!(ran["restore"]["status"], "completed", "{ran}");
    let lines = log(&env, &ran["restore"]).await;
    assert!(lines.iter().all(|(_, ok, _)| *ok), "{lines:?}");
    let d2 = Reader::Dc(env.dc("d2"));
    assert_whole(&source, &d2, "MIG").await;
    // User values hold d2's own user keys.
    let users = env.dc("d2");
    for o in d2.full_objects("MIG").await {
        for a in o["attributes"].as_array().into_iter().flatten() {
            for v in a["objectAttributeValues"].as_array().into_iter().flatten() {
                if let Some(key) = v["user"]["key"].as_str() {
                    let found = users
                        .send(
                            reqwest::Method::GET,
                            &format!("/rest/api/2/user?key={key}"),
                            None,
                        )
                        .await
                        .expect(200);
                    assert_eq!(found["displayName"], v["user"]["displayName"]);
                    assert_eq!(text(&v["value"]), key);
                }
            }
        }
    }

    // Comments and attachments.
    let restore_id = text(&ran["restore"]["id"]);
    let restored = by_original(&d2, "MIG").await;
    let comments = source_comments(&env, &source).await;
    let files = source_files(&env, &source).await;
    assert!(!comments.is_empty() && !files.is_empty());
    let task = run_task(&env, "comments", &restore_id).await;
    assert_eq!(task["summary"]["into"], "comments", "{task}");
    assert_eq!(
        task["summary"]["written"],
        comments.values().map(Vec::len).sum::<usize>() as u64
    );
    assert_dc_comments(&env, &comments, &restored).await;
    let again = run_task(&env, "comments", &restore_id).await;
    assert_eq!(task["summary"]["written"], again["summary"]["entries"]);
    assert_eq!(again["summary"]["written"], 0, "{again}");
    assert_dc_comments(&env, &comments, &restored).await;
    let task = run_task(&env, "attachments", &restore_id).await;
    assert_eq!(
        task["summary"]["written"],
        files.values().map(Vec::len).sum::<usize>() as u64,
        "{task}"
    );
    assert_eq!(outcomes(&task).get("updated"), Some(&files.len()), "{task}");
    assert_dc_files(&env, &files, &restored).await;
    let again = run_task(&env, "attachments", &restore_id).await;
    assert_eq!(again["summary"]["written"], 0, "{again}");
    assert_eq!(outcomes(&again).get("unchanged"), Some(&files.len()));
    assert_dc_files(&env, &files, &restored).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_to_cloud_without_the_hook_names_each_refused_object() {
    let mut env = Env::new(OBJECTS, "").await;
    env.start().await;
    let id = backup(&env, "d1", "ITSM").await;
    let source = Reader::Dc(env.dc("d1")).full_objects("ITSM").await;
    let long = long_text_keys(&source, 255);
    assert!(!long.is_empty());
    let ran = restore(&env, &id, "c1", "MIG", &[]).await;
    let counted: usize = source
        .iter()
        .flat_map(|o| o["attributes"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["objectTypeAttribute"]["defaultType"]["id"] == 0)
        .flat_map(|a| {
            a["objectAttributeValues"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|v| v["value"].as_str().is_some_and(|s| s.chars().count() > 255))
        .count();
    assert_eq!(long_text_values(&ran["plan"]), counted as u64);
    let lines = log(&env, &ran["restore"]).await;
    let refused: BTreeSet<String> = lines
        .iter()
        .filter(|(_, ok, _)| !*ok)
        .map(|(k, _, _)| k.clone())
        .collect();
    assert_eq!(refused, long, "{lines:?}");
    for (key, ok, message) in &lines {
        if !ok {
            assert!(message.contains("255"), "{key}: {message}");
        }
    }
    // The others are there.
    let restored = Reader::Cloud(SiteReader::new(&env.sim, "c1"))
        .full_objects("MIG")
        .await;
    assert_eq!(restored.len(), source.len() - long.len());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_to_cloud_with_text_to_textarea_restores_everything() {
    let mut env = Env::new(OBJECTS, "").await;
    env.append_config(&t2t_hook());
    env.start().await;
    let id = backup(&env, "d1", "ITSM").await;
    let source = Reader::Dc(env.dc("d1")).full_objects("ITSM").await;
    let ran = restore(&env, &id, "c1", "MIG", &["--hook", "t2t"]).await;
    assert_eq!(long_text_values(&ran["plan"]), 0, "{}", ran["plan"]);
    assert_eq!(ran["restore"]["status"], "completed", "{ran}");
    let lines = log(&env, &ran["restore"]).await;
    assert!(lines.iter().all(|(_, ok, _)| *ok), "{lines:?}");
    let c1 = Reader::Cloud(SiteReader::new(&env.sim, "c1"));
    assert_whole(&source, &c1, "MIG").await;

    // Comments into OBJECT_COMMENTS; attachments not offered.
    let restore_id = text(&ran["restore"]["id"]);
    let comments = source_comments(&env, &source).await;
    let task = run_task(&env, "comments", &restore_id).await;
    assert_eq!(
        task["summary"]["into"], "attribute OBJECT_COMMENTS",
        "{task}"
    );
    let result = text(&task["result"]);
    assert!(
        result.contains("no comments API") && result.contains("OBJECT_COMMENTS"),
        "{result}"
    );
    assert_eq!(
        outcomes(&task).get("updated"),
        Some(&comments.len()),
        "{task}"
    );
    assert_cloud_comments(&comments, &by_original(&c1, "MIG").await);
    let again = run_task(&env, "comments", &restore_id).await;
    assert_eq!(
        outcomes(&again).get("unchanged"),
        Some(&comments.len()),
        "{again}"
    );
    let files = source_files(&env, &source).await;
    let task = run_task(&env, "attachments", &restore_id).await;
    assert_eq!(task["summary"]["into"], "not offered", "{task}");
    assert_eq!(task["summary"]["written"], 0);
    assert_eq!(outcomes(&task).get("skipped"), Some(&files.len()), "{task}");
    let result = text(&task["result"]);
    assert!(
        result.contains("not offered") && result.contains("backups export"),
        "{result}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_to_dc_restores_everything() {
    let c0 = "[[sites]]\nname = \"c0\"\nemail = \"admin@c0.example\"\ntoken = \"tok-c0\"\n\
              [sites.dataset]\nkind = \"cmdb\"\nobjects = 80\nseed = 9\n";
    let mut env = Env::new(OBJECTS, c0).await;
    let site = env.sim.site("c0").expect("c0").clone();
    env.append_config(&format!(
        "[[sites]]\nname = \"c0\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
         token = \"tok-c0\"\n[sites.limits]\naql_legacy_per_minute = 1000000\n\
         aql_per_minute = 1000000\nobject_per_minute = 1000000\nother_per_minute = 1000000\n\
         jira_per_minute = 1000000\n",
        site.api_url, site.site_url, site.email
    ));
    env.start().await;
    env.add_d2().await;
    let id = backup(&env, "c0", "ITSM").await;
    let source = Reader::Cloud(SiteReader::new(&env.sim, "c0"))
        .full_objects("ITSM")
        .await;
    let ran = restore(&env, &id, "d2", "MIG", &[]).await;
    assert_eq!(ran["restore"]["status"], "completed", "{ran}");
    let lines = log(&env, &ran["restore"]).await;
    assert!(lines.iter().all(|(_, ok, _)| *ok), "{lines:?}");
    assert_whole(&source, &Reader::Dc(env.dc("d2")), "MIG").await;
    env.stop().await;
}
