//! `assetark demo`: the whole product in one command with no setup. It starts the Assets
//! simulator in-process with a generated CMDB, runs a real daemon against it (store and
//! control socket in a temporary directory), and then drives that daemon through the same
//! control API the CLI uses: sync schemas, back up the largest schema, verify it, and back it
//! up again to show that unchanged objects cost no storage. Everything is removed at the end.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::args::DemoArgs;
use super::output::{print_json, schemas};
use super::util::Failure;
use super::wait::wait_for_job;
use crate::api::client::{ControlClient, Reply};
use crate::api::wire::{
    Backup, JobOutcome, JobStarted, JobStatus, SchemaList, StartBackupRequest, VerifyReport,
};
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

    let synced: SchemaList = client
        .post_empty("/v1/sites/demo/schemas/sync")
        .await?
        .parse()?;
    let schema = synced
        .items
        .iter()
        .max_by_key(|s| s.object_count)
        .map(|s| s.key.clone())
        .ok_or_else(|| Failure::error("demo: the simulated site has no schema"))?;
    if !json {
        println!("\nschemas on site demo:\n{}", schemas(&synced).trim_end());
        println!("\nbacking up schema {schema} ...");
    }

    let first = backup(client, &schema, "demo: first backup").await?;
    let verify = verify(client, first.backup.id).await?;
    let second = backup(client, &schema, "demo: nothing changed").await?;

    if json {
        print_json(&Summary {
            schema,
            backups: vec![first.backup, second.backup],
            verify,
        });
        return Ok(());
    }
    println!(
        "backup {} complete: {} objects in {:.1}s, {} bytes stored",
        first.backup.id, first.backup.object_count, first.secs, first.backup.bytes_added
    );
    println!(
        "verify: {}",
        if verify.ok {
            "every blob re-hashed and intact"
        } else {
            "CORRUPT"
        }
    );
    println!(
        "backup {} complete: {} objects in {:.1}s, {} new bytes (unchanged objects are stored once)",
        second.backup.id, second.backup.object_count, second.secs, second.backup.bytes_added
    );
    println!("\nEverything ran in a temporary directory that is now removed.");
    Ok(())
}

/// What `demo --json` prints.
#[derive(Serialize)]
struct Summary {
    schema: String,
    backups: Vec<Backup>,
    verify: VerifyReport,
}

/// What the demo reports about one backup.
struct Done {
    backup: Backup,
    secs: f64,
}

/// Runs a job and returns its outcome, or a failure with the job's error.
async fn run_job(
    client: &ControlClient,
    started: &Reply,
    what: &str,
) -> Result<JobOutcome, Failure> {
    let job_id = started.parse::<JobStarted>()?.job_id;
    let job = wait_for_job(client, job_id).await?.view;
    match (job.status, job.result) {
        (JobStatus::Done, Some(outcome)) => Ok(outcome),
        _ => Err(Failure::error(format!(
            "demo: {what} failed: {}",
            job.error.as_deref().unwrap_or("unknown error")
        ))),
    }
}

async fn backup(client: &ControlClient, schema: &str, description: &str) -> Result<Done, Failure> {
    let started = Instant::now();
    let request = StartBackupRequest {
        site: "demo".to_owned(),
        schema: schema.to_owned(),
        description: Some(description.to_owned()),
        backup_type: None,
    };
    let reply = client.post("/v1/backups", &request).await?;
    match run_job(client, &reply, "backup").await? {
        JobOutcome::Backup(b) => Ok(Done {
            backup: b.backup,
            secs: started.elapsed().as_secs_f64(),
        }),
        other => Err(Failure::error(format!(
            "demo: the backup job produced {other:?}"
        ))),
    }
}

async fn verify(client: &ControlClient, id: i64) -> Result<VerifyReport, Failure> {
    let reply = client
        .post_empty(&format!("/v1/backups/{id}/verify"))
        .await?;
    match run_job(client, &reply, "verify").await? {
        JobOutcome::Verify(report) => Ok(report),
        other => Err(Failure::error(format!(
            "demo: the verify job produced {other:?}"
        ))),
    }
}
