//! The rate governor and the adaptive concurrency limit of one site.
//!
//! - [`Governor`]: a token bucket per (credential, endpoint [`Class`]), refilled at the
//!   documented per-minute limit with a ~2 s burst. A 429 blocks that credential+class until its
//!   `Retry-After` *inside the governor*, so no task — not just the one that got the 429 — sends
//!   on it early (Atlassian answers an early retry with a longer penalty).
//!   `X-RateLimit-NearLimit` slows the bucket down for a while. With a credential pool every
//!   request takes the credential whose bucket is ready soonest, so N tokens give ~N× throughput.
//! - [`Aimd`]: how many requests the site may have in flight: additive increase (+1 per
//!   [`AIMD_INCREASE_EVERY`] successes), multiplicative decrease (halve on 429/5xx/timeouts).
//!
//! Both use `tokio::time`, so tests run them with paused time.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

pub use assets_limits::Class;

/// The class of an Assets request (`path` relative to the workspace base, query allowed).
/// Mirrors the documented per-endpoint limits (reference §15.1).
pub fn classify(method: &reqwest::Method, path: &str) -> Class {
    let path = path.split('?').next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let get = method == reqwest::Method::GET;
    let post = method == reqwest::Method::POST;
    assets_limits::classify(get, post, &segs).0
}

/// Seconds of the per-minute rate a bucket may burst: small, so a fresh client does not spend
/// a budget the server's own bucket (which may have been drained by another process) lacks.
const BURST_SECS: f64 = 2.0;
/// Rate factor while the server says we are near its limit.
const NEAR_LIMIT_FACTOR: f64 = 0.8;
/// How long a near-limit signal slows a bucket down.
const NEAR_LIMIT_HOLD: Duration = Duration::from_secs(10);
/// Events kept when recording is on (oldest dropped first).
const EVENT_LOG_CAP: usize = 200_000;

/// What the governor did, recorded when [`Governor::record_events`] is on (tests and
/// diagnostics; never contains credentials, only the pool index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GovernorEvent {
    /// When it happened.
    pub at: Instant,
    /// Index of the credential in the site's pool.
    pub credential: usize,
    /// Endpoint class.
    pub class: Class,
    /// What happened.
    pub kind: EventKind,
}

/// Kind of a [`GovernorEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A request was allowed to go out.
    Sent,
    /// A 429 blocked the credential+class until `until`.
    Blocked {
        /// End of the block.
        until: Instant,
    },
}

struct Bucket {
    tokens: f64,
    /// Time up to which `tokens` is accounted (may lie in the future after a block).
    last: Instant,
    rate_per_sec: f64,
    capacity: f64,
    blocked_until: Option<Instant>,
    slow_until: Option<Instant>,
}

impl Bucket {
    fn new(per_minute: u32, now: Instant) -> Bucket {
        let rate = f64::from(per_minute.max(1)) / 60.0;
        let capacity = (rate * BURST_SECS).max(1.0);
        Bucket {
            tokens: capacity,
            last: now,
            rate_per_sec: rate,
            capacity,
            blocked_until: None,
            slow_until: None,
        }
    }

    fn rate(&self, now: Instant) -> f64 {
        match self.slow_until {
            Some(t) if t > now => self.rate_per_sec * NEAR_LIMIT_FACTOR,
            _ => self.rate_per_sec,
        }
    }

    fn refill(&mut self, now: Instant) {
        if now > self.last {
            let elapsed = (now - self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate(now)).min(self.capacity);
            self.last = now;
        }
    }

    /// The earliest instant a request may go out (after [`Bucket::refill`]).
    fn ready_at(&self, now: Instant) -> Instant {
        let mut at = now.max(self.last);
        if self.tokens < 1.0 {
            at += Duration::from_secs_f64((1.0 - self.tokens) / self.rate(now));
        }
        match self.blocked_until {
            Some(b) if b > at => b,
            _ => at,
        }
    }
}

struct GovState {
    /// `buckets[credential][class]`.
    buckets: Vec<[Bucket; 5]>,
    log: Option<VecDeque<GovernorEvent>>,
}

