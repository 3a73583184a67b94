//! The scheduler against a real store and the real job queue (the runner is not started, so a
//! queued backup stays queued and stands for one in progress), on paused tokio time with a
//! clock that follows it, or on a manual clock: no test waits for real time.

use std::sync::Arc;

use time::macros::datetime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::clock::{ManualClock, SharedClock, TokioClock};
use crate::jobs::{JobSpec, Jobs, JobsOptions};
use crate::sites::Sites;
use crate::store::{AsyncStore, FireOutcome, FireReason, JobFilter, PageRequest, SqliteStore};

fn schedule(cron: &str) -> Schedule {
    ScheduleInput {
        site: "s1".into(),
        schema: "ITSM".into(),
        cron: cron.into(),
        policy: Policy {
            keep_last: 3,
            ..Policy::default()
        },
        ..ScheduleInput::default()
    }
    .check(Origin::Config)
    .expect("valid")
}

struct Rig {
    store: AsyncStore,
    scheduler: Arc<Scheduler>,
    stop: CancellationToken,
    tracker: TaskTracker,
}

async fn rig(path: &std::path::Path, clock: SharedClock, config: Vec<Schedule>) -> Rig {
    let store = AsyncStore::new(Arc::new(SqliteStore::open(path).expect("store")));
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let jobs = Jobs::new(
        store.clone(),
        Arc::new(Sites::default()),
        stop.clone(),
        tracker.clone(),
        Arc::clone(&clock),
        JobsOptions::default(),
    );
    let queue: Arc<dyn BackupQueue> = jobs;
    let scheduler = Scheduler::new(store.clone(), clock, queue, config);
    scheduler
        .start(&tracker, stop.clone(), false)
        .await
        .expect("starts");
    Rig {
        store,
        scheduler,
        stop,
        tracker,
    }
}

impl Rig {
    async fn backup_jobs(&self) -> Vec<(i64, JobSpec)> {
        let jobs = self
            .store
            .list_jobs(
                JobFilter::default(),
                PageRequest {
                    limit: 100,
                    offset: 0,
                },
            )
            .await
            .expect("jobs");
        jobs.into_iter()
            .map(|j| {
                (
                    j.id,
                    JobSpec::from_stored(&j.kind, &j.payload).expect("spec"),
                )
            })
            .collect()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_schedule_fires_when_due_and_never_queues_a_second_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = datetime!(2030-01-01 00:00:05 UTC);
    let clock = TokioClock::new(start);
    let rig = rig(
        &dir.path().join("s.db"),
        clock,
        vec![schedule("*/10 * * * * *")],
    )
    .await;
    let mut fired = rig.scheduler.subscribe();

    let first = fired.recv().await.expect("fires");
    assert_eq!(first.at, datetime!(2030-01-01 00:00:10 UTC));
    assert_eq!(
        (first.reason, first.outcome),
        (FireReason::Cron, FireOutcome::Enqueued)
    );
    let job = first.job.expect("a job");

    // Ten seconds later the backup is still queued: the firing is skipped, naming it.
    let second = fired.recv().await.expect("fires again");
    assert_eq!(second.at, datetime!(2030-01-01 00:00:20 UTC));
    assert_eq!(second.outcome, FireOutcome::Skipped);
    assert_eq!(second.job, Some(job));

    let jobs = rig.backup_jobs().await;
    assert_eq!(jobs.len(), 1, "one backup, however often it fires");
    let JobSpec::Backup(spec) = &jobs[0].1 else {
        panic!("not a backup: {jobs:?}");
    };
    assert_eq!(spec.backup_type, crate::store::BackupType::Scheduled);
    let by = spec.schedule.as_ref().expect("carries its schedule");
    assert_eq!((by.policy.keep_last, by.tz.as_str()), (3, "UTC"));

    let list = rig.scheduler.list().await;
    let state = &list[0].state;
    assert_eq!((state.fired, state.skipped), (1, 1));
    assert_eq!(state.next_fire_at, Some(datetime!(2030-01-01 00:00:30 UTC)));
    assert_eq!(state.last_outcome, Some(FireOutcome::Skipped));
    rig.stop().await;
}

#[tokio::test]
async fn a_run_missed_while_the_daemon_was_down_runs_once_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.db");
    let t0 = datetime!(2030-01-01 00:00:05 UTC);
    let clock = ManualClock::new(t0);
    let every10 = schedule("*/10 * * * * *");

