//! Issue 9's restore options `--history` and `--with-icons`, and the storage backend rule:
//!
//! - `--history` alone: every restored object carries `OBJECT_HISTORY`, whose lines equal its
//!   source history (read from the source site and rendered here, independently, in
//!   Europe/Berlin); the simulator's request stats show the same object creates as without
//!   the option, and exactly one more request per attribute root type (the attribute);
//! - `--with-icons` alone (a migration): each object type's icon is the target's global icon
//!   of the same name, else the default one (one log line per icon), and every object's avatar
//!   is its type's icon; without the option every type has the default icon; on the backup's
//!   own site the option is refused;
//! - migration + icons + history together; `--types` + history, then the rest of the backup into
//!   that existing schema with history (its `OBJECT_HISTORY` matched, the duplicates skipped);
//! - `--history` refused while the backup's history phase runs (held by a simulator barrier);
//! - a history longer than the Textarea limit (32,000 characters) keeps its newest entries
//!   behind a first line that says how many older ones were left out, and the object's log
//!   note says so;
//! - a backup recorded as written by another storage backend is refused; icons missing from a
//!   backup are said in the restore's result.
//!
//! Every assertion about the restored schema goes through the target's Assets API.

use std::collections::HashMap;

use assetark::assets::AssetsClient;
use assetark::restore::{self, Destination, Refusal, RestorePlan, RestoreRequest};
use assetark::store::{AsyncStore, BackupId, PhaseStatus, RestoreId, RestoreStatus};
use assetark_tests::kit::s;
use assets_sim::barrier::BarrierSpec;
use assets_sim::server::SimHandle;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::complete;
use super::support::{
    self, Raw, backup, client, clock, config, execute, expected_history, full_log,
};

/// A restore of `b` to a new schema on the client's site with the two options.
fn request(c: &AssetsClient, b: BackupId, key: &str, history: bool, icons: bool) -> RestoreRequest {
    RestoreRequest {
        backup_id: b,
        target_site: c.site().name.clone(),
        destination: Destination::NewSchema {
            name: format!("Restored {key}"),
            key: key.into(),
        },
        hooks: Default::default(),
        history,
        with_icons: icons,
        types: Vec::new(),
    }
}

async fn plan(
    store: &AsyncStore,
    c: &AssetsClient,
    req: &RestoreRequest,
) -> (RestorePlan, RestoreId) {
    let p = restore::plan(store, c, req).await.expect("plan");
    let id = restore::create(store, req, &p, &clock())
        .await
        .expect("create");
    (p, id)
}

