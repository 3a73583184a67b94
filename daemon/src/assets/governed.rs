//! The rate layer around [`Http`]: every attempt waits for the rate [`Governor`] (token
//! bucket per credential and endpoint class; the credential of the pool that is ready soonest)
//! and then for a slot of the adaptive concurrency limit ([`Aimd`]), checks once more that no
//! 429 blocked the credential meanwhile, goes out, and feeds its outcome back: a 429 blocks
//! that credential+class for `Retry-After` (or a backoff when the server gives none),
//! `X-RateLimit-NearLimit` slows the bucket, 429s, 5xx and timeouts halve the concurrency limit
//! and successes grow it. Whether to try again is the retry layer's business
//! ([`super::retry::Retrying`]).

use std::sync::Arc;

use super::governor::{Aimd, Governor};
use super::http::{Failure, Http, Reply, Request};
use super::retry::{self, Backoff};
use super::{Counters, bump};

/// [`Http`] behind the governor and the concurrency limit.
pub(super) struct Governed {
    http: Http,
    pub governor: Governor,
    pub aimd: Aimd,
    backoff: Backoff,
    counters: Arc<Counters>,
    site: String,
}

impl Governed {
    pub fn new(
        http: Http,
        governor: Governor,
        aimd: Aimd,
        backoff: Backoff,
        counters: Arc<Counters>,
        site: String,
    ) -> Governed {
        Governed {
            http,
            governor,
            aimd,
            backoff,
            counters,
            site,
        }
    }

    /// One attempt of `req`; `throttles` is how many 429s this request met already (the
    /// backoff of a 429 without `Retry-After` grows with it).
    pub async fn attempt(&self, req: &Request<'_>, throttles: u32) -> Result<Reply, Failure> {
        let class = req.class();
        // Rate first, then a concurrency slot, then the block check: a request waiting out
        // a Retry-After never holds a slot that requests of other classes could use.
        let (cred, slot) = loop {
            let waiting = tokio::time::Instant::now();
            let cred = self.governor.reserve(class).await;
            let waited = u64::try_from(waiting.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.counters.governor_wait_micros[class as usize]
                .fetch_add(waited, std::sync::atomic::Ordering::Relaxed);
            let slot = self.aimd.acquire().await;
            if self.governor.commit(cred, class) {
                break (cred, slot);
            }
        };
        bump(&self.counters.sent[class as usize]);
        let outcome = self.http.exchange(req, cred).await;
        let started = slot.started;
        drop(slot);
        match &outcome {
            Ok(r) if (200..300).contains(&r.status) => {
                if retry::near_limit(&r.headers) {
                    self.governor.near_limit(cred, class);
                }
                self.aimd.on_success();
            }
            Ok(r) if r.status == 429 => {
                bump(&self.counters.throttled_by_class[class as usize]);
                self.aimd.on_congestion(started);
                let wait = retry::server_wait(&r.headers, retry::unix_now())
                    .unwrap_or_else(|| self.backoff.delay(throttles));
                // Nothing goes out on this credential+class before the wait is over, from any
                // task: an early retry earns a longer penalty.
                self.governor.block(cred, class, wait);
                tracing::debug!(site = %self.site, class = class.name(), wait_ms = wait.as_millis() as u64, "Request throttled.");
            }
            Ok(r) if r.status >= 500 => self.aimd.on_congestion(started),
            Ok(_) => {}
            Err(Failure::Transport(e)) if e.is_timeout() => self.aimd.on_congestion(started),
            Err(_) => {}
        }
        outcome
    }
}
