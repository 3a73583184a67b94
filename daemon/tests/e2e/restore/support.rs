//! Support of the restore tests: the two-site simulator config, backup and restore helpers
//! over the kit's client and store; the independent reader (`Raw`, `Snapshot`,
//! `assert_restored`) is the kit's.

use std::sync::{Arc, Mutex};

use assetark::assets::AssetsClient;
use assetark::backup::{self, BackupRequest, Progress};
use assetark::restore::{
    self, Destination, RestoreEvent, RestoreOutcome, RestorePlan, RestoreRequest,
};
use assetark::store::{AsyncStore, BackupId, BackupType, LogEntry, RestoreId};
use assetark_tests::kit;
use assets_sim::server::SimHandle;
use chrono::DateTime;
use chrono_tz::Europe::Berlin;
use tokio_util::sync::CancellationToken;

/// The users of site `s2`: some of the standard display names, "Priya Natarajan" twice, and
/// "Chen Wei" outside `it-operations` (so the target refuses him where that group is
/// required).
const S2_USERS: &str = r#"
[[sites.users]]
display_name = "Priya Natarajan"
email = "priya@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Priya Natarajan"
email = "priya.n@s2.example"
groups = ["hr"]
[[sites.users]]
display_name = "Jordan Lee"
email = "jordan@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Sam Okafor"
email = "sam@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Chen Wei"
email = "chen@s2.example"
groups = ["finance"]
[[sites.users]]
display_name = "Lukas Becker"
email = "lukas@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Kenji Tanaka"
email = "kenji@s2.example"
groups = ["it-operations"]
[[sites.users]]
display_name = "Mia Krystof"
email = "mia@s2.example"
[[sites.users]]
display_name = "Sofia Rossi"
email = "sofia@s2.example"
groups = ["finance"]
"#;

/// Site `s1` with a cmdb dataset (schemas ITSM and LOC, standard users) and site `s2`, empty,
/// with its own user directory. Rate limits off: the client's governor still paces.
pub fn config(objects: u32, from_data_center: bool) -> String {
    format!(
        r#"
admin_api = true
[rate_limits]
enabled = false
[[sites]]
name = "s1"
email = "admin@s1.example"
token = "tok-s1"
[sites.dataset]
kind = "cmdb"
objects = {objects}
seed = 7
from_data_center = {from_data_center}
[[sites]]
name = "s2"
email = "admin@s2.example"
token = "tok-s2"
{S2_USERS}"#
    )
}

pub async fn start(toml: &str) -> SimHandle {
    kit::start_sim(toml).await
}

/// A client of `site` with the documented limits ×10 and short backoffs.
pub fn client(sim: &SimHandle, site: &str) -> AssetsClient {
    kit::pipeline::client(sim, site, &[], 10)
}

pub use kit::pipeline::{clock, store};
pub use kit::{SiteReader as Raw, Snapshot, assert_restored, schema_id, user_rule};

/// Backs up schema `key` of the client's site.
pub async fn backup(client: &AssetsClient, store: &AsyncStore, key: &str) -> BackupId {
    let req = BackupRequest {
        site: client.site().name.clone(),
        schema_key: key.into(),
        backup_type: BackupType::Manual,
        description: None,
    };
    backup::run(
        client,
        store,
        &req,
        &|_: Progress| {},
        CancellationToken::new(),
        &clock(),
    )
    .await
    .expect("backup")
}

/// Plans a restore of `backup` into a new schema on the client's site and stores it.
pub async fn plan(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    name: &str,
    key: &str,
) -> (RestorePlan, RestoreId) {
    let req = RestoreRequest {
        backup_id: backup,
        target_site: client.site().name.clone(),
        destination: Destination::NewSchema {
            name: name.into(),
            key: key.into(),
        },
        hooks: Default::default(),
        history: false,
        with_icons: false,
        types: Vec::new(),
    };
    let plan = restore::plan(store, client, &req).await.expect("plan");
    let id = restore::create(store, &req, &plan, &clock())
        .await
        .expect("create");
    (plan, id)
}

/// Events of one execution.
pub type Events = Arc<Mutex<Vec<RestoreEvent>>>;

/// Executes a restore on a spawned task (which also proves the future is `Send`).
pub async fn execute(
    store: &AsyncStore,
    client: &AssetsClient,
    id: RestoreId,
    plan: &RestorePlan,
    cancel: CancellationToken,
) -> (Result<RestoreOutcome, restore::Error>, Events) {
    let events: Events = Arc::default();
    let (store, client, plan, ev) = (store.clone(), client.clone(), plan.clone(), events.clone());
    let r = tokio::spawn(async move {
        let sink = move |e: RestoreEvent| ev.lock().unwrap().push(e);
        restore::execute(&store, &client, id, &plan, &sink, cancel, &clock()).await
    })
    .await
    .expect("restore task");
    (r, events)
}

/// The whole log of a restore.
pub async fn full_log(store: &AsyncStore, id: RestoreId) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    loop {
        let after = out.last().map_or(0, |e| e.seq);
        let page = store.restore_log(id, after, 500).await.expect("log");
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// The history of object `id` as the source site shows it, rendered here: one line per entry,
/// `time (Europe/Berlin, zone) | actor | attribute | old -> new`.
pub async fn expected_history(raw: &Raw, id: &str) -> String {
    expected_lines(raw, id).await.join("\n")
}

/// The lines of [`expected_history`], oldest first.
pub async fn expected_lines(raw: &Raw, id: &str) -> Vec<String> {
    let entries = raw.list(&format!("/object/{id}/history?asc=true")).await;
    entries
        .iter()
        .map(|e| {
            let t = DateTime::parse_from_rfc3339(e["created"].as_str().expect("created"))
                .expect("rfc3339")
                .with_timezone(&Berlin)
                .format("%Y-%m-%d %H:%M:%S %Z");
            let actor = e["actor"]["displayName"].as_str().expect("actor");
            match e["affectedAttribute"].as_str() {
                Some(a) => format!(
                    "{t} | {actor} | {a} | {} -> {}",
                    e["oldValue"].as_str().unwrap_or(""),
                    e["newValue"].as_str().unwrap_or("")
                ),
                None => format!("{t} | {actor} | object created"),
            }
        })
        .collect()
}
