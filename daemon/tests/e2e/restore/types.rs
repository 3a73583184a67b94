//! Specific object types (`--types`): only the types asked for, their parents and the objects
//! of those; an attribute referencing a type left out is dropped, named in the plan (its
//! summary too) and in the log; the executed restore sends the planned requests and creates
//! the planned objects. Alone into a new schema on the backup's own site (every value of the
//! restored types comes back), and with `--to existing-schema` on another site (the parents
//! already there are matched, a second run creates nothing). Every assertion on what was
//! restored goes through the target's Assets API.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use assetark::assets::AssetsClient;
use assetark::restore::{self, Destination, RestorePlan, RestoreRequest};
use assetark::store::{AsyncStore, BackupId, RestoreId};
use assetark_tests::kit::s;
use tokio_util::sync::CancellationToken;

use super::existing::run_as_planned;
use super::support::{self, Raw, Snapshot, backup, client, clock, config, execute, full_log};

/// Plans a restore of `b` limited to `types` on the client's site and stores it.
async fn plan_types(
    store: &AsyncStore,
    c: &AssetsClient,
    b: BackupId,
    destination: Destination,
    types: &[&str],
) -> (RestorePlan, RestoreId) {
    let req = RestoreRequest {
        backup_id: b,
        target_site: c.site().name.clone(),
        destination,
        hooks: Default::default(),
        history: false,
        with_icons: false,
        types: types.iter().map(|t| (*t).to_owned()).collect(),
    };
    let p = restore::plan(store, c, &req).await.expect("plan");
    let id = restore::create(store, &req, &p, &clock())
        .await
        .expect("create");
    (p, id)
}

fn new_schema(name: &str, key: &str) -> Destination {
    Destination::NewSchema {
        name: name.into(),
        key: key.into(),
    }
}

/// Type id -> name.
fn type_names(snap: &Snapshot) -> HashMap<String, String> {
    snap.types
        .iter()
        .map(|t| (s(&t["id"]), s(&t["name"])))
        .collect()
}

/// Objects per type name.
fn objects_per_type(snap: &Snapshot) -> BTreeMap<String, usize> {
    let names = type_names(snap);
    let mut out = BTreeMap::new();
    for o in &snap.objects {
        *out.entry(names[&s(&o["objectType"]["id"])].clone())
            .or_default() += 1;
    }
    out
}

/// Values per (object's type, attribute's owner type, attribute name), identity attributes
/// left out (the restore adds them).
fn values(snap: &Snapshot) -> BTreeMap<(String, String, String), usize> {
    let names = type_names(snap);
    let owner: HashMap<String, (String, String)> = snap
        .attrs
        .iter()
        .flat_map(|(t, list)| {
            list.iter()
                .map(|a| (s(&a["id"]), (names[t].clone(), s(&a["name"]))))
        })
        .collect();
    let mut out = BTreeMap::new();
    for o in &snap.objects {
        let t = names[&s(&o["objectType"]["id"])].clone();
        for a in o["attributes"].as_array().into_iter().flatten() {
            let (owner_type, name) = owner[&s(&a["objectTypeAttributeId"])].clone();
            if name.starts_with("ORIGINAL_") {
                continue;
            }
            let n = a["objectAttributeValues"].as_array().map_or(0, Vec::len);
            *out.entry((t.clone(), owner_type, name)).or_default() += n;
        }
    }
    out
}

