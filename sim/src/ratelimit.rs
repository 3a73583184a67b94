//! Rate limits (reference §15): a token bucket per credential and endpoint, refilled at the
//! documented per-minute rate (500 / 1000 / 2000, and a configurable default for the rest),
//! with a burst of `burst_seconds` of that rate. Time is tokio's, so tests can pause it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::time::Instant;

use crate::config::RateLimitConfig;

pub use assets_limits::Class;

/// The outcome of admitting one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Not limited (limits off).
    Unlimited,
    Allow {
        limit: u32,
        remaining: u32,
        near_limit: bool,
    },
    Deny {
        limit: u32,
        retry_after_secs: u64,
    },
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    cfg: RwLock<RateLimitConfig>,
    buckets: Mutex<HashMap<(u64, &'static str), Bucket>>,
    denied: AtomicU64,
    /// Virtual time added to the clock (the admin API advances it, so tests need not wait).
    offset_ms: AtomicU64,
}

impl RateLimiter {
    pub fn new(cfg: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            cfg: RwLock::new(cfg),
            buckets: Mutex::new(HashMap::new()),
            denied: AtomicU64::new(0),
            offset_ms: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> RateLimitConfig {
        self.cfg.read().clone()
    }

    /// Replaces the configuration; buckets start full again.
    pub fn set_config(&self, cfg: RateLimitConfig) {
        *self.cfg.write() = cfg;
        self.buckets.lock().clear();
    }

    /// Moves the limiter's clock forward, as if `by` had passed.
    pub fn advance(&self, by: std::time::Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }

    fn now(&self) -> Instant {
        Instant::now() + std::time::Duration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Number of 429s served so far.
    pub fn denied(&self) -> u64 {
        self.denied.load(Ordering::Relaxed)
    }

    /// The scaled per-minute limit of a class.
    pub fn per_minute(cfg: &RateLimitConfig, class: Class) -> u32 {
        let base = class
            .documented_per_minute()
            .unwrap_or(cfg.default_per_minute);
        ((base as f64 * cfg.scale).round() as u32).max(1)
    }

    /// Admits or denies one request of `credential` (a hash of it) to `endpoint` of `class`.
    pub fn check(&self, credential: u64, class: Class, endpoint: &'static str) -> Decision {
        let cfg = self.cfg.read().clone();
        if !cfg.enabled {
            return Decision::Unlimited;
        }
        let limit = Self::per_minute(&cfg, class);
        let rate = limit as f64 / 60.0;
        let capacity = (rate * cfg.burst_seconds).max(1.0);
        let now = self.now();
        let mut buckets = self.buckets.lock();
        let b = buckets.entry((credential, endpoint)).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            let remaining_share = b.tokens / capacity;
            // Remaining is reported against the per-minute limit, as the headers describe it.
            let remaining = (remaining_share * limit as f64).floor() as u32;
            Decision::Allow {
                limit,
                remaining,
                near_limit: remaining_share < 0.2,
            }
        } else {
            self.denied.fetch_add(1, Ordering::Relaxed);
            let wait = (1.0 - b.tokens) / rate;
            Decision::Deny {
                limit,
                retry_after_secs: (wait.ceil() as u64).max(1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(scale: f64) -> RateLimitConfig {
        RateLimitConfig {
            enabled: true,
            scale,
            default_per_minute: 600,
            burst_seconds: 1.0,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_denies_then_refills() {
        let rl = RateLimiter::new(cfg(1.0));
        // 2000/min = 33.3/s; a burst of one second holds 33 requests.
        let mut allowed = 0;
        while let Decision::Allow { .. } = rl.check(1, Class::Object, "GET /object/{id}") {
            allowed += 1;
        }
        assert_eq!(allowed, 33);
        let Decision::Deny {
            retry_after_secs,
            limit,
        } = rl.check(1, Class::Object, "GET /object/{id}")
        else {
            panic!("expected a denial")
        };
        assert_eq!((retry_after_secs, limit), (1, 2000));
        // Another credential and another endpoint have their own buckets.
        assert!(matches!(
            rl.check(2, Class::Object, "GET /object/{id}"),
            Decision::Allow { .. }
        ));
        assert!(matches!(
            rl.check(1, Class::Object, "POST /object/create"),
            Decision::Allow { .. }
        ));
        tokio::time::advance(std::time::Duration::from_secs(retry_after_secs)).await;
        assert!(matches!(
            rl.check(1, Class::Object, "GET /object/{id}"),
            Decision::Allow { .. }
        ));
        assert_eq!(rl.denied(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn scale_multiplies_limits_and_near_limit_flags() {
        let rl = RateLimiter::new(cfg(10.0));
        let mut near = false;
        let mut n = 0;
        while let Decision::Allow {
            near_limit, limit, ..
        } = rl.check(1, Class::AqlLegacy, "x")
        {
            assert_eq!(limit, 5000);
            near |= near_limit;
            n += 1;
        }
        assert_eq!(n, 83);
        assert!(near);
    }

    #[test]
    fn disabled_is_unlimited() {
        let mut c = cfg(1.0);
        c.enabled = false;
        let rl = RateLimiter::new(c);
        for _ in 0..10_000 {
            assert_eq!(rl.check(1, Class::AqlLegacy, "x"), Decision::Unlimited);
        }
    }
}
