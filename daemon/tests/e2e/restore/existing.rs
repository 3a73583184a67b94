//! Restores into a schema that exists on the target (`--to existing-schema`): duplicates are
//! skipped (a second restore creates nothing), `--duplicates` creates them anyway, references
//! of restored objects to skipped duplicates point at the existing object, object types are
//! matched by path and attributes by name (an attribute of another type is left alone, its
//! values skipped), and matching reads the target with one AQL scan. Every assertion goes
//! through the target's Assets API.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use assetark::assets::AssetsClient;
use assetark::restore::{
    self, AttrAction, Destination, RestoreEvent, RestorePlan, RestoreRequest, Stage,
};
use assetark::store::{AsyncStore, BackupId, LogLevel, RestoreId};
use assetark_tests::kit::s;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::support::{
    self, Raw, Snapshot, assert_restored, backup, client, clock, config, full_log, plan, user_rule,
};
use super::{complete, rule};

/// Plans a restore of `b` into the existing schema `key` on the client's site and stores it.
async fn plan_existing(
    store: &AsyncStore,
    c: &AssetsClient,
    b: BackupId,
    key: &str,
    duplicates: bool,
) -> (RestorePlan, RestoreId) {
    let req = RestoreRequest {
        backup_id: b,
        target_site: c.site().name.clone(),
        destination: Destination::ExistingSchema {
            key: key.into(),
            duplicates,
        },
        hooks: Default::default(),
        history: false,
        with_icons: false,
        types: Vec::new(),
    };
    let p = restore::plan(store, c, &req).await.expect("plan");
    let id = restore::create(store, &req, &p, &clock())
        .await
        .expect("create");
    (p, id)
}

fn sent(c: &AssetsClient) -> u64 {
    c.stats().sent.values().sum()
}

/// Executes and checks that the requests sent are the plan's.
pub(super) async fn run_as_planned(
    store: &AsyncStore,
    c: &AssetsClient,
    id: RestoreId,
    p: &RestorePlan,
) -> restore::RestoreOutcome {
    // Requests per stage, measured between the stage's start and finish events.
    let per_stage: Arc<Mutex<BTreeMap<Stage, (u64, u64)>>> = Arc::default();
    let sink = {
        let (c, per_stage) = (c.clone(), per_stage.clone());
        move |e: RestoreEvent| match e {
            RestoreEvent::StageStarted { stage, .. } => {
                per_stage.lock().unwrap().insert(stage, (sent(&c), 0));
            }
            RestoreEvent::StageFinished { stage, .. } => {
                if let Some(x) = per_stage.lock().unwrap().get_mut(&stage) {
                    x.1 = sent(&c);
                }
            }
            _ => {}
        }
    };
    let before = sent(c);
    let o = restore::execute(store, c, id, p, &sink, CancellationToken::new(), &clock())
        .await
        .expect("restore");
    assert!(!o.stopped);
    for (stage, (start, end)) in per_stage.lock().unwrap().iter() {
        assert_eq!(end - start, p.requests_of(*stage), "requests of {stage}");
    }
    assert_eq!(sent(c) - before, p.requests.total, "{:?}", p.requests);
    o
}

