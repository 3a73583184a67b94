//! The client commands: dispatch, and the site, schema and backup commands. Each sends its
//! request (a `crate::api::wire` type) to the control API, reads the typed answer, and prints
//! it as text or (with `--json`) as the API's JSON. Restores are in `restores`.

use super::args::{
    BackupCmd, BackupsCmd, Cli, Command, ListArgs, RestoreCmd, RunArgs, SchemasCmd, SitesCmd,
    TypeArg,
};
use super::output::{self, print_json};
use super::util::{Failure, confirm, emit, segment};
use super::wait::wait_for_job;
use super::{follow, restores, schedules, sites, tasks};
use crate::api::client::{ControlClient, Reply};
use crate::api::wire::{
    BackupDeleted, BackupDetail, BackupList, BackupObjectTypes, JobOutcome, JobStarted, JobStatus,
    SchemaList, SiteList, SiteTested, StartBackupRequest, VerifyReport,
};

/// Runs a client command against the daemon.
pub(super) async fn run(client: &ControlClient, cli: &Cli) -> Result<(), Failure> {
    let json = cli.json;
    match &cli.command {
        Command::Sites(SitesCmd::List) => {
            let reply = client.get("/v1/sites").await?;
            let list: SiteList = reply.parse()?;
            emit(json, &reply.body, || output::sites(&list))
        }
        Command::Sites(SitesCmd::Test { name }) => {
            let reply = client
                .post_empty(&format!("/v1/sites/{}/test", segment(name)))
                .await?;
            let tested: SiteTested = reply.parse()?;
            emit(json, &reply.body, || output::site_test(&tested))
        }
        Command::Sites(SitesCmd::Add(args)) => sites::add(client, args, json).await,
        Command::Sites(SitesCmd::Remove { name, yes, force }) => {
            sites::remove(client, name, *yes, *force, json).await
        }
        Command::Restore(RestoreCmd::Start(args)) => restores::start(client, args, json).await,
        Command::Restores(cmd) => restores::restores(client, cmd, json).await,
        Command::Tasks(cmd) => tasks::run(client, cmd, json).await,
        Command::Schemas(SchemasCmd::Sync { site }) => {
            let reply = client
                .post_empty(&format!("/v1/sites/{}/schemas/sync", segment(site)))
                .await?;
            let list: SchemaList = reply.parse()?;
            emit(json, &reply.body, || {
                format!(
                    "synced {} schema(s) from site {site}\n{}",
                    list.items.len(),
                    output::schemas(&list)
                )
            })
        }
        Command::Schemas(SchemasCmd::List { site, live }) => {
            let query = if *live { "?live=true" } else { "" };
            let reply = client
                .get(&format!("/v1/sites/{}/schemas{query}", segment(site)))
                .await?;
            let list: SchemaList = reply.parse()?;
            emit(json, &reply.body, || output::schemas(&list))
        }
        Command::Backup(BackupCmd::Run(args)) => backup_run(client, args, json).await,
        Command::Backups(cmd) => backups(client, cmd, json).await,
        Command::Schedules(cmd) => schedules::schedules(client, cmd, json).await,
        Command::Serve | Command::Demo(_) => Err(Failure::usage("not a client command")),
    }
}

async fn backup_run(client: &ControlClient, args: &RunArgs, json: bool) -> Result<(), Failure> {
    let request = StartBackupRequest {
        site: args.site.clone(),
        schema: args.schema.clone(),
        description: args.description.clone(),
        backup_type: None,
        full: args.full,
    };
    let reply = client.post("/v1/backups", &request).await?;
    let job_id = reply.parse::<JobStarted>()?.job_id;
    if args.follow {
        return follow::follow_job(client, job_id, json).await;
    }
    if !args.wait {
        return emit(json, &reply.body, || {
            format!(
                "backup of {} on {} queued as job {job_id}",
                args.schema, args.site
            )
        });
    }
    let job = wait_for_job(client, job_id).await?;
    if json {
        print_json(&job.body);
    }
    match (job.view.status, &job.view.result) {
        (JobStatus::Done, result) => {
            if !json {
                match result {
                    Some(JobOutcome::Backup(b)) => println!(
                        "backup {} complete: {} objects",
                        b.backup.id, b.backup.object_count
                    ),
                    _ => println!("backup job {job_id} complete"),
                }
            }
            Ok(())
        }
        _ => Err(Failure::error(format!(
            "backup job {job_id} failed: {}",
            job.view.error.as_deref().unwrap_or("unknown error")
        ))),
    }
}

