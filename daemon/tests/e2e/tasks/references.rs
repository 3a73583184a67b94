//! The cross-schema references task end to end (issue 10): ITSM (whose offices and routers
//! reference LOC sites) and LOC migrated to other sites in either order, and restored as new
//! schemas on their own site; what the task did checked object by object through the sites'
//! Assets API against the source, and its writes counted on the simulator.
//!
//! - `references_follow_migrations_in_either_order`: the ITSM restore's drop reason names the
//!   task. On `s2` ITSM comes first: the task (`--from-schema LOC --outbound`) reports LOC
//!   missing and writes nothing; LOC is restored; without `--outbound` the same task sets
//!   nothing (LOC holds no references into ITSM); the re-run with `--outbound` creates the two
//!   attributes and sends exactly one `PUT /object/{id}` per object that gains values; a
//!   third run writes nothing. On `s3` LOC comes first: its task (`--from-schema ITSM`) reports
//!   ITSM missing; ITSM is restored; the LOC task's re-run sets the inbound references, killed
//!   (SIGKILL) once two object updates were applied while a barrier holds every later one
//!   (they go out several at a time), and resumed after the restart.
//!   On both sites every cross-schema reference points at the restored counterpart of what
//!   it pointed at on `s1`.
//! - `references_on_the_same_site`: ITSM and LOC restored as new schemas on `s1`: ITSMN's
//!   references go to LOCN; another ITSM copy's go to the original LOC (its ids are the
//!   backup's); the record and the text of `tasks show` carry outbound, the referenced
//!   schemas and their restores.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use assetark_tests::kit::{SiteReader, s};
use assets_sim::barrier::{BarrierSpec, Condition};
use assets_sim::server::Barrier;
use serde_json::{Value, json};

use super::support::{Env, wait_for};

/// Objects in the simulated CMDB of `s1`.
pub(super) const OBJECTS: u32 = 120;

/// Object identity -> attribute name -> identities of the objects of schema `other` it
/// references, for the objects of schema `key` that reference any. An identity is the
/// object's `ORIGINAL_ID` where it has one (a restored object), else its id.
pub(super) async fn cross_refs(
    site: &SiteReader,
    key: &str,
    other: &str,
) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let theirs: HashMap<String, String> = site
        .originals(other)
        .await
        .into_iter()
        .map(|(id, orig)| (id.clone(), orig.unwrap_or(id)))
        .collect();
    let mut out = BTreeMap::new();
    for o in site.named_objects(key).await {
        let identity = o
            .values("ORIGINAL_ID")
            .first()
            .map_or_else(|| o.id.clone(), |v| s(&v["value"]));
        let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (name, a) in &o.attrs {
            for v in a["objectAttributeValues"].as_array().into_iter().flatten() {
                if let Some(t) = theirs.get(&s(&v["referencedObject"]["id"])) {
                    refs.entry(name.clone()).or_default().insert(t.clone());
                }
            }
        }
        if !refs.is_empty() {
            out.insert(identity, refs);
        }
    }
    out
}

/// Counters of the writes the task may send to a site (barriers that never hold).
pub(super) struct Writes {
    puts: Barrier,
    creates: Barrier,
    deletes: Barrier,
}

impl Writes {
    pub(super) fn new(env: &Env, site: &str) -> Writes {
        let counter = |method: &str, path: &str| {
            env.sim
                .barrier(
                    BarrierSpec::new(method, path)
                        .site(site)
                        .occurrences(u64::MAX..=u64::MAX),
                )
                .expect("counter")
        };
        Writes {
            puts: counter("PUT", "**"),
            creates: counter("POST", "/objecttypeattribute/{id}"),
            deletes: counter("DELETE", "**"),
        }
    }

    /// (`PUT`s, attributes created, `DELETE`s) so far.
    pub(super) fn now(&self) -> (u64, u64, u64) {
        (
            self.puts.counts().matched,
            self.creates.counts().matched,
            self.deletes.counts().matched,
        )
    }
}

