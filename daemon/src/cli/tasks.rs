//! The task commands: `tasks start <kind> RESTORE_ID` (with `--wait`), `tasks list
//! RESTORE_ID` and `tasks show TASK_ID`, and the text of a task (shared with `restores show`).
//!
//! `--wait` follows the task's job on its live events (`GET /v1/jobs/{id}/events`, no
//! polling) and shows the progress as backups and restores do, then prints the task with its
//! report; a task that ends in `error` exits 1.

use super::args::{TaskStartCmd, TasksCmd};
use super::output::print_json;
use super::restores::SseParser;
use super::util::{Failure, confirm, emit};
use super::wait::Display;
use crate::api::client::ControlClient;
use crate::api::wire::{
    JobEvent, JobStatus, RestoreDetail, TaskDetail, TaskList, TaskRequest, TaskStarted, TaskStatus,
    TaskSummary, TaskView,
};

/// `tasks ...`.
pub(super) async fn run(client: &ControlClient, cmd: &TasksCmd, json: bool) -> Result<(), Failure> {
    match cmd {
        TasksCmd::Start(start) => self::start(client, start, json).await,
        TasksCmd::List { restore_id } => {
            let reply = client
                .get(&format!("/v1/restores/{restore_id}/tasks"))
                .await?;
            let list: TaskList = reply.parse()?;
            emit(json, &reply.body, || {
                if list.items.is_empty() {
                    format!("restore {restore_id} has no tasks")
                } else {
                    list.items.iter().map(line).collect::<Vec<_>>().join("\n")
                }
            })
        }
        TasksCmd::Show { task_id } => {
            let reply = client.get(&format!("/v1/tasks/{task_id}")).await?;
            let detail: TaskDetail = reply.parse()?;
            emit(json, &reply.body, || detail_text(&detail))
        }
    }
}

async fn start(client: &ControlClient, cmd: &TaskStartCmd, json: bool) -> Result<(), Failure> {
    let (restore_id, request, wait) = match cmd {
        TaskStartCmd::ObjectTypeIds {
            restore_id,
            yes,
            wait,
        } => {
            if !yes {
                let r: RestoreDetail = client
                    .get(&format!("/v1/restores/{restore_id}"))
                    .await?
                    .parse()?;
                confirm(
                    "refusing to overwrite object type descriptions without --yes: stdin is not \
                     a terminal",
                    &format!(
                        "Overwrite the description of every object type restored by restore \
                         {restore_id} (schema {} on site {}) with its original id? [y/N] ",
                        r.view.destination.schema_key.as_deref().unwrap_or("?"),
                        r.view.destination.site,
                    ),
                    "nothing was started",
                )?;
            }
            (*restore_id, TaskRequest::ObjectTypeIds {}, *wait)
        }
        TaskStartCmd::Issues { restore_id, wait } => (*restore_id, TaskRequest::Issues {}, *wait),
        TaskStartCmd::References {
            restore_id,
            from_schema,
            outbound,
            wait,
        } => (
            *restore_id,
            TaskRequest::References {
                from_schemas: from_schema.clone(),
                outbound: *outbound,
            },
            *wait,
        ),
        TaskStartCmd::Comments { restore_id, wait } => {
            (*restore_id, TaskRequest::Comments {}, *wait)
        }
        TaskStartCmd::Attachments { restore_id, wait } => {
            (*restore_id, TaskRequest::Attachments {}, *wait)
        }
    };
    let reply = client
        .post(&format!("/v1/restores/{restore_id}/tasks"), &request)
        .await?;
    let started: TaskStarted = reply.parse()?;
    if !wait {
        return emit(json, &reply.body, || {
            format!(
                "task {} ({}) of restore {restore_id} queued as job {} (pending)",
                started.task_id, started.kind, started.job_id
            )
        });
    }
    let (detail, body) = wait_for_task(client, started.task_id, started.job_id).await?;
    if json {
        print_json(&body);
    } else {
        println!("{}", detail_text(&detail).trim_end());
    }
    match detail.view.status {
        TaskStatus::Error => Err(Failure::error(format!(
            "task {} failed: {}",
            detail.view.id,
            detail.view.result.as_deref().unwrap_or("no result")
        ))),
        _ => Ok(()),
    }
}

