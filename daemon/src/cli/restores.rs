//! The restore commands: `restore start` (with `--dry-run` and `--wait`) and `restores list |
//! show | stop | resume | log`.
//!
//! `--wait` polls `GET /v1/restores/{id}` (the row plus the live progress) and shows each
//! stage's `done/total`; `restores log --follow` reads the server-sent events of
//! `/v1/restores/{id}/events` as they arrive and ends with the restore.

use std::io::Write;

use serde::Deserialize as _;
use serde_json::Value;

use super::args::{RestoreArgs, RestoresCmd, ToArg};
use super::output::{self, print_json};
use super::util::{Failure, confirm, emit};
use super::wait::{Display, POLL_INTERVAL};
use crate::api::client::ControlClient;
use crate::api::wire::{
    DryRun, JobStatus, JobView, LiveEvent, RestoreDetail, RestoreList, RestoreStarted,
    RestoreStatus, StartRestoreRequest, StopAnswer, StopStatus,
};
use crate::restore::Stage;

/// `restore start`.
pub(super) async fn start(
    client: &ControlClient,
    args: &RestoreArgs,
    json: bool,
) -> Result<(), Failure> {
    let to = match args.to {
        ToArg::NewSchema => "new-schema",
        ToArg::ExistingSchema => "existing-schema",
    };
    let request = StartRestoreRequest {
        backup_id: args.backup_id,
        to: to.to_owned(),
        name: args.name.clone().unwrap_or_default(),
        key: args.key.clone().unwrap_or_default(),
        site: args.site.clone(),
        schema: args.schema.clone(),
        duplicates: args.duplicates,
        dry_run: args.dry_run,
        hooks: args.hooks.clone(),
        no_hooks: args.no_hooks.clone(),
        history: args.history,
        with_icons: args.with_icons,
        types: args.types.clone(),
    };
    let reply = client.post("/v1/restores", &request).await?;
    if args.dry_run {
        let dry: DryRun = reply.parse()?;
        return emit(json, &dry.plan, || output::restore_plan(&dry.plan));
    }
    let started: RestoreStarted = reply.parse()?;
    let id = started.restore_id;
    if !args.wait {
        return emit(json, &reply.body, || {
            format!(
                "restore {id} of backup {} queued as job {} (pending)",
                args.backup_id, started.job_id
            )
        });
    }
    wait_and_report(client, &started, json).await
}

/// `restores resume`.
async fn resume(client: &ControlClient, id: i64, wait: bool, json: bool) -> Result<(), Failure> {
    let reply = client
        .post_empty(&format!("/v1/restores/{id}/resume"))
        .await?;
    let started: RestoreStarted = reply.parse()?;
    if !wait {
        return emit(json, &reply.body, || {
            format!(
                "restore {id} resumed as job {} ({})",
                started.job_id, started.status
            )
        });
    }
    wait_and_report(client, &started, json).await
}

/// `--wait` of a started or resumed restore: progress, then the result; an error unless it
/// completed.
async fn wait_and_report(
    client: &ControlClient,
    started: &RestoreStarted,
    json: bool,
) -> Result<(), Failure> {
    let id = started.restore_id;
    let (last, body) = wait_for_restore(client, id, started.job_id).await?;
    if json {
        print_json(&body);
    } else {
        println!("{}", output::restore_result(&last));
    }
    match last.view.status {
        RestoreStatus::Completed => Ok(()),
        status => Err(Failure::error(format!(
            "restore {id} {status}: {}",
            last.view.result.as_deref().unwrap_or("no result")
        ))),
    }
}

fn ended(status: RestoreStatus) -> bool {
    matches!(
        status,
        RestoreStatus::Completed | RestoreStatus::Error | RestoreStatus::Stopped
    )
}

