//! Stored plans across versions, on the store written by the code before plans had versions
//! (`tests/fixtures/store-v3`, see its README) and a fresh simulator started from the same
//! simulator config (same seed, so the same data and ids):
//!
//! - every restore's unversioned plan loads (migrated); restore 1's equals its fixture file;
//! - that old plan, on a new restore row, executes against the fresh target and restores the
//!   schema; so does a plan made today from the old store's backup;
//! - a plan of an unknown (newer) format ends its restore in error with a clear message.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assetark::restore::{self, Destination, PLAN_FORMAT_VERSION, RestorePlan, RestoreRequest};
use assetark::store::{AsyncStore, NewRestore, RestoreId, RestoreStatus, SqliteStore};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::rule;
use super::support::{self, Raw, Snapshot, assert_restored, client, clock, execute, user_rule};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/store-v3")
        .join(name)
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

/// A copy of the fixture store in `dir` (opening it may migrate it; the fixture stays as it
/// is).
fn old_store(dir: &Path) -> AsyncStore {
    let copy = dir.join("store.db");
    std::fs::copy(fixture("store.db"), &copy).unwrap();
    AsyncStore::new(Arc::new(
        SqliteStore::open(&copy).expect("the old store opens"),
    ))
}

async fn simulator() -> assets_sim::server::SimHandle {
    let toml = std::fs::read_to_string(fixture("sim.toml")).unwrap();
    support::start(&toml).await
}

/// Runs a stored restore to its end with the code under test, as the job runner would:
/// the stored plan, then `execute`.
async fn run_stored(
    store: &AsyncStore,
    c: &assetark::assets::AssetsClient,
    id: RestoreId,
) -> (RestorePlan, String) {
    let plan = restore::load_plan(store, id, &clock())
        .await
        .expect("plan loads");
    let (r, _) = execute(store, c, id, &plan, CancellationToken::new()).await;
    let outcome = r.expect("restore runs");
    assert!(!outcome.stopped);
    assert_eq!(outcome.objects_failed, 0, "{outcome:?}");
    (plan, outcome.schema_id.expect("schema id"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plans_and_backups_of_the_old_store_restore_with_this_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = old_store(dir.path());
    // Every stored plan loads; restore 1's is its fixture file, migrated.
    for id in [1, 2, 3] {
        let plan = restore::load_plan(&store, id, &clock())
            .await
            .expect("loads");
        assert_eq!(plan.format_version, PLAN_FORMAT_VERSION);
        assert_eq!(plan.lookups, None, "format 1 did not record lookups");
    }
    let one = restore::load_plan(&store, 1, &clock()).await.unwrap();
    assert_eq!(
        one,
        RestorePlan::from_stored(fixture_json("plan-restore-1.json")).unwrap()
    );
    assert_eq!(
        store.get_restore(1).await.unwrap().status,
        RestoreStatus::Completed,
        "loading changes nothing"
    );

    let sim = simulator().await;
    let dst = client(&sim, "dst");
    let raw_src = Raw::new(&sim, "src");
    let raw_dst = Raw::new(&sim, "dst");
    let source = Snapshot::read(&raw_src, &support::schema_id(&raw_src, "ITSM").await).await;

    // Restore 1's old, unversioned plan on a new row: it runs to the end on the fresh target.
    let old = store
        .create_restore(NewRestore {
            backup_id: 1,
            target_site: "dst".into(),
            options: fixture_json("options-restore-1.json"),
            plan: fixture_json("plan-restore-1.json"),
            details: Default::default(),
            created_at: clock().now(),
        })
        .await
        .unwrap();
    let (plan, schema) = run_stored(&store, &dst, old).await;
    assert_eq!(
        store
            .get_restore(old)
            .await
            .unwrap()
            .new_schema_key
            .as_deref(),
        Some("FIXITSM")
    );
    let users = rule(user_rule(&raw_dst, &plan).await, &[]);
    assert_restored(
        &source,
        &Snapshot::read(&raw_dst, &schema).await,
        &plan,
        &users,
    );

    // A plan made today from the old store's backup 1.
    let req = RestoreRequest {
        backup_id: 1,
        target_site: "dst".into(),
        destination: Destination::NewSchema {
            name: "Again".into(),
            key: "AGAIN".into(),
        },
        hooks: Default::default(),
        history: false,
        with_icons: false,
        types: Vec::new(),
    };
    let plan = restore::plan(&store, &dst, &req).await.expect("plan");
    assert_eq!(plan.source.objects, 193);
    let id = restore::create(&store, &req, &plan, &clock())
        .await
        .unwrap();
    let (stored, schema) = run_stored(&store, &dst, id).await;
    assert_eq!(
        stored, plan,
        "a plan is stored and read back as it was made"
    );
    let users = rule(user_rule(&raw_dst, &plan).await, &[]);
    assert_restored(
        &source,
        &Snapshot::read(&raw_dst, &schema).await,
        &plan,
        &users,
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_of_a_newer_format_ends_its_restore_in_error_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = old_store(dir.path());
    let mut newer = fixture_json("plan-restore-1.json");
    newer["format_version"] = json!(PLAN_FORMAT_VERSION + 7);
    let id = store
        .create_restore(NewRestore {
            backup_id: 1,
            target_site: "dst".into(),
            options: fixture_json("options-restore-1.json"),
            plan: newer,
            details: Default::default(),
            created_at: clock().now(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.get_restore(id).await.unwrap().status,
        RestoreStatus::Pending
    );
    let err = restore::load_plan(&store, id, &clock()).await.unwrap_err();
    assert!(
        matches!(err, restore::Error::PlanVersion { found, .. } if found == PLAN_FORMAT_VERSION + 7),
        "{err:?}"
    );
    // Not stuck: the restore has ended, and says why.
    let row = store.get_restore(id).await.unwrap();
    assert_eq!(row.status, RestoreStatus::Error);
    assert!(row.ended_at.is_some());
    let result = row.result.unwrap_or_default();
    assert!(
        result.contains(&format!("format version {}", PLAN_FORMAT_VERSION + 7))
            && result.contains("plan the restore again"),
        "{result}"
    );
}
