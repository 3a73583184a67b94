//! `assetark demo`: the whole product in one command with no setup. It starts the Assets
//! simulator in-process with two sites (`demo` with a generated CMDB, `demo2` empty), runs a
//! real daemon against them (store, key and control socket in a temporary directory, a
//! schedule in its config), and drives that daemon through the same control API the CLI
//! uses: sync the schemas, back up the largest, verify it, restore it into a new schema on
//! the same site, migrate it to the second site, run a post-restore task on the migration
//! (`object-type-ids`), fire the schedule once (a scheduled backup,
//! whose retention runs after it), and print a summary with counts, timings and the commands
//! to explore further. Everything is removed at the end, unless `--keep DIR`, which keeps the
//! store, the config and a simulator config that brings the same sites back.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::args::DemoArgs;
use super::output::{print_json, schemas};
use super::util::{Failure, absolute};
use super::wait::wait_for_job;
use crate::api::client::{ControlClient, Reply};
use crate::api::wire::{
    Backup, JobOutcome, JobStarted, JobStatus, RestoreStarted, SchemaList, StartBackupRequest,
    StartRestoreRequest, VerifyReport,
};
use crate::config::{Config, Sources};
use crate::daemon::{Ready, ServeOptions};

/// The simulated sites enforce the documented per-minute limits times this, and the daemon's
/// governor is told the same, so the demo shows rate-limited work finishing in seconds.
const RATE_SCALE: u32 = 10;
/// The source site and the migration target.
const SOURCE: &str = "demo";
const TARGET: &str = "demo2";
/// The schedule of the demo's config: 02:00 every day, fired once by hand.
const SCHEDULE_CRON: &str = "0 0 2 * * *";

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

fn fail(what: &str) -> impl FnOnce(String) -> Failure + '_ {
    move |e| Failure::error(format!("demo: {what}: {e}"))
}

/// Where the demo's files live: a temporary directory, or `--keep DIR`.
enum Workdir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Workdir {
    fn path(&self) -> &Path {
        match self {
            Workdir::Temp(t) => t.path(),
            Workdir::Kept(p) => p,
        }
    }
}

