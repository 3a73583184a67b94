//! The store written by the code before the seams rework (`tests/fixtures/store-v3`, schema
//! version 3; see its README) opened by today's code. Each test works on a copy: the fixture
//! itself is never opened.
//!
//! Tests:
//! - `a_store_of_schema_3_migrates_and_everything_in_it_reads`: the migrations apply (to the
//!   current version, and the new job columns are filled for old rows); both backups list and
//!   verify; the three restores, their stored plans and their logs read; every stored job's
//!   unversioned payload reads as a typed spec; the sealed site `dst` unseals with `store.key`
//!   (and with no other key);
//! - `the_daemon_on_that_store_brings_the_killed_restore_to_a_clear_state`: a daemon started
//!   in-process on the copy, with the fixture's simulator recreated from `sim.toml`, shows the
//!   old backups, restores and jobs through its API and takes restore 3 (killed mid-objects,
//!   its job 5 `running`) to a state that is not `pending` or `in_progress`, with a message,
//!   and job 5 to an end;
//! - `a_killed_restore_whose_target_site_was_removed_ends_in_error_saying_why`: the same with
//!   the stored target site removed: restore 3 ends `error` naming the missing site, job 5
//!   fails with a typed permanent failure;
//! - `a_killed_restore_whose_stored_plan_cannot_be_read_ends_in_error_saying_why`: the same
//!   with restore 3's stored plan damaged.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assetark::api::wire::{
    BackupList, JobSpec, JobStatus, JobView, RestoreDetail, RestoreList, RestoreStatus,
};
use assetark::config::{Config, Sources};
use assetark::restore::{self, Destination};
use assetark::sites::{Sealed, Sites, TokenKey, TokenSource};
use assetark::store::{
    AsyncStore, BackupFilter, JobFilter, PageRequest, RestoreStore as _, SiteStore as _,
    SqliteStore, Store as _, StoredToken,
};
use assetark_tests::kit::{InProcessDaemon, wait_for};
use assets_sim::config::SimConfig;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/store-v3")
        .join(name)
}

/// Copies the fixture's store and key into a fresh directory (key mode 0600, as the daemon
/// requires).
fn copy_store() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("store.db");
    let key = dir.path().join("store.key");
    std::fs::copy(fixture("store.db"), &db).expect("copy store");
    std::fs::copy(fixture("store.key"), &key).expect("copy key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (dir, db, key)
}

const ALL: PageRequest = PageRequest {
    limit: 100,
    offset: 0,
};