/// Requests the simulator served to `site` so far (`/__sim/stats`).
pub(super) async fn served(env: &Env, site: &str) -> u64 {
    let stats: Value = reqwest::get(format!("{}/__sim/stats", env.sim.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats json");
    stats["requests_by_site"][site].as_u64().unwrap_or(0)
}

/// `tasks start references RESTORE --from-schema KEYS [--outbound] --wait --json`.
pub(super) async fn references(env: &Env, restore: &str, keys: &str, outbound: bool) -> Value {
    let mut args = vec![
        "tasks",
        "start",
        "references",
        restore,
        "--from-schema",
        keys,
        "--wait",
    ];
    if outbound {
        args.push("--outbound");
    }
    let t = env.cli_json(&args).await;
    assert_eq!(t["status"], "success", "{t}");
    assert_eq!(t["kind"], "references");
    t
}

/// The summary's row of schema `key`.
pub(super) fn schema_row<'a>(task: &'a Value, key: &str) -> &'a Value {
    task["summary"]["referenced_schemas"]
        .as_array()
        .expect("referenced_schemas")
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row for {key}: {task}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_follow_migrations_in_either_order() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    // ITSM lets others select its objects too, so LOC's restore can take references from it.
    let s1 = env.site("s1");
    let itsm_id = s1.schema_ids().await["ITSM"].clone();
    s1.post(
        &format!("/global/config/objectschema/{itsm_id}/property"),
        json!({"allowOtherObjectSchema": true}),
    )
    .await;
    let itsm = env.backup("ITSM").await;
    let loc = env.backup("LOC").await;
    let source = cross_refs(&s1, "ITSM", "LOC").await;
    let with_refs = source.len() as u64;
    // The SIGKILL below holds the third of these objects' updates.
    assert!(with_refs >= 4, "{source:?}");

    // The plan says why the reference attributes into LOC are left out, naming the task.
    let dry = env
        .cli_json(&[
            "restore",
            "start",
            &itsm,
            "--to",
            "new-schema",
            "--name",
            "ITSM",
            "--key",
            "ITSM",
            "--site",
            "s2",
            "--dry-run",
        ])
        .await;
    let dropped: Vec<&Value> = dry["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter(|a| a["action"] == "drop" && a["name"] == "Site")
        .collect();
    assert_eq!(dropped.len(), 2, "Office.Site and Router.Site: {dry}");
    for a in dropped {
        let why = a["reason"].as_str().expect("reason");
        assert!(
            why.starts_with("the reference goes to object type ")
                && why.contains("(Site) of another schema")
                && why.contains(
                    "`assetark tasks start references RESTORE_ID --from-schema KEY --outbound`"
                ),
            "{why}"
        );
    }

    // s2, ITSM first: LOC is missing, nothing is written.
    let writes = Writes::new(&env, "s2");
    let r_itsm = env.restore(&itsm, "ITSM", "s2").await;
    let before = writes.now();
    let first = references(&env, &r_itsm, "LOC", true).await;
    assert_eq!(schema_row(&first, "LOC")["state"], "missing", "{first}");
    assert!(
        first["result"]
            .as_str()
            .expect("result")
            .contains("missing on the target: LOC"),
        "{first}"
    );
    assert_eq!(first["summary"]["attributes_created"], 0, "{first}");
    assert_eq!(first["summary"]["attributes_skipped"], 2, "{first}");
    assert_eq!(writes.now(), before, "nothing written while LOC is missing");

    let r_loc = env.restore(&loc, "LOC", "s2").await;
    // Without --outbound: LOC's objects hold no references into ITSM; nothing to do.
    let before = writes.now();
    let inbound = references(&env, &r_itsm, "LOC", false).await;
    assert_eq!(inbound["summary"]["outbound"], false);
    assert_eq!(
        schema_row(&inbound, "LOC")["state"],
        "resolved",
        "{inbound}"
    );
    assert_eq!(schema_row(&inbound, "LOC")["attributes"], 0, "{inbound}");
    assert_eq!(writes.now(), before);

    // The re-run with --outbound completes it: one PUT per object that gains values.
    let before = writes.now();
    let reads = served(&env, "s2").await;
    let done = references(&env, &r_itsm, "LOC", true).await;
    let after = writes.now();
    // The reads of a run (5, as the third run below) plus the writes.
    assert_eq!(
        served(&env, "s2").await - reads,
        5 + 2 + with_refs,
        "{done}"
    );
    let row = schema_row(&done, "LOC");
    assert_eq!(row["state"], "resolved", "{done}");
    assert_eq!(
        row["restore_id"].as_i64().map(|i| i.to_string()),
        Some(r_loc.clone())
    );
    assert_eq!(row["attributes"], 2, "{done}");
    assert_eq!(done["summary"]["outbound"], true);
    assert_eq!(done["summary"]["attributes_created"], 2, "{done}");
    assert_eq!(done["summary"]["objects_updated"], with_refs, "{done}");
    assert_eq!(done["summary"]["objects_failed"], 0, "{done}");
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (with_refs, 2, 0),
        "one PUT per object gaining values, two attributes created"
    );
    assert_eq!(cross_refs(&env.site("s2"), "ITSM", "LOC").await, source);

    // A third run changes nothing and writes nothing; it reads the schema list, LOC's
    // configuration, the attributes of the two owning types and one AQL page.
    let before = writes.now();
    let reads = served(&env, "s2").await;
    let third = references(&env, &r_itsm, "LOC", true).await;
    assert_eq!(writes.now(), before, "{third}");
    assert_eq!(served(&env, "s2").await - reads, 5, "{third}");
    assert_eq!(third["summary"]["attributes_unchanged"], 2, "{third}");
    assert_eq!(third["summary"]["objects_unchanged"], with_refs, "{third}");
    assert_eq!(third["summary"]["objects_updated"], 0, "{third}");
    assert_eq!(cross_refs(&env.site("s2"), "ITSM", "LOC").await, source);

    // s3, LOC first: ITSM is missing; once it is there the LOC task's re-run sets the
    // references ITSM's objects hold into LOC (inbound), through a SIGKILL.
    let writes = Writes::new(&env, "s3");
    let l3 = env.restore(&loc, "LOC", "s3").await;
    let missing = references(&env, &l3, "ITSM", false).await;
    assert_eq!(
        schema_row(&missing, "ITSM")["state"],
        "missing",
        "{missing}"
    );
    let i3 = env.restore(&itsm, "ITSM", "s3").await;
    let before = writes.now();
    let (resumed, abandoned) = killed_after_two_puts(&mut env, &l3).await;
    assert_eq!(resumed["status"], "success", "{resumed}");
    let sum = &resumed["summary"];
    assert_eq!(
        schema_row(&resumed, "ITSM")["restore_id"]
            .as_i64()
            .map(|i| i.to_string()),
        Some(i3.clone())
    );
    // The resumed run found the attributes and the two objects set before the kill.
    assert_eq!(sum["attributes_unchanged"], 2, "{resumed}");
    assert_eq!(
        sum["objects_updated"].as_u64(),
        Some(with_refs - 2),
        "{resumed}"
    );
    assert_eq!(sum["objects_unchanged"], 2, "{resumed}");
    let after = writes.now();
    // Two PUTs before the kill, those held then (never processed), the rest after.
    assert!(abandoned >= 2, "{abandoned}");
    assert_eq!(
        after.0 - before.0,
        with_refs + abandoned,
        "the held PUTs count as matched"
    );
    assert_eq!(after.1 - before.1, 2, "each attribute created once");
    assert_eq!(cross_refs(&env.site("s3"), "ITSM", "LOC").await, source);
    let again = references(&env, &l3, "ITSM", false).await;
    assert_eq!(again["summary"]["objects_unchanged"], with_refs, "{again}");
    assert_eq!(writes.now().0, after.0, "a further run writes nothing");
}