/// Object id -> ORIGINAL_ID of schema `key`.
async fn originals(raw: &Raw, key: &str) -> Vec<(String, Option<String>)> {
    raw.originals(key).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_restore_creates_nothing_and_duplicates_creates_every_copy_the_target_takes() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let raw2 = Raw::new(&sim, "s2");
    let b = backup(&s1, &store, "ITSM").await;
    let (p0, r0) = plan(&store, &s2, b, "IT Assets", "ITSM").await;
    complete(&store, &s2, r0, &p0).await;
    let first = originals(&raw2, "ITSM").await;
    let n = first.len();
    assert_eq!(n as u64, p0.order.objects);
    let schema = support::schema_id(&raw2, "ITSM").await;
    let before = Snapshot::read(&raw2, &schema).await;

    // Again, into the schema the first restore created: everything is there.
    let aql = |c: &AssetsClient| c.stats().sent.get("aql").copied().unwrap_or(0);
    let aql_before = aql(&s2);
    let (p, id) = plan_existing(&store, &s2, b, "ITSM", false).await;
    let e = p.existing.clone().expect("existing plan");
    assert_eq!(e.schema_id, schema);
    assert_eq!(e.scan.aql_pages, n.div_ceil(1000) as u64);
    assert_eq!(e.scan.objects, n as u64);
    assert_eq!(aql(&s2) - aql_before, e.scan.aql_pages, "one AQL scan");
    assert!(p.object_types.iter().all(|t| t.existing_id.is_some()));
    assert!(
        p.attributes
            .iter()
            .all(|a| matches!(a.action, AttrAction::Existing | AttrAction::Drop)),
        "{:?}",
        p.attributes
            .iter()
            .filter(|a| !matches!(a.action, AttrAction::Existing | AttrAction::Drop))
            .collect::<Vec<_>>()
    );
    assert_eq!(e.duplicates.len(), n);
    for stage in [
        Stage::Schema,
        Stage::ObjectTypes,
        Stage::Attributes,
        Stage::ObjectEntries,
    ] {
        assert_eq!(p.requests_of(stage), 0, "{stage}");
    }
    let o = run_as_planned(&store, &s2, id, &p).await;
    assert_eq!(o.objects_created, 0);
    assert_eq!(originals(&raw2, "ITSM").await, first, "nothing created");
    assert_eq!(Snapshot::read(&raw2, &schema).await.objects, before.objects);
    let keys: HashMap<String, String> = before
        .objects
        .iter()
        .map(|o| (s(&o["id"]), s(&o["objectKey"])))
        .collect();
    let log = full_log(&store, id).await;
    let skipped: Vec<&str> = log
        .iter()
        .filter(|e| e.level.is_none())
        .filter_map(|e| e.message.as_str())
        .collect();
    assert_eq!(skipped.len(), n);
    let expected: HashSet<String> = e
        .duplicates
        .iter()
        .map(|d| {
            assert_eq!(keys[&d.existing_id], d.existing_key);
            format!("Skipped (duplicate of {})", d.existing_key)
        })
        .collect();
    let got: HashSet<String> = skipped.iter().map(|m| (*m).to_owned()).collect();
    assert_eq!(got, expected);

    // --duplicates: every object is created again, but for those whose unique attribute's
    // value the schema holds already (the target would refuse them): the plan names each, and
    // they are skipped, mapped to the object holding the value. The existing ones stay
    // untouched, and every request is the plan's.
    let (p, id) = plan_existing(&store, &s2, b, "ITSM", true).await;
    let e = p.existing.clone().expect("existing plan");
    assert_eq!(e.duplicates.len(), n);
    let taken = e.unique_taken.clone();
    let u = taken.len();
    assert!(
        u > 0 && u < n,
        "the cmdb dataset has unique attributes: {u} of {n}"
    );
    assert_eq!(p.summary.unique_taken, taken);
    assert_eq!(p.summary.objects_created, (n - u) as u64);
    assert_eq!(p.requests_of(Stage::ObjectEntries), (n - u) as u64);
    let orig_of: HashMap<&str, Option<&str>> = first
        .iter()
        .map(|(id, o)| (id.as_str(), o.as_deref()))
        .collect();
    for t in &taken {
        // In a copy of the same backup, the holder is the object it duplicates.
        assert_eq!(
            orig_of[t.taken_by_id.as_str()],
            Some(t.identity.as_str()),
            "{t:?}"
        );
        assert_eq!(keys[&t.taken_by_id], t.taken_by);
    }
    let o = run_as_planned(&store, &s2, id, &p).await;
    assert_eq!((o.objects_created, o.objects_failed), ((n - u) as u64, 0));
    let now = originals(&raw2, "ITSM").await;
    assert_eq!(now.len(), n + n - u);
    let mut per_orig: BTreeMap<Option<String>, u32> = BTreeMap::new();
    for (_, orig) in &now {
        *per_orig.entry(orig.clone()).or_default() += 1;
    }
    let taken_ids: HashSet<&str> = taken.iter().map(|t| t.identity.as_str()).collect();
    for (orig, count) in &per_orig {
        let orig = orig.as_deref().expect("every object carries ORIGINAL_ID");
        let want = if taken_ids.contains(orig) { 1 } else { 2 };
        assert_eq!(*count, want, "copies of {orig}");
    }
    let log = full_log(&store, id).await;
    let warned: HashSet<String> = log
        .iter()
        .filter(|e| e.level == Some(LogLevel::Warn) && e.result)
        .filter_map(|e| Some((e, e.message.as_str()?)))
        .filter(|(_, m)| m.starts_with("Skipped (unique "))
        .map(|(e, m)| format!("{} {m}", e.object_key))
        .collect();
    let expected: HashSet<String> = taken
        .iter()
        .map(|t| {
            format!(
                "{} Skipped (unique {} {:?} is held by {})",
                t.key, t.attribute, t.value, t.taken_by
            )
        })
        .collect();
    assert_eq!(warned, expected);
    assert!(log.iter().all(|e| e.result), "nothing refused");
    let after = Snapshot::read(&raw2, &schema).await;
    let old_ids: HashSet<String> = first.iter().map(|(id, _)| id.clone()).collect();
    let kept: Vec<&Value> = after
        .objects
        .iter()
        .filter(|o| old_ids.contains(&s(&o["id"])))
        .collect();
    let was: Vec<&Value> = before.objects.iter().collect();
    assert_eq!(kept, was, "the existing objects are unchanged");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restored_objects_reference_the_skipped_duplicates_and_the_schema_is_whole_again() {
    let sim = support::start(&config(300, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let (s1, s2) = (client(&sim, "s1"), client(&sim, "s2"));
    let (raw1, raw2) = (Raw::new(&sim, "s1"), Raw::new(&sim, "s2"));
    let src = Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await;
    let b = backup(&s1, &store, "ITSM").await;
    let (p0, r0) = plan(&store, &s2, b, "IT Assets", "ITSM").await;
    complete(&store, &s2, r0, &p0).await;
    let schema = support::schema_id(&raw2, "ITSM").await;
    let restored = Snapshot::read(&raw2, &schema).await;
    // Delete objects nobody references but which reference others: restoring them again
    // must point their references at the objects that stayed.
    let refs = |o: &Value| -> Vec<String> {
        o["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| {
                a["objectAttributeValues"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|v| v["referencedObject"]["id"].as_str().map(str::to_owned))
            .collect()
    };
    let referenced: HashSet<String> = restored.objects.iter().flat_map(refs).collect();
    let victims: Vec<String> = restored
        .objects
        .iter()
        .filter(|o| !referenced.contains(&s(&o["id"])) && !refs(o).is_empty())
        .take(12)
        .map(|o| s(&o["id"]))
        .collect();
    assert!(victims.len() >= 5, "{} victims", victims.len());
    for id in &victims {
        let url = format!("{}/object/{id}", sim.site("s2").expect("site").api_url);
        raw2.send(reqwest::Method::DELETE, url, None).await;
    }
    let (p, id) = plan_existing(&store, &s2, b, "ITSM", false).await;
    let e = p.existing.clone().unwrap();
    assert_eq!(e.duplicates.len() + victims.len(), p.order.objects as usize);
    assert_eq!(p.requests_of(Stage::ObjectEntries), victims.len() as u64);
    let o = run_as_planned(&store, &s2, id, &p).await;
    assert_eq!(o.objects_created, victims.len() as u64);
    // Whole again: each source object once, with its values and references.
    let users = rule(
        user_rule(&raw2, &p0).await,
        &[("Server.Administrators", "Chen Wei")],
    );
    assert_restored(&src, &Snapshot::read(&raw2, &schema).await, &p0, &users);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn types_match_by_path_attributes_by_name_and_a_type_conflict_is_left_alone() {
    let sim = support::start(&config(200, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    // On the backup's own site (users kept: no refusal retries), into another schema.
    let s1 = client(&sim, "s1");
    let raw1 = Raw::new(&sim, "s1");
    let (s2, raw2) = (s1.clone(), Raw::new(&sim, "s1"));
    let src = Snapshot::read(&raw1, &support::schema_id(&raw1, "ITSM").await).await;
    let b = backup(&s1, &store, "ITSM").await;
    // A root type of the backup with objects and a Text attribute besides its label.
    let (root, text_attr, inherited) = src
        .types
        .iter()
        .filter(|t| t["parentObjectTypeId"].is_null() || t["parentObjectTypeId"] == "")
        .find_map(|t| {
            let a = src.attrs[&s(&t["id"])].iter().find(|a| {
                a["type"] == 0
                    && a["defaultType"]["id"] == 0
                    && a["label"] != true
                    && a["system"] != true
            })?;
            let has_objects = src.objects.iter().any(|o| o["objectType"]["id"] == t["id"]);
            has_objects.then(|| (s(&t["name"]), s(&a["name"]), t["inherited"].clone()))
        })
        .expect("a root type with a Text attribute");
    // The target: schema PART with that type and an Integer attribute of that name.
    let icons = raw2.list("/icon/global").await;
    let created = raw2
        .post(
            "/objectschema/create",
            json!({"name": "Partial", "objectSchemaKey": "PART"}),
        )
        .await;
    let part = s(&created["id"]);
    let t = raw2
        .post(
            "/objecttype/create",
            json!({"name": root, "objectSchemaId": part, "iconId": s(&icons[0]["id"]),
                   "inherited": inherited}),
        )
        .await;
    let tid = s(&t["id"]);
    raw2.post(
        &format!("/objecttypeattribute/{tid}"),
        json!({"name": text_attr, "type": 0, "defaultTypeId": 1}),
    )
    .await;
    let (p, id) = plan_existing(&store, &s2, b, "PART", false).await;
    let matched: Vec<&str> = p
        .object_types
        .iter()
        .filter(|t| t.existing_id.is_some())
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(matched, [root.as_str()]);
    let conflict = p
        .attributes
        .iter()
        .find(|a| a.object_type_name == root && a.name == text_attr)
        .unwrap();
    assert_eq!(conflict.action, AttrAction::Conflict, "{conflict:?}");
    assert!(conflict.reason.as_deref().unwrap().contains("Integer"));
    let label = p
        .attributes
        .iter()
        .find(|a| a.object_type_name == root && a.name == "Name")
        .unwrap();
    assert_eq!(label.action, AttrAction::Existing);
    let added: Vec<&str> = p
        .attributes
        .iter()
        .filter(|a| a.object_type_name == root && a.action == AttrAction::Added)
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(added, ["ORIGINAL_ID", "ORIGINAL_KEY"]);
    assert!(p.existing.as_ref().unwrap().duplicates.is_empty());
    let o = run_as_planned(&store, &s2, id, &p).await;
    assert_eq!(
        (o.objects_created, o.objects_failed),
        (src.objects.len() as u64, 0)
    );
    // The target's attribute is unchanged, and holds no restored value.
    let attrs = raw2
        .list(&format!(
            "/objecttype/{tid}/attributes?excludeParentAttributes=true"
        ))
        .await;
    let theirs = attrs
        .iter()
        .find(|a| a["name"] == text_attr.as_str())
        .unwrap();
    assert_eq!(theirs["defaultType"]["id"], 1, "still Integer");
    let dst = Snapshot::read(&raw2, &part).await;
    assert_eq!(dst.objects.len(), src.objects.len());
    let theirs_id = s(&theirs["id"]);
    let of_root: Vec<&Value> = dst
        .objects
        .iter()
        .filter(|o| o["objectType"]["id"] == tid.as_str())
        .collect();
    assert!(!of_root.is_empty());
    for o in of_root {
        let has = o["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| s(&a["objectTypeAttributeId"]) == theirs_id);
        assert!(!has, "a value of the conflicting attribute was set: {o}");
    }
    let log = full_log(&store, id).await;
    assert!(
        log.iter().any(|e| e
            .message
            .as_str()
            .is_some_and(|m| m.contains(&text_attr) && m.contains("values are skipped"))),
        "the log names the conflict"
    );
    sim.shutdown().await;
}