#[tokio::test]
async fn a_store_of_schema_3_migrates_and_everything_in_it_reads() {
    let (_dir, db, key) = copy_store();
    let version = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .expect("db")
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version")
    };
    assert_eq!(version(&db), 3, "the fixture is a schema 3 store");
    let store = SqliteStore::open_without_recovery(&db).expect("opens and migrates");
    assert_eq!(version(&db), SqliteStore::schema_version());
    assert!(SqliteStore::schema_version() > 3);

    // Backups list and verify.
    let backups = store
        .list_backups(&BackupFilter::default(), ALL)
        .expect("backups");
    let found: Vec<(i64, &str, u64)> = backups
        .items
        .iter()
        .map(|b| (b.id, b.schema_key.as_str(), b.object_count))
        .collect();
    assert_eq!(found, [(2, "LOC", 7), (1, "ITSM", 193)]);
    for b in &backups.items {
        assert!(store.verify(b.id).expect("verify").is_empty(), "{}", b.id);
    }

    // Restores, their plans and their logs.
    let restores = store.list_restores(None, ALL).expect("restores");
    let states: Vec<(i64, RestoreStatus)> = restores.iter().map(|r| (r.id, r.status)).collect();
    assert_eq!(
        states,
        [
            (3, RestoreStatus::InProgress),
            (2, RestoreStatus::Completed),
            (1, RestoreStatus::Completed)
        ]
    );
    let async_store = AsyncStore::new(std::sync::Arc::new(
        SqliteStore::open_without_recovery(&db).expect("second connection"),
    ));
    for (id, key, log) in [(1, "FIXITSM", 219), (2, "FIXLOC", 7), (3, "FIXKILL", 87)] {
        let plan = restore::load_plan(&async_store, id, &assetark::clock::system())
            .await
            .expect("plan");
        let Destination::NewSchema { key: planned, .. } = &plan.destination else {
            panic!("restore {id}: not a new schema");
        };
        assert_eq!(planned, key);
        let entries = store.restore_log(id, 0, 10_000).expect("log");
        assert_eq!(entries.len(), log, "restore {id}");
    }
    let row = store.get_restore(1).expect("restore 1");
    let stored_plan: Value =
        serde_json::from_slice(&std::fs::read(fixture("plan-restore-1.json")).expect("plan"))
            .expect("json");
    assert_eq!(row.plan, stored_plan);
    let options: Value =
        serde_json::from_slice(&std::fs::read(fixture("options-restore-1.json")).expect("o"))
            .expect("json");
    assert_eq!(row.options, options);

    // Stored jobs: unversioned payloads read as typed specs; the migration gave them keys.
    let jobs = store.list_jobs(&JobFilter::default(), ALL).expect("jobs");
    assert_eq!(jobs.len(), 5);
    for job in &jobs {
        let spec = JobSpec::from_stored(&job.kind, &job.payload)
            .unwrap_or_else(|e| panic!("job {}: {e}", job.id));
        assert_eq!(job.queue_key, spec.queue_key(), "job {}", job.id);
        match (job.id, &spec) {
            (1, JobSpec::Backup(b)) => {
                assert_eq!((b.site.as_str(), b.schema.as_str()), ("src", "ITSM"));
                assert_eq!(b.description.as_deref(), Some("fixture"));
            }
            (2, JobSpec::Backup(b)) => assert_eq!(b.schema, "LOC"),
            (3..=5, JobSpec::Restore(r)) => assert_eq!(r.restore_id, job.id - 2),
            other => panic!("unexpected job {other:?}"),
        }
    }
    let job5 = jobs.iter().find(|j| j.id == 5).expect("job 5");
    assert_eq!(job5.status, JobStatus::Running);
    assert_eq!(job5.queue_key.as_deref(), Some("restore-site:dst"));

    // The sealed site unseals with store.key, and with no other key.
    let sites = store.list_sites().expect("sites");
    let dst = sites.iter().find(|s| s.name == "dst").expect("dst stored");
    let StoredToken::Inline { nonce, sealed } = &dst.token else {
        panic!("dst's token is not inline: {:?}", dst.token);
    };
    let sealed = Sealed {
        nonce: nonce.clone(),
        ciphertext: sealed.clone(),
    };
    let key_bytes = std::fs::read(&key).expect("key");
    let token = TokenKey::from_bytes(&key_bytes)
        .expect("32 bytes")
        .open("dst", &sealed)
        .expect("unseals with store.key");
    assert_eq!(token.expose(), "tok-dst");
    let other = TokenKey::from_bytes(&[7u8; 32]).expect("key");
    assert!(other.open("dst", &sealed).is_err());
    let registry = Sites::from_config(
        &[],
        Some(TokenKey::load_or_create(&key).expect("key file")),
        assetark::clock::system(),
    )
    .expect("sites");
    assert_eq!(registry.load_stored(&async_store).await.expect("load"), 1);
    let info = registry.get("dst").expect("dst loaded").info().clone();
    assert_eq!(info.token_source, Some(TokenSource::Inline));
}

/// A daemon started in-process on a copy of the fixture store, with the given sites of the
/// recreated simulator in its config.
struct Daemon {
    _dir: tempfile::TempDir,
    daemon: InProcessDaemon,
    sim: assets_sim::server::SimHandle,
}

impl Daemon {
    async fn start(sites: &[&str], prepare: impl FnOnce(&Path)) -> Daemon {
        let (dir, db, key) = copy_store();
        prepare(&db);
        let sim_toml = std::fs::read_to_string(fixture("sim.toml")).expect("sim.toml");
        let sim = assets_sim::server::start(SimConfig::from_toml(&sim_toml).expect("sim config"))
            .await
            .expect("sim");
        let limits = "[sites.limits]\nmax_retries = 1\nretry_base_ms = 10\nretry_max_ms = 20\n";
        let mut config = format!(
            "[store]\npath = \"{}\"\nkey_file = \"{}\"\n[control]\nsocket = \"ctl.sock\"\n\
             [jobs]\nretry_base_ms = 20\nretry_max_ms = 40\n",
            db.display(),
            key.display()
        );
        for name in sites {
            let s = sim.site(name).expect("site");
            config.push_str(&format!(
                "[[sites]]\nname = \"{name}\"\napi_url = \"{}\"\nsite_url = \"{}\"\n\
                 email = \"{}\"\ntoken = \"{}\"\n{limits}",
                s.api_url, s.site_url, s.email, s.token
            ));
        }
        let config_path = dir.path().join("assetark.toml");
        let config = Config::parse(&config, &config_path, &Sources::process()).expect("config");
        let daemon = InProcessDaemon::start(config).await;
        Daemon {
            _dir: dir,
            daemon,
            sim,
        }
    }

    /// Waits until restore 3 and job 5 ended; returns both.
    async fn restore_3_ends(&self) -> (RestoreDetail, JobView) {
        let client = self.daemon.client();
        let three = wait_for("restore 3 to end", || async {
            let r: RestoreDetail = client.get("/v1/restores/3").await.ok()?.parse().ok()?;
            matches!(
                r.view.status,
                RestoreStatus::Completed | RestoreStatus::Error | RestoreStatus::Stopped
            )
            .then_some(r)
        })
        .await;
        let job5 = wait_for("job 5 to end", || async {
            let j: JobView = client.get("/v1/jobs/5").await.ok()?.parse().ok()?;
            matches!(j.status, JobStatus::Done | JobStatus::Failed).then_some(j)
        })
        .await;
        (three, job5)
    }