/// `GET /__sim/stats`: requests of `site`, and `POST /object/create` over all sites.
async fn requests(sim: &SimHandle, site: &str) -> (u64, u64) {
    let v: Value = reqwest::get(format!("{}/__sim/stats", sim.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json");
    let n = |x: &Value| x.as_u64().unwrap_or(0);
    (
        n(&v["requests_by_site"][site]),
        n(&v["requests_by_endpoint"]["POST /object/create"]),
    )
}

/// Object id -> (ORIGINAL_ID, the value of attribute `name`) of schema `key`, through AQL.
async fn values_of(raw: &Raw, key: &str, name: &str) -> HashMap<String, (String, Option<String>)> {
    let schema = support::schema_id(raw, key).await;
    let mut out = HashMap::new();
    loop {
        let page = raw
            .post(
                &format!(
                    "/object/aql?startAt={}&maxResults=500&includeAttributes=true",
                    out.len()
                ),
                serde_json::json!({ "qlQuery": format!("objectSchemaId = {schema}") }),
            )
            .await;
        let names: HashMap<String, String> = page["objectTypeAttributes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| (s(&d["id"]), s(&d["name"])))
            .collect();
        let values = page["values"].as_array().cloned().unwrap_or_default();
        let n = values.len();
        for o in values {
            let attr = |wanted: &str| {
                o["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|a| {
                        let an = names.get(&s(&a["objectTypeAttributeId"]))?;
                        (an == wanted).then(|| s(&a["objectAttributeValues"][0]["value"]))
                    })
            };
            let orig = attr("ORIGINAL_ID").expect("ORIGINAL_ID");
            out.insert(s(&o["id"]), (orig, attr(name)));
        }
        if page["isLast"].as_bool().unwrap_or(true) || n == 0 {
            return out;
        }
    }
}

/// Every object of schema `key` on `dst` carries its source history in `OBJECT_HISTORY`.
async fn assert_histories(src: &Raw, dst: &Raw, key: &str, objects: u64) {
    let found = values_of(dst, key, "OBJECT_HISTORY").await;
    assert_eq!(found.len() as u64, objects);
    let mut multi = 0;
    for (id, (orig, text)) in &found {
        let text = text
            .as_deref()
            .unwrap_or_else(|| panic!("object {id}: no OBJECT_HISTORY"));
        assert_eq!(
            text,
            expected_history(src, orig).await,
            "object {id} (source {orig})"
        );
        assert!(
            text.contains(" CET |") || text.contains(" CEST |"),
            "{text}"
        );
        multi += usize::from(text.lines().count() > 1);
    }
    assert!(
        multi > 0,
        "some objects have changes besides their creation"
    );
}

/// Type name -> icon name of schema `key`.
async fn type_icons(raw: &Raw, key: &str) -> HashMap<String, (String, String)> {
    let schema = support::schema_id(raw, key).await;
    raw.list(&format!("/objectschema/{schema}/objecttypes/flat"))
        .await
        .iter()
        .map(|t| (s(&t["name"]), (s(&t["icon"]["name"]), s(&t["id"]))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_alone_fills_object_history_without_requests_per_object() {
    let sim = support::start(&config(150, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let raw1 = Raw::new(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;

    // Without --history, then with it, on the backup's own site.
    let (p0, r0) = plan(&store, &s1, &request(&s1, b, "PLAIN", false, false)).await;
    assert!(!p0.history);
    let before = requests(&sim, "s1").await;
    complete(&store, &s1, r0, &p0).await;
    let plain = requests(&sim, "s1").await;
    let (p, r) = plan(&store, &s1, &request(&s1, b, "HIST", true, false)).await;
    assert!(p.history);
    let added: Vec<_> = p
        .attributes
        .iter()
        .filter(|a| a.name == restore::OBJECT_HISTORY)
        .collect();
    assert!(!added.is_empty());
    assert!(added.iter().all(|a| a.type_name == "Textarea"), "{added:?}");
    let mid = requests(&sim, "s1").await;
    complete(&store, &s1, r, &p).await;
    let after = requests(&sim, "s1").await;

    // The same creates; the only extra requests are the attributes themselves.
    let (creates_plain, creates_hist) = (plain.1 - before.1, after.1 - mid.1);
    assert_eq!(creates_plain, p0.order.objects);
    assert_eq!(creates_hist, creates_plain, "no extra request per object");
    assert_eq!(
        (after.0 - mid.0) - (plain.0 - before.0),
        added.len() as u64,
        "one request per OBJECT_HISTORY attribute, nothing else"
    );
    assert_eq!(p.requests.total - p0.requests.total, added.len() as u64);
    assert_eq!(p.requests_of(restore::Stage::ObjectEntries), creates_hist);

    assert_histories(&raw1, &raw1, "HIST", p.order.objects).await;
    let none = values_of(&raw1, "PLAIN", "OBJECT_HISTORY").await;
    assert!(
        none.values().all(|(_, v)| v.is_none()),
        "no history without --history"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_icons_alone_matches_icons_by_name_and_avatars_follow() {
    let sim = support::start(&config(150, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;

    // Refused as needless on the backup's own site.
    let err = restore::plan(&store, &s1, &request(&s1, b, "SAME", false, true))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, restore::Error::Refused(Refusal::IconsNeedless { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("needless"), "{err}");

    let globals: HashMap<String, String> = raw2
        .list("/icon/global")
        .await
        .iter()
        .map(|i| (s(&i["name"]), s(&i["id"])))
        .collect();
    let default = raw2
        .list("/icon/global")
        .await
        .iter()
        .map(|i| s(&i["id"]))
        .min_by_key(|id| (id.len(), id.clone()))
        .expect("icons");
    let default_name = globals
        .iter()
        .find(|(_, id)| **id == default)
        .map(|(n, _)| n.clone())
        .unwrap();

    let (p, r) = plan(&store, &s2, &request(&s2, b, "ICONS", false, true)).await;
    assert!(p.with_icons && !p.history);
    complete(&store, &s2, r, &p).await;
    let (p0, r0) = plan(&store, &s2, &request(&s2, b, "NOICONS", false, false)).await;
    complete(&store, &s2, r0, &p0).await;

    let source = type_icons(&raw1, "ITSM").await;
    let restored = type_icons(&raw2, "ICONS").await;
    let plain = type_icons(&raw2, "NOICONS").await;
    assert_eq!(restored.len(), source.len());
    let mut unmatched = std::collections::BTreeSet::new();
    for (name, (icon, _)) in &source {
        let want = match globals.contains_key(icon) {
            true => icon.clone(),
            false => {
                unmatched.insert(icon.clone());
                default_name.clone()
            }
        };
        assert_eq!(restored[name].0, want, "type {name}");
        assert_eq!(
            plain[name].0, default_name,
            "type {name} without --with-icons"
        );
    }
    assert!(
        !unmatched.is_empty(),
        "the custom icons have no global twin"
    );
    assert!(
        source
            .values()
            .any(|(i, _)| globals.contains_key(i) && *i != default_name)
    );

    // Every object's avatar is its type's icon.
    let objects = raw2
        .objects(&format!(
            "objectSchemaId = {}",
            support::schema_id(&raw2, "ICONS").await
        ))
        .await;
    assert_eq!(objects.len() as u64, p.order.objects);
    let mut checked = HashMap::new();
    for o in &objects {
        let t = s(&o["objectType"]["id"]);
        let url = s(&o["avatar"]["url48"]);
        assert!(url.contains(&format!("/objecttype/{t}/icon.png")), "{url}");
        let icon = s(&o["objectType"]["icon"]["id"]);
        if checked.insert(t.clone(), ()).is_none() {
            assert_eq!(
                raw2.bytes(&format!("/objecttype/{t}/icon.png?size=48"))
                    .await,
                raw2.bytes(&format!("/icon/{icon}/icon.png?size=48")).await
            );
        }
    }

    // One line about avatars; one per icon without a match, naming it.
    let log = full_log(&store, r).await;
    let text: Vec<String> = log
        .iter()
        .map(|e| e.message.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        text.iter().filter(|m| m.contains("avatars")).count(),
        1,
        "{text:#?}"
    );
    for icon in &unmatched {
        let lines = text
            .iter()
            .filter(|m| m.contains(&format!("Icon {icon:?}")))
            .count();
        assert_eq!(lines, 1, "{icon}: {text:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migration_with_icons_and_history() {
    let sim = support::start(&config(150, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;
    // The same migration without options first: the creates to compare with (a migration
    // retries the creates the target refuses for a user outside an attribute's groups).
    let (p0, r0) = plan(&store, &s2, &request(&s2, b, "PLAIN", false, false)).await;
    let before = requests(&sim, "s2").await;
    complete(&store, &s2, r0, &p0).await;
    let plain = requests(&sim, "s2").await;
    let (p, r) = plan(&store, &s2, &request(&s2, b, "BOTH", true, true)).await;
    assert!(p.history && p.with_icons);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["history"], true);
    assert_eq!(json["with_icons"], true);
    assert!(
        json["icons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["matched"] == true)
    );
    let added = p
        .attributes
        .iter()
        .filter(|a| a.name == restore::OBJECT_HISTORY)
        .count() as u64;
    let mid = requests(&sim, "s2").await;
    complete(&store, &s2, r, &p).await;
    let after = requests(&sim, "s2").await;
    assert_eq!(after.1 - mid.1, plain.1 - before.1, "the same creates");
    assert_eq!(
        (after.0 - mid.0) - (plain.0 - before.0),
        added,
        "one request per OBJECT_HISTORY attribute, nothing else"
    );
    assert_histories(&raw1, &raw2, "BOTH", p.order.objects).await;
    let globals: Vec<String> = raw2
        .list("/icon/global")
        .await
        .iter()
        .map(|i| s(&i["name"]))
        .collect();
    let source = type_icons(&raw1, "ITSM").await;
    for (name, (icon, _)) in type_icons(&raw2, "BOTH").await {
        if globals.contains(&source[&name].0) {
            assert_eq!(icon, source[&name].0, "type {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_is_refused_while_the_history_phase_runs() {
    let sim = support::start(&config(60, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let held = sim
        // Only the first history read is held: the phase cannot end without it, and the
        // client's other request slots stay free for the plans below.
        .barrier(
            BarrierSpec::new("GET", "/object/{id}/history")
                .site("s1")
                .nth(1),
        )
        .expect("barrier");
    let run = tokio::spawn({
        let (s1, store) = (s1.clone(), store.clone());
        async move { backup(&s1, &store, "ITSM").await }
    });
    held.wait_held(1).await;
    // The main pass is done (the backup is visible); its history phase is running.
    // The first backup of a fresh store has id 1.
    let b = store.get_backup(1).await.expect("the backup is complete");
    assert_eq!(b.history.status, PhaseStatus::Running, "{b:?}");
    let err = restore::plan(&store, &s1, &request(&s1, b.id, "EARLY", true, false))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, restore::Error::Refused(Refusal::HistoryRunning { backup, .. }) if backup == b.id),
        "{err:?}"
    );
    assert!(err.to_string().contains("still being taken"), "{err}");
    // Without --history the same backup restores.
    restore::plan(&store, &s1, &request(&s1, b.id, "EARLY", false, false))
        .await
        .expect("plan without --history");
    held.release_all();
    drop(held);
    assert_eq!(run.await.expect("backup task"), b.id);
    let (p, _) = plan(&store, &s1, &request(&s1, b.id, "LATER", true, false)).await;
    assert!(p.history);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_storage_backend_is_refused_and_missing_icons_are_said() {
    let sim = support::start(&config(40, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let b2 = backup(&s1, &store, "ITSM").await;
    let conn = rusqlite::Connection::open(dir.path().join("store.db")).expect("db");
    conn.execute("UPDATE backups SET storage = 's3' WHERE id = ?1", [b])
        .expect("update");
    let err = restore::plan(&store, &s1, &request(&s1, b, "MOVED", false, false))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, restore::Error::Refused(Refusal::StorageBackend { ref wrote, ref current, .. }) if wrote == "s3" && current == "sqlite"),
        "{err:?}"
    );
    assert!(err.to_string().contains("another storage backend"), "{err}");

    // A backup whose icons were not all captured: the types take the default icon, and the
    // result says so.
    let gone = conn
        .execute(
            "DELETE FROM manifest WHERE backup_id = ?1 AND kind = 'icon' AND original_id = \
             (SELECT MIN(original_id) FROM manifest WHERE backup_id = ?1 AND kind = 'icon')",
            [b2],
        )
        .expect("delete");
    assert_eq!(gone, 1);
    let (p, r) = plan(&store, &s1, &request(&s1, b2, "NOICON", false, false)).await;
    assert_eq!(p.icons_missing.len(), 1, "{:?}", p.icons_missing);
    let (out, _) = execute(&store, &s1, r, &p, CancellationToken::new()).await;
    out.expect("restore");
    let row = store.get_restore(r).await.expect("row");
    assert_eq!(row.status, RestoreStatus::Completed);
    let result = row.result.unwrap_or_default();
    assert!(result.contains("icon phase had not finished"), "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn types_with_history_then_the_rest_into_the_existing_schema_with_history() {
    let sim = support::start(&config(150, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;

    // --types + --history: Laptop brings Hardware; only their objects, each with its history.
    let req = RestoreRequest {
        types: vec!["Laptop".into()],
        ..request(&s2, b, "PART", true, false)
    };
    let (p, r) = plan(&store, &s2, &req).await;
    assert!(p.history);
    complete(&store, &s2, r, &p).await;
    let types: std::collections::BTreeSet<String> =
        type_icons(&raw2, "PART").await.into_keys().collect();
    assert_eq!(
        types,
        ["Hardware", "Laptop"]
            .map(String::from)
            .into_iter()
            .collect()
    );
    let part = values_of(&raw2, "PART", "OBJECT_HISTORY").await;
    assert!(!part.is_empty());
    assert_histories(&raw1, &raw2, "PART", part.len() as u64).await;

    // The whole backup into that schema with --history: the Laptops are skipped as
    // duplicates, the other types are created with OBJECT_HISTORY (the existing one is
    // matched), and every object of the schema carries its history.
    let req = RestoreRequest {
        destination: Destination::ExistingSchema {
            key: "PART".into(),
            duplicates: false,
        },
        ..request(&s2, b, "PART", true, false)
    };
    let (p, r) = plan(&store, &s2, &req).await;
    let existing = p.existing.as_ref().expect("existing plan");
    assert_eq!(
        existing.duplicates.len(),
        part.len(),
        "the Laptops are there"
    );
    assert!(
        p.attributes
            .iter()
            .any(|a| a.name == restore::OBJECT_HISTORY
                && a.action == restore::AttrAction::Existing),
        "the existing OBJECT_HISTORY is matched"
    );
    complete(&store, &s2, r, &p).await;
    assert_histories(&raw1, &raw2, "PART", p.order.objects).await;
}

/// The longest `OBJECT_HISTORY` text, as documented (`restore::HISTORY_MAX_CHARS`).
const HISTORY_MAX: usize = 32_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_history_longer_than_the_textarea_limit_keeps_its_newest_entries() {
    // Every edited object of the source gets 800 changes: far over the limit in lines of
    // 50 to 100 characters.
    let toml = config(40, false).replace(
        "from_data_center = false",
        "from_data_center = false\nhistory_updates = 800",
    );
    let sim = support::start(&toml).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let b = backup(&s1, &store, "ITSM").await;
    let (p, r) = plan(&store, &s2, &request(&s2, b, "LONG", true, false)).await;
    complete(&store, &s2, r, &p).await;
    let row = store.get_restore(r).await.expect("row");
    assert_eq!(row.status, RestoreStatus::Completed);

    let found = values_of(&raw2, "LONG", "OBJECT_HISTORY").await;
    assert_eq!(found.len() as u64, p.order.objects);
    let mut cut = std::collections::BTreeMap::new();
    for (id, (orig, text)) in &found {
        let text = text
            .as_deref()
            .unwrap_or_else(|| panic!("object {id}: no OBJECT_HISTORY"));
        let lines = support::expected_lines(&raw1, orig).await;
        let whole: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
        if whole <= HISTORY_MAX {
            assert_eq!(text, lines.join("\n"), "object {id} (source {orig})");
            continue;
        }
        // The newest entries that fit (each line and its line break), after a first line
        // saying how many older ones were left out.
        let mut kept = 0;
        let mut chars = 0;
        for l in lines.iter().rev() {
            let n = l.chars().count() + 1;
            if chars + n > HISTORY_MAX {
                break;
            }
            chars += n;
            kept += 1;
        }
        let omitted = lines.len() - kept;
        assert!(omitted > 0 && kept > 0);
        let want = format!(
            "({omitted} older entries left out: longer than 32000 characters)\n{}",
            lines[omitted..].join("\n")
        );
        assert_eq!(text, want, "object {id} (source {orig})");
        assert!(text.chars().count() <= HISTORY_MAX + 80, "{}", text.len());
        let key = s(&raw1.get(&format!("/object/{orig}")).await["objectKey"]);
        cut.insert(key, omitted);
    }
    assert!(!cut.is_empty(), "some history exceeds the limit");
    // One log note per cut object, on its key, with the number left out.
    let notes: std::collections::BTreeMap<String, String> = full_log(&store, r)
        .await
        .into_iter()
        .filter_map(|e| {
            let m = e.message.as_str()?;
            m.starts_with("OBJECT_HISTORY")
                .then(|| (e.object_key.clone(), m.to_owned()))
        })
        .collect();
    let want: std::collections::BTreeMap<String, String> = cut
        .iter()
        .map(|(k, n)| {
            let m = format!(
                "OBJECT_HISTORY holds the newest entries only: {n} older ones did not fit in \
                 32000 characters"
            );
            (k.clone(), m)
        })
        .collect();
    assert_eq!(notes, want);
}
