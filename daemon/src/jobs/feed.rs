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
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Events kept for replay.
pub const RING_SIZE: usize = 500;
/// Events buffered per live subscriber before it starts skipping.
const BROADCAST_CAPACITY: usize = 4096;

/// One event: its sequence number (from 1) and its JSON (`{"event": kind, ...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Position in the restore's event sequence.
    pub seq: u64,
    /// The event.
    pub data: Arc<Value>,
}

impl FeedEvent {
    /// The `event` field: `stage_started`, `progress`, `object`, `log`, `end`, ...
    pub fn kind(&self) -> &str {
        self.data["event"].as_str().unwrap_or("message")
    }

    /// Whether this is the last event of a restore.
    pub fn is_end(&self) -> bool {
        self.kind() == END
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
    pub fn push(&self, data: Value) {
        let mut inner = self.inner.lock();
        if inner.ended {
            return;
        }
        let kind = data["event"].as_str().unwrap_or_default();
        if matches!(kind, "progress" | "stage_started" | "stage_finished")
            && let Some(stage) = data["stage"].as_str()
        {
            let done = data["done"].as_u64().unwrap_or(0);
            let total = data["total"].as_u64().unwrap_or(0);
            inner.progress = Some((stage.to_owned(), done, total));
        }
        let replaces_last = kind == "progress"
            && inner.ring.back().is_some_and(|last| {
                last.kind() == "progress" && last.data["stage"] == data["stage"]
            });
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
    pub fn end(&self, status: &str, result: Option<&str>) {
        self.push(json!({ "event": END, "status": status, "result": result }));
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
    use super::*;

    fn progress(stage: &str, done: u64) -> Value {
        json!({"event": "progress", "stage": stage, "done": done, "total": 1000})
    }

    #[test]
    fn the_ring_keeps_the_last_events_and_coalesces_progress() {
        let feed = Feed::default();
        for i in 0..600 {
            feed.push(json!({"event": "object", "key": format!("K-{i}")}));
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
        assert_eq!(last.last().unwrap().data["done"], 602);
        assert_eq!(last[last.len() - 2].kind(), "object");
    }

    #[tokio::test]
    async fn subscribers_get_the_replay_then_live_events_then_the_end() {
        let feed = Feed::default();
        feed.push(json!({"event": "stage_started", "stage": "icons", "total": 1}));
        let mut sub = feed.subscribe();
        assert_eq!(sub.replay.len(), 1);
        feed.push(json!({"event": "log", "message": "hi"}));
        feed.end("completed", Some("completed"));
        feed.push(json!({"event": "log", "message": "ignored"}));
        let live = sub.live.as_mut().unwrap();
        assert_eq!(live.recv().await.unwrap().seq, 2);
        let end = live.recv().await.unwrap();
        assert!(end.is_end());
        assert_eq!(end.data["status"], "completed");
        let after = feed.subscribe();
        assert!(after.live.is_none());
        assert!(after.replay.last().unwrap().is_end());
        assert_eq!(after.replay.len(), 3);
    }
}
