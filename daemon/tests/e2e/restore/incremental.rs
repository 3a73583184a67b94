//! Issue 14: incremental capture. A full backup; then ~1% of the objects change (a Text
//! value, a reference, a status), objects are added and deleted; an incremental backup takes
//! the unchanged objects' history over from the first and reads only what changed (or what a
//! change may have touched). Its export equals a full backup made right after it file by file,
//! and every history in it equals a fresh read of the site; the first backup is deleted and
//! the incremental one still verifies and restores to a schema equal to the site's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use assetark::backup::{self, Progress, RunOptions};
use assetark::store::{AsyncStore, BackupId, kind};
use assetark_tests::kit::{self, Api};
use assets_sim::barrier::BarrierSpec;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::support::{self, Raw, Snapshot, assert_restored, backup, client, clock, config, plan};
use super::{complete, rule};

/// Every entry of `kind` of a backup, parsed.
async fn entries(store: &AsyncStore, b: BackupId, k: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .entry_page(b, k, after.as_deref(), 1000)
            .await
            .expect("entries");
        let full = page.len() == 1000;
        after = page.last().map(|e| e.original_id.clone());
        out.extend(
            page.iter()
                .map(|e| serde_json::from_slice(&e.json).expect("json")),
        );
        if !full {
            return out;
        }
    }
}

fn set(aid: &str, value: &str) -> Value {
    json!({"objectTypeAttributeId": aid, "objectAttributeValues": [{"value": value}]})
}

/// Runs a backup of ITSM with `opts`.
async fn run(c: &assetark::assets::AssetsClient, store: &AsyncStore, opts: RunOptions) -> BackupId {
    let req = kit::pipeline::backup_request("s1", "ITSM");
    backup::run_job(
        c,
        store,
        &req,
        &opts,
        &|_: Progress| {},
        CancellationToken::new(),
        &clock(),
    )
    .await
    .expect("backup")
}

