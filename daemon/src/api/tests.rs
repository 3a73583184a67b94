//! Control API tests over a real Unix socket with a real SQLite store and no sites: listing
//! rules (20 a page, newest 50 without dates), the error format, and socket hygiene.

use std::sync::Arc;

use hyper::Method;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::client::ControlClient;
use super::listen::{self, ControlSocket};
use super::{ApiLimits, ApiState, router};
use crate::jobs::{Jobs, JobsOptions};
use crate::sites::Sites;
use crate::store::{AsyncStore, BackupType, NewBackup, SqliteStore, Store};

/// A served API over a store holding `backups` complete backups, one a day from 2025-01-01
/// (ids 1.., the highest newest); alternately manual and scheduled.
struct Fixture {
    _dir: tempfile::TempDir,
    client: ControlClient,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<()>,
}

impl Fixture {
    async fn new(backups: i64) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("s.db")).expect("store");
        for i in 0..backups {
            let day = datetime!(2025-01-01 12:00 UTC) + time::Duration::days(i);
            let id = store
                .begin_backup(&NewBackup {
                    site: "s1".into(),
                    schema_key: if i % 3 == 0 { "HR" } else { "ITSM" }.into(),
                    schema_id: "1".into(),
                    backup_type: if i % 2 == 0 {
                        BackupType::Manual
                    } else {
                        BackupType::Scheduled
                    },
                    description: format!("backup {i}"),
                    started_at: day,
                })
                .expect("begin");
            store.complete_backup(id, day).expect("complete");
        }
        let store = AsyncStore::new(Arc::new(store));
        let stop = CancellationToken::new();
        let sites = Arc::new(Sites::default());
        let jobs = Jobs::new(
            store.clone(),
            Arc::clone(&sites),
            stop.clone(),
            TaskTracker::new(),
            crate::clock::system(),
            JobsOptions::default(),
        );
        let queue: Arc<dyn crate::schedules::BackupQueue> = jobs.clone();
        let schedules = crate::schedules::Scheduler::new(
            store.clone(),
            crate::clock::system(),
            queue,
            Vec::new(),
        );
        let app = router(ApiState {
            store,
            sites,
            jobs,
            schedules,
            clock: crate::clock::system(),
            limits: ApiLimits::default(),
        });
        let path = dir.path().join("api.sock");
        let mut socket = ControlSocket::bind(&path).await.expect("bind");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("socket").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "socket mode");
        let server = tokio::spawn({
            let stop = stop.clone();
            async move {
                listen::serve(app, &mut socket, None, stop)
                    .await
                    .expect("serve");
            }
        });
        Fixture {
            client: ControlClient::new(path),
            _dir: dir,
            stop,
            server,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, raw) = self
            .client
            .send_raw(Method::GET, path, None)
            .await
            .expect("http");
        (status, serde_json::from_slice(&raw).expect("json body"))
    }

    async fn ids(&self, path: &str) -> Vec<i64> {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|b| b["id"].as_i64())
            .collect()
    }

    async fn shutdown(self) {
        self.stop.cancel();
        self.server.await.expect("server task");
    }
}

#[tokio::test]
async fn without_dates_only_the_newest_50_are_listed_20_a_page() {
    let f = Fixture::new(55).await;
    let (_, page1) = f.get("/v1/backups").await;
    assert_eq!(page1["total"], 50);
    assert_eq!(page1["matching"], 55);
    assert_eq!(page1["pages"], 3);
    assert_eq!(page1["per_page"], 20);
    assert_eq!(
        f.ids("/v1/backups").await,
        (36..=55).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        f.ids("/v1/backups?page=3").await,
        (6..=15).rev().collect::<Vec<_>>(),
        "the third page stops at the 50th newest"
    );
    assert!(f.ids("/v1/backups?page=4").await.is_empty());
    assert!(f.ids("/v1/backups?page=99999999999").await.is_empty());

    // A date range reaches beyond the newest 50.
    let (_, ranged) = f.get("/v1/backups?from=2025-01-01&page=3").await;
    assert_eq!(ranged["total"], 55);
    assert_eq!(ranged["items"].as_array().map(Vec::len), Some(15));
    // `to` as a bare date includes that day: Jan 1..=Jan 3 are ids 1..=3.
    assert_eq!(
        f.ids("/v1/backups?from=2025-01-01&to=2025-01-03").await,
        [3, 2, 1]
    );
    assert_eq!(
        f.ids("/v1/backups?from=2025-01-02T00:00:00Z&to=2025-01-03T00:00:00Z")
            .await,
        [2]
    );
    // Filters combine; empty values mean "no filter".
    let (_, hr) = f
        .get("/v1/backups?schema=HR&type=manual&site=&from=2025-01-01")
        .await;
    assert!(
        hr["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|b| { b["schema_key"] == "HR" && b["type"] == "manual" && b["site"] == "s1" })
    );
    assert_eq!(hr["total"], 10, "i % 6 == 0 for i in 0..55");
    f.shutdown().await;
}

#[tokio::test]
async fn errors_use_the_json_format_with_stable_codes() {
    let f = Fixture::new(1).await;
    for (path, status, code) in [
        ("/v1/backups?from=yesterday", 400, "invalid_date"),
        ("/v1/backups?page=-1", 400, "invalid_query"),
        ("/v1/backups/1x", 400, "invalid_id"),
        ("/v1/backups/2", 404, "backup_not_found"),
        ("/v1/sites/x/schemas", 404, "site_not_found"),
        ("/nope", 404, "not_found"),
    ] {
        let (got, body) = f.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    let (status, body) = f.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = f.get("/v1/backups/1").await;
    assert_eq!(status, 200);
    assert_eq!(body["entries"]["object"], 0);
    assert!(body["started_at"].as_str().is_some_and(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok()
    }));
    let (status, _, raw) = f
        .client
        .send_raw(Method::POST, "/v1/backups", Some("{\"site\":".into()))
        .await
        .expect("http");
    let body: Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let (status, _, raw) = f
        .client
        .send_raw(
            Method::POST,
            "/v1/backups",
            Some(r#"{"site": "x", "schema": "K", "type": "daily"}"#.into()),
        )
        .await
        .expect("http");
    let body: Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["fields"]["site"].is_string(), "{body}");
    assert!(body["error"]["fields"]["type"].is_string(), "{body}");
    f.shutdown().await;
}

#[tokio::test]
async fn a_live_socket_is_refused_and_a_stale_one_is_replaced() {
    let f = Fixture::new(0).await;
    let path = f.client.socket().to_path_buf();
    assert!(matches!(
        ControlSocket::bind(&path).await,
        Err(listen::ListenError::InUse { .. })
    ));
    f.shutdown().await;
    assert!(!path.exists(), "the socket is removed on shutdown");

    // A socket file nobody listens on (a crashed daemon's) is replaced.
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).expect("bind"));
    assert!(stale.exists());
    let socket = ControlSocket::bind(&stale).await.expect("rebinds");
    drop(socket);
    assert!(!stale.exists());

    // Anything else in the way is left alone.
    let file = dir.path().join("file.sock");
    std::fs::write(&file, "not a socket").expect("write");
    assert!(matches!(
        ControlSocket::bind(&file).await,
        Err(listen::ListenError::NotASocket { .. })
    ));
    assert!(file.exists());
}
