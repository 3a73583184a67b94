//! Issue #12: the attachments plugin (`plugins/attachments`, WASM, `after_object_restored`,
//! granted the `attachments` capability) on restores the daemon runs of a Data Center backup
//! (`d1`: a CMDB whose objects have attachments):
//!
//! - to the Cloud site `c1`, whose Assets API offers no attachments: the restore completes and
//!   every restored object that has attachments on the source gets the plugin's plain note
//!   that the target offers none (listing them on the source went through the capability);
//! - to the Data Center site `d2`: every file arrives on the restored objects with the same
//!   bytes, and each object's note counts the files it carried;
//! - the same config without the grant is refused at load, naming the module and the
//!   capability.

use std::collections::{BTreeMap, BTreeSet};

use assetark::api::wire::StartRestoreRequest;
use assetark::config::{Config, Sources};
use assetark::model::sha256_hex;
use assetark_tests::kit::{self, DcApi, InProcessDaemon, dc_all_ids};
use assets_sim::server::SimHandle;
use serde_json::Value;

use super::plugins::{ended, log, messages};

/// `d1`: Data Center, a CMDB with attachments; `c1`: Cloud, empty.
fn sim_config() -> String {
    "admin_api = true\n[rate_limits]\nenabled = false\n\
     [[sites]]\nname = \"d1\"\nflavor = \"dc\"\nemail = \"admin@d1.example\"\ntoken = \"pat-d1\"\n\
     [sites.dataset]\nkind = \"cmdb\"\nobjects = 60\nseed = 5\n\
     [[sites]]\nname = \"c1\"\nemail = \"admin@c1.example\"\ntoken = \"tok-c1\"\n\
     [sites.dataset]\nkind = \"empty\"\n\
     [[sites]]\nname = \"d2\"\nflavor = \"dc\"\nemail = \"admin@d2.example\"\ntoken = \"pat-d2\"\n\
     [sites.dataset]\nkind = \"empty\"\n"
        .to_owned()
}

/// The daemon's config: both sites, the attachments hook (`grant`: with the capability) and
/// text-to-textarea (the Data Center's long texts would fail on Cloud otherwise).
fn daemon_config(sim: &SimHandle, dir: &std::path::Path, grant: bool) -> String {
    let d1 = sim.dc_site("d1").expect("d1");
    let d2 = sim.dc_site("d2").expect("d2");
    let c1 = sim.site("c1").expect("c1");
    let plugin = kit::plugin_wasm("attachments");
    format!(
        "[store]\npath = \"{}\"\n[control]\nsocket = \"{}\"\n\
         [[sites]]\nname = \"d1\"\nflavor = \"dc\"\nbase_url = \"{}\"\ntoken = \"{}\"\n\
         [[sites]]\nname = \"d2\"\nflavor = \"dc\"\nbase_url = \"{}\"\ntoken = \"{}\"\n\
         [[sites]]\nname = \"c1\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
         token = \"{}\"\n[sites.limits]\nobject_per_minute = 1000000\naql_per_minute = 1000000\n\
         other_per_minute = 1000000\njira_per_minute = 1000000\n\
         [jobs]\nmax_retries = 0\n\
         [[hooks]]\nname = \"attachments\"\npoint = \"after_object_restored\"\nkind = \"wasm\"\n\
         path = \"{}\"\non_error = \"fail\"\ncapabilities = [{}]\n\
         [[hooks]]\nname = \"t2t\"\npoint = \"transform_attribute\"\nkind = \"wasm\"\n\
         path = \"{}\"\n",
        dir.join("store.db").display(),
        dir.join("ctl.sock").display(),
        d1.base_url,
        d1.token,
        d2.base_url,
        d2.token,
        c1.api_url,
        c1.site_url,
        c1.email,
        c1.token,
        plugin.display(),
        if grant { "\"attachments\"" } else { "" },
        kit::plugin_wasm("text_to_textarea").display()
    )
}

/// Backs up schema ITSM of `d1` through the daemon; returns the backup's id.
async fn backup(d: &InProcessDaemon) -> i64 {
    let body = serde_json::json!({"site": "d1", "schema": "ITSM"});
    let started = d.client().post("/v1/backups", &body).await.expect("backup");
    let job = started.body["job_id"].as_u64().expect("job id");
    let done = kit::wait_for("the backup job to end", || async {
        let j = d.client().get(&format!("/v1/jobs/{job}")).await.ok()?.body;
        matches!(j["status"].as_str(), Some("done" | "failed" | "cancelled")).then_some(j)
    })
    .await;
    assert_eq!(done["status"], "done", "{done}");
    done["result"]["backup"]["id"].as_i64().expect("backup id")
}

