//! Issue 8 item 6: a job whose end the store refuses (a full disk) is shown ended at once and
//! recorded as soon as the store takes writes again; a backup of the same schema is then not
//! refused as "in progress".

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{BackupSpec, EnqueueError, JobSpec, Jobs, JobsOptions};
use crate::sites::Sites;
use crate::store::{AsyncStore, BackupType, JobStatus, SqliteStore};

fn backup_spec() -> JobSpec {
    JobSpec::Backup(BackupSpec {
        site: "gone".to_owned(),
        schema: "ITSM".to_owned(),
        description: None,
        backup_type: BackupType::Manual,
        schedule: None,
        full: false,
        full_every: 0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_end_the_store_refuses_is_shown_then_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("s.db")).expect("store"));
    let store = AsyncStore::new(Arc::clone(&sqlite) as Arc<dyn crate::store::Store>);
    let clock = crate::clock::system();
    let jobs = Jobs::new(
        store.clone(),
        Arc::new(Sites::default()),
        CancellationToken::new(),
        TaskTracker::new(),
        Arc::clone(&clock),
        JobsOptions::default(),
    );
    let id = jobs.enqueue(&backup_spec()).await.expect("enqueued");
    let job = store
        .claim_next_job(clock.now())
        .await
        .expect("claim")
        .expect("the job");
    assert_eq!(job.id, id);

    // The disk fills while the job runs: its end (failed: the site is gone) cannot be written.
    sqlite.refuse_writes(true).expect("pragma");
    let permit = Arc::new(Semaphore::new(1))
        .acquire_owned()
        .await
        .expect("permit");
    jobs.run(job, permit).await;
    assert_eq!(
        store.get_job(id).await.expect("row").status,
        JobStatus::Running,
        "the store did not take the end"
    );
    let view = jobs.view(id).await.expect("view");
    assert_eq!(view.status, JobStatus::Failed, "whoever waits sees it end");
    assert!(
        view.error.as_deref().is_some_and(|e| e.contains("gone")),
        "{view:?}"
    );
    assert_eq!(jobs.reconcile().await, 0, "still refused");
    assert!(matches!(
        jobs.enqueue(&backup_spec()).await,
        Err(EnqueueError::Store(_))
    ));

    // Space again: the next backup of the schema is not refused as in progress, and the end
    // is in the store.
    sqlite.refuse_writes(false).expect("pragma");
    let next = jobs.enqueue(&backup_spec()).await.expect("not 409");
    assert_ne!(next, id);
    let row = store.get_job(id).await.expect("row");
    assert_eq!(row.status, JobStatus::Failed);
    assert!(row.error.is_some_and(|e| e.contains("gone")));
    assert_eq!(jobs.reconcile().await, 0, "nothing left to write");
}