/// The files of an export directory (and `icons/`), by relative name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["", "icons"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("export dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_file() {
                let name = Path::new(sub).join(e.file_name());
                out.insert(
                    name.to_string_lossy().into_owned(),
                    std::fs::read(e.path()).expect("file"),
                );
            }
        }
    }
    out.remove("manifest.json");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_incremental_backup_equals_the_site_and_survives_its_parent() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let api = Api::for_site(&sim, "s1");
    let b1 = backup(&s1, &store, "ITSM").await;
    let first = store.get_backup(b1).await.expect("b1");
    assert!(!first.incremental && first.parent_id.is_none(), "{first:?}");

    // Change ~1% (and then some): Text values, a reference, a status; add and delete.
    let attrs = entries(&store, b1, kind::ATTRIBUTE).await;
    let by_id: BTreeMap<String, &Value> = attrs
        .iter()
        .filter_map(|a| Some((a["id"].as_str()?.to_owned(), a)))
        .collect();
    let objects = entries(&store, b1, kind::OBJECT).await;
    let n = objects.len();
    assert!(n > 200, "{n} objects");
    let attr_of = |o: &Value, pred: &dyn Fn(&Value) -> bool| -> Option<(String, Value)> {
        o["attributes"].as_array()?.iter().find_map(|a| {
            let aid = a["objectTypeAttributeId"].as_str()?;
            let def = by_id.get(aid)?;
            pred(def).then(|| (aid.to_owned(), a["objectAttributeValues"][0].clone()))
        })
    };
    let text = |d: &Value| {
        d["type"] == 0
            && d["defaultType"]["id"] == 0
            && d["label"] != true
            && d["uniqueAttribute"] != true
            && d["system"] != true
    };
    let mut changed = BTreeSet::new();
    let with_text: Vec<(&Value, (String, Value))> = objects
        .iter()
        .filter_map(|o| Some((o, attr_of(o, &text)?)))
        .collect();
    assert!(
        with_text.len() > 30,
        "{} objects with Text",
        with_text.len()
    );
    for (o, (aid, v)) in with_text.into_iter().step_by(29).take(3) {
        let value = format!("{} (edited)", v["value"].as_str().unwrap_or(""));
        let oid = o["id"].as_str().unwrap();
        let r = api
            .put(
                &format!("/object/{oid}"),
                json!({"objectTypeId": o["objectType"]["id"], "attributes": [set(&aid, &value)]}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        changed.insert(oid.to_owned());
    }
    // A reference: to another object an object of the same attribute references.
    let is_ref = |d: &Value| d["type"] == 1;
    let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for o in &objects {
        if let Some((aid, v)) = attr_of(o, &is_ref)
            && let Some(t) = v["referencedObject"]["id"].as_str()
        {
            targets.entry(aid).or_default().insert(t.to_owned());
        }
    }
    let (o, aid, to) = objects
        .iter()
        .rev()
        .find_map(|o| {
            let (aid, v) = attr_of(o, &is_ref)?;
            let now = v["referencedObject"]["id"].as_str()?;
            let to = targets.get(&aid)?.iter().find(|t| *t != now)?.clone();
            Some((o, aid, to))
        })
        .expect("an object with a reference");
    let oid = o["id"].as_str().unwrap();
    let r = api
        .put(
            &format!("/object/{oid}"),
            json!({"objectTypeId": o["objectType"]["id"], "attributes": [set(&aid, &to)]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    changed.insert(oid.to_owned());
    // A status: to another status the same attribute uses elsewhere.
    let is_status = |d: &Value| d["type"] == 7;
    let used: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| attr_of(o, &is_status))
        .filter_map(|(_, v)| v["status"]["id"].as_str().map(str::to_owned))
        .collect();
    let (o, aid, status) = objects
        .iter()
        .skip(n / 2)
        .find_map(|o| {
            let (aid, v) = attr_of(o, &is_status)?;
            let now = v["status"]["id"].as_str()?;
            let other = used.iter().find(|s| *s != now)?.clone();
            Some((o, aid, other))
        })
        .expect("an object with a status");
    let oid = o["id"].as_str().unwrap();
    let r = api
        .put(
            &format!("/object/{oid}"),
            json!({"objectTypeId": o["objectType"]["id"], "attributes": [set(&aid, &status)]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    changed.insert(oid.to_owned());
    // Two added (a copy of an object's plain values under a new label), two deleted.
    let mut added = 0;
    for o in objects.iter().skip(10) {
        let Some(attrs) = o["attributes"].as_array() else {
            continue;
        };
        let values: Vec<Value> = attrs
            .iter()
            .filter_map(|a| {
                let aid = a["objectTypeAttributeId"].as_str()?;
                let def = by_id.get(aid)?;
                if def["system"] == true || def["uniqueAttribute"] == true || def["type"] != 0 {
                    return None;
                }
                let v = a["objectAttributeValues"][0]["value"].as_str()?;
                let v = if def["label"] == true {
                    format!("{v} copy {added}")
                } else {
                    v.to_owned()
                };
                Some(set(aid, &v))
            })
            .collect();
        let body = json!({"objectTypeId": o["objectType"]["id"], "attributes": values});
        if api.post("/object/create", body).await.status == 201 {
            added += 1;
        }
        if added == 2 {
            break;
        }
    }
    assert_eq!(added, 2, "two objects added");
    for o in objects.iter().skip(n / 3).take(2) {
        let oid = o["id"].as_str().unwrap();
        assert!(!changed.contains(oid));
        let r = api.delete(&format!("/object/{oid}")).await;
        assert!(r.status < 300, "{:?}", r.body);
    }

    // The incremental backup; history reads are counted (the barrier holds none).
    let reads = sim
        .barrier(BarrierSpec::new("GET", "/object/{id}/history").occurrences(u64::MAX..=u64::MAX))
        .expect("counter");
    let b2 = run(&s1, &store, RunOptions::default()).await;
    let history_reads = reads.counts().matched;
    let second = store.get_backup(b2).await.expect("b2");
    assert!(second.incremental, "{second:?}");
    assert_eq!(second.parent_id, Some(b1));
    assert_eq!(second.history.status.as_str(), "done", "{second:?}");
    let objects2 = second.object_count as usize;
    assert_eq!(objects2, n);
    assert!(
        history_reads > 0 && (history_reads as usize) < n / 2,
        "{history_reads} history reads for {n} objects: {:?}",
        second.history.note
    );
    eprintln!(
        "incremental: {history_reads} history reads of {n} objects; {:?}",
        second.history.note
    );

    // A full backup right after it: the same export, file by file.
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let b3 = run(&s1, &store, full).await;
    assert!(store.get_backup(b3).await.expect("b3").parent_id.is_none());
    let (e2, e3) = (dir.path().join("e2"), dir.path().join("e3"));
    backup::export(&store, b2, &e2).await.expect("export b2");
    backup::export(&store, b3, &e3).await.expect("export b3");
    let (f2, f3) = (files(&e2), files(&e3));
    assert_eq!(f2.keys().collect::<Vec<_>>(), f3.keys().collect::<Vec<_>>());
    for (name, bytes) in &f2 {
        assert!(
            bytes == &f3[name],
            "{name} differs between incremental and full"
        );
    }
    // Every history equals a fresh read of the site, entry by entry.
    let raw = Raw::new(&sim, "s1");
    let history = String::from_utf8(f2["history.jsonl"].clone()).expect("utf-8");
    let mut seen = 0;
    for line in history.lines() {
        let h: Value = serde_json::from_str(line).expect("history line");
        let oid = h["objectId"].as_str().unwrap();
        let fresh = raw.get(&format!("/object/{oid}/history?asc=true")).await;
        assert_eq!(h["entries"], fresh, "history of {oid}");
        seen += 1;
    }
    assert_eq!(seen, n);

    // The parent goes; the incremental backup stays whole, verifies and restores.
    store.delete_backup(b1).await.expect("delete b1");
    assert!(store.verify(b2).await.expect("verify").is_empty());
    let again = dir.path().join("e2again");
    backup::export(&store, b2, &again)
        .await
        .expect("export after delete");
    assert!(
        files(&again) == f2,
        "the export changed with the parent gone"
    );
    let src = Snapshot::read(&raw, &support::schema_id(&raw, "ITSM").await).await;
    let (p, r) = plan(&store, &s2, b2, "IT Assets", "ITSM").await;
    let new = complete(&store, &s2, r, &p).await;
    let raw2 = Raw::new(&sim, "s2");
    let users = rule(
        support::user_rule(&raw2, &p).await,
        &[("Server.Administrators", "Chen Wei")],
    );
    assert_restored(&src, &Snapshot::read(&raw2, &new).await, &p, &users);
    sim.shutdown().await;
}
