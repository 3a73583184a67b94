//! `GET /v1/restores/{id}/events`: a restore's live events as server-sent events.
//!
//! A new subscriber first gets the last 500 events (the feed's ring), then new ones as they
//! happen; the stream ends after the `end` event (the restore completed, failed or was
//! stopped), or with a `shutdown` event when the daemon stops. `?follow=false` sends only the
//! replay. Each SSE message has `event:` = the event kind (`stage_started`, `progress`,
//! `stage_finished`, `object`, `log`, `end`), `id:` = its sequence number and `data:` = its
//! JSON. When this process has no feed for an ended restore (it ran before a restart), the
//! replay is rebuilt from the tail of the stored log.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::ApiState;
use super::error::{ApiError, ApiPath, ApiQuery, ApiResult, parse_id};
use crate::jobs::feed::{LiveEvent, RING_SIZE};
use crate::jobs::{FeedEvent, Subscription};
use crate::store::{LogEntry, RestoreStatus};

/// Log entries read per query when the replay comes from the store.
const LOG_PAGE: usize = 2000;

pub(super) fn router() -> Router<ApiState> {
    Router::new().route("/v1/restores/{id}/events", get(events))
}

/// `?follow=false`: the replay only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    follow: Option<String>,
}

#[utoipa::path(get, path = "/v1/restores/{id}/events", tag = "restores", params(("id" = String, Path, description = "Restore id (a positive integer)"), ("follow" = Option<String>, Query, description = "false: the replay only")), responses((status = 200, description = "Server-sent events: the last 500, then live ones until `end`", content_type = "text/event-stream", body = String), crate::api::openapi::ApiErrors))]
pub(super) async fn events(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let id = parse_id("restore", &id)?;
    let follow = match q.follow.as_deref() {
        None | Some("" | "true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("follow: {other:?} is not true or false"),
            ));
        }
    };
    let row = state.store.get_restore(id).await?;
    let ended = matches!(
        row.status,
        RestoreStatus::Completed | RestoreStatus::Error | RestoreStatus::Stopped
    );
    let sub = match state.jobs.restore_feed(id) {
        Some(feed) => feed.subscribe(),
        None if ended || !follow => {
            // Ran before this process started: rebuild the replay from the tail of the stored
            // log, a page at a time so a huge log never sits in memory whole.
            let mut tail: VecDeque<LogEntry> = VecDeque::with_capacity(RING_SIZE);
            let mut after = 0;
            loop {
                let page = state.store.restore_log(id, after, LOG_PAGE).await?;
                let full = page.len() == LOG_PAGE;
                after = page.last().map_or(after, |e| e.seq);
                for e in page {
                    if tail.len() == RING_SIZE - 1 {
                        tail.pop_front();
                    }
                    tail.push_back(e);
                }
                if !full {
                    break;
                }
            }
            let mut replay: Vec<FeedEvent> = tail
                .iter()
                .enumerate()
                .map(|(i, e)| FeedEvent {
                    seq: i as u64 + 1,
                    data: Arc::new(log_event(e)),
                })
                .collect();
            if ended {
                replay.push(FeedEvent {
                    seq: replay.len() as u64 + 1,
                    data: Arc::new(LiveEvent::End {
                        status: row.status,
                        result: row.result.clone(),
                    }),
                });
            }
            Subscription { replay, live: None }
        }
        // Pending or resumed but not claimed yet: its events will come through this feed.
        None => state.jobs.restore_feed_or_new(id).subscribe(),
    };
    let live = if follow { sub.live } else { None };
    let stream = sse_stream(sub.replay.into(), live, state.jobs.shutdown_token());
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The live event of a stored log entry (same shape as the pipeline's `object`/`log`).
fn log_event(e: &LogEntry) -> LiveEvent {
    match e.level {
        None => LiveEvent::Object {
            key: e.object_key.clone(),
            result: e.result,
            message: e.message.clone(),
        },
        Some(level) => {
            let text = e
                .message
                .as_str()
                .map_or_else(|| e.message.to_string(), str::to_owned);
            let message = if e.object_key.is_empty() {
                text
            } else {
                format!("{}: {text}", e.object_key)
            };
            LiveEvent::Log { level, message }
        }
    }
}

fn sse_event(e: &FeedEvent) -> Event {
    // A LiveEvent holds plain data; it always serializes.
    let data = serde_json::to_string(&*e.data).unwrap_or_default();
    Event::default()
        .event(e.kind())
        .id(e.seq.to_string())
        .data(data)
}

/// Where the stream is.
enum Phase {
    Replay(VecDeque<FeedEvent>, Option<broadcast::Receiver<FeedEvent>>),
    Live(broadcast::Receiver<FeedEvent>),
    Done,
}

/// The replay, then live events until `end` (or shutdown).
fn sse_stream(
    replay: VecDeque<FeedEvent>,
    live: Option<broadcast::Receiver<FeedEvent>>,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(Phase::Replay(replay, live), move |phase| {
        let shutdown = shutdown.clone();
        async move {
            match phase {
                Phase::Done => None,
                Phase::Replay(mut queue, live) => match queue.pop_front() {
                    Some(e) if e.is_end() => Some((Ok(sse_event(&e)), Phase::Done)),
                    Some(e) => Some((Ok(sse_event(&e)), Phase::Replay(queue, live))),
                    None => match live {
                        Some(rx) => next_live(rx, &shutdown).await,
                        None => None,
                    },
                },
                Phase::Live(rx) => next_live(rx, &shutdown).await,
            }
        }
    })
}

async fn next_live(
    mut rx: broadcast::Receiver<FeedEvent>,
    shutdown: &CancellationToken,
) -> Option<(Result<Event, Infallible>, Phase)> {
    let received = tokio::select! {
        r = rx.recv() => r,
        () = shutdown.cancelled() => {
            let shutdown = LiveEvent::Shutdown;
            let e = Event::default()
                .event(shutdown.kind())
                .data(serde_json::to_string(&shutdown).unwrap_or_default());
            return Some((Ok(e), Phase::Done));
        }
    };
    match received {
        Ok(e) if e.is_end() => Some((Ok(sse_event(&e)), Phase::Done)),
        Ok(e) => Some((Ok(sse_event(&e)), Phase::Live(rx))),
        // A slow reader skips events rather than slowing the restore; say so.
        Err(broadcast::error::RecvError::Lagged(n)) => Some((
            Ok(Event::default().comment(format!("skipped {n} events"))),
            Phase::Live(rx),
        )),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}
