//! [`Feed`]: the live events of one restore, for `GET /v1/restores/{id}/events` (SSE) and
//! the live progress of `restores show`.
//!
//! The last [`RING_SIZE`] events are kept in a ring and replayed to every new subscriber, then
//! new events stream through a broadcast channel. Replay and subscription happen under one
//! lock, so a subscriber sees every event exactly once, in order (each has a sequence number).
//! A restore reports progress for every object; consecutive progress events of one stage
//! replace each other in the ring so that it keeps the object results rather than hundreds of
//! counters. The feed is a notification channel, not state: the restore row and the full log
//! in the store are the record, and a slow subscriber that falls behind the broadcast buffer
//! skips events rather than slowing the restore.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::restore::RestoreEvent;
use crate::store::{LogLevel, RestoreStatus};

/// Events kept for replay.
pub const RING_SIZE: usize = 500;
/// Events buffered per live subscriber before it starts skipping.
const BROADCAST_CAPACITY: usize = 4096;

/// One live event of a restore, as the SSE stream sends it: `{"event": kind, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LiveEvent {
    /// A stage started (or resumed) with `total` items.
    StageStarted {
        /// Stage key.
        stage: String,
        /// Items it will handle.
        total: u64,
    },
    /// Progress within a stage.
    Progress {
        /// Stage key.
        stage: String,
        /// Items done.
        done: u64,
        /// Items in the stage.
        total: u64,
    },
    /// A stage finished.
    StageFinished {
        /// Stage key.
        stage: String,
        /// Items done.
        done: u64,
        /// Items in the stage.
        total: u64,
    },
    /// One object's result, as in the full log.
    Object {
        /// Key of the object in the backup.
        key: String,
        /// Whether it was created.
        result: bool,
        /// `{ message: 'OK' }` or the API's error body.
        message: Value,
    },
    /// A note (a user left empty, an icon replaced ...).
    Log {
        /// How much it matters.
        level: LogLevel,
        /// What happened.
        message: String,
    },
    /// The last event: how the restore ended.
    End {
        /// Its status.
        status: RestoreStatus,
        /// Its result message.
        result: Option<String>,
    },
    /// The daemon is shutting down; the stream ends (the restore resumes after the restart).
    Shutdown,
}

impl LiveEvent {
    /// The `event` field: `stage_started`, `progress`, `object`, `log`, `end`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            LiveEvent::StageStarted { .. } => "stage_started",
            LiveEvent::Progress { .. } => "progress",
            LiveEvent::StageFinished { .. } => "stage_finished",
            LiveEvent::Object { .. } => "object",
            LiveEvent::Log { .. } => "log",
            LiveEvent::End { .. } => END,
            LiveEvent::Shutdown => "shutdown",
        }
    }

    /// `(stage, done, total)` of a stage event.
    fn stage_count(&self) -> Option<(&str, u64, u64)> {
        match self {
            LiveEvent::StageStarted { stage, total } => Some((stage, 0, *total)),
            LiveEvent::Progress { stage, done, total }
            | LiveEvent::StageFinished { stage, done, total } => Some((stage, *done, *total)),
            _ => None,
        }
    }
}

impl From<&RestoreEvent> for LiveEvent {
    fn from(e: &RestoreEvent) -> Self {
        match e {
            RestoreEvent::StageStarted { stage, total } => LiveEvent::StageStarted {
                stage: stage.key().to_owned(),
                total: *total,
            },
            RestoreEvent::Progress { stage, done, total } => LiveEvent::Progress {
                stage: stage.key().to_owned(),
                done: *done,
                total: *total,
            },
            RestoreEvent::StageFinished { stage, done, total } => LiveEvent::StageFinished {
                stage: stage.key().to_owned(),
                done: *done,
                total: *total,
            },
            RestoreEvent::Object {
                key,
                result,
                message,
            } => LiveEvent::Object {
                key: key.clone(),
                result: *result,
                message: message.clone(),
            },
            RestoreEvent::Log { level, message } => LiveEvent::Log {
                level: *level,
                message: message.clone(),
            },
        }
    }
}

/// One event: its sequence number (from 1) and the event.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Position in the restore's event sequence.
    pub seq: u64,
    /// The event.
    pub data: Arc<LiveEvent>,
}

impl FeedEvent {
    /// The `event` field of the event.
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }

    /// Whether this is the last event of a restore.
    pub fn is_end(&self) -> bool {
        matches!(*self.data, LiveEvent::End { .. })
    }
}

/// Kind of the last event of a restore.
pub const END: &str = "end";

/// What a subscriber gets: the replay, then (unless the restore has ended) the live channel.
pub struct Subscription {
    /// The ring's events, oldest first.
    pub replay: Vec<FeedEvent>,
    /// New events; `None` when the restore has ended (the replay then ends with `end`).
    pub live: Option<broadcast::Receiver<FeedEvent>>,
}