/// `(filename, SHA-256 of the bytes)` of each attachment of a list, downloaded with `token`.
async fn files(listed: &Value, token: &str) -> Vec<(String, String)> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for a in listed.as_array().into_iter().flatten() {
        let url = a["url"].as_str().expect("url");
        let r = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("download");
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let bytes = r.bytes().await.expect("bytes");
        let name = a["filename"].as_str().unwrap_or_default().to_owned();
        out.push((name, sha256_hex(&bytes)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_not_offered_by_cloud_and_carried_to_data_center() {
    let sim = kit::start_sim(&sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let text = daemon_config(&sim, dir.path(), true);
    let path = dir.path().join("assetark.toml");
    let cfg = Config::parse(&text, &path, &Sources::process()).expect("valid config");
    let d = InProcessDaemon::start(cfg).await;
    let backup_id = backup(&d).await;

    // The source's own API: which objects have attachments (by key), and their bytes.
    let d1 = DcApi::for_site(&sim, "d1");
    let d1_token = sim.dc_site("d1").expect("d1").token.clone();
    let list = d1.get("/objectschema/list").await.expect(200);
    let itsm = list["objectschemas"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["objectSchemaKey"] == "ITSM").cloned())
        .expect("ITSM");
    let ids = dc_all_ids(&d1, &format!("objectSchemaId = {}", itsm["id"]), 50).await;
    let mut with_files = BTreeSet::new();
    let mut source_files = Vec::new();
    let mut per_key = BTreeMap::new();
    for &o in &ids {
        let listed = d1
            .get(&format!("/attachments/object/{o}"))
            .await
            .expect(200);
        let files = files(&listed, &d1_token).await;
        if !files.is_empty() {
            let obj = d1.get(&format!("/object/{o}")).await.expect(200);
            let key = obj["objectKey"].as_str().expect("key").to_owned();
            per_key.insert(key.clone(), files.len());
            with_files.insert(key);
            source_files.extend(files);
        }
    }
    assert!(!with_files.is_empty(), "the dataset has attachments");

    let request = StartRestoreRequest {
        backup_id,
        to: "new-schema".into(),
        name: "Migrated".into(),
        key: "MIG".into(),
        site: Some("c1".into()),
        dry_run: false,
        schema: None,
        duplicates: false,
        hooks: vec![],
        no_hooks: vec![],
        history: false,
        with_icons: false,
        ..Default::default()
    };
    let started = d
        .client()
        .post("/v1/restores", &request)
        .await
        .expect("start");
    let id = started.body["restore_id"].as_u64().expect("restore id");
    let row = ended(&d, id).await;
    assert_eq!(row["status"], "completed", "{row}");
    let entries = log(&d, id).await;
    let texts = messages(&entries);
    let noted: BTreeSet<String> = texts
        .iter()
        .filter(|m| m.starts_with("Hook attachments at after_object_restored on "))
        .filter(|m| m.contains("the target site 'c1' offers no attachments"))
        .filter_map(|m| {
            m.strip_prefix("Hook attachments at after_object_restored on ")?
                .split(':')
                .next()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        noted, with_files,
        "one plain note per object with attachments"
    );
    let failures: Vec<&Value> = entries
        .iter()
        .filter(|e| e["Result"] == false || e["Level"] == "error")
        .collect();
    assert!(failures.is_empty(), "{failures:?}");

    // To the Data Center site d2: every file carried, bytes equal, one note per object.
    let request = StartRestoreRequest {
        site: Some("d2".into()),
        ..request
    };
    let started = d
        .client()
        .post("/v1/restores", &request)
        .await
        .expect("start");
    let id = started.body["restore_id"].as_u64().expect("restore id");
    let row = ended(&d, id).await;
    assert_eq!(row["status"], "completed", "{row}");
    let texts = messages(&log(&d, id).await);
    for (key, n) in &per_key {
        let note = format!("{key}: {n} attachment(s) carried");
        assert!(texts.iter().any(|m| m.contains(&note)), "{note}");
    }
    let d2 = DcApi::for_site(&sim, "d2");
    let list = d2.get("/objectschema/list").await.expect(200);
    let mig = list["objectschemas"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["objectSchemaKey"] == "MIG").cloned())
        .expect("MIG on d2");
    let mut target_files = Vec::new();
    let d2_token = sim.dc_site("d2").expect("d2").token.clone();
    for o in dc_all_ids(&d2, &format!("objectSchemaId = {}", mig["id"]), 50).await {
        let listed = d2
            .get(&format!("/attachments/object/{o}"))
            .await
            .expect(200);
        target_files.extend(files(&listed, &d2_token).await);
    }
    source_files.sort();
    target_files.sort();
    assert_eq!(target_files, source_files, "every file, bytes equal");
    d.stop().await;

    // Without the grant, the module is refused when the config loads.
    let text = daemon_config(&sim, dir.path(), false);
    let e = Config::parse(&text, &path, &Sources::process())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("attachments.wasm") && e.contains("\"attachments\""),
        "{e}"
    );
    sim.shutdown().await;
}