/// Runs the demo and prints a summary.
pub(super) async fn run(args: &DemoArgs, json: bool) -> Result<(), Failure> {
    let t0 = Instant::now();
    let dir = match &args.keep {
        Some(d) => {
            let d = absolute(d)?;
            std::fs::create_dir_all(&d)
                .map_err(|e| fail("cannot create --keep DIR")(e.to_string()))?;
            Workdir::Kept(d)
        }
        None => Workdir::Temp(
            tempfile::tempdir().map_err(|e| fail("cannot create a temp dir")(e.to_string()))?,
        ),
    };
    let sim_toml = format!(
        "admin_api = false\n[rate_limits]\nenabled = true\nscale = {RATE_SCALE}.0\n\
         [[sites]]\nname = \"{SOURCE}\"\nemail = \"admin@demo.example\"\ntoken = \"demo-token\"\n\
         [sites.dataset]\nkind = \"cmdb\"\nobjects = {}\nseed = 1\n\
         [[sites]]\nname = \"{TARGET}\"\nemail = \"admin@demo2.example\"\ntoken = \"demo2-token\"\n\
         [sites.dataset]\nkind = \"empty\"\n",
        args.objects
    );
    let sim_cfg = assets_sim::config::SimConfig::from_toml(&sim_toml)
        .map_err(|e| fail("simulator config")(format!("{e:#}")))?;
    let sim = assets_sim::server::start(sim_cfg)
        .await
        .map_err(|e| fail("cannot start the simulator")(format!("{e:#}")))?;
    let (Some(source), Some(target)) = (sim.site(SOURCE).cloned(), sim.site(TARGET).cloned())
    else {
        return Err(Failure::error("demo: the simulator lacks its sites"));
    };
    if !json {
        println!(
            "assetark demo: simulated Assets sites \"{SOURCE}\" ({} objects) and \"{TARGET}\" (empty) at {}, rate limits x{RATE_SCALE}",
            args.objects,
            sim.url()
        );
    }

    let site_table = |name: &str, s: &assets_sim::server::SiteInfo| {
        format!(
            "[[sites]]\nname = \"{name}\"\napi_url = \"{}\"\nsite_url = \"{}\"\nemail = \"{}\"\n\
             token = \"{}\"\n{}",
            s.api_url,
            s.site_url,
            s.email,
            s.token,
            scaled_limits()
        )
    };
    // The schema is known after the sync; the cmdb dataset's largest schema is ITSM.
    let config_text = format!(
        "# Written by `assetark demo`: the demo's store and its simulated sites.\n\
         [store]\npath = \"assetark.db\"\n[control]\nsocket = \"assetark.sock\"\n{}{}\
         [[schedules]]\nsite = \"{SOURCE}\"\nschema = \"ITSM\"\ncron = \"{SCHEDULE_CRON}\"\n\
         keep_last = 3\nkeep_daily = 7\n",
        site_table(SOURCE, &source),
        site_table(TARGET, &target),
    );
    let config_path = dir.path().join("assetark.toml");
    if args.keep.is_some() {
        std::fs::write(&config_path, &config_text)
            .map_err(|e| fail("cannot write the config")(e.to_string()))?;
        let port = sim.url().rsplit(':').next().unwrap_or("0").to_owned();
        std::fs::write(
            dir.path().join("sim.toml"),
            format!("listen = \"127.0.0.1:{port}\"\n{sim_toml}"),
        )
        .map_err(|e| fail("cannot write the simulator config")(e.to_string()))?;
    }
    let config = Config::parse(&config_text, &config_path, &Sources::process())
        .map_err(|e| fail("daemon config")(crate::error::error_chain(&e)))?;
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let options = ServeOptions {
        ready: Some(tx),
        ..ServeOptions::default()
    };
    let daemon = tokio::spawn(crate::daemon::serve_with(config, stop.clone(), options));
    let outcome = match rx.await {
        Ok(ready) => drive(&ready, args, json, t0, dir.path(), &target).await,
        Err(_) => Err(Failure::error("demo: the daemon did not start")),
    };

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

/// One step: what, and how long it took.
#[derive(Serialize)]
struct Step {
    step: &'static str,
    seconds: f64,
    detail: String,
}

/// What `demo --json` prints.
#[derive(Serialize)]
struct Summary {
    schema: String,
    objects: u64,
    backups: Vec<Backup>,
    verify: VerifyReport,
    restored_objects: u64,
    migrated_objects: u64,
    history_migrated: bool,
    /// Objects on the second site whose `OBJECT_HISTORY` holds their history, read back
    /// through that site's Assets API.
    objects_with_history: u64,
    post_restore_task: String,
    steps: Vec<Step>,
    total_seconds: f64,
    kept: Option<PathBuf>,
}

/// The demo's conversation with its daemon.
async fn drive(
    ready: &Ready,
    args: &DemoArgs,
    json: bool,
    t0: Instant,
    dir: &Path,
    target: &assets_sim::server::SiteInfo,
) -> Result<(), Failure> {
    let client = ControlClient::new(&ready.socket);
    let mut steps = Vec::new();
    let mut step = |name: &'static str, started: Instant, detail: String| {
        let s = Step {
            step: name,
            seconds: started.elapsed().as_secs_f64(),
            detail,
        };
        if !json {
            println!("{:<28} {:>6.1}s  {}", s.step, s.seconds, s.detail);
        }
        steps.push(s);
    };

    let t = Instant::now();
    let synced: SchemaList = client
        .post_empty(&format!("/v1/sites/{SOURCE}/schemas/sync"))
        .await?
        .parse()?;
    let schema = synced
        .items
        .iter()
        .max_by_key(|s| s.object_count)
        .map(|s| s.key.clone())
        .ok_or_else(|| Failure::error("demo: the simulated site has no schema"))?;
    if !json {
        println!(
            "\nschemas on site {SOURCE}:\n{}\n",
            schemas(&synced).trim_end()
        );
    }
    step(
        "sync schemas",
        t,
        format!("{} schema(s)", synced.items.len()),
    );

    let t = Instant::now();
    let first = backup(&client, &schema).await?;
    step(
        "back up",
        t,
        format!(
            "backup {}: {} objects, {} bytes",
            first.id, first.object_count, first.bytes_added
        ),
    );
    let t = Instant::now();
    let verify = verify(&client, first.id).await?;
    step(
        "verify",
        t,
        if verify.ok {
            "every blob re-hashed and intact".to_owned()
        } else {
            format!("CORRUPT: {} bad blob(s)", verify.bad_blobs.len())
        },
    );

    let t = Instant::now();
    let restored = restore(&client, first.id, "ITSM restored", "ITSMR", None).await?;
    step(
        "restore to a new schema",
        t,
        format!("{restored} objects into ITSMR on {SOURCE}"),
    );
    let t = Instant::now();
    let (migration, migrated) =
        restore_with_id(&client, first.id, "ITSM", "ITSM", Some(TARGET)).await?;
    let with_history = objects_with_history(target, "ITSM").await?;
    step(
        "migrate to the second site",
        t,
        format!(
            "{migrated} objects into ITSM on {TARGET} with --history: {with_history} carry \
             OBJECT_HISTORY"
        ),
    );

    let t = Instant::now();
    let task = type_ids_task(&client, migration).await?;
    step(
        "post-restore task",
        t,
        format!("object-type-ids on restore {migration}: {task}"),
    );

    let t = Instant::now();
    let reply = client
        .post_empty(&format!("/v1/schedules/{SOURCE}/{schema}/run"))
        .await?;
    let scheduled = match run_job(&client, &reply, "the scheduled backup").await? {
        JobOutcome::Backup(b) => b.backup,
        other => {
            return Err(Failure::error(format!(
                "demo: the schedule produced {other:?}"
            )));
        }
    };
    step(
        "fire the schedule once",
        t,
        format!(
            "scheduled backup {}: {} new bytes (unchanged objects are stored once)",
            scheduled.id, scheduled.bytes_added
        ),
    );
    let total = t0.elapsed().as_secs_f64();

    let kept = args.keep.as_ref().map(|_| dir.to_path_buf());
    if json {
        print_json(&Summary {
            schema,
            objects: first.object_count,
            backups: vec![first, scheduled],
            verify,
            restored_objects: restored,
            migrated_objects: migrated,
            history_migrated: true,
            objects_with_history: with_history,
            post_restore_task: task,
            steps,
            total_seconds: total,
            kept,
        });
        return Ok(());
    }
    println!(
        "\nDone in {total:.1}s: 1 schema of {} objects backed up twice, restored once and migrated once.",
        first.object_count
    );
    println!(
        "The migration carried each object's history (OBJECT_HISTORY, times in Europe/Berlin): \
         {with_history} of {migrated} objects."
    );
    match kept {
        None => {
            println!("Everything ran in a temporary directory that is now removed.");
            println!("\nKeep it to explore: assetark demo --keep DIR");
        }
        Some(d) => {
            let c = d.join("assetark.toml");
            println!(
                "\nKept in {}: the store, assetark.toml, sim.toml.",
                d.display()
            );
            println!(
                "Bring the simulated sites back (same address; the CMDB is regenerated, restores are not):"
            );
            println!("  assets-sim --config {}", d.join("sim.toml").display());
            println!("Start the daemon on the kept store:");
            println!("  assetark serve --config {}", c.display());
            println!("Then explore:");
            for cmd in [
                "backups list",
                "backups show 1",
                "schedules list",
                "backups prune --dry-run",
                "restores list",
                "restores log 1 --full",
                "backup run --site demo --schema ITSM --follow",
            ] {
                println!("  assetark --config {} {cmd}", c.display());
            }
        }
    }
    Ok(())
}

