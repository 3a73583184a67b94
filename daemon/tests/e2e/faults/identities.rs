//! Item 18: a backup of a schema whose objects carry `ORIGINAL_ID` (every restored schema)
//! holds one page of identities at a time and finds collisions across pages through the
//! store. The schema here spans three AQL pages and holds two objects claiming one identity,
//! one on the first page and one on the last: both are kept, the later under
//! `"{identity}@{objectId}"`, and every other object under its `ORIGINAL_ID`, once.

use std::collections::BTreeSet;

use serde_json::json;

use super::start_restore;
use crate::restore_daemon::support::{Env, ended};
use assetark_tests::kit::s;

/// More than two pages of the backup's AQL paging (500 a page).
const OBJECTS: u32 = 1_050;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_collide_across_pages_and_every_object_is_kept() {
    let mut env = Env::new(OBJECTS).await;
    env.start().await;
    env.add_s2().await;
    let source = env.backup("ITSM").await;
    let restore = start_restore(&env, source, "COPY").await;
    let r = env.wait_restore(restore, "the restore ends", ended).await;
    assert_eq!(r["status"], "completed", "{r}");

    // A second object claiming the identity of the restored schema's first object.
    let s2 = env.site("s2");
    let originals = s2.originals("COPY").await;
    let objects = env.site("s1").originals("ITSM").await.len();
    assert!(objects > 1000, "{objects} objects: three pages");
    assert_eq!(originals.len(), objects, "each object restored");
    let (first_id, claimed) = originals
        .iter()
        .min_by_key(|(id, _)| id.parse::<u64>().expect("numeric id"))
        .cloned()
        .expect("objects");
    let claimed = claimed.expect("restored objects carry ORIGINAL_ID");
    let first = s2.get(&format!("/object/{first_id}")).await;
    let type_id = s(&first["objectType"]["id"]);
    let defs = s2.get(&format!("/objecttype/{type_id}/attributes")).await;
    let def = |name: &str| {
        defs.as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"] == name)
            .map(|d| s(&d["id"]))
            .unwrap_or_else(|| panic!("no attribute {name}: {defs}"))
    };
    let created = s2
        .post(
            "/object/create",
            json!({
                "objectTypeId": type_id,
                "attributes": [
                    {"objectTypeAttributeId": def("Name"), "objectAttributeValues": [{"value": "Duplicate"}]},
                    {"objectTypeAttributeId": def("ORIGINAL_ID"), "objectAttributeValues": [{"value": claimed}]},
                ],
            }),
        )
        .await;
    let dup_id = s(&created["id"]);
    assert!(!dup_id.is_empty(), "created: {created}");

    let job = env
        .cli_json(&[
            "backup", "run", "--site", "s2", "--schema", "COPY", "--wait",
        ])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    let backup = job["result"]["backup"]["id"].as_i64().expect("backup id");

    let db = rusqlite::Connection::open(env.db()).expect("store");
    let mut stmt = db
        .prepare("SELECT original_id FROM manifest WHERE backup_id = ?1 AND kind = 'object'")
        .expect("query");
    let identities: Vec<String> = stmt
        .query_map([backup], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("identities");
    let distinct: BTreeSet<&String> = identities.iter().collect();
    assert_eq!(identities.len(), objects + 1, "every object once");
    assert_eq!(distinct.len(), identities.len(), "no identity twice");
    assert!(
        distinct.contains(&claimed),
        "the first claim keeps the identity"
    );
    assert!(
        distinct.contains(&format!("{claimed}@{dup_id}")),
        "the later claim is kept beside it"
    );
    // Everything else is stored under the ORIGINAL_ID it carries.
    let expected: BTreeSet<String> = originals.into_iter().filter_map(|(_, o)| o).collect();
    let plain: BTreeSet<String> = distinct
        .iter()
        .filter(|i| !i.contains('@'))
        .map(|i| (*i).clone())
        .collect();
    assert_eq!(plain, expected);
    env.stop().await;
}