    let rig1 = rig(&path, clock.clone(), vec![every10.clone()]).await;
    let state = rig1.scheduler.list().await[0].state.clone();
    assert_eq!(state.next_fire_at, Some(datetime!(2030-01-01 00:00:10 UTC)));
    assert!(rig1.backup_jobs().await.is_empty());
    rig1.stop().await;

    // Down for an hour: 360 firings missed, one run.
    clock.set(t0 + time::Duration::hours(1));
    let rig2 = rig(&path, clock.clone(), vec![every10.clone()]).await;
    let jobs = rig2.backup_jobs().await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let state = rig2.scheduler.list().await[0].state.clone();
    assert_eq!(state.last_reason, Some(FireReason::Missed));
    assert_eq!(state.last_fired_at, Some(t0 + time::Duration::hours(1)));
    assert_eq!(state.next_fire_at, Some(datetime!(2030-01-01 01:00:10 UTC)));
    rig2.stop().await;

    // Down again, but the schedule changed meanwhile: a fresh next firing, no missed run.
    clock.set(t0 + time::Duration::hours(2));
    let rig3 = rig(&path, clock.clone(), vec![schedule("0 0 3 * * *")]).await;
    assert_eq!(rig3.backup_jobs().await.len(), 1, "nothing new");
    let state = rig3.scheduler.list().await[0].state.clone();
    assert_eq!(state.next_fire_at, Some(datetime!(2030-01-01 03:00 UTC)));
    rig3.stop().await;
}

#[tokio::test]
async fn api_schedules_are_stored_config_ones_are_not_changed_and_run_now_fires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.db");
    let clock = ManualClock::new(datetime!(2030-01-01 00:00 UTC));
    let rig1 = rig(&path, clock.clone(), vec![schedule("0 0 2 * * *")]).await;
    let mut api = schedule("0 30 4 * * *");
    api.key = ScheduleKey::new("s1", "HR");
    api.origin = Origin::Api;
    let set = rig1.scheduler.set(api.clone()).await.expect("set");
    assert_eq!(
        set.state.next_fire_at,
        Some(datetime!(2030-01-01 04:30 UTC))
    );
    assert!(matches!(
        rig1.scheduler.set(schedule("0 0 1 * * *")).await,
        Err(SetError::InConfig(_))
    ));
    assert!(matches!(
        rig1.scheduler.remove(&ScheduleKey::new("s1", "ITSM")).await,
        Err(RemoveError::InConfig(_))
    ));
    assert!(matches!(
        rig1.scheduler.remove(&ScheduleKey::new("s1", "NOPE")).await,
        Err(RemoveError::NotFound(_))
    ));
    // Fire now: a manual firing; the next firing stays.
    let job = rig1
        .scheduler
        .run_now(&ScheduleKey::new("s1", "HR"))
        .await
        .expect("queued");
    assert!(matches!(
        rig1.scheduler.run_now(&ScheduleKey::new("s1", "HR")).await,
        Err(RunError::Refused(QueueRefusal::Active(j))) if j == job
    ));
    let hr = rig1
        .scheduler
        .list()
        .await
        .into_iter()
        .find(|e| e.schedule.key.schema == "HR")
        .expect("listed");
    assert_eq!(hr.state.last_reason, Some(FireReason::Manual));
    assert_eq!((hr.state.fired, hr.state.skipped), (1, 1));
    assert_eq!(hr.state.next_fire_at, Some(datetime!(2030-01-01 04:30 UTC)));
    rig1.stop().await;

    // After a restart the API schedule is back, with its state.
    let rig2 = rig(&path, clock.clone(), vec![schedule("0 0 2 * * *")]).await;
    let all = rig2.scheduler.list().await;
    let keys: Vec<String> = all.iter().map(|e| e.schedule.key.to_string()).collect();
    assert_eq!(keys, ["s1/HR", "s1/ITSM"]);
    assert_eq!(all[0].schedule.origin, Origin::Api);
    assert_eq!(all[0].state.fired, 1);
    rig2.scheduler
        .remove(&ScheduleKey::new("s1", "HR"))
        .await
        .expect("removed");
    assert_eq!(rig2.scheduler.list().await.len(), 1);
    rig2.stop().await;
}
