//! The client commands: each sends its request to the control API and prints the answer, as
//! text or (with `--json`) as the API's JSON.

use serde_json::{Value, json};

use super::args::{
    BackupCmd, BackupsCmd, Cli, Command, ListArgs, RestoreCmd, RunArgs, SchemasCmd, SitesCmd,
    TypeArg,
};
use super::output::{self, print_json};
use super::restores;
use super::util::{Failure, absolute, confirm, emit, segment};
use super::wait::wait_for_job;
use crate::api::client::ControlClient;

/// Runs a client command against the daemon.
pub(super) async fn run(client: &ControlClient, cli: &Cli) -> Result<(), Failure> {
    let json = cli.json;
    match &cli.command {
        Command::Sites(SitesCmd::List) => {
            let body = client.get("/v1/sites").await?.body;
            emit(json, &body, || output::sites(&body))
        }
        Command::Sites(SitesCmd::Test { name }) => {
            let body = client
                .post(&format!("/v1/sites/{}/test", segment(name)), None)
                .await?
                .body;
            emit(json, &body, || output::site_test(&body))
        }
        Command::Sites(SitesCmd::Add(args)) => restores::add_site(client, args, json).await,
        Command::Sites(SitesCmd::Remove { name, yes }) => {
            restores::remove_site(client, name, *yes, json).await
        }
        Command::Restore(RestoreCmd::Start(args)) => restores::start(client, args, json).await,
        Command::Restores(cmd) => restores::restores(client, cmd, json).await,
        Command::Schemas(SchemasCmd::Sync { site }) => {
            let body = client
                .post(&format!("/v1/sites/{}/schemas/sync", segment(site)), None)
                .await?
                .body;
            emit(json, &body, || {
                let n = body["items"].as_array().map_or(0, Vec::len);
                format!(
                    "synced {n} schema(s) from site {site}\n{}",
                    output::schemas(&body)
                )
            })
        }
        Command::Schemas(SchemasCmd::List { site }) => {
            let body = client
                .get(&format!("/v1/sites/{}/schemas", segment(site)))
                .await?
                .body;
            emit(json, &body, || output::schemas(&body))
        }
        Command::Backup(BackupCmd::Run(args)) => backup_run(client, args, json).await,
        Command::Backups(cmd) => backups(client, cmd, json).await,
        Command::Serve | Command::Demo(_) => Err(Failure::usage("not a client command")),
    }
}

async fn backup_run(client: &ControlClient, args: &RunArgs, json: bool) -> Result<(), Failure> {
    let mut body = json!({ "site": args.site, "schema": args.schema });
    if let Some(d) = &args.description {
        body["description"] = json!(d);
    }
    let started = client.post("/v1/backups", Some(&body)).await?.body;
    let job_id = started["job_id"]
        .as_i64()
        .ok_or_else(|| Failure::error("the daemon did not return a job id"))?;
    if !args.wait {
        return emit(json, &started, || {
            format!(
                "backup of {} on {} queued as job {job_id}",
                args.schema, args.site
            )
        });
    }
    let job = wait_for_job(client, job_id).await?;
    if json {
        print_json(&job);
    }
    match job["status"].as_str() {
        Some("done") => {
            if !json {
                let b = &job["result"]["backup"];
                // The result lives in the daemon's memory; after a daemon restart only the
                // job's status is known.
                match b["id"].as_i64() {
                    Some(id) => println!(
                        "backup {id} complete: {} objects",
                        b["object_count"].as_u64().unwrap_or(0)
                    ),
                    None => println!("backup job {job_id} complete"),
                }
            }
            Ok(())
        }
        _ => Err(Failure::error(format!(
            "backup job {job_id} failed: {}",
            job["error"].as_str().unwrap_or("unknown error")
        ))),
    }
}

async fn backups(client: &ControlClient, cmd: &BackupsCmd, json: bool) -> Result<(), Failure> {
    match cmd {
        BackupsCmd::List(args) => {
            let body = client.get(&list_path(args)).await?.body;
            emit(json, &body, || output::backups(&body))
        }
        BackupsCmd::Show { id } => {
            let body = client.get(&format!("/v1/backups/{id}")).await?.body;
            emit(json, &body, || output::backup(&body))
        }
        BackupsCmd::Delete { id, yes } => {
            if !yes {
                let b = client.get(&format!("/v1/backups/{id}")).await?.body;
                confirm(
                    &format!(
                        "refusing to delete backup {id} without --yes: stdin is not a terminal"
                    ),
                    &format!(
                        "Delete backup {id} of schema {} on site {} ({} objects, started {})? [y/N] ",
                        b["schema_key"].as_str().unwrap_or("?"),
                        b["site"].as_str().unwrap_or("?"),
                        b["object_count"],
                        b["started_at"].as_str().unwrap_or("?"),
                    ),
                    &format!("backup {id} not deleted"),
                )?;
            }
            let body = client.delete(&format!("/v1/backups/{id}")).await?.body;
            emit(json, &body, || {
                format!(
                    "deleted backup {id} (freed {} blob(s), {} bytes)",
                    body["blobs_removed"], body["bytes_freed"]
                )
            })
        }
        BackupsCmd::Verify { id } => {
            let started = client
                .post(&format!("/v1/backups/{id}/verify"), None)
                .await?
                .body;
            let body = job_result(client, &started, "verify").await?;
            let bad = body["bad_blobs"].as_array().cloned().unwrap_or_default();
            emit(json, &body, || {
                if bad.is_empty() {
                    format!("backup {id} ok: every blob verified")
                } else {
                    let mut text = format!("backup {id} is corrupt: {} bad blob(s)\n", bad.len());
                    for b in &bad {
                        text.push_str(&format!(
                            "  {}  {}\n",
                            b["hash"].as_str().unwrap_or("?"),
                            b["problem"].as_str().unwrap_or("?")
                        ));
                    }
                    text
                }
            })?;
            if bad.is_empty() {
                Ok(())
            } else {
                Err(Failure::error(format!(
                    "backup {id} failed verification: {} bad blob(s)",
                    bad.len()
                )))
            }
        }
        BackupsCmd::Export { id, out } => {
            let out = absolute(out)?;
            let started = client
                .post(
                    &format!("/v1/backups/{id}/export"),
                    Some(&json!({ "out": out })),
                )
                .await?
                .body;
            let body = job_result(client, &started, "export").await?;
            emit(json, &body, || output::export_summary(&body))
        }
    }
}

/// Waits for the job a request started and returns its result; a failed job is a failure
/// naming it (`verify job 7 failed: ...`).
async fn job_result(client: &ControlClient, started: &Value, what: &str) -> Result<Value, Failure> {
    let job_id = started["job_id"]
        .as_i64()
        .ok_or_else(|| Failure::error("the daemon did not return a job id"))?;
    let job = wait_for_job(client, job_id).await?;
    match job["status"].as_str() {
        Some("done") => Ok(job["result"].clone()),
        _ => Err(Failure::error(format!(
            "{what} job {job_id} failed: {}",
            job["error"].as_str().unwrap_or("unknown error")
        ))),
    }
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
    }
}
