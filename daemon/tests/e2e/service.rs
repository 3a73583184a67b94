//! The daemon as systemd runs it (`Type=notify`): a real `assetark serve` process with
//! `NOTIFY_SOCKET` pointing at a datagram socket of the test. It says `READY=1` once it
//! serves; its schedule fires on the wall clock (tokio-cron-scheduler's trigger: a cron of
//! every second); SIGTERM while that scheduled backup is held in flight by a simulator barrier
//! makes it say `STOPPING=1`, drain (the backup's job goes back to the queue, no half backup
//! stays) and exit 0 with its socket removed. Waits are on the notify socket and the barrier.

use assetark::store::{JobFilter, JobStatus, PageRequest, SqliteStore, Store};
use assetark_tests::kit::{DEADLINE, DaemonProcess};
use assets_sim::barrier::{BarrierSpec, Condition};
use tokio::net::UnixDatagram;

use crate::schedules::support::{config_text, sim as start_sim};

async fn next_notice(sock: &UnixDatagram) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(DEADLINE, sock.recv(&mut buf))
        .await
        .expect("a notice in time")
        .expect("recv");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_and_stopping_the_schedule_fires_on_the_wall_clock_and_sigterm_drains()
{
    let sim = start_sim(60).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_text(
        &sim,
        "[[schedules]]\nsite = \"s1\"\nschema = \"ITSM\"\ncron = \"* * * * * *\"\n",
    );
    let path = dir.path().join("assetark.toml");
    std::fs::write(&path, config).expect("config");
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
    // The first scheduled backup is held in its objects stage.
    let hold = sim
        .barrier(BarrierSpec::new("POST", "/object/aql"))
        .expect("barrier");
    let mut daemon = DaemonProcess::new(
        std::path::Path::new(crate::BIN),
        &path,
        &dir.path().join("ctl.sock"),
        &dir.path().join("daemon.log"),
    )
    .env("NOTIFY_SOCKET", &notify_path.display().to_string());
    daemon.start().await;

    let ready = next_notice(&notify).await;
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    assert!(
        dir.path().join("ctl.sock").exists(),
        "ready means the socket is bound"
    );

    // tokio-cron-scheduler wakes the scheduler within a second or so; its backup arrives.
    hold.wait_held(1).await;

    daemon.term().await;
    let stopping = next_notice(&notify).await;
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "{stopping}");
    hold.wait(Condition {
        abandoned: Some(1),
        ..Condition::default()
    })
    .await;
    assert!(!dir.path().join("ctl.sock").exists(), "socket removed");
    let text = daemon.log_text();
    assert!(text.contains("Scheduled backup queued."), "{text}");
    assert!(text.contains("Daemon stopped."), "{text}");

    // Drained: the scheduled backup's job waits in the queue for the next start; nothing half
    // written is visible.
    let store =
        SqliteStore::open_without_recovery(dir.path().join("data/assetark.db")).expect("store");
    let jobs = store
        .list_jobs(
            &JobFilter::default(),
            PageRequest {
                limit: 10,
                offset: 0,
            },
        )
        .expect("jobs");
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].status, JobStatus::Queued, "{jobs:?}");
    assert!(jobs[0].payload["type"] == "scheduled", "{jobs:?}");
    let backups = store
        .list_backups(
            &Default::default(),
            PageRequest {
                limit: 10,
                offset: 0,
            },
        )
        .expect("backups");
    assert_eq!(backups.total, 0);
}
