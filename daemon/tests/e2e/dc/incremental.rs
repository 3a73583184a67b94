//! An incremental backup of a Data Center site lists every object's comments and attachments
//! (adding either does not move the object's `updated`, so only the lists tell) but downloads
//! only the files its parent does not hold. Requests are counted at the simulator, exactly:
//! a full backup downloads every listed attachment; after one file and one comment are added,
//! the incremental backup downloads that one file, and its export holds both, and every other
//! file as before.

use std::collections::BTreeMap;

use assetark::model::sha256_hex;
use assets_sim::barrier::BarrierSpec;
use assets_sim::server::Barrier;
use serde_json::{Value, json};

use super::support::Env;

/// Objects in `d1`'s CMDB (over all its schemas).
const OBJECTS: u32 = 60;

/// A counter of the requests `path` (an API path) gets from now on.
fn counter(env: &Env, path: &str) -> Barrier {
    env.sim
        .barrier(
            BarrierSpec::new("GET", path)
                .site("d1")
                .occurrences(u64::MAX..=u64::MAX),
        )
        .expect("counter")
}

/// Runs a backup of ITSM and exports it; returns `backups show` and the export's
/// `attachments.jsonl` (object id -> its files as `(filename, sha256)`), checking every file
/// in `attachments/` against its name.
async fn backup(env: &Env) -> (Value, BTreeMap<String, Vec<(String, String)>>) {
    let job = env.backup("d1", "ITSM").await;
    let id = job["result"]["backup"]["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let shown = env.cli_json(&["backups", "show", &id]).await;
    assert_eq!(shown["attachments"]["status"], "done", "{shown}");
    assert_eq!(shown["comments"]["status"], "done", "{shown}");
    let out = tempfile::tempdir().expect("tempdir");
    env.cli_json(&[
        "backups",
        "export",
        &id,
        "--out",
        out.path().to_str().expect("utf-8"),
    ])
    .await;
    let mut files = BTreeMap::new();
    let text = std::fs::read_to_string(out.path().join("attachments.jsonl")).expect("jsonl");
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).expect("JSON line");
        let list: Vec<(String, String)> = line["attachments"]
            .as_array()
            .expect("attachments")
            .iter()
            .map(|a| {
                let sha = a["sha256"].as_str().expect("sha256").to_owned();
                let bytes =
                    std::fs::read(out.path().join("attachments").join(&sha)).expect("the file");
                assert_eq!(sha256_hex(&bytes), sha);
                let name = a["attachment"]["filename"].as_str().expect("name");
                (name.to_owned(), sha)
            })
            .collect();
        files.insert(line["objectId"].as_str().expect("id").to_owned(), list);
    }
    (shown, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_backup_lists_everything_and_downloads_only_new_files() {
    let mut env = Env::new(OBJECTS, "").await;
    env.start().await;
    let downloads = counter(&env, "/attachments/{id}");
    let lists = counter(&env, "/attachments/object/{id}");
    let comments = counter(&env, "/comment/object/{id}");
    let counts = || {
        [
            downloads.counts().matched,
            lists.counts().matched,
            comments.counts().matched,
        ]
    };

    let (first, before) = backup(&env).await;
    let objects = first["object_count"].as_u64().expect("object_count");
    let files: u64 = before.values().map(|l| l.len() as u64).sum();
    assert!(files > 5, "the dataset has attachments: {before:?}");
    assert_eq!(counts(), [files, objects, objects]);

    // One file and one comment more, on an object that had no file.
    let (object, _) = before
        .iter()
        .find(|(_, l)| l.is_empty())
        .expect("an object without attachments");
    let object: u64 = object.parse().expect("numeric id");
    let d1 = env.dc("d1");
    let up = d1
        .upload(
            object,
            &[("new.txt", "text/plain", b"added after the full backup")],
            None,
            true,
        )
        .await;
    assert!(up.status < 300, "upload: {} {}", up.status, up.body);
    let c = d1
        .post(
            "/comment/create",
            json!({"objectId": object, "comment": "added after the full backup"}),
        )
        .await;
    assert!(c.status < 300, "comment: {} {}", c.status, c.body);

    let (second, after) = backup(&env).await;
    assert_eq!(second["parent_id"], first["id"], "{second}");
    assert_eq!(
        counts(),
        [files + 1, 2 * objects, 2 * objects],
        "the incremental backup downloads the one new file"
    );
    let note = second["attachments"]["note"].as_str().unwrap_or("");
    assert!(
        note.ends_with(&format!(
            ", {files} files taken over from backup {}",
            first["id"]
        )),
        "{note}"
    );
    let mut expected = before.clone();
    expected
        .get_mut(&object.to_string())
        .expect("object")
        .push((
            "new.txt".to_owned(),
            sha256_hex(b"added after the full backup"),
        ));
    assert_eq!(after, expected);
    env.stop().await;
}
