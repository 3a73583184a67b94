//! The references task with a referenced schema this store has no restore record of (issue 10's
//! ORIGINAL_ID fallback): ITSM restored to `s2` by the test's daemon, LOC restored to `s2` by
//! another daemon with its own store. `--from-schema LOC` resolves LOC by the `ORIGINAL_ID`s of
//! its objects on `s2` (one AQL scan): without `--outbound` nothing can be set and nothing is
//! written; with it the two reference attributes are created and exactly one `PUT` per ITSM
//! object that gains values is sent, after which every ITSM -> LOC reference on `s2` points at
//! the restored counterpart of what it pointed at on `s1` (checked through `s2`'s Assets API);
//! a third run writes nothing and reads a fixed number of times (the scan is one AQL page, not
//! a request per object).
//!
//! `inbound_references_come_from_this_stores_backup_of_a_schema_another_store_restored`: this
//! store backs up ITSM and LOC and restores LOC to `s2`, another store restores ITSM there; the
//! LOC task (`--from-schema ITSM`, no `--outbound`) finds ITSM by `ORIGINAL_ID`, names this
//! store's ITSM backup as the source of ITSM's references, creates the two attributes on the
//! ITSM types and sets every ITSM -> LOC reference (one PUT per object), checked through `s2`'s
//! API; a second run writes nothing.

use serde_json::Value;

use super::references::{OBJECTS, Writes, cross_refs, references, schema_row, served};
use super::support::Env;

/// Restores `backup` into a new schema `key` on `s2` through `daemon`; returns the restore id.
async fn restore_with(daemon: &crate::proc::Daemon, backup: &str, key: &str) -> String {
    let r = daemon
        .cli_json(&[
            "restore",
            "start",
            backup,
            "--to",
            "new-schema",
            "--name",
            key,
            "--key",
            key,
            "--site",
            "s2",
            "--wait",
        ])
        .await;
    assert_eq!(r["status"], "completed", "{r}");
    r["id"].as_i64().expect("restore id").to_string()
}

