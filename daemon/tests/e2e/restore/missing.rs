//! Issue 8 item 1 (second half): objects a restore needs vanish from its backup while it runs
//! (the backup's manifest rows deleted under it, as a delete of the backup does). The restore
//! ends in error naming what is missing, and the object entries stage is never recorded as
//! finished; the old code created what it still found and reported the restore `completed`.

use assetark::restore::{self, Stage};
use assetark::store::RestoreStatus;
use assetark_tests::kit;
use tokio_util::sync::CancellationToken;

use super::support::{self, backup, client, config, execute, plan};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn objects_lost_mid_restore_end_it_in_error_naming_them() {
    let sim = support::start(&config(500, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::store(dir.path());
    let s1 = client(&sim, "s1");
    let b = backup(&s1, &store, "ITSM").await;
    let (p, id) = plan(&store, &s1, b, "Lost", "LOST").await;
    assert!(
        p.source.objects > 200,
        "more objects than one read of the stage"
    );

    // Hold the first object create: the stage has read its first objects from the backup, the
    // rest it reads later.
    let held = sim
        .barrier(
            kit::restore_stage_barrier(Stage::ObjectEntries, "s1")
                .unwrap()
                .nth(1),
        )
        .expect("barrier");
    let run = tokio::spawn({
        let (store, s1, p) = (store.clone(), s1.clone(), p.clone());
        async move {
            execute(&store, &s1, id, &p, CancellationToken::new())
                .await
                .0
        }
    });
    held.wait_held(1).await;
    let removed = {
        let conn = rusqlite::Connection::open(dir.path().join("store.db")).expect("db");
        conn.execute(
            "DELETE FROM manifest WHERE backup_id = ?1 AND kind = 'object'",
            [b],
        )
        .expect("delete")
    };
    assert!(removed > 200, "{removed}");
    held.release_all();
    drop(held);

    let err = run.await.expect("task").expect_err("the restore must fail");
    let message = err.to_string();
    assert!(
        matches!(err, restore::Error::MissingEntries { backup, ref ids, .. } if backup == b && !ids.is_empty()),
        "{err:?}"
    );
    assert!(
        message.contains("lost") && message.contains("object"),
        "{message}"
    );
    let row = store.get_restore(id).await.expect("row");
    assert_eq!(row.status, RestoreStatus::Error, "{row:?}");
    let result = row.result.clone().unwrap_or_default();
    assert!(result.contains(&format!("backup {b} lost")), "{result}");
    assert_eq!(
        row.counts["object_entries"]["finished"], false,
        "the stage is not recorded as done: {}",
        row.counts
    );
}
