//! Issue 14 through the real CLI binary and daemon process: `backup run --full`, a schedule's
//! `full_every` from the config file, the `backups show` capture line (text and JSON), what an
//! incremental backup reads (history GETs counted at the simulator), and "deleting any backup
//! never damages another": backups of a chain (full, incremental from it, incremental from
//! that, full, ...) are deleted one by one — a middle one, a parent, a full one, a child — and
//! after each deletion every remaining backup verifies and exports byte for byte as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assetark_tests::kit::Api;
use assets_sim::barrier::BarrierSpec;
use assets_sim::server::Barrier;
use serde_json::{Value, json};

use super::support::{Env, wait_for};

/// A schedule of ITSM that never fires by itself during the test (1 January), every third
/// backup full: the default (7) would make backup 4 below incremental.
const SCHEDULE: &str = "[[schedules]]\nsite = \"s1\"\nschema = \"ITSM\"\n\
    cron = \"0 0 0 1 1 *\"\nfull_every = 3\n";

/// `backups show ID` as text and JSON.
async fn show(env: &Env, id: u64) -> (String, Value) {
    let id = id.to_string();
    let text = env.cli(&["backups", "show", &id]).await;
    text.ok(&["backups", "show", &id]);
    (text.stdout, env.cli_json(&["backups", "show", &id]).await)
}

/// The line `label` of `backups show`'s text, whole.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("no {label} line in {text}"))
}

/// Asserts backup `id` is full (`parent` None) or incremental from `parent`, in the text and
/// the JSON of `backups show`, and its history note says where its histories came from.
async fn assert_capture(env: &Env, id: u64, parent: Option<u64>) {
    let (text, json) = show(env, id).await;
    let capture = match parent {
        Some(p) => format!("incremental (unchanged objects' history from backup {p})"),
        None => "full".to_owned(),
    };
    assert_eq!(
        line(&text, "capture"),
        format!("{:<12} {capture}", "capture"),
        "{text}"
    );
    assert_eq!(json["incremental"], parent.is_some(), "{json}");
    assert_eq!(json["parent_id"], json!(parent), "{json}");
    assert_eq!(json["history"]["status"], "done", "{json}");
    let note = json["history"]["note"].as_str().unwrap_or("");
    match parent {
        Some(p) => assert!(
            note.contains(&format!("histories taken over from backup {p}")),
            "{note}"
        ),
        None => assert!(!note.contains("taken over"), "{note}"),
    }
}

/// History GETs the simulator has served since the counter was set (it holds none).
fn history_reads(counter: &Barrier) -> u64 {
    counter.counts().matched
}

/// `backup run --wait --json` (with `extra` flags); returns the new backup's id.
async fn manual(env: &Env, extra: &[&str]) -> u64 {
    let mut args = vec![
        "backup", "run", "--site", "s1", "--schema", "ITSM", "--wait",
    ];
    args.extend(extra);
    let job = env.cli_json(&args).await;
    assert_eq!(job["status"], "done", "{job}");
    job["result"]["backup"]["id"].as_u64().expect("backup id")
}

/// `schedules run` (a scheduled backup job); waits until its job has ended (a firing while
/// the schema's previous backup job is still running would be skipped) and returns the
/// backup it made.
async fn scheduled(env: &Env) -> u64 {
    let started = env
        .cli_json(&["schedules", "run", "--site", "s1", "--schema", "ITSM"])
        .await;
    let job = started["job_id"].as_u64().expect("job id");
    let body = wait_for(
        &format!("scheduled backup job {job} ended"),
        || async move {
            let body = env
                .client()
                .get(&format!("/v1/jobs/{job}"))
                .await
                .ok()?
                .body;
            matches!(body["status"].as_str(), Some("done" | "failed")).then_some(body)
        },
    )
    .await;
    assert_eq!(body["status"], "done", "{body}");
    body["result"]["backup"]["id"].as_u64().expect("backup id")
}