struct Inner {
    ring: VecDeque<FeedEvent>,
    next_seq: u64,
    ended: bool,
    /// Latest `(stage key, done, total)`, for `restores show` between checkpoints.
    progress: Option<(String, u64, u64)>,
}

/// The event feed of one restore.
pub struct Feed {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<FeedEvent>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            inner: Mutex::new(Inner {
                ring: VecDeque::with_capacity(RING_SIZE),
                next_seq: 1,
                ended: false,
                progress: None,
            }),
            tx: broadcast::channel(BROADCAST_CAPACITY).0,
        }
    }
}

impl Feed {
    /// Publishes an event (ignored once the feed has ended).
    pub fn push(&self, data: LiveEvent) {
        let mut inner = self.inner.lock();
        if inner.ended {
            return;
        }
        if let Some((stage, done, total)) = data.stage_count() {
            inner.progress = Some((stage.to_owned(), done, total));
        }
        let replaces_last = match (&data, inner.ring.back().map(|e| &*e.data)) {
            (LiveEvent::Progress { stage, .. }, Some(LiveEvent::Progress { stage: last, .. })) => {
                stage == last
            }
            _ => false,
        };
        if replaces_last {
            inner.ring.pop_back();
        }
        let event = FeedEvent {
            seq: inner.next_seq,
            data: Arc::new(data),
        };
        inner.next_seq += 1;
        if inner.ring.len() == RING_SIZE {
            inner.ring.pop_front();
        }
        inner.ring.push_back(event.clone());
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    /// Publishes the final `end` event with the restore's status and result; later pushes
    /// are ignored and new subscribers get only the replay.
    pub fn end(&self, status: RestoreStatus, result: Option<&str>) {
        self.push(LiveEvent::End {
            status,
            result: result.map(str::to_owned),
        });
        self.inner.lock().ended = true;
    }

    /// Whether [`Feed::end`] was called.
    pub fn ended(&self) -> bool {
        self.inner.lock().ended
    }

    /// The ring's events and, unless ended, a receiver of the events after them.
    pub fn subscribe(&self) -> Subscription {
        let inner = self.inner.lock();
        Subscription {
            replay: inner.ring.iter().cloned().collect(),
            live: (!inner.ended).then(|| self.tx.subscribe()),
        }
    }

    /// The latest progress: `(stage key, done, total)`.
    pub fn progress(&self) -> Option<(String, u64, u64)> {
        self.inner.lock().progress.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn progress(stage: &str, done: u64) -> LiveEvent {
        LiveEvent::Progress {
            stage: stage.to_owned(),
            done,
            total: 1000,
        }
    }

    fn object(key: String) -> LiveEvent {
        LiveEvent::Object {
            key,
            result: true,
            message: json!({"message": "OK"}),
        }
    }

    #[test]
    fn the_ring_keeps_the_last_events_and_coalesces_progress() {
        let feed = Feed::default();
        for i in 0..600 {
            feed.push(object(format!("K-{i}")));
            feed.push(progress("object_entries", i + 1));
        }
        let sub = feed.subscribe();
        assert_eq!(sub.replay.len(), RING_SIZE);
        // Each object's progress replaced the one before only when adjacent: objects stay.
        let objects = sub.replay.iter().filter(|e| e.kind() == "object").count();
        assert_eq!(objects, RING_SIZE / 2);
        let seqs: Vec<u64> = sub.replay.iter().map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            feed.progress(),
            Some(("object_entries".to_owned(), 600, 1000))
        );
        feed.push(progress("object_entries", 601));
        feed.push(progress("object_entries", 602));
        let last = feed.subscribe().replay;
        assert_eq!(*last.last().unwrap().data, progress("object_entries", 602));
        assert_eq!(last[last.len() - 2].kind(), "object");
    }

    #[tokio::test]
    async fn subscribers_get_the_replay_then_live_events_then_the_end() {
        let feed = Feed::default();
        feed.push(LiveEvent::StageStarted {
            stage: "icons".into(),
            total: 1,
        });
        let mut sub = feed.subscribe();
        assert_eq!(sub.replay.len(), 1);
        feed.push(LiveEvent::Log {
            level: LogLevel::Info,
            message: "hi".into(),
        });
        feed.end(RestoreStatus::Completed, Some("completed"));
        feed.push(LiveEvent::Log {
            level: LogLevel::Info,
            message: "ignored".into(),
        });
        let live = sub.live.as_mut().unwrap();
        assert_eq!(live.recv().await.unwrap().seq, 2);
        let end = live.recv().await.unwrap();
        assert!(end.is_end());
        assert_eq!(
            serde_json::to_value(&*end.data).unwrap(),
            json!({"event": "end", "status": "completed", "result": "completed"})
        );
        let after = feed.subscribe();
        assert!(after.live.is_none());
        assert!(after.replay.last().unwrap().is_end());
        assert_eq!(after.replay.len(), 3);
    }
}