/// The summary's row of LOC, checked for the ORIGINAL_ID state.
fn loc_row(task: &Value) -> &Value {
    let row = schema_row(task, "LOC");
    assert_eq!(row["state"], "resolved_by_original_id", "{task}");
    assert_eq!(row["restore_id"], Value::Null, "{task}");
    row
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_restored_by_another_store_is_matched_by_original_id() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    let s1 = env.site("s1");
    let source = cross_refs(&s1, "ITSM", "LOC").await;
    let with_refs = source.len() as u64;
    assert!(with_refs > 0, "{source:?}");
    let itsm = env.backup("ITSM").await;
    let r_itsm = env.restore(&itsm, "ITSM", "s2").await;

    // LOC comes to s2 through another store: this daemon has no record of that restore.
    let mut other = env.other_store();
    other.start().await;
    let job = other
        .cli_json(&["backup", "run", "--site", "s1", "--schema", "LOC", "--wait"])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    let loc = job["result"]["backup"]["id"]
        .as_i64()
        .expect("backup id")
        .to_string();
    restore_with(&other, &loc, "LOC").await;
    other.term().await;
    let s2 = env.site("s2");
    let loc_objects = s2.originals("LOC").await.len() as u64;
    assert!(loc_objects > 0);
    assert!(
        cross_refs(&s2, "ITSM", "LOC").await.is_empty(),
        "the restore left the references into LOC out"
    );

    // Without --outbound: resolved, but LOC's own references are unknown; nothing written.
    let writes = Writes::new(&env, "s2");
    let inbound = references(&env, &r_itsm, "LOC", false).await;
    let row = loc_row(&inbound);
    assert!(
        row["message"]
            .as_str()
            .is_some_and(|m| m.contains("ORIGINAL_ID") && m.contains("--outbound")),
        "{inbound}"
    );
    assert_eq!(writes.now(), (0, 0, 0), "{inbound}");

    // With --outbound: two attributes, one PUT per ITSM object gaining values.
    let done = references(&env, &r_itsm, "LOC", true).await;
    let row = loc_row(&done);
    assert_eq!(
        row["objects_by_original_id"].as_u64(),
        Some(loc_objects),
        "{done}"
    );
    assert_eq!(row["attributes"], 2, "{done}");
    assert_eq!(done["summary"]["attributes_created"], 2, "{done}");
    assert_eq!(
        done["summary"]["objects_updated"].as_u64(),
        Some(with_refs),
        "{done}"
    );
    assert_eq!(done["summary"]["objects_failed"], 0, "{done}");
    assert_eq!(writes.now(), (with_refs, 2, 0), "{done}");
    assert_eq!(cross_refs(&s2, "ITSM", "LOC").await, source);

    // A third run writes nothing. Its reads: the schema list, LOC's configuration, LOC's
    // object types, the attributes of the two owning types, one AQL page of LOC (the
    // ORIGINAL_ID scan) and one of ITSM (the current values).
    let before = writes.now();
    let reads = served(&env, "s2").await;
    let third = references(&env, &r_itsm, "LOC", true).await;
    loc_row(&third);
    assert_eq!(writes.now(), before, "{third}");
    assert_eq!(served(&env, "s2").await - reads, 7, "{third}");
    assert_eq!(
        third["summary"]["objects_unchanged"].as_u64(),
        Some(with_refs),
        "{third}"
    );
    assert_eq!(third["summary"]["objects_updated"], 0, "{third}");
    assert_eq!(cross_refs(&s2, "ITSM", "LOC").await, source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_references_come_from_this_stores_backup_of_a_schema_another_store_restored() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    // ITSM lets others select its objects, so LOC's task can take references from it.
    let s1 = env.site("s1");
    let itsm_id = s1.schema_ids().await["ITSM"].clone();
    s1.post(
        &format!("/global/config/objectschema/{itsm_id}/property"),
        serde_json::json!({"allowOtherObjectSchema": true}),
    )
    .await;
    let source = cross_refs(&s1, "ITSM", "LOC").await;
    let with_refs = source.len() as u64;
    assert!(with_refs > 0, "{source:?}");
    // This store backs up both and restores LOC; another store restores ITSM.
    let itsm = env.backup("ITSM").await;
    let loc = env.backup("LOC").await;
    let r_loc = env.restore(&loc, "LOC", "s2").await;
    let mut other = env.other_store();
    other.start().await;
    let job = other
        .cli_json(&[
            "backup", "run", "--site", "s1", "--schema", "ITSM", "--wait",
        ])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    let theirs = job["result"]["backup"]["id"]
        .as_i64()
        .expect("backup id")
        .to_string();
    restore_with(&other, &theirs, "ITSM").await;
    other.term().await;
    let s2 = env.site("s2");
    assert!(cross_refs(&s2, "ITSM", "LOC").await.is_empty());

    // Without --outbound: ITSM's references into LOC, read from this store's ITSM backup.
    let writes = Writes::new(&env, "s2");
    let done = references(&env, &r_loc, "ITSM", false).await;
    let row = schema_row(&done, "ITSM");
    assert_eq!(row["state"], "resolved_by_original_id", "{done}");
    assert_eq!(
        row["original_id_backup"].as_i64().map(|i| i.to_string()),
        Some(itsm.clone()),
        "{done}"
    );
    assert_eq!(row["attributes"], 2, "{done}");
    assert_eq!(done["summary"]["attributes_created"], 2, "{done}");
    assert_eq!(
        done["summary"]["objects_updated"].as_u64(),
        Some(with_refs),
        "{done}"
    );
    assert_eq!(done["summary"]["objects_failed"], 0, "{done}");
    assert_eq!(writes.now(), (with_refs, 2, 0), "{done}");
    assert_eq!(cross_refs(&s2, "ITSM", "LOC").await, source);

    // A second run writes nothing.
    let again = references(&env, &r_loc, "ITSM", false).await;
    assert_eq!(writes.now(), (with_refs, 2, 0), "{again}");
    assert_eq!(again["summary"]["attributes_unchanged"], 2, "{again}");
    assert_eq!(
        again["summary"]["objects_unchanged"].as_u64(),
        Some(with_refs),
        "{again}"
    );
    assert_eq!(cross_refs(&s2, "ITSM", "LOC").await, source);
}
