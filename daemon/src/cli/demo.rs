//! `assetark demo`: the whole product in one command with no setup. It starts the Assets
//! simulator in-process with a generated CMDB, runs a real daemon against it (store and
//! control socket in a temporary directory), and then drives that daemon through the same
//! control API the CLI uses: sync schemas, back up the largest schema, verify it, and back it
//! up again to show that unchanged objects cost no storage. Everything is removed at the end.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::args::DemoArgs;
use super::output::{print_json, schemas};
use super::util::Failure;
use super::wait::wait_for_job;
use crate::api::client::ControlClient;
use crate::config::{Config, Sources};

/// The simulated site enforces the documented per-minute limits times this, and the daemon's
/// governor is told the same, so the demo shows rate-limited work finishing in seconds.
const RATE_SCALE: u32 = 10;

/// `[sites.limits]` with the documented limits times [`RATE_SCALE`].
fn scaled_limits() -> String {
    let d = crate::assets::Limits::default();
    format!(
        "[sites.limits]\naql_legacy_per_minute = {}\naql_per_minute = {}\n\
         object_per_minute = {}\nother_per_minute = {}\njira_per_minute = {}\n",
        d.aql_legacy_per_minute * RATE_SCALE,
        d.aql_per_minute * RATE_SCALE,
        d.object_per_minute * RATE_SCALE,
        d.other_per_minute * RATE_SCALE,
        d.jira_per_minute * RATE_SCALE,
    )
}

/// How long the demo waits for its daemon to accept connections.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30);

fn fail(what: &str) -> impl FnOnce(String) -> Failure + '_ {
    move |e| Failure::error(format!("demo: {what}: {e}"))
}

/// Runs the demo and prints a summary.
pub(super) async fn run(args: &DemoArgs, json: bool) -> Result<(), Failure> {
    let dir = tempfile::tempdir().map_err(|e| fail("cannot create a temp dir")(e.to_string()))?;
    let sim_toml = format!(
        "admin_api = false\n[rate_limits]\nenabled = true\nscale = {RATE_SCALE}.0\n\
         [[sites]]\nname = \"demo\"\nemail = \"admin@demo.example\"\ntoken = \"demo-token\"\n\
         [sites.dataset]\nkind = \"cmdb\"\nobjects = {}\nseed = 1\n",
        args.objects
    );
    let sim_cfg = assets_sim::config::SimConfig::from_toml(&sim_toml)
        .map_err(|e| fail("simulator config")(format!("{e:#}")))?;
    let sim = assets_sim::server::start(sim_cfg)
        .await
        .map_err(|e| fail("cannot start the simulator")(format!("{e:#}")))?;
    let site = sim
        .site("demo")
        .cloned()
        .ok_or_else(|| Failure::error("demo: the simulator has no demo site"))?;
    if !json {
        println!(
            "assetark demo: simulated Assets site \"demo\" at {} ({} objects, rate limits x{RATE_SCALE})",
            sim.url(),
            args.objects
        );
    }

    let socket = dir.path().join("assetark.sock");
    let config_text = format!(
        "[store]\npath = \"assetark.db\"\n[control]\nsocket = \"assetark.sock\"\n\
         [[sites]]\nname = \"demo\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
         token = \"{}\"\n{}",
        site.api_url,
        site.site_url,
        site.email,
        site.token,
        scaled_limits()
    );
    let config = Config::parse(
        &config_text,
        &dir.path().join("assetark.toml"),
        &Sources::process(),
    )
    .map_err(|e| fail("daemon config")(crate::error::error_chain(&e)))?;
    let stop = CancellationToken::new();
    let daemon = tokio::spawn(crate::daemon::serve(config, stop.clone()));

    let client = ControlClient::new(&socket);
    let outcome = drive(&client, json).await;

    stop.cancel();
    match daemon.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!(
            "demo: the daemon stopped with an error: {}",
            crate::error::error_chain(&e)
        ),
        Err(e) => eprintln!("demo: the daemon task failed: {e}"),
    }
    sim.shutdown().await;
    outcome
}

/// The demo's conversation with its daemon.
async fn drive(client: &ControlClient, json: bool) -> Result<(), Failure> {
    let deadline = Instant::now() + STARTUP_DEADLINE;
    while client.get("/healthz").await.is_err() {
        if Instant::now() > deadline {
            return Err(Failure::error("demo: the daemon did not start in time"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let synced = client.post("/v1/sites/demo/schemas/sync", None).await?.body;
    let schema = synced["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .max_by_key(|s| s["object_count"].as_u64().unwrap_or(0))
        })
        .and_then(|s| s["key"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| Failure::error("demo: the simulated site has no schema"))?;
    if !json {
        println!("\nschemas on site demo:\n{}", schemas(&synced).trim_end());
        println!("\nbacking up schema {schema} ...");
    }

    let first = backup(client, &schema, "demo: first backup").await?;
    let verify = client
        .post(&format!("/v1/backups/{}/verify", first.id), None)
        .await?
        .body;
    let verify = match verify["job_id"].as_i64() {
        Some(job) => wait_for_job(client, job).await?["result"].clone(),
        None => return Err(Failure::error("demo: no verify job id")),
    };
    let second = backup(client, &schema, "demo: nothing changed").await?;

    if json {
        print_json(&json!({
            "schema": schema,
            "backups": [first.body, second.body],
            "verify": verify,
        }));
        return Ok(());
    }
    println!(
        "backup {} complete: {} objects in {:.1}s, {} bytes stored",
        first.id, first.objects, first.secs, first.bytes_added
    );
    println!(
        "verify: {}",
        if verify["ok"] == json!(true) {
            "every blob re-hashed and intact"
        } else {
            "CORRUPT"
        }
    );
    println!(
        "backup {} complete: {} objects in {:.1}s, {} new bytes (unchanged objects are stored once)",
        second.id, second.objects, second.secs, second.bytes_added
    );
    println!("\nEverything ran in a temporary directory that is now removed.");
    Ok(())
}

/// What the demo reports about one backup.
struct Done {
    id: i64,
    objects: u64,
    bytes_added: u64,
    secs: f64,
    body: Value,
}

async fn backup(client: &ControlClient, schema: &str, description: &str) -> Result<Done, Failure> {
    let started = Instant::now();
    let body = json!({ "site": "demo", "schema": schema, "description": description });
    let job = client.post("/v1/backups", Some(&body)).await?.body;
    let job_id = job["job_id"]
        .as_i64()
        .ok_or_else(|| Failure::error("demo: no job id"))?;
    let job = wait_for_job(client, job_id).await?;
    let b = &job["result"]["backup"];
    if job["status"] != json!("done") {
        return Err(Failure::error(format!(
            "demo: backup failed: {}",
            job["error"].as_str().unwrap_or("unknown error")
        )));
    }
    Ok(Done {
        id: b["id"].as_i64().unwrap_or(0),
        objects: b["object_count"].as_u64().unwrap_or(0),
        bytes_added: b["bytes_added"].as_u64().unwrap_or(0),
        secs: started.elapsed().as_secs_f64(),
        body: b.clone(),
    })
}