/// Changes the `nth` editable Text value (not the label, not unique) of the objects of an
/// export, through the site's API.
async fn edit(api: &Api, export: &Path, nth: usize) {
    let attrs: Vec<Value> =
        serde_json::from_slice(&std::fs::read(export.join("attributes.json")).expect("attrs"))
            .expect("attributes.json");
    let text: Vec<&str> = attrs
        .iter()
        .filter(|a| {
            a["type"] == 0
                && a["defaultType"]["id"] == 0
                && a["label"] != true
                && a["uniqueAttribute"] != true
                && a["system"] != true
        })
        .filter_map(|a| a["id"].as_str())
        .collect();
    let objects = std::fs::read_to_string(export.join("objects.jsonl")).expect("objects");
    let (o, aid, old) = objects
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("object line"))
        .filter_map(|o| {
            let (aid, old) = o["attributes"].as_array()?.iter().find_map(|a| {
                let aid = a["objectTypeAttributeId"].as_str()?;
                let old = a["objectAttributeValues"][0]["value"].as_str()?;
                text.contains(&aid)
                    .then(|| (aid.to_owned(), old.to_owned()))
            })?;
            Some((o, aid, old))
        })
        .nth(nth)
        .expect("an object with an editable Text value");
    let r = api
        .put(
            &format!("/object/{}", o["id"].as_str().expect("id")),
            json!({"objectTypeId": o["objectType"]["id"], "attributes": [
                {"objectTypeAttributeId": aid, "objectAttributeValues": [{"value": format!("{old} (edited)")}]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// `backups export ID` into `dir/name`; returns every file by relative path.
async fn export(env: &Env, id: u64, name: &str) -> (PathBuf, BTreeMap<String, Vec<u8>>) {
    let out = env.dir.path().join(name);
    let ids = id.to_string();
    env.cli_json(&[
        "backups",
        "export",
        &ids,
        "--out",
        out.to_str().expect("utf-8"),
    ])
    .await;
    let mut files = BTreeMap::new();
    for sub in ["", "icons"] {
        let Ok(dir) = std::fs::read_dir(out.join(sub)) else {
            continue;
        };
        for e in dir {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_file() {
                let rel = Path::new(sub).join(e.file_name());
                files.insert(
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(e.path()).expect("file"),
                );
            }
        }
    }
    (out, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_every_full_flag_capture_line_and_deleting_any_backup() {
    let mut env = Env::with_config(300, SCHEDULE).await;
    env.start().await;
    let api = Api::for_site(&env.sim, "s1");
    let counter = env
        .sim
        .barrier(BarrierSpec::new("GET", "/object/{id}/history").occurrences(u64::MAX..=u64::MAX))
        .expect("history counter");
    let mut reads = Vec::new();
    let mut last = 0;
    let mut step = |counter: &Barrier| {
        let now = history_reads(counter);
        reads.push(now - last);
        last = now;
    };

    // 1: the first backup of the schema is full; every object's history is read.
    assert_eq!(manual(&env, &[]).await, 1);
    step(&counter);
    let (dir1, _) = export(&env, 1, "probe1").await;
    let objects = std::fs::read_to_string(dir1.join("objects.jsonl"))
        .expect("objects")
        .lines()
        .count() as u64;
    assert!(objects > 200, "{objects} objects");
    edit(&api, &dir1, 5).await;
    // 2, 3: scheduled, incremental (full_every = 3 from the config: a full one, then two).
    assert_eq!(scheduled(&env).await, 2);
    step(&counter);
    edit(&api, &dir1, 40).await;
    assert_eq!(scheduled(&env).await, 3);
    step(&counter);
    // 4: the schedule's third since the full one: full again (the default 7 would not be).
    assert_eq!(scheduled(&env).await, 4);
    step(&counter);
    // 5: manual, incremental from 4; 6: `--full`.
    edit(&api, &dir1, 80).await;
    assert_eq!(manual(&env, &[]).await, 5);
    step(&counter);
    assert_eq!(manual(&env, &["--full"]).await, 6);
    step(&counter);

    let parents = [None, Some(1), Some(2), None, Some(4), None];
    for (i, parent) in parents.iter().enumerate() {
        assert_capture(&env, i as u64 + 1, *parent).await;
    }
    // A full backup reads every object's history; an incremental one only what changed (an
    // edited object and the objects its references touch), far from all.
    for (i, (parent, n)) in parents.iter().zip(&reads).enumerate() {
        match parent {
            None => assert_eq!(*n, objects, "backup {}: {reads:?}", i + 1),
            Some(_) => assert!(
                *n < objects / 4,
                "backup {}: {n} history reads of {objects}: {reads:?}",
                i + 1
            ),
        }
    }
    // Backup 4 (nothing changed since 3) was full by the schedule's rule, not by a change.
    let list = env.cli_json(&["backups", "list", "--schema", "ITSM"]).await;
    let listed: Vec<(u64, bool)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| (b["id"].as_u64().unwrap_or(0), b["incremental"] == true))
        .collect();
    assert_eq!(
        listed,
        [
            (6, false),
            (5, true),
            (4, false),
            (3, true),
            (2, true),
            (1, false)
        ]
    );

    // Deleting any backup never damages another: every export before, then after each
    // deletion every remaining backup verifies and exports exactly as before.
    let mut before = BTreeMap::new();
    for id in 1..=6u64 {
        before.insert(id, export(&env, id, &format!("before{id}")).await.1);
    }
    // A middle one (parent of 3, child of 1), a parent (of 2's chain), the parent of 5, a full
    // one nothing depends on, then a child whose parent is gone.
    for (round, gone) in [2u64, 1, 4, 6, 3].into_iter().enumerate() {
        let ids = gone.to_string();
        env.cli(&["backups", "delete", &ids, "--yes"])
            .await
            .ok(&["backups", "delete", &ids]);
        before.remove(&gone);
        for (id, files) in &before {
            let ids = id.to_string();
            let verify = env.cli(&["backups", "verify", &ids]).await;
            verify.ok(&["backups", "verify", &ids]);
            let (_, now) = export(&env, *id, &format!("after{round}-{id}")).await;
            assert_eq!(
                now.keys().collect::<Vec<_>>(),
                files.keys().collect::<Vec<_>>(),
                "backup {id} after deleting {gone}"
            );
            for (name, bytes) in files {
                assert!(
                    &now[name] == bytes,
                    "backup {id}'s {name} changed when backup {gone} was deleted"
                );
            }
        }
    }
    // The survivor still says where it came from, though its parent is gone.
    assert_capture(&env, 5, Some(4)).await;
    env.stop().await;
}
