//! Deterministic fault injection: a seeded RNG decides, request by request, whether to answer
//! 500/502/503, drop the connection before processing, or process and then lose the response.
//! The admin API can also force the next N responses (e.g. 429 with a chosen Retry-After).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::FaultConfig;
use crate::ratelimit::Class;

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pass,
    /// Answer with this status (503 carries `Retry-After: retry_after`).
    Error {
        status: u16,
        retry_after: u64,
    },
    /// Close the connection without processing the request.
    Drop,
    /// Process the request, then close the connection instead of answering.
    LoseResponse,
}

/// A response forced through the admin API.
#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
pub struct Forced {
    pub status: u16,
    #[serde(default)]
    pub retry_after: u64,
    #[serde(default = "one")]
    pub count: u32,
    /// Instead of the error body, a streamed body of this many bytes without a
    /// `Content-Length` (any status, 200 included): a site answering more than a client
    /// should read. Streamed, so the simulator holds none of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default, serde::Serialize)]
pub struct FaultCounts {
    pub errors: u64,
    pub drops: u64,
    pub lost_responses: u64,
    pub forced: u64,
}

pub struct Faults {
    state: Mutex<(FaultConfig, ChaCha8Rng)>,
    forced: Mutex<VecDeque<Forced>>,
    errors: AtomicU64,
    drops: AtomicU64,
    lost: AtomicU64,
    forced_served: AtomicU64,
}

impl Faults {
    pub fn new(cfg: FaultConfig) -> Faults {
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        Faults {
            state: Mutex::new((cfg, rng)),
            forced: Mutex::new(VecDeque::new()),
            errors: AtomicU64::new(0),
            drops: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            forced_served: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> FaultConfig {
        self.state.lock().0.clone()
    }

    /// Replaces the configuration and reseeds the RNG (so a run is reproducible from here).
    pub fn set_config(&self, cfg: FaultConfig) {
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        *self.state.lock() = (cfg, rng);
    }

    pub fn force(&self, f: Forced) {
        self.forced.lock().push_back(f);
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            errors: self.errors.load(Ordering::Relaxed),
            drops: self.drops.load(Ordering::Relaxed),
            lost_responses: self.lost.load(Ordering::Relaxed),
            forced: self.forced_served.load(Ordering::Relaxed),
        }
    }

    /// Takes the next forced response, if any.
    pub fn take_forced(&self) -> Option<Forced> {
        let mut q = self.forced.lock();
        let f = q.front_mut()?;
        let out = *f;
        f.count = f.count.saturating_sub(1);
        if f.count == 0 {
            q.pop_front();
        }
        self.forced_served.fetch_add(1, Ordering::Relaxed);
        Some(out)
    }

    /// Decides the fate of one request of `class`; also returns the latency to add (ms).
    pub fn decide(&self, class: Class) -> (Action, u64) {
        let mut st = self.state.lock();
        let (cfg, rng) = &mut *st;
        let applies = cfg.classes.is_empty() || cfg.classes.iter().any(|c| c == class.name());
        if !applies {
            return (Action::Pass, 0);
        }
        let latency = cfg.latency_ms;
        if cfg.error_rate <= 0.0 && cfg.drop_rate <= 0.0 && cfg.lost_response_rate <= 0.0 {
            return (Action::Pass, latency);
        }
        let roll: f64 = rng.random();
        let pick: u8 = rng.random_range(0..3);
        let action = if roll < cfg.drop_rate {
            self.drops.fetch_add(1, Ordering::Relaxed);
            Action::Drop
        } else if roll < cfg.drop_rate + cfg.error_rate {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let status = [500, 502, 503][pick as usize];
            Action::Error {
                status,
                retry_after: 1,
            }
        } else if roll < cfg.drop_rate + cfg.error_rate + cfg.lost_response_rate {
            self.lost.fetch_add(1, Ordering::Relaxed);
            Action::LoseResponse
        } else {
            Action::Pass
        };
        (action, latency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(seed: u64) -> FaultConfig {
        FaultConfig {
            seed,
            error_rate: 0.2,
            drop_rate: 0.1,
            lost_response_rate: 0.1,
            ..Default::default()
        }
    }

    #[test]
    fn same_seed_same_faults() {
        let a = Faults::new(cfg(7));
        let b = Faults::new(cfg(7));
        let xs: Vec<_> = (0..500).map(|_| a.decide(Class::Object).0).collect();
        let ys: Vec<_> = (0..500).map(|_| b.decide(Class::Object).0).collect();
        assert_eq!(xs, ys);
        let errors = xs
            .iter()
            .filter(|x| matches!(x, Action::Error { .. }))
            .count();
        let drops = xs.iter().filter(|x| **x == Action::Drop).count();
        assert!((60..140).contains(&errors), "{errors} errors of 500 at 20%");
        assert!((25..75).contains(&drops), "{drops} drops of 500 at 10%");
        assert!(
            xs.iter()
                .any(|x| matches!(x, Action::Error { status: 503, .. }))
        );
    }

    #[test]
    fn off_by_default_and_class_filter() {
        let f = Faults::new(FaultConfig::default());
        assert!((0..100).all(|_| f.decide(Class::Aql).0 == Action::Pass));
        let mut c = cfg(1);
        c.error_rate = 1.0;
        c.drop_rate = 0.0;
        c.classes = vec!["object".into()];
        f.set_config(c);
        assert_eq!(f.decide(Class::Aql).0, Action::Pass);
        assert!(matches!(f.decide(Class::Object).0, Action::Error { .. }));
    }

    #[test]
    fn forced_responses_are_served_in_order() {
        let f = Faults::new(FaultConfig::default());
        f.force(Forced {
            status: 429,
            retry_after: 3,
            count: 2,
            body_bytes: None,
        });
        f.force(Forced {
            status: 503,
            retry_after: 1,
            count: 1,
            body_bytes: None,
        });
        let got: Vec<u16> = std::iter::from_fn(|| f.take_forced())
            .map(|x| x.status)
            .collect();
        assert_eq!(got, vec![429, 429, 503]);
        assert_eq!(f.counts().forced, 3);
    }
}
