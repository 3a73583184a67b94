//! Data Center sites through the daemon and the CLI as real processes (issue 13): the
//! simulator in-process (real HTTP) with Data Center sites `d1` (CMDB with long Text values,
//! comments and attachments) and `d2` (empty), and a Cloud site `c1` (empty).
//!
//! Tests:
//! - `dc_sites_are_configured_added_tested_and_backed_up`: `d1` from the config (personal
//!   access token from a file, Bearer), `d2` added with `sites add --flavor dc` (Basic, email
//!   and password), both tested; `sites list` shows their flavor; a backup of `d1` holds every
//!   object the site's own API counts;
//! - `dc_backups_hold_comments_and_attachments_and_export_them`: the comments and attachments
//!   phases end `done`; every comment (author, time, text) and every attachment's bytes the
//!   site's own API lists are in the export (`comments.jsonl`, `attachments.jsonl`,
//!   `attachments/` by SHA-256 with its manifest), equal files once;
//! - `incremental`: an incremental backup lists every object's comments and attachments but
//!   downloads only the files its parent lacks (requests counted at the simulator);
//! - `issues::*`: the objects-in-issues task on a Data Center target (see that module);
//! - `large`: a 100 MiB attachment is stored whole, over `max_response_mb` and within
//!   `max_download_mb`, and deduplicated by a second backup.

mod carried;
mod incremental;
mod issues;
mod large;
mod migrate;
mod objects;
mod support;

use std::collections::{BTreeMap, BTreeSet};

use assetark::model::sha256_hex;
use assetark_tests::kit::dc_all_ids;
use serde_json::Value;
use support::{D1_TOKEN, Env, dc_schema};

/// Objects in `d1`'s CMDB (over all its schemas).
const OBJECTS: u32 = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_sites_are_configured_added_tested_and_backed_up() {
    let mut env = Env::new(OBJECTS, "").await;
    env.start().await;
    let tested = env.cli_json(&["sites", "test", "d1"]).await;
    assert_eq!(tested["ok"], true, "{tested}");
    env.add_d2().await;
    let tested = env.cli_json(&["sites", "test", "d2"]).await;
    assert_eq!(tested["ok"], true, "{tested}");
    // A wrong password saves nothing.
    let d2 = env.sim.dc_site("d2").expect("d2").clone();
    let bad = env
        .cli(&[
            "sites",
            "add",
            "d3",
            "--flavor",
            "dc",
            "--base-url",
            &d2.base_url,
            "--email",
            &d2.email,
            "--token",
            "wrong",
        ])
        .await;
    assert_ne!(bad.code, 0, "{bad:?}");
    let sites = env.cli_json(&["sites", "list"]).await;
    let flavors: Vec<(String, String)> = sites["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or("").to_owned(),
                s["flavor"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        flavors,
        [("d1", "dc"), ("c1", "cloud"), ("d2", "dc")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let job = env.backup("d1", "ITSM").await;
    let backup = &job["result"]["backup"];
    let itsm = dc_schema(&env.dc("d1"), "ITSM").await;
    assert_eq!(backup["object_count"], itsm["objectCount"], "{job}");
    assert_eq!(backup["site"], "d1");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_backups_hold_comments_and_attachments_and_export_them() {
    let mut env = Env::new(OBJECTS, "").await;
    env.start().await;
    let job = env.backup("d1", "ITSM").await;
    let id = job["result"]["backup"]["id"].as_i64().expect("backup id");
    let shown = env.cli_json(&["backups", "show", &id.to_string()]).await;
    for phase in ["history", "comments", "attachments"] {
        assert_eq!(shown[phase]["status"], "done", "{phase}: {shown}");
    }

    // What the site itself says, object by object.
    let d1 = env.dc("d1");
    let itsm = dc_schema(&d1, "ITSM").await;
    let ids = dc_all_ids(&d1, &format!("objectSchemaId = {}", itsm["id"]), 50).await;
    let http = reqwest::Client::new();
    let mut comments: BTreeMap<u64, Vec<(String, String, String)>> = BTreeMap::new();
    let mut files: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    let mut distinct = BTreeSet::new();
    for &o in &ids {
        let listed = d1.get(&format!("/comment/object/{o}")).await.expect(200);
        let list: Vec<(String, String, String)> = listed
            .as_array()
            .expect("comments")
            .iter()
            .map(|c| {
                (
                    s(&c["actor"]["displayName"]),
                    s(&c["created"]),
                    s(&c["comment"]),
                )
            })
            .collect();
        if !list.is_empty() {
            comments.insert(o, list);
        }
        let listed = d1
            .get(&format!("/attachments/object/{o}"))
            .await
            .expect(200);
        for a in listed.as_array().expect("attachments") {
            let url = a["url"].as_str().expect("url");
            let r = http
                .get(url)
                .bearer_auth(D1_TOKEN)
                .send()
                .await
                .expect("download");
            assert!(r.status().is_success());
            let sha = sha256_hex(&r.bytes().await.expect("bytes"));
            distinct.insert(sha.clone());
            files.entry(o).or_default().push((s(&a["filename"]), sha));
        }
    }
    assert!(
        !comments.is_empty() && !files.is_empty(),
        "the dataset has both"
    );
    assert!(
        distinct.len() < files.values().map(Vec::len).sum::<usize>(),
        "some files are shared between objects"
    );

    let out = tempfile::tempdir().expect("tempdir");
    let export = env
        .cli_json(&[
            "backups",
            "export",
            &id.to_string(),
            "--out",
            out.path().to_str().expect("utf-8"),
        ])
        .await;
    assert_eq!(
        export["counts"]["attachments/"],
        distinct.len() as u64,
        "{export}"
    );
    let lines = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(out.path().join(name))
            .expect(name)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    };
    let mut exported: BTreeMap<u64, Vec<(String, String, String)>> = BTreeMap::new();
    for line in lines("comments.jsonl") {
        let o: u64 = s(&line["objectId"]).parse().expect("object id");
        let list: Vec<(String, String, String)> = line["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .map(|c| {
                (
                    s(&c["actor"]["displayName"]),
                    s(&c["created"]),
                    s(&c["comment"]),
                )
            })
            .collect();
        if !list.is_empty() {
            exported.insert(o, list);
        }
    }
    assert_eq!(exported, comments);
    let mut exported: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for line in lines("attachments.jsonl") {
        let o: u64 = s(&line["objectId"]).parse().expect("object id");
        for a in line["attachments"].as_array().expect("attachments") {
            let sha = s(&a["sha256"]);
            let bytes = std::fs::read(out.path().join("attachments").join(&sha)).expect("file");
            assert_eq!(sha256_hex(&bytes), sha);
            assert_eq!(a["size"], bytes.len() as u64);
            exported
                .entry(o)
                .or_default()
                .push((s(&a["attachment"]["filename"]), sha));
        }
    }
    assert_eq!(exported, files);
    let manifest: Vec<Value> = serde_json::from_slice(
        &std::fs::read(out.path().join("attachments/manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    let listed: BTreeSet<String> = manifest.iter().map(|f| s(&f["sha256"])).collect();
    assert_eq!(listed, distinct);

    env.stop().await;
}

/// A JSON string or number as text.
fn s(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        other => other.to_string(),
    }
}
