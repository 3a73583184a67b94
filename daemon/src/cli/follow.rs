//! `backup run --follow`: the live events of a job (`GET /v1/jobs/{id}/events`, server-sent
//! events) as lines of text, or as JSON lines with `--json`, until the job ends; exits 1 when
//! it failed, as `--wait` does.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::restores::SseParser;
use super::util::Failure;
use crate::api::client::ControlClient;
use crate::api::wire::{JobEvent, JobOutcome, JobStatus};

/// Progress lines of one stage come at most this often.
const LINE_INTERVAL: Duration = Duration::from_secs(1);

/// Streams a job's events until it ends.
///
/// # Errors
///
/// A [`Failure`] when the job failed, the daemon stopped first, or it cannot be reached.
pub(super) async fn follow_job(
    client: &ControlClient,
    job_id: i64,
    json: bool,
) -> Result<(), Failure> {
    let mut parser = SseParser::default();
    let mut end: Option<JobEvent> = None;
    let mut last_stage: Option<(String, Instant)> = None;
    client
        .stream(&format!("/v1/jobs/{job_id}/events"), |chunk| {
            for (kind, data) in parser.feed(chunk) {
                let event = serde_json::from_str::<JobEvent>(&data);
                if json {
                    let v: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    println!("{v}");
                } else if let Ok(e) = &event
                    && let Some(line) = line(e, &mut last_stage)
                {
                    println!("{line}");
                } else if event.is_err() {
                    println!("{kind} {data}");
                }
                if let Ok(e) = event
                    && e.is_end()
                {
                    end = Some(e);
                }
            }
            true
        })
        .await?;
    match end {
        Some(JobEvent::End {
            status: JobStatus::Done,
            ..
        }) => Ok(()),
        Some(JobEvent::End {
            status: JobStatus::Failed,
            error,
            ..
        }) => Err(Failure::error(format!(
            "job {job_id} failed: {}",
            error.as_deref().unwrap_or("unknown error")
        ))),
        _ => Err(Failure::error(format!(
            "the daemon stopped before job {job_id} ended; it runs again when the daemon starts"
        ))),
    }
}

/// One event as a line; progress of one stage at most once a second.
fn line(e: &JobEvent, last_stage: &mut Option<(String, Instant)>) -> Option<String> {
    match e {
        JobEvent::State { status, progress } => Some(match progress {
            Some(p) => format!("job {status}: stage {} {}/{}", p.stage, p.done, p.total),
            None => format!("job {status}"),
        }),
        JobEvent::Started { attempt: 1 } => Some("started".to_owned()),
        JobEvent::Started { attempt } => Some(format!("started again (run {attempt})")),
        JobEvent::Progress(p) => {
            let new_stage = last_stage.as_ref().is_none_or(|(s, _)| *s != p.stage);
            let due = last_stage
                .as_ref()
                .is_none_or(|(_, at)| at.elapsed() >= LINE_INTERVAL);
            (new_stage || due || p.done == p.total).then(|| {
                *last_stage = Some((p.stage.clone(), Instant::now()));
                format!("stage {} {}/{}", p.stage, p.done, p.total)
            })
        }
        JobEvent::Retrying {
            attempt,
            delay_ms,
            error,
        } => Some(format!(
            "run {attempt} failed, retrying in {:.1} s: {error}",
            *delay_ms as f64 / 1000.0
        )),
        JobEvent::End {
            status,
            error,
            result,
        } => Some(match (status, error, result.as_deref()) {
            (JobStatus::Done, _, Some(JobOutcome::Backup(b))) => format!(
                "backup {} complete: {} objects",
                b.backup.id, b.backup.object_count
            ),
            (_, Some(e), _) => format!("job {status}: {e}"),
            _ => format!("job {status}"),
        }),
        JobEvent::Shutdown => Some("the daemon is shutting down".to_owned()),
    }
}
