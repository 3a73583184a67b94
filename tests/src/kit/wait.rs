//! Waiting on conditions instead of sleeping: [`wait_for`] polls a condition until it holds or
//! a deadline passes, naming what it waited for when it gives up.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a test waits for anything before it is declared stuck.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// How often [`wait_for`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `cond` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn wait_for_within<T, F: Future<Output = Option<T>>>(
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut() -> F,
) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        assert!(
            t0.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_for_within`] with the kit's [`DEADLINE`].
pub async fn wait_for<T, F: Future<Output = Option<T>>>(what: &str, cond: impl FnMut() -> F) -> T {
    wait_for_within(what, DEADLINE, cond).await
}
