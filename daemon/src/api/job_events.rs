//! `GET /v1/jobs/{id}/events`: the live events of any job as server-sent events — a backup's
//! stages and progress, its retries and its end (`backup run --follow`), and the same for
//! every other kind of job (post-restore tasks, as jobs, get their feed from here).
//!
//! The stream subscribes to the runner's event bus first and reads the job's row second, so
//! nothing falls between the two: the first event is the job's `state` from its row, then
//! live events follow until `end`. A job that has already ended gets `state` and `end` from
//! its row, and the stream closes. Each SSE message has `event:` = the event kind and
//! `data:` = its JSON (`crate::jobs::JobEvent`).

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::ApiState;
use super::error::{ApiPath, ApiResult, parse_id};
use crate::jobs::{JobEvent, JobNote};
use crate::store::{JobId, JobStatus};

pub(super) fn router() -> Router<ApiState> {
    Router::new().route("/v1/jobs/{id}/events", get(events))
}

#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = "jobs", params(("id" = String, Path, description = "Job id (a positive integer)")), responses((status = 200, description = "Server-sent events: `state`, then `started`, `progress`, `retrying`, until `end` (or `shutdown`); each `data` is a JobEvent", content_type = "text/event-stream", body = String), crate::api::openapi::ApiErrors))]
pub(super) async fn events(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let id = parse_id("job", &id)?;
    let rx = state.jobs.subscribe();
    let job = state.jobs.view(id).await?;
    let mut first = vec![JobEvent::State {
        status: job.status,
        progress: job.progress.clone(),
    }];
    let live = if matches!(job.status, JobStatus::Done | JobStatus::Failed) {
        first.push(JobEvent::End {
            status: job.status,
            error: job.error.clone(),
            result: job.result.clone().map(Box::new),
        });
        None
    } else {
        Some(rx)
    };
    let stream = stream(id, first, live, state.jobs.shutdown_token());
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn sse(e: &JobEvent) -> Event {
    // A JobEvent holds plain data; it always serializes.
    Event::default()
        .event(e.kind())
        .data(serde_json::to_string(e).unwrap_or_default())
}

/// Where the stream is.
enum Phase {
    First(
        std::vec::IntoIter<JobEvent>,
        Option<broadcast::Receiver<JobNote>>,
    ),
    Live(broadcast::Receiver<JobNote>),
    Done,
}

fn stream(
    id: JobId,
    first: Vec<JobEvent>,
    live: Option<broadcast::Receiver<JobNote>>,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(Phase::First(first.into_iter(), live), move |phase| {
        let shutdown = shutdown.clone();
        async move {
            match phase {
                Phase::Done => None,
                Phase::First(mut queue, live) => match queue.next() {
                    Some(e) if e.is_end() => Some((Ok(sse(&e)), Phase::Done)),
                    Some(e) => Some((Ok(sse(&e)), Phase::First(queue, live))),
                    None => match live {
                        Some(rx) => next_live(id, rx, &shutdown).await,
                        None => None,
                    },
                },
                Phase::Live(rx) => next_live(id, rx, &shutdown).await,
            }
        }
    })
}

async fn next_live(
    id: JobId,
    mut rx: broadcast::Receiver<JobNote>,
    shutdown: &CancellationToken,
) -> Option<(Result<Event, Infallible>, Phase)> {
    loop {
        let received = tokio::select! {
            r = rx.recv() => r,
            () = shutdown.cancelled() => return Some((Ok(sse(&JobEvent::Shutdown)), Phase::Done)),
        };
        match received {
            Ok(note) if note.job != id => {}
            Ok(note) if note.event.is_end() => return Some((Ok(sse(&note.event)), Phase::Done)),
            Ok(note) => return Some((Ok(sse(&note.event)), Phase::Live(rx))),
            // A slow reader skips events rather than slowing the job; say so.
            Err(broadcast::error::RecvError::Lagged(n)) => {
                return Some((
                    Ok(Event::default().comment(format!("skipped {n} events"))),
                    Phase::Live(rx),
                ));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
