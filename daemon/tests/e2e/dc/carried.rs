//! Checks of the `comments` and `attachments` tasks on a migration's target, through the
//! target's own API: what the source site lists per object against what the restored object
//! (found by its `ORIGINAL_ID`) holds.

use std::collections::BTreeMap;

use assetark::model::sha256_hex;
use serde_json::Value;

use super::objects::{Reader, text, value_of};
use super::support::{D1_TOKEN, Env};

/// Source object id -> its comments as `(author, created, text)`, for objects with comments.
pub async fn source_comments(env: &Env, objects: &[Value]) -> BTreeMap<String, Vec<[String; 3]>> {
    let d1 = env.dc("d1");
    let mut out = BTreeMap::new();
    for o in objects {
        let id = text(&o["id"]);
        let listed = d1.get(&format!("/comment/object/{id}")).await.expect(200);
        let list: Vec<[String; 3]> = listed
            .as_array()
            .expect("comments")
            .iter()
            .map(|c| {
                [
                    text(&c["actor"]["displayName"]),
                    text(&c["created"]),
                    text(&c["comment"]),
                ]
            })
            .collect();
        if !list.is_empty() {
            out.insert(id, list);
        }
    }
    out
}

/// Source object id -> its attachments as `(file name, SHA-256 of the bytes)`.
pub async fn source_files(env: &Env, objects: &[Value]) -> BTreeMap<String, Vec<(String, String)>> {
    let d1 = env.dc("d1");
    let http = reqwest::Client::new();
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for o in objects {
        let id = text(&o["id"]);
        let listed = d1
            .get(&format!("/attachments/object/{id}"))
            .await
            .expect(200);
        for a in listed.as_array().expect("attachments") {
            let r = http
                .get(a["url"].as_str().expect("url"))
                .bearer_auth(D1_TOKEN)
                .send()
                .await
                .expect("download");
            assert!(r.status().is_success());
            let sha = sha256_hex(&r.bytes().await.expect("bytes"));
            out.entry(id.clone())
                .or_default()
                .push((text(&a["filename"]), sha));
        }
    }
    for files in out.values_mut() {
        files.sort();
    }
    out
}

/// The restored objects of schema `key` on `target` by their `ORIGINAL_ID`.
pub async fn by_original(target: &Reader, key: &str) -> BTreeMap<String, Value> {
    target
        .full_objects(key)
        .await
        .into_iter()
        .map(|o| (value_of(&o, "ORIGINAL_ID").expect("ORIGINAL_ID"), o))
        .collect()
}

/// Runs task `kind` of restore `restore`, waiting; returns the task as `tasks show` gives it.
pub async fn run_task(env: &Env, kind: &str, restore: &str) -> Value {
    let t = env
        .cli_json(&["tasks", "start", kind, restore, "--wait"])
        .await;
    assert_eq!(t["status"], "success", "{t}");
    t
}

/// Per-object outcomes of a task's report.
pub fn outcomes(task: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for it in task["items"].as_array().expect("items") {
        *out.entry(text(&it["outcome"])).or_default() += 1;
    }
    out
}

/// Asserts that each restored object on the Data Center site `d2` holds its source comments
/// as comments naming the original author and time.
pub async fn assert_dc_comments(
    env: &Env,
    comments: &BTreeMap<String, Vec<[String; 3]>>,
    restored: &BTreeMap<String, Value>,
) {
    let d2 = env.dc("d2");
    for (old, list) in comments {
        let new = text(&restored[old]["id"]);
        let got = d2.get(&format!("/comment/object/{new}")).await.expect(200);
        let got: Vec<String> = got
            .as_array()
            .expect("comments")
            .iter()
            .map(|c| text(&c["comment"]))
            .collect();
        assert_eq!(got.len(), list.len(), "object {old} -> {new}: {got:?}");
        for ([author, created, body], text) in list.iter().zip(&got) {
            assert!(
                text.contains(author.as_str())
                    && text.contains(created.as_str())
                    && text.ends_with(body.as_str()),
                "object {old}: {text:?} for {author} {created} {body:?}"
            );
        }
    }
}

/// Asserts that each restored object on Assets Cloud holds its source comments, oldest
/// first, in `OBJECT_COMMENTS` (author, time in Central European time, text).
pub fn assert_cloud_comments(
    comments: &BTreeMap<String, Vec<[String; 3]>>,
    restored: &BTreeMap<String, Value>,
) {
    for (old, list) in comments {
        let value = value_of(&restored[old], "OBJECT_COMMENTS")
            .unwrap_or_else(|| panic!("object {old} has no OBJECT_COMMENTS"));
        let mut at = 0;
        for [author, _, body] in list {
            let found = value[at..]
                .find(body.as_str())
                .unwrap_or_else(|| panic!("object {old}: {body:?} not in {value:?}"));
            let head = &value[at..at + found];
            assert!(head.contains(author.as_str()), "{old}: {head:?}");
            assert!(
                head.contains(" CET") || head.contains(" CEST"),
                "{old}: {head:?}"
            );
            at += found + body.len();
        }
    }
}

/// Asserts that each restored object on `d2` holds its source files, byte for byte.
pub async fn assert_dc_files(
    env: &Env,
    files: &BTreeMap<String, Vec<(String, String)>>,
    restored: &BTreeMap<String, Value>,
) {
    let d2 = env.dc("d2");
    let http = reqwest::Client::new();
    let token = env.sim.dc_site("d2").expect("d2").token.clone();
    for (old, want) in files {
        let new = text(&restored[old]["id"]);
        let listed = d2
            .get(&format!("/attachments/object/{new}"))
            .await
            .expect(200);
        let mut got = Vec::new();
        for a in listed.as_array().expect("attachments") {
            let r = http
                .get(a["url"].as_str().expect("url"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("download");
            assert!(r.status().is_success());
            got.push((
                text(&a["filename"]),
                sha256_hex(&r.bytes().await.expect("bytes")),
            ));
        }
        got.sort();
        assert_eq!(&got, want, "object {old} -> {new}");
    }
}
