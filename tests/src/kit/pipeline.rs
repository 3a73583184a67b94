//! The library side of the kit, for tests that drive the pipelines without a daemon: a client
//! of a simulated site with short backoffs, a real SQLite store in a directory, the clock, and
//! a backup run on a spawned task.

use std::path::Path;
use std::sync::Arc;

use assetark::assets::{AssetsClient, Limits, Secret, SiteConn};
use assetark::backup::{self, BackupRequest, Progress};
use assetark::clock::SharedClock;
use assetark::store::{AsyncStore, BackupId, BackupType, SqliteStore};
use assets_sim::server::SimHandle;
use tokio_util::sync::CancellationToken;

/// A client of `site` with `tokens` (the site's own token when empty) and the documented
/// limits × `scale`; short backoffs keep fault tests fast (Retry-After is still honoured).
pub fn client(sim: &SimHandle, site: &str, tokens: &[&str], scale: u32) -> AssetsClient {
    let s = sim.site(site).expect("site");
    let d = Limits::default();
    let tokens = if tokens.is_empty() {
        vec![Secret::from(s.token.as_str())]
    } else {
        tokens.iter().map(|t| Secret::from(*t)).collect()
    };
    AssetsClient::new(SiteConn {
        name: s.name.clone(),
        api_url: s.api_url.clone(),
        site_url: s.site_url.clone(),
        email: s.email.clone(),
        tokens,
        limits: Limits {
            aql_legacy_per_minute: d.aql_legacy_per_minute * scale,
            aql_per_minute: d.aql_per_minute * scale,
            object_per_minute: d.object_per_minute * scale,
            other_per_minute: d.other_per_minute * scale,
            jira_per_minute: d.jira_per_minute * scale,
            retry_base_ms: 20,
            retry_max_ms: 500,
            max_retries: 10,
            ..d
        },
    })
    .expect("client")
}

/// A store at `dir/store.db`.
pub fn store(dir: &Path) -> AsyncStore {
    AsyncStore::new(Arc::new(
        SqliteStore::open(dir.join("store.db")).expect("store"),
    ))
}

/// The clock the pipelines take.
pub fn clock() -> SharedClock {
    assetark::clock::system()
}

/// A manual backup request of schema `key` of `site`.
pub fn backup_request(site: &str, key: &str) -> BackupRequest {
    BackupRequest {
        site: site.into(),
        schema_key: key.into(),
        backup_type: BackupType::Manual,
        description: Some("e2e".into()),
    }
}

/// Runs a backup of schema `key` of the client's site on a spawned task (which also proves
/// the future is `Send`).
pub async fn backup(
    client: &AssetsClient,
    store: &AsyncStore,
    key: &str,
) -> Result<BackupId, backup::Error> {
    let req = backup_request(&client.site().name, key);
    let (client, store) = (client.clone(), store.clone());
    tokio::spawn(async move {
        backup::run(
            &client,
            &store,
            &req,
            &|_: Progress| {},
            CancellationToken::new(),
            &clock(),
        )
        .await
    })
    .await
    .expect("backup task")
}
