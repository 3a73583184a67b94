//! The `issues` task on a Data Center target: ITSM and LOC of `d1` migrated to `d2`, whose
//! Jira holds a copy of `d1`'s issues (their Assets fields naming the old objects); after the
//! task of each restore, every Assets field of every issue on `d2` names, by object key, the
//! restored counterparts of the objects it named on `d1` (read through `d2`'s Jira API and
//! mapped back through each restored object's `ORIGINAL_ID`); second runs report every field
//! `unchanged` and leave the issues as they are.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use reqwest::Method;
use serde_json::json;

use super::carried::{outcomes, run_task};
use super::objects::{Reader, text, value_of};
use super::support::Env;

/// The Assets fields of the simulated Jira.
const FIELDS: [&str; 2] = ["customfield_10191", "customfield_10192"];

/// Issue key -> Assets field -> the object keys it holds, of every ITSM issue of a Data
/// Center site's Jira (REST v2 search).
async fn issue_keys(env: &Env, site: &str) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let page = env
        .dc(site)
        .send(
            Method::POST,
            "/rest/api/2/search",
            Some(&json!({"jql": "project = ITSM", "fields": FIELDS, "maxResults": 1000})),
        )
        .await
        .expect(200);
    let mut out = BTreeMap::new();
    for issue in page["issues"].as_array().expect("issues") {
        let mut by_field = BTreeMap::new();
        for f in FIELDS {
            let keys: BTreeSet<String> = issue["fields"][f]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| text(&d["key"]))
                .collect();
            if !keys.is_empty() {
                by_field.insert(f.to_owned(), keys);
            }
        }
        out.insert(text(&issue["key"]), by_field);
    }
    out
}

/// Waits until backup `id`'s objects-in-issues phase is done.
async fn issues_done(env: &Env, id: &str) {
    assetark_tests::kit::wait_for("the backup's issues phase", || async {
        let b = env.cli_json(&["backups", "show", id]).await;
        let status = b["issues"]["status"].as_str().map(str::to_owned);
        assert_ne!(status.as_deref(), Some("failed"), "{b}");
        (status.as_deref() == Some("done")).then_some(())
    })
    .await;
}

/// Restores backup `id` into a new schema `key` on `d2`, waiting; returns the restore id.
async fn restore(env: &Env, id: &str, key: &str) -> String {
    let r = env
        .cli_json(&[
            "restore",
            "start",
            id,
            "--to",
            "new-schema",
            "--name",
            key,
            "--key",
            key,
            "--site",
            "d2",
            "--wait",
        ])
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    text(&r["id"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_on_a_data_center_target_name_the_restored_objects_by_key() {
    let mut env = Env::new(120, "").await;
    env.start().await;
    env.add_d2().await;
    let mut backups = Vec::new();
    for key in ["ITSM", "LOC"] {
        let job = env.backup("d1", key).await;
        let id = text(&job["result"]["backup"]["id"]);
        issues_done(&env, &id).await;
        backups.push(id);
    }
    let r_loc = restore(&env, &backups[1], "LOC2").await;
    let r_itsm = restore(&env, &backups[0], "ITSM2").await;

    // Source object id -> its key on d1; restored key on d2 -> the source id (ORIGINAL_ID).
    let (d1, d2) = (Reader::Dc(env.dc("d1")), Reader::Dc(env.dc("d2")));
    let mut source_key: HashMap<String, String> = HashMap::new();
    for key in ["ITSM", "LOC"] {
        for o in d1.full_objects(key).await {
            source_key.insert(text(&o["id"]), text(&o["objectKey"]));
        }
    }
    let mut original: HashMap<String, String> = HashMap::new();
    for key in ["ITSM2", "LOC2"] {
        for o in d2.full_objects(key).await {
            let orig = value_of(&o, "ORIGINAL_ID").expect("ORIGINAL_ID");
            original.insert(text(&o["objectKey"]), orig);
        }
    }
    // d2's keys as d1's: through ORIGINAL_ID to the source object, then its key there.
    let as_source = |issues: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>| {
        issues
            .iter()
            .map(|(k, fields)| {
                let f: BTreeMap<String, BTreeSet<String>> = fields
                    .iter()
                    .map(|(f, keys)| {
                        let keys = keys
                            .iter()
                            .map(|key| {
                                original
                                    .get(key)
                                    .and_then(|o| source_key.get(o))
                                    .cloned()
                                    .unwrap_or_else(|| format!("not restored {key:?}"))
                            })
                            .collect();
                        (f.clone(), keys)
                    })
                    .collect();
                (k.clone(), f)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let source = issue_keys(&env, "d1").await;
    let fields: usize = source.values().map(BTreeMap::len).sum();
    assert!(fields > 0, "{source:?}");
    let before = issue_keys(&env, "d2").await;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        source.keys().collect::<Vec<_>>(),
        "d2 holds d1's issues"
    );
    assert_ne!(
        as_source(&before),
        source,
        "d2's issues name other objects before the task"
    );

    let first = run_task(&env, "issues", &r_itsm).await;
    let updated = first["summary"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["updated"].as_u64().expect("updated"))
        .sum::<u64>();
    assert!(updated > 0, "{first}");
    let counts = outcomes(&first);
    assert_eq!(
        counts.get("failed").copied().unwrap_or(0) + counts.get("skipped").copied().unwrap_or(0),
        0,
        "{first}"
    );
    let loc = run_task(&env, "issues", &r_loc).await;
    assert_eq!(outcomes(&loc).get("failed"), None, "{loc}");
    assert_eq!(outcomes(&loc).get("skipped"), None, "{loc}");

    let after = issue_keys(&env, "d2").await;
    assert_eq!(
        as_source(&after),
        source,
        "every field on d2 names the restored counterparts of its objects on d1"
    );
    // Written as Data Center keys of the restored schemas.
    assert!(
        after
            .values()
            .flat_map(BTreeMap::values)
            .flatten()
            .all(|k| k.starts_with("ITSM2-") || k.starts_with("LOC2-")),
        "{after:?}"
    );

    // Second runs write nothing (the issues point at ITSM objects only: LOC's backup holds
    // none, its run reports no line).
    for (r, issues) in [(&r_itsm, true), (&r_loc, false)] {
        let again = run_task(&env, "issues", r).await;
        let lines = again["items"].as_array().expect("items").len();
        assert_eq!(lines > 0, issues, "{again}");
        assert_eq!(
            outcomes(&again).get("unchanged").copied().unwrap_or(0),
            lines,
            "{again}"
        );
    }
    assert_eq!(issue_keys(&env, "d2").await, after);
}