/// Polls a restore until it ends, showing the stage in flight; returns its last view, typed
/// and as sent. A restore whose row says it ended while its job still runs is not over: the
/// job may run it again after a temporary failure, so the wait also needs the job to end.
async fn wait_for_restore(
    client: &ControlClient,
    id: i64,
    job_id: i64,
) -> Result<(RestoreDetail, Value), Failure> {
    let mut display = Display::new();
    loop {
        let reply = client.get(&format!("/v1/restores/{id}")).await?;
        let r: RestoreDetail = reply.parse()?;
        if let Some((name, done, total)) = current_progress(&r) {
            display.update(&name, done, total);
        }
        if ended(r.view.status) {
            let job: JobView = client.get(&format!("/v1/jobs/{job_id}")).await?.parse()?;
            if matches!(job.status, JobStatus::Done | JobStatus::Failed) {
                display.finish();
                // The row as the job left it.
                let reply = client.get(&format!("/v1/restores/{id}")).await?;
                return Ok((reply.parse()?, reply.body));
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The stage in flight with its count: the live progress, else the row's counts.
fn current_progress(r: &RestoreDetail) -> Option<(String, u64, u64)> {
    if let Some(p) = &r.progress
        && let Some(name) = &p.stage_name
    {
        return Some((name.clone(), p.done, p.total));
    }
    let stage = r.view.stage.as_deref()?;
    let c = r.counts.iter().find(|c| c.stage == stage)?;
    Some((c.name.clone(), c.done, c.total))
}

/// `restores ...`.
pub(super) async fn restores(
    client: &ControlClient,
    cmd: &RestoresCmd,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        RestoresCmd::List { site } => {
            let path = match site {
                Some(s) => format!(
                    "/v1/restores?{}",
                    serde_urlencoded::to_string([("site", s)]).unwrap_or_default()
                ),
                None => "/v1/restores".to_owned(),
            };
            let reply = client.get(&path).await?;
            let list: RestoreList = reply.parse()?;
            emit(json, &reply.body, || output::restores(&list.items))
        }
        RestoresCmd::Show { id } => {
            let reply = client.get(&format!("/v1/restores/{id}")).await?;
            let detail: RestoreDetail = reply.parse()?;
            emit(json, &reply.body, || output::restore(&detail))
        }
        RestoresCmd::Stop { id, yes } => {
            if !yes {
                let r: RestoreDetail = client.get(&format!("/v1/restores/{id}")).await?.parse()?;
                confirm(
                    &format!(
                        "refusing to stop restore {id} without --yes: stdin is not a terminal"
                    ),
                    &format!(
                        "Stop restore {id} to {} on site {} ({})? [y/N] ",
                        r.view.destination.schema_key.as_deref().unwrap_or("?"),
                        r.view.destination.site,
                        r.view.status_text,
                    ),
                    &format!("restore {id} not stopped"),
                )?;
            }
            let reply = client
                .post_empty(&format!("/v1/restores/{id}/stop"))
                .await?;
            let answer: StopAnswer = reply.parse()?;
            emit(json, &reply.body, || match answer.status {
                StopStatus::Stopping => format!(
                    "restore {id} stopping: the stage in flight ends cleanly \
                     (see `assetark restores show {id}`)"
                ),
                StopStatus::Stopped => format!("restore {id} stopped"),
            })
        }
        RestoresCmd::Resume { id, wait } => resume(client, *id, *wait, json).await,
        RestoresCmd::Log { id, full: true, .. } => full_log(client, *id).await,
        RestoresCmd::Log { id, follow, .. } => events(client, *id, *follow, json).await,
    }
}

/// `restores log --full`: the daemon's JSON array, copied to stdout as it arrives.
async fn full_log(client: &ControlClient, id: i64) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let mut failed = None;
    client
        .stream(&format!("/v1/restores/{id}/log"), |chunk| {
            match out.write_all(chunk) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .await?;
    match failed {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::error(format!("cannot write the log: {e}")))
        }
        _ => Ok(()),
    }
}

/// `restores log` and `restores log --follow`: server-sent events, one line each.
async fn events(client: &ControlClient, id: i64, follow: bool, json: bool) -> Result<(), Failure> {
    let path = format!("/v1/restores/{id}/events?follow={follow}");
    let mut parser = SseParser::default();
    let mut last_kind = String::new();
    client
        .stream(&path, |chunk| {
            for (kind, data) in parser.feed(chunk) {
                if json {
                    // The event's JSON as sent (a bare string if it was not JSON).
                    let v: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    println!("{v}");
                } else {
                    println!("{}", event_line(&kind, &data));
                }
                last_kind = kind;
            }
            true
        })
        .await?;
    if follow && last_kind == "shutdown" {
        return Err(Failure::error(format!(
            "the daemon shut down before restore {id} ended; it resumes when the daemon starts again"
        )));
    }
    Ok(())
}

/// A stage key as its name ("Restoring object entries"), or the key itself.
fn stage_name(key: &str) -> String {
    Stage::deserialize(Value::String(key.to_owned()))
        .map(|s| s.to_string())
        .unwrap_or_else(|_| key.to_owned())
}

/// One event (its SSE kind and data) as a line of text.
fn event_line(kind: &str, data: &str) -> String {
    let Ok(event) = serde_json::from_str::<LiveEvent>(data) else {
        return format!("{kind} {data}");
    };
    match event {
        LiveEvent::StageStarted { stage, total } => {
            format!("{} started ({total} items)", stage_name(&stage))
        }
        LiveEvent::Progress { stage, done, total } => {
            format!("{} {done}/{total}", stage_name(&stage))
        }
        LiveEvent::StageFinished { stage, done, total } => {
            format!("{} finished {done}/{total}", stage_name(&stage))
        }
        LiveEvent::Object {
            key, result: true, ..
        } => format!("{key} OK"),
        LiveEvent::Object { key, message, .. } => format!("{key} FAILED {message}"),
        LiveEvent::Log { level, message } => format!("[{}] {message}", level.as_str()),
        LiveEvent::End { status, result } => format!(
            "restore ended: {status} ({})",
            result.as_deref().unwrap_or("-")
        ),
        LiveEvent::Shutdown => "the daemon is shutting down".to_owned(),
    }
}

/// Splits a server-sent event stream into `(event, data)` pairs, across chunk boundaries.
#[derive(Default)]
pub(super) struct SseParser {
    buf: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    pub(super) fn feed(&mut self, chunk: &[u8]) -> Vec<(String, String)> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    let kind = std::mem::take(&mut self.event);
                    let kind = if kind.is_empty() {
                        "message".to_owned()
                    } else {
                        kind
                    };
                    out.push((kind, self.data.join("\n")));
                    self.data.clear();
                }
                self.event.clear();
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event = v.trim_start().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                self.data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
            }
            // `id:`, `retry:` and `:` comments (keep-alives, skip notes) need no action.
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_is_parsed_across_chunks_and_rendered_as_lines() {
        let mut p = SseParser::default();
        let text = "event: progress\nid: 3\ndata: {\"event\":\"progress\",\"stage\":\"object_entries\",\"done\":120,\"total\":400}\n\n: keep-alive\n\nevent: end\ndata: {\"event\":\"end\",\"status\":\"completed\",\"result\":\"completed\"}\n\n";
        let (a, b) = text.as_bytes().split_at(30);
        let mut got = p.feed(a);
        got.extend(p.feed(b));
        assert_eq!(got.len(), 2);
        assert_eq!(
            event_line(&got[0].0, &got[0].1),
            "Restoring object entries 120/400"
        );
        assert_eq!(got[1].0, "end");
        assert_eq!(
            event_line(&got[1].0, &got[1].1),
            "restore ended: completed (completed)"
        );
        let obj = r#"{"event":"object","key":"ITSM-1","result":false,"message":{"errors":{}}}"#;
        assert!(event_line("object", obj).starts_with("ITSM-1 FAILED"));
        assert_eq!(event_line("mystery", "{\"x\":1}"), "mystery {\"x\":1}");
    }
}