async fn backups(client: &ControlClient, cmd: &BackupsCmd, json: bool) -> Result<(), Failure> {
    match cmd {
        BackupsCmd::List(args) => {
            let reply = client.get(&list_path(args)).await?;
            let list: BackupList = reply.parse()?;
            emit(json, &reply.body, || output::backups(&list))
        }
        BackupsCmd::Show { id } => {
            let reply = client.get(&format!("/v1/backups/{id}")).await?;
            let detail: BackupDetail = reply.parse()?;
            emit(json, &reply.body, || output::backup(&detail))
        }
        BackupsCmd::Types { id } => {
            let reply = client.get(&format!("/v1/backups/{id}/objecttypes")).await?;
            let types: BackupObjectTypes = reply.parse()?;
            emit(json, &reply.body, || output::backup_types(&types))
        }
        BackupsCmd::Delete { id, yes } => {
            if !yes {
                confirm_delete(client, *id).await?;
            }
            let reply = client.delete(&format!("/v1/backups/{id}")).await?;
            let deleted: BackupDeleted = reply.parse()?;
            emit(json, &reply.body, || {
                format!(
                    "deleted backup {id} (freed {} blob(s), {} bytes)",
                    deleted.blobs_removed, deleted.bytes_freed
                )
            })
        }
        BackupsCmd::Verify { id } => {
            let started = client
                .post_empty(&format!("/v1/backups/{id}/verify"))
                .await?;
            let report: VerifyReport = match job_outcome(client, &started, "verify").await? {
                JobOutcome::Verify(r) => r,
                other => return Err(unexpected("verify", &other)),
            };
            emit(json, &report, || {
                if report.bad_blobs.is_empty() {
                    format!("backup {id} ok: every blob verified")
                } else {
                    let mut text = format!(
                        "backup {id} is corrupt: {} bad blob(s)\n",
                        report.bad_blobs.len()
                    );
                    for b in &report.bad_blobs {
                        text.push_str(&format!("  {}  {}\n", b.hash, b.problem.as_str()));
                    }
                    text
                }
            })?;
            if report.bad_blobs.is_empty() {
                Ok(())
            } else {
                Err(Failure::error(format!(
                    "backup {id} failed verification: {} bad blob(s)",
                    report.bad_blobs.len()
                )))
            }
        }
        BackupsCmd::Prune {
            site,
            schema,
            dry_run,
        } => schedules::prune(client, site.as_deref(), schema.as_deref(), *dry_run, json).await,
        BackupsCmd::Export { id, out, force } => {
            super::export::export(client, *id, out, *force, json).await
        }
    }
}

/// Asks on the terminal before deleting, showing what would go.
async fn confirm_delete(client: &ControlClient, id: i64) -> Result<(), Failure> {
    let b = client
        .get(&format!("/v1/backups/{id}"))
        .await?
        .parse::<BackupDetail>()?
        .backup;
    let started = b
        .started_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "?".to_owned());
    confirm(
        &format!("refusing to delete backup {id} without --yes: stdin is not a terminal"),
        &format!(
            "Delete backup {id} of schema {} on site {} ({} objects, started {started})? [y/N] ",
            b.schema_key, b.site, b.object_count,
        ),
        &format!("backup {id} not deleted"),
    )
}

/// Waits for the job a request started and returns its outcome; a failed job is a failure
/// naming it (`verify job 7 failed: ...`).
async fn job_outcome(
    client: &ControlClient,
    started: &Reply,
    what: &str,
) -> Result<JobOutcome, Failure> {
    let job_id = started.parse::<JobStarted>()?.job_id;
    let job = wait_for_job(client, job_id).await?.view;
    match (job.status, job.result) {
        (JobStatus::Done, Some(outcome)) => Ok(outcome),
        (JobStatus::Done, None) => Err(Failure::error(format!(
            "{what} job {job_id} ended without a result this client can read"
        ))),
        _ => Err(Failure::error(format!(
            "{what} job {job_id} failed: {}",
            job.error.as_deref().unwrap_or("unknown error")
        ))),
    }
}

/// A job that produced another kind's outcome (a daemon bug or version skew).
fn unexpected(what: &str, outcome: &JobOutcome) -> Failure {
    Failure::error(format!(
        "the {what} job produced an unexpected result: {outcome:?}"
    ))
}

/// `/v1/backups?...` with the given filters.
fn list_path(args: &ListArgs) -> String {
    let mut q: Vec<(&str, String)> = Vec::new();
    let pairs = [
        ("site", args.site.clone()),
        ("schema", args.schema.clone()),
        (
            "type",
            args.backup_type.map(|t| {
                match t {
                    TypeArg::Manual => "manual",
                    TypeArg::Scheduled => "scheduled",
                }
                .to_owned()
            }),
        ),
        ("from", args.from.clone()),
        ("to", args.to.clone()),
        ("page", args.page.map(|p| p.to_string())),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            q.push((k, v));
        }
    }
    if q.is_empty() {
        "/v1/backups".to_owned()
    } else {
        // Encoding a list of string pairs cannot fail.
        format!(
            "/v1/backups?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_paths_encode_filters() {
        let args = ListArgs {
            site: Some("a b".into()),
            schema: None,
            backup_type: Some(TypeArg::Scheduled),
            from: Some("2025-01-01T00:00:00+01:00".into()),
            to: None,
            page: Some(2),
        };
        assert_eq!(
            list_path(&args),
            "/v1/backups?site=a+b&type=scheduled&from=2025-01-01T00%3A00%3A00%2B01%3A00&page=2"
        );
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