    async fn stop(self) {
        self.daemon.stop().await;
        self.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_on_that_store_brings_the_killed_restore_to_a_clear_state() {
    // `src` and `dst` point at the recreated simulator (same seed, same ids); the config's
    // `dst` takes the place of the stored one, whose simulator is gone.
    let daemon = Daemon::start(&["src", "dst"], |_| {}).await;
    let client = daemon.daemon.client();

    // The old backups and restores through the API.
    let backups: BackupList = client
        .get("/v1/backups")
        .await
        .expect("backups")
        .parse()
        .expect("typed");
    assert_eq!(backups.total, 2);
    let restores: RestoreList = client
        .get("/v1/restores")
        .await
        .expect("restores")
        .parse()
        .expect("typed");
    assert_eq!(restores.items.len(), 3);
    let one: RestoreDetail = client
        .get("/v1/restores/1")
        .await
        .expect("restore 1")
        .parse()
        .expect("typed");
    assert_eq!(one.view.status, RestoreStatus::Completed);
    assert_eq!(one.view.source.schema_key.as_deref(), Some("ITSM"));
    assert_eq!(one.plan.objects, Some(193));
    // An old job: its unversioned payload shows as a typed spec; it ran before outcomes were
    // stored, so it has none.
    let job1: JobView = client
        .get("/v1/jobs/1")
        .await
        .expect("job 1")
        .parse()
        .expect("typed");
    assert_eq!(job1.status, JobStatus::Done);
    assert!(matches!(job1.spec, Some(JobSpec::Backup(_))), "{job1:?}");
    assert!(job1.result.is_none());

    // Restore 3, killed mid-objects: its job was requeued at start and runs now. Whatever
    // the recreated target makes of it, it must end, and say how.
    let (three, job5) = daemon.restore_3_ends().await;
    let result = three.view.result.clone().unwrap_or_default();
    assert!(
        !result.is_empty(),
        "restore 3 ended without a message: {three:?}"
    );
    eprintln!(
        "restore 3 ended {}: {result}; job 5 {:?}: {:?}",
        three.view.status, job5.status, job5.error
    );
    match three.view.status {
        RestoreStatus::Error => {
            assert_eq!(job5.status, JobStatus::Failed, "{job5:?}");
            assert!(job5.error.is_some_and(|e| !e.is_empty()));
        }
        _ => assert_eq!(job5.status, JobStatus::Done, "{job5:?}"),
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_restore_whose_target_site_was_removed_ends_in_error_saying_why() {
    // Issue 8 item 4: the stored site `dst` removed (and not in the config): restore 3 can
    // never run again, so it ends in error with the reason instead of staying in progress.
    let daemon = Daemon::start(&["src"], |db| {
        let conn = rusqlite::Connection::open(db).expect("db");
        conn.execute("DELETE FROM sites WHERE name = 'dst'", [])
            .expect("remove dst");
    })
    .await;
    let (three, job5) = daemon.restore_3_ends().await;
    assert_eq!(three.view.status, RestoreStatus::Error, "{three:?}");
    assert_eq!(
        three.view.result.as_deref(),
        Some("restore 3 failed: target site \"dst\" is no longer configured")
    );
    assert!(three.view.ended_at.is_some());
    assert_eq!(job5.status, JobStatus::Failed, "{job5:?}");
    let failure = job5.failure.expect("typed failure");
    assert_eq!(failure.kind, assetark::api::wire::FailureKind::Permanent);
    // The completed restores are untouched.
    let one: RestoreDetail = daemon
        .daemon
        .client()
        .get("/v1/restores/1")
        .await
        .expect("restore 1")
        .parse()
        .expect("typed");
    assert_eq!(one.view.status, RestoreStatus::Completed);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_restore_whose_stored_plan_cannot_be_read_ends_in_error_saying_why() {
    // Issue 8 item 4: a plan this build cannot read (damaged here) ends the restore in error
    // with the reason, rather than leaving it in progress for ever.
    let daemon = Daemon::start(&["src", "dst"], |db| {
        let conn = rusqlite::Connection::open(db).expect("db");
        conn.execute(
            "UPDATE restores SET plan = '{\"order\": \"not a plan\"}' WHERE id = 3",
            [],
        )
        .expect("damage the plan");
    })
    .await;
    let (three, job5) = daemon.restore_3_ends().await;
    assert_eq!(three.view.status, RestoreStatus::Error, "{three:?}");
    let result = three.view.result.unwrap_or_default();
    assert!(
        result.starts_with("restore 3 failed: the stored plan cannot be read: "),
        "{result}"
    );
    assert_eq!(job5.status, JobStatus::Failed, "{job5:?}");
    daemon.stop().await;
}