impl GovState {
    fn record(&mut self, ev: GovernorEvent) {
        if let Some(log) = &mut self.log {
            if log.len() == EVENT_LOG_CAP {
                log.pop_front();
            }
            log.push_back(ev);
        }
    }
}

/// Token buckets per credential and class, shared by every job on a site.
pub struct Governor {
    state: Mutex<GovState>,
    /// Notified when a 429 lands: sleeping waiters must re-plan, because the credential they
    /// planned to use may now be blocked and another one may be the soonest.
    changed: Notify,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor")
            .field("credentials", &self.state.lock().buckets.len())
            .finish_non_exhaustive()
    }
}

impl Governor {
    /// A governor for `credentials` tokens with the per-minute limit of each class given by
    /// `per_minute` (indexed like [`Class::ALL`]).
    pub fn new(credentials: usize, per_minute: [u32; 5]) -> Governor {
        let now = Instant::now();
        let buckets = (0..credentials.max(1))
            .map(|_| per_minute.map(|pm| Bucket::new(pm, now)))
            .collect();
        Governor {
            state: Mutex::new(GovState { buckets, log: None }),
            changed: Notify::new(),
        }
    }

    /// Waits until some credential may send a request of `class`, takes one token from it and
    /// returns its index ([`reserve`](Self::reserve) + [`commit`](Self::commit)).
    pub async fn acquire(&self, class: Class) -> usize {
        loop {
            let cred = self.reserve(class).await;
            if self.commit(cred, class) {
                return cred;
            }
        }
    }

    /// Waits until some credential's bucket for `class` has a token and is not blocked, takes
    /// the token and returns the credential: the one ready soonest. The request must still be
    /// [`commit`](Self::commit)ted right before it goes out.
    pub async fn reserve(&self, class: Class) -> usize {
        loop {
            // Register for wake-ups before looking, so a 429 landing between the look and the
            // sleep still makes us re-plan.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait_until = {
                let mut st = self.state.lock();
                let now = Instant::now();
                let mut best: Option<(usize, Instant)> = None;
                for (i, per_class) in st.buckets.iter_mut().enumerate() {
                    let b = &mut per_class[class.index()];
                    b.refill(now);
                    let at = b.ready_at(now);
                    if best.is_none_or(|(_, t)| at < t) {
                        best = Some((i, at));
                    }
                }
                // `new` makes at least one credential's buckets, so `best` is always set.
                let (cred, at) = best.expect("at least one credential");
                if at <= now {
                    st.buckets[cred][class.index()].tokens -= 1.0;
                    return cred;
                }
                at
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wait_until) => {}
                _ = &mut notified => {}
            }
        }
    }

    /// The last check before a reserved request goes out: `false` if a 429 blocked the
    /// credential+class since the reservation (the caller reserves again); `true` records the
    /// send. The client reserves first and waits for a concurrency slot second, so a request
    /// waiting out a block does not sit on a slot other classes could use — this check keeps
    /// the block strict across that wait.
    pub fn commit(&self, credential: usize, class: Class) -> bool {
        let mut st = self.state.lock();
        let now = Instant::now();
        let Some(per_class) = st.buckets.get(credential) else {
            return false;
        };
        if per_class[class.index()]
            .blocked_until
            .is_some_and(|until| until > now)
        {
            return false;
        }
        st.record(GovernorEvent {
            at: now,
            credential,
            class,
            kind: EventKind::Sent,
        });
        true
    }

    /// A 429 arrived for `credential`+`class`: nothing goes out on it before `retry_after`
    /// from now. A block never shortens an existing one. The bucket restarts with one token at
    /// the end of the block, so traffic resumes at the steady rate, not with a burst.
    pub fn block(&self, credential: usize, class: Class, retry_after: Duration) {
        let mut st = self.state.lock();
        let now = Instant::now();
        let until = now + retry_after;
        let Some(per_class) = st.buckets.get_mut(credential) else {
            return;
        };
        let b = &mut per_class[class.index()];
        let until = b.blocked_until.map_or(until, |u| u.max(until));
        b.blocked_until = Some(until);
        b.tokens = 1.0;
        b.last = until;
        st.record(GovernorEvent {
            at: now,
            credential,
            class,
            kind: EventKind::Blocked { until },
        });
        drop(st);
        self.changed.notify_waiters();
    }

    /// The server says `credential`+`class` is near its limit: run that bucket at
    /// [`NEAR_LIMIT_FACTOR`] of its rate for [`NEAR_LIMIT_HOLD`].
    pub fn near_limit(&self, credential: usize, class: Class) {
        let mut st = self.state.lock();
        let now = Instant::now();
        if let Some(per_class) = st.buckets.get_mut(credential) {
            let b = &mut per_class[class.index()];
            b.refill(now);
            b.slow_until = Some(now + NEAR_LIMIT_HOLD);
        }
    }

    /// Turns the event log on (clearing it) or off.
    pub fn record_events(&self, on: bool) {
        self.state.lock().log = on.then(VecDeque::new);
    }

    /// The recorded events, oldest first.
    pub fn events(&self) -> Vec<GovernorEvent> {
        self.state
            .lock()
            .log
            .as_ref()
            .map(|l| l.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// Successes needed for one step of additive increase.
pub const AIMD_INCREASE_EVERY: u32 = 20;
/// Where the concurrency limit starts.
pub const AIMD_START: usize = 4;

struct AimdState {
    limit: usize,
    in_flight: usize,
    successes: u32,
    /// Requests that started before the last decrease do not cause another one: a burst of
    /// 429s from one overloaded moment halves the limit once, not down to 1.
    last_decrease: Instant,
}

/// Adaptive concurrency limit (AIMD) for one site.
pub struct Aimd {
    state: Mutex<AimdState>,
    max: usize,
    freed: Notify,
}

/// A slot of the concurrency limit; released on drop.
pub struct Slot<'a> {
    aimd: &'a Aimd,
    /// When the request holding this slot started (for the decrease rule).
    pub started: Instant,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.aimd.state.lock().in_flight -= 1;
        self.aimd.freed.notify_one();
    }
}