/// Runs a job and returns its outcome, or a failure with the job's error.
async fn run_job(
    client: &ControlClient,
    started: &Reply,
    what: &str,
) -> Result<JobOutcome, Failure> {
    let job_id = started.parse::<JobStarted>()?.job_id;
    job_outcome(client, job_id, what).await
}

async fn job_outcome(
    client: &ControlClient,
    job_id: i64,
    what: &str,
) -> Result<JobOutcome, Failure> {
    let job = wait_for_job(client, job_id).await?.view;
    match (job.status, job.result) {
        (JobStatus::Done, Some(outcome)) => Ok(outcome),
        _ => Err(Failure::error(format!(
            "demo: {what} failed: {}",
            job.error.as_deref().unwrap_or("unknown error")
        ))),
    }
}

async fn backup(client: &ControlClient, schema: &str) -> Result<Backup, Failure> {
    let request = StartBackupRequest {
        site: SOURCE.to_owned(),
        schema: schema.to_owned(),
        description: Some("demo: first backup".to_owned()),
        backup_type: None,
        full: false,
    };
    let reply = client.post("/v1/backups", &request).await?;
    match run_job(client, &reply, "the backup").await? {
        JobOutcome::Backup(b) => Ok(b.backup),
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

/// Restores a backup into a new schema (on `site`, default the backup's); returns the objects
/// created.
async fn restore(
    client: &ControlClient,
    backup_id: i64,
    name: &str,
    key: &str,
    site: Option<&str>,
) -> Result<u64, Failure> {
    Ok(restore_with_id(client, backup_id, name, key, site).await?.1)
}

/// Runs the post-restore task `object-type-ids` on a restore; returns its result message.
async fn type_ids_task(client: &ControlClient, restore_id: i64) -> Result<String, Failure> {
    let request = crate::api::wire::TaskRequest::ObjectTypeIds {};
    let started: crate::api::wire::TaskStarted = client
        .post(&format!("/v1/restores/{restore_id}/tasks"), &request)
        .await?
        .parse()?;
    match job_outcome(client, started.job_id, "the post-restore task").await? {
        JobOutcome::Task(t) => Ok(t.result.unwrap_or_default()),
        other => Err(Failure::error(format!(
            "demo: the task job produced {other:?}"
        ))),
    }
}

/// Like [`restore`], also returning the restore's id.
async fn restore_with_id(
    client: &ControlClient,
    backup_id: i64,
    name: &str,
    key: &str,
    site: Option<&str>,
) -> Result<(i64, u64), Failure> {
    let request = StartRestoreRequest {
        backup_id,
        to: "new-schema".to_owned(),
        name: name.to_owned(),
        key: key.to_owned(),
        site: site.map(str::to_owned),
        schema: None,
        duplicates: false,
        dry_run: false,
        hooks: Vec::new(),
        no_hooks: Vec::new(),
        // The migration to the second site carries each object's history along.
        history: site.is_some(),
        with_icons: false,
        types: Vec::new(),
    };
    let started: RestoreStarted = client.post("/v1/restores", &request).await?.parse()?;
    match job_outcome(client, started.job_id, "the restore").await? {
        JobOutcome::Restore(r) => Ok((
            started.restore_id,
            r.restore.map_or(0, |s| s.objects_created),
        )),
        other => Err(Failure::error(format!(
            "demo: the restore job produced {other:?}"
        ))),
    }
}

/// Objects of schema `key` on `site` whose `OBJECT_HISTORY` is set, read through the site's
/// Assets API (what a person opening the migrated schema would see).
async fn objects_with_history(
    site: &assets_sim::server::SiteInfo,
    key: &str,
) -> Result<u64, Failure> {
    use crate::assets::{AqlPager, AssetsApi, AssetsClient, Limits, Secret, SiteConn};
    let client = AssetsClient::new(SiteConn {
        name: site.name.clone(),
        api_url: site.api_url.clone(),
        site_url: site.site_url.clone(),
        email: site.email.clone(),
        tokens: vec![Secret::from(site.token.as_str())],
        limits: Limits::default(),
    })
    .map_err(|e| fail("a client of the second site")(e.to_string()))?;
    let api_failed = |e: crate::assets::Error| fail("reading the migrated schema")(e.to_string());
    let schemas = client.list_schemas().await.map_err(api_failed)?;
    let Some(schema) = schemas.iter().find(|s| s.key() == key) else {
        return Err(Failure::error(format!(
            "demo: no schema {key} on {}",
            site.name
        )));
    };
    let mut history_attrs = std::collections::HashSet::new();
    for t in client
        .list_object_types(schema.id.as_str())
        .await
        .map_err(api_failed)?
    {
        for a in client
            .list_attributes(t.id.as_str())
            .await
            .map_err(api_failed)?
        {
            if a.name() == crate::restore::OBJECT_HISTORY {
                history_attrs.insert(a.id.as_str().to_owned());
            }
        }
    }
    let ql = format!("objectSchemaId = {}", schema.id.as_str());
    let mut pager = AqlPager::new(&client, &ql, 500);
    let mut n = 0;
    while let Some(page) = pager.next_page().await.map_err(api_failed)? {
        n += page
            .values
            .iter()
            .filter(|o| {
                o.attributes().iter().any(|a| {
                    history_attrs.contains(a.object_type_attribute_id.as_str())
                        && a.values().iter().any(|v| {
                            v.value
                                .get()
                                .and_then(|x| x.as_str())
                                .is_some_and(|t| !t.is_empty())
                        })
                })
            })
            .count() as u64;
    }
    Ok(n)
}