/// Waits for a task to end on its job's live events (`GET /v1/jobs/{id}/events`), showing
/// its progress, then reads the task; returns its detail, typed and as sent.
///
/// # Errors
///
/// A [`Failure`] when the daemon cannot be reached, or stops (or is shut down) before the
/// task ended: the task resumes when the daemon starts again.
async fn wait_for_task(
    client: &ControlClient,
    task_id: i64,
    job_id: i64,
) -> Result<(TaskDetail, serde_json::Value), Failure> {
    let mut display = Display::new();
    let mut parser = SseParser::default();
    let mut end: Option<JobEvent> = None;
    client
        .stream(&format!("/v1/jobs/{job_id}/events"), |chunk| {
            for (_, data) in parser.feed(chunk) {
                match serde_json::from_str::<JobEvent>(&data) {
                    Ok(JobEvent::Progress(p))
                    | Ok(JobEvent::State {
                        progress: Some(p), ..
                    }) => display.update(&p.stage, p.done, p.total),
                    Ok(e) if e.is_end() => end = Some(e),
                    _ => {}
                }
            }
            end.is_none()
        })
        .await?;
    display.finish();
    match end {
        Some(JobEvent::End {
            status: JobStatus::Done | JobStatus::Failed,
            ..
        }) => {}
        _ => {
            return Err(Failure::error(format!(
                "the daemon stopped before task {task_id} ended; it resumes when the daemon \
                 starts (see `tasks show {task_id}`)"
            )));
        }
    }
    // The runner records the task's end before its job's, so the row is final now.
    let reply = client.get(&format!("/v1/tasks/{task_id}")).await?;
    let t: TaskDetail = reply.parse()?;
    Ok((t, reply.body))
}

/// One task on one line: id, kind, status, result.
pub(super) fn line(t: &TaskView) -> String {
    let status = match (&t.progress, t.status) {
        (Some(p), TaskStatus::InProgress) => {
            format!("in_progress ({} {}/{})", p.stage, p.done, p.total)
        }
        (_, s) => s.as_str().to_owned(),
    };
    format!(
        "task {:<4} {:<16} {:<12} {}",
        t.id,
        t.kind,
        status,
        t.result.as_deref().unwrap_or("-")
    )
}

/// The record of a task and what it found, as `key value` lines.
fn record(t: &TaskView) -> String {
    let time = |v: Option<time::OffsetDateTime>| {
        v.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".to_owned())
    };
    let mut out = String::new();
    for (label, value) in [
        ("task", t.id.to_string()),
        ("kind", t.kind.clone()),
        ("restore", t.restore_id.to_string()),
        ("status", t.status.as_str().to_owned()),
        ("started", time(t.started_at)),
        ("ended", time(t.ended_at)),
        ("result", t.result.clone().unwrap_or_else(|| "-".to_owned())),
    ] {
        out.push_str(&format!("{label:<12} {value}\n"));
    }
    if let Some(TaskRequest::References {
        from_schemas,
        outbound,
    }) = &t.options
    {
        let yes = if *outbound { "yes" } else { "no" };
        out.push_str(&format!("{:<12} {yes}\n", "outbound"));
        out.push_str(&format!("{:<12} {}\n", "schemas", from_schemas.join(",")));
    }
    if let Some(summary) = &t.summary {
        for l in summary_lines(summary) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// What a kind's summary says beyond the result message.
fn summary_lines(s: &TaskSummary) -> Vec<String> {
    match s {
        TaskSummary::References(s) => {
            let mut out = vec!["referenced schemas:".to_owned()];
            for r in &s.referenced_schemas {
                let place = match (&r.schema_id, r.restore_id) {
                    (None, _) => "not on the target".to_owned(),
                    (Some(id), Some(restore)) => format!("schema {id}, restore {restore}"),
                    (Some(id), None) => format!("schema {id}, not restored"),
                };
                out.push(format!(
                    "  {} ({}; {place}; {} attributes): {}",
                    r.key,
                    r.state.as_str(),
                    r.attributes,
                    r.message
                ));
            }
            out
        }
        TaskSummary::ObjectTypeIds(s) => vec![format!(
            "{:<12} {} updated, {} unchanged, {} skipped, {} failed",
            "types", s.updated, s.unchanged, s.skipped, s.failed
        )],
        TaskSummary::Issues(s) => {
            let mut out = vec![format!("{:<12} {}", "issues", s.issues)];
            out.push("fields validation results:".to_owned());
            for f in &s.fields {
                let reasons: Vec<String> =
                    f.reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
                out.push(format!(
                    "  {} ({}): {} updated, {} unchanged, {} skipped, {} failed{}",
                    f.field,
                    f.name.as_deref().unwrap_or("not on the target"),
                    f.updated,
                    f.unchanged,
                    f.skipped,
                    f.failed,
                    if reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", reasons.join("; "))
                    }
                ));
            }
            out
        }
        TaskSummary::Comments(s) | TaskSummary::Attachments(s) => vec![
            format!(
                "{:<12} {} in {} objects, {} written (into {})",
                "backup", s.entries, s.objects, s.written, s.into
            ),
            format!(
                "{:<12} {} updated, {} unchanged, {} skipped, {} failed",
                "objects", s.updated, s.unchanged, s.skipped, s.failed
            ),
        ],
    }
}

/// `tasks show`: the record and the per-item report.
fn detail_text(d: &TaskDetail) -> String {
    let mut out = record(&d.view);
    if !d.items.is_empty() {
        out.push_str("items:\n");
        for it in &d.items {
            out.push_str(&format!(
                "  {:<10} {}: {}\n",
                it.outcome.as_str(),
                it.item,
                it.message
            ));
        }
    }
    out
}