impl Aimd {
    /// A limit starting at `min(AIMD_START, max)` and never above `max`.
    pub fn new(max: usize) -> Aimd {
        let max = max.max(1);
        Aimd {
            state: Mutex::new(AimdState {
                limit: AIMD_START.min(max),
                in_flight: 0,
                successes: 0,
                last_decrease: Instant::now(),
            }),
            max,
            freed: Notify::new(),
        }
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.state.lock().limit
    }

    /// Waits for a free slot under the current limit.
    pub async fn acquire(&self) -> Slot<'_> {
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = self.state.lock();
                if st.in_flight < st.limit {
                    st.in_flight += 1;
                    return Slot {
                        aimd: self,
                        started: Instant::now(),
                    };
                }
            }
            notified.await;
        }
    }

    /// A request succeeded: every [`AIMD_INCREASE_EVERY`] successes add one slot.
    pub fn on_success(&self) {
        let mut st = self.state.lock();
        st.successes += 1;
        if st.successes >= AIMD_INCREASE_EVERY {
            st.successes = 0;
            if st.limit < self.max {
                st.limit += 1;
                drop(st);
                self.freed.notify_one();
            }
        }
    }

    /// A request that started at `started` met congestion (429, 5xx, timeout): halve the
    /// limit, unless a decrease already happened after that request started.
    pub fn on_congestion(&self, started: Instant) {
        let mut st = self.state.lock();
        if started < st.last_decrease {
            return;
        }
        st.limit = (st.limit / 2).max(1);
        st.successes = 0;
        st.last_decrease = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_the_documented_limits() {
        use reqwest::Method;
        assert_eq!(classify(&Method::POST, "/object/aql?startAt=0"), Class::Aql);
        assert_eq!(
            classify(&Method::POST, "/object/aql/totalcount"),
            Class::AqlLegacy
        );
        assert_eq!(classify(&Method::GET, "/object/5"), Class::Object);
        assert_eq!(classify(&Method::GET, "/object/5/history"), Class::Other);
        assert_eq!(classify(&Method::PUT, "/object/5"), Class::Other);
        assert_eq!(
            classify(&Method::GET, "/objecttype/3/attributes?x=1"),
            Class::Object
        );
        assert_eq!(classify(&Method::GET, "/objectschema/list"), Class::Other);
    }
}
