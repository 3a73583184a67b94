//! Retry policy, in one place: which outcomes are retried, how long to wait, and when a
//! non-idempotent write must stop and report [`Error::Ambiguous`](super::Error::Ambiguous).
//!
//! | outcome                              | idempotent (`get`, `post`, `put`, ...) | `post_once`            |
//! |--------------------------------------|----------------------------------------|------------------------|
//! | 2xx                                  | done                                   | done                   |
//! | 429                                  | retry after `Retry-After` (governor)   | retry (not processed)  |
//! | 503 with `Retry-After`               | retry after `Retry-After`              | retry (not processed)  |
//! | other 5xx                            | retry with backoff                     | ambiguous              |
//! | connect error                        | retry with backoff                     | retry (never sent)     |
//! | timeout, reset, truncated body       | retry with backoff                     | ambiguous              |
//! | other 4xx                            | permanent `Error::Api`                 | permanent `Error::Api` |

use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;

/// Longest wait a server-sent `Retry-After`/`X-RateLimit-Reset` can impose; a larger value is
/// more likely a bug or a clock skew than a real instruction, and a job must not hang for hours.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(300);

/// Exponential backoff with ±30 % jitter: `base × 2^attempt`, capped at `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub base: Duration,
    /// Cap.
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry number `attempt` (0 = first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max);
        let jitter: f64 = rand::rng().random_range(0.7..=1.3);
        capped.mul_f64(jitter)
    }
}

/// How long the server asked us to wait: `Retry-After` (seconds) or else
/// `X-RateLimit-Reset` (`yyyy-MM-ddTHH:mmZ`, compared with `now_unix_secs`).
pub fn server_wait(headers: &HeaderMap, now_unix_secs: i64) -> Option<Duration> {
    let retry_after = header_str(headers, "retry-after").and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(secs) = retry_after.filter(|s| s.is_finite() && *s >= 0.0) {
        return Some(Duration::from_secs_f64(secs).min(MAX_SERVER_WAIT));
    }
    let reset = header_str(headers, "x-ratelimit-reset")?;
    let at = parse_reset(reset)?;
    let secs = (at - now_unix_secs).max(0);
    Some(Duration::from_secs(secs as u64).min(MAX_SERVER_WAIT))
}

/// Whether a success response says we are close to the limit.
pub fn near_limit(headers: &HeaderMap) -> bool {
    header_str(headers, "x-ratelimit-nearlimit").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Parses `2026-03-26T16:00Z` (and full RFC 3339) into Unix seconds.
fn parse_reset(s: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    // Minute precision: add the seconds RFC 3339 requires.
    let with_secs = format!("{}:00Z", s.strip_suffix('Z')?);
    time::OffsetDateTime::parse(&with_secs, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let b = Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        };
        for attempt in 0..12 {
            let nominal = (500.0 * 2f64.powi(attempt as i32)).min(30_000.0);
            let d = b.delay(attempt).as_secs_f64() * 1000.0;
            assert!(d >= nominal * 0.69 && d <= nominal * 1.31, "{attempt}: {d}");
        }
    }

    #[test]
    fn reads_retry_after_then_reset() {
        let mut h = HeaderMap::new();
        h.insert("Retry-After", HeaderValue::from_static("2"));
        assert_eq!(server_wait(&h, 0), Some(Duration::from_secs(2)));
        let mut h = HeaderMap::new();
        h.insert(
            "X-RateLimit-Reset",
            HeaderValue::from_static("2026-03-26T16:00Z"),
        );
        let at = parse_reset("2026-03-26T16:00Z").unwrap();
        assert_eq!(server_wait(&h, at - 42), Some(Duration::from_secs(42)));
        assert_eq!(server_wait(&HeaderMap::new(), 0), None);
        let mut h = HeaderMap::new();
        h.insert("X-RateLimit-NearLimit", HeaderValue::from_static("true"));
        assert!(near_limit(&h));
    }
}