/// Starts the LOC restore's task (`--from-schema ITSM`) on `s3` with every object update from
/// the third on held: the PUTs go out several at a time, so once the target holds the values
/// of the two let through, the daemon is SIGKILLed with the others held, those are abandoned
/// (never processed), and the daemon restarts. Returns the task once it ended and how many
/// PUTs were abandoned.
async fn killed_after_two_puts(env: &mut Env, restore: &str) -> (Value, u64) {
    let held = env
        .sim
        .barrier(
            BarrierSpec::new("PUT", "/object/{id}")
                .site("s3")
                .occurrences(3..=u64::MAX),
        )
        .expect("barrier");
    let started = env
        .cli_json(&[
            "tasks",
            "start",
            "references",
            restore,
            "--from-schema",
            "ITSM",
        ])
        .await;
    let id = started["task_id"].as_i64().expect("task id").to_string();
    // Two held at once: the PUTs go out concurrently (one sent at a time would never have a
    // fourth out while the third is held).
    held.wait_held(2).await;
    let s3 = env.site("s3");
    wait_for("the two PUTs let through are applied", || async {
        (cross_refs(&s3, "ITSM", "LOC").await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(env.task(&id).await["status"], "in_progress");
    env.kill().await;
    let at_kill = held.counts();
    let abandoned = at_kill.matched - 2;
    held.wait(Condition {
        abandoned: Some(abandoned),
        ..Condition::default()
    })
    .await;
    drop(held);
    env.start().await;
    (env.wait_task(&id).await, abandoned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_on_the_same_site() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    let s1 = env.site("s1");
    let source = cross_refs(&s1, "ITSM", "LOC").await;
    let itsm = env.backup("ITSM").await;
    let loc = env.backup("LOC").await;
    let r_itsm = env.restore(&itsm, "ITSMN", "s1").await;
    let r_loc = env.restore(&loc, "LOCN", "s1").await;

    // ITSM is no candidate: it does not let others select its objects.
    let refused = references(&env, &r_itsm, "ITSM,LOCN", true).await;
    assert_eq!(
        schema_row(&refused, "ITSM")["state"],
        "refused",
        "{refused}"
    );
    assert!(
        schema_row(&refused, "ITSM")["message"]
            .as_str()
            .expect("message")
            .contains("does not allow others to select objects"),
        "{refused}"
    );
    let row = schema_row(&refused, "LOCN");
    assert_eq!(row["state"], "resolved", "{refused}");
    assert_eq!(
        row["restore_id"].as_i64().map(|i| i.to_string()),
        Some(r_loc)
    );
    assert_eq!(
        refused["summary"]["objects_updated"].as_u64(),
        Some(source.len() as u64)
    );
    assert_eq!(cross_refs(&s1, "ITSMN", "LOCN").await, source);

    // Into the original LOC, never restored: its ids are the backup's.
    let r_copy = env.restore(&itsm, "ITSMO", "s1").await;
    let t = references(&env, &r_copy, "LOC", true).await;
    let row = schema_row(&t, "LOC");
    assert_eq!(
        (&row["state"], &row["restore_id"]),
        (&json!("resolved"), &Value::Null),
        "{t}"
    );
    assert_eq!(cross_refs(&s1, "ITSMO", "LOC").await, source);

    // The record, as text: outbound, the schemas asked for, the referenced schemas.
    let id = t["id"].as_i64().expect("id").to_string();
    let text = env.cli(&["tasks", "show", &id]).await;
    text.ok(&["tasks", "show"]);
    for part in [
        "kind         references",
        "outbound     yes",
        "schemas      LOC",
        "referenced schemas:",
        "LOC (resolved; schema",
        "not restored; 2 attributes)",
        "started ",
        "ended ",
    ] {
        assert!(text.stdout.contains(part), "{part:?} in {}", text.stdout);
    }
    let listed = env.cli(&["tasks", "list", &r_copy]).await;
    assert!(listed.stdout.contains("references"), "{listed:?}");
    let api = env.cli_json(&["tasks", "list", &r_itsm]).await;
    assert_eq!(
        api["items"][0]["options"],
        json!({"kind": "references", "from_schemas": ["ITSM", "LOCN"], "outbound": true})
    );
}