/// Own attribute names per type name.
fn attr_names(snap: &Snapshot) -> BTreeMap<String, BTreeSet<String>> {
    let names = type_names(snap);
    snap.attrs
        .iter()
        .map(|(t, list)| {
            (
                names[t].clone(),
                list.iter().map(|a| s(&a["name"])).collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn types_bring_their_parents_and_drop_references_into_types_left_out() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let raw1 = Raw::new(&sim, "s1");
    let src = Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await;
    let b = backup(&s1, &store, "ITSM").await;

    // Unknown and ambiguous names are refused, naming each.
    let req = |types: &[&str]| RestoreRequest {
        backup_id: b,
        target_site: "s1".into(),
        destination: new_schema("Picked", "PICK"),
        hooks: Default::default(),
        history: false,
        with_icons: false,
        types: types.iter().map(|t| (*t).to_owned()).collect(),
    };
    let e = restore::plan(&store, &s1, &req(&["Laptop", "Nope", "Notes"]))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, restore::Error::Types { .. }), "{e:?}");
    assert!(text.contains("no object type \"Nope\""), "{text}");
    assert!(text.contains("\"Notes\""), "{text}");
    assert!(!text.contains("\"Laptop\""), "{text}");

    // "Virtual Server" by name, "Hardware/Laptop" by path: Hardware and Server come along.
    let (p, id) = plan_types(
        &store,
        &s1,
        b,
        new_schema("Picked", "PICK"),
        &["Virtual Server", "Hardware/Laptop"],
    )
    .await;
    let t = p.types.clone().expect("types plan");
    let paths = |l: &[restore::TypeRef]| l.iter().map(|t| t.path.clone()).collect::<Vec<_>>();
    assert_eq!(
        paths(&t.selected),
        ["Hardware/Server/Virtual Server", "Hardware/Laptop"]
    );
    assert_eq!(paths(&t.parents), ["Hardware", "Hardware/Server"]);
    let kept: BTreeSet<String> = ["Hardware", "Laptop", "Server", "Virtual Server"]
        .map(str::to_owned)
        .into();
    let planned: BTreeSet<String> = p.object_types.iter().map(|t| t.name.clone()).collect();
    assert_eq!(planned, kept);
    assert_eq!(
        t.left_out.len() + kept.len(),
        src.types.len(),
        "{:?}",
        t.left_out
    );
    // Every reference into a type left out is dropped and named, with why.
    let dropped: BTreeSet<(String, String)> = p
        .summary
        .dropped_attributes
        .iter()
        .filter(|a| a.reason.contains("leaves out (--types)"))
        .map(|a| (a.object_type.clone(), a.name.clone()))
        .collect();
    let expect: BTreeSet<(String, String)> = [
        ("Laptop", "Assigned To"),
        ("Server", "Office"),
        ("Server", "Runs"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .into();
    assert_eq!(dropped, expect, "{:#?}", p.summary.dropped_attributes);
    let src_counts = objects_per_type(&src);
    let objects: u64 = kept
        .iter()
        .map(|k| src_counts.get(k).copied().unwrap_or(0) as u64)
        .sum();
    assert_eq!(p.order.objects, objects);
    assert_eq!(p.summary.objects_created, objects);
    assert_eq!(p.summary.requests, p.requests.total);

    let o = run_as_planned(&store, &s1, id, &p).await;
    assert_eq!(o.objects_created, objects);
    assert_eq!(o.objects_failed, 0);

    // Through the target's API: those types, their objects, every value but the dropped ones.
    let raw = Raw::new(&sim, "s1");
    let dst = Snapshot::read(&raw, &support::schema_id(&raw, "PICK").await).await;
    let got_types: BTreeSet<String> = type_names(&dst).into_values().collect();
    assert_eq!(got_types, kept);
    let want_counts: BTreeMap<String, usize> = src_counts
        .into_iter()
        .filter(|(t, _)| kept.contains(t))
        .collect();
    assert_eq!(objects_per_type(&dst), want_counts);
    let want_values: BTreeMap<_, _> = values(&src)
        .into_iter()
        .filter(|((t, owner, name), _)| {
            kept.contains(t) && !expect.contains(&(owner.clone(), name.clone()))
        })
        .collect();
    assert_eq!(values(&dst), want_values);
    let names = attr_names(&dst);
    assert!(!names["Laptop"].contains("Assigned To"), "{names:?}");
    assert!(!names["Server"].contains("Office"), "{names:?}");
    assert!(names["Server"].contains("Hosted on"), "{names:?}");

    // The log names each dropped attribute.
    let log = full_log(&store, id).await;
    for (ty, name) in &expect {
        let line = format!("Attribute {name:?} of object type {ty:?} is not restored");
        assert!(
            log.iter().any(|e| e
                .message
                .as_str()
                .is_some_and(|m| m.starts_with(&line) && m.contains("leaves out (--types)"))),
            "{line}"
        );
    }
    let row = store.get_restore(id).await.unwrap();
    assert_eq!(
        row.details.specific_types,
        ["Hardware/Server/Virtual Server", "Hardware/Laptop"]
    );
    assert_eq!(
        row.details.destination_kind,
        assetark::store::DestinationKind::NewSchema
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn types_into_an_existing_schema_on_another_site_match_the_parents_there() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let src_counts =
        objects_per_type(&Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await);
    let b = backup(&s1, &store, "ITSM").await;

    // First only the laptops (with Hardware), into a new schema on s2.
    let (p, id) = plan_types(&store, &s2, b, new_schema("Fleet", "FLEET"), &["Laptop"]).await;
    run_as_planned(&store, &s2, id, &p).await;
    let schema = support::schema_id(&raw2, "FLEET").await;
    let first = Snapshot::read(&raw2, &schema).await;
    assert_eq!(
        objects_per_type(&first),
        BTreeMap::from([("Laptop".to_owned(), src_counts["Laptop"])])
    );
    assert_eq!(
        store
            .get_restore(id)
            .await
            .unwrap()
            .details
            .destination_kind,
        assetark::store::DestinationKind::AnotherSite
    );

    // Then the virtual servers into that schema: Hardware is matched, Server and Virtual
    // Server are created, the laptops stay as they are.
    let existing = || Destination::ExistingSchema {
        key: "FLEET".into(),
        duplicates: false,
    };
    let (p, id) = plan_types(&store, &s2, b, existing(), &["Virtual Server"]).await;
    let by_name: HashMap<&str, &restore::TypePlan> = p
        .object_types
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    assert_eq!(by_name.len(), 3, "{:?}", by_name.keys());
    assert!(by_name["Hardware"].existing_id.is_some());
    assert!(by_name["Server"].existing_id.is_none());
    assert!(by_name["Virtual Server"].existing_id.is_none());
    let e = p.existing.clone().expect("existing plan");
    assert!(e.duplicates.is_empty(), "{:?}", e.duplicates);
    assert_eq!(e.scan.aql_pages, 1, "one AQL scan");
    let servers = src_counts["Server"] + src_counts["Virtual Server"];
    assert_eq!(p.summary.objects_created, servers as u64);
    // Not request for request: s2 refuses some user values of servers (a user outside the
    // group the attribute requires), and each such create is sent again without them.
    let o = execute(&store, &s2, id, &p, CancellationToken::new())
        .await
        .0
        .expect("restore");
    assert_eq!((o.objects_created, o.objects_failed), (servers as u64, 0));
    let second = Snapshot::read(&raw2, &schema).await;
    let want: BTreeMap<String, usize> = ["Laptop", "Server", "Virtual Server"]
        .iter()
        .map(|t| ((*t).to_owned(), src_counts[*t]))
        .collect();
    assert_eq!(objects_per_type(&second), want);
    let laptops = |snap: &Snapshot| -> Vec<serde_json::Value> {
        let names = type_names(snap);
        snap.objects
            .iter()
            .filter(|o| names[&s(&o["objectType"]["id"])] == "Laptop")
            .cloned()
            .collect()
    };
    assert_eq!(
        laptops(&second),
        laptops(&first),
        "the laptops are untouched"
    );
    let row = store.get_restore(id).await.unwrap();
    assert_eq!(
        row.details.specific_types,
        ["Hardware/Server/Virtual Server"]
    );
    assert!(!row.details.duplicates);

    // Again: every server is a duplicate now, nothing is created.
    let (p, id) = plan_types(&store, &s2, b, existing(), &["Virtual Server"]).await;
    assert_eq!(p.summary.skipped_duplicates.len(), servers);
    assert_eq!(p.summary.objects_created, 0);
    let o = run_as_planned(&store, &s2, id, &p).await;
    assert_eq!(o.objects_created, 0);
    assert_eq!(Snapshot::read(&raw2, &schema).await.objects, second.objects);
    sim.shutdown().await;
}
