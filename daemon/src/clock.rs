//! The daemon's one clock. Time is a parameter (STYLE §11): every part that needs "now" gets an
//! [`SharedClock`] instead of calling `OffsetDateTime::now_utc()`, so tests move time (a
//! [`ManualClock`]) rather than wait for it. Sleeping is not the clock's business: waits use
//! tokio's timer, which tests pause with `tokio::time::pause()`.

use std::sync::Arc;

use parking_lot::Mutex;
use time::OffsetDateTime;

/// A source of the current wall-clock time (UTC).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> OffsetDateTime;

    /// The current time in Unix epoch milliseconds.
    fn now_ms(&self) -> i64 {
        let nanos = self.now().unix_timestamp_nanos();
        i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// The clock every part shares.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock as a [`SharedClock`].
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that stands still until told to move (tests, simulations).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: OffsetDateTime) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: Mutex::new(start),
        })
    }

    /// Sets the time.
    pub fn set(&self, t: OffsetDateTime) {
        *self.now.lock() = t;
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: std::time::Duration) {
        let mut now = self.now.lock();
        *now += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock()
    }
}

/// A clock that follows tokio's time from a starting moment: under `tokio::time::pause()` it
/// moves exactly when tokio's timers do (auto-advance jumps to the next timer), so code that
/// sleeps on tokio's timer until a moment of this clock wakes exactly at that moment. For
/// tests of timing logic (the scheduler) without waiting.
#[derive(Debug)]
pub struct TokioClock {
    start: OffsetDateTime,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock showing `start` now, moving with tokio's time.
    pub fn new(start: OffsetDateTime) -> Arc<TokioClock> {
        Arc::new(TokioClock {
            start,
            origin: tokio::time::Instant::now(),
        })
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.start + self.origin.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now_ms(), 1_700_000_000_000);
        clock.advance(std::time::Duration::from_millis(1500));
        assert_eq!(clock.now_ms(), 1_700_000_001_500);
        let shared: SharedClock = clock.clone();
        assert_eq!(shared.now(), clock.now());
        assert!(system().now() > start);
    }
}
