//! The retry layer, the outermost around the transport: `Retrying` repeats an attempt of the
//! rate layer (`Governed`) by the policy below, in one place: which outcomes are retried,
//! how long to wait, and when a non-idempotent write must stop and report
//! [`Error::Ambiguous`]. A 429 is not slept on here: the rate layer has already blocked the
//! credential+class in the governor, whose wait every request honours.
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
//! | body over its cap (any status)       | permanent `Error::TooLarge`            | permanent `Error::TooLarge` |

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::download::Download;
use super::governed::Governed;
use super::http::{Body, Failure, Mode, Request};
use super::{Counters, Error, bump};

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

/// [`Governed`] behind the retry policy.
pub(super) struct Retrying {
    inner: Governed,
    backoff: Backoff,
    /// Retries of 5xx and transport failures.
    max_retries: u32,
    /// 429s tolerated per request.
    max_throttles: u32,
    counters: Arc<Counters>,
}

impl Retrying {
    pub fn new(
        inner: Governed,
        backoff: Backoff,
        max_retries: u32,
        max_throttles: u32,
        counters: Arc<Counters>,
    ) -> Retrying {
        Retrying {
            inner,
            backoff,
            max_retries,
            max_throttles,
            counters,
        }
    }

    /// The rate layer (diagnostics).
    pub fn governed(&self) -> &Governed {
        &self.inner
    }

    /// One logical request: attempts until success, a permanent answer, or the budget is
    /// spent. Returns the body of the 2xx response, in memory.
    pub async fn send(&self, req: &Request<'_>) -> Result<Bytes, Error> {
        match self.send_body(req).await? {
            Body::Bytes(b) => Ok(b),
            Body::Spooled(d) => d
                .into_vec()
                .map(Bytes::from)
                .map_err(|source| spool_error(req, source)),
        }
    }

    /// [`Self::send`] of a download whose body is spooled (`req.spool` set).
    pub async fn download(&self, req: &Request<'_>) -> Result<Download, Error> {
        match self.send_body(req).await? {
            Body::Spooled(d) => Ok(d),
            // A request without a spool directory: held in memory, hashed here.
            Body::Bytes(b) => Ok(Download::from_bytes(b.to_vec())),
        }
    }

    async fn send_body(&self, req: &Request<'_>) -> Result<Body, Error> {
        let c = &*self.counters;
        let method = req.method.as_str();
        let api_error = |status: u16, body: &Body| Error::Api {
            method: method.to_owned(),
            path: req.path.to_owned(),
            status,
            body: serde_json::from_slice(body.bytes()).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(body.bytes()).into_owned())
            }),
        };
        let ambiguous = |status: Option<u16>, source: Option<reqwest::Error>| Error::Ambiguous {
            method: method.to_owned(),
            path: req.path.to_owned(),
            status,
            source,
        };
        let (mut retries, mut throttles) = (0u32, 0u32);
        loop {
            let wait = match self.inner.attempt(req, throttles).await {
                Ok(r) if (200..300).contains(&r.status) => return Ok(r.body),
                Ok(r) if r.status == 429 => {
                    bump(&c.throttled);
                    throttles += 1;
                    if throttles > self.max_throttles {
                        return Err(api_error(429, &r.body));
                    }
                    // The governor holds this credential+class until the block ends (or picks
                    // another credential of the pool), so no extra sleep here.
                    Duration::ZERO
                }
                Ok(r) if r.status >= 500 => {
                    bump(&c.server_errors);
                    let told = (r.status == 503)
                        .then(|| server_wait(&r.headers, unix_now()))
                        .flatten();
                    if req.mode == Mode::Once && told.is_none() {
                        bump(&c.ambiguous);
                        return Err(ambiguous(Some(r.status), None));
                    }
                    if retries >= self.max_retries {
                        return Err(api_error(r.status, &r.body));
                    }
                    let wait = told.unwrap_or_else(|| self.backoff.delay(retries));
                    retries += 1;
                    wait
                }
                Ok(r) => return Err(api_error(r.status, &r.body)),
                // The same request would get the same body: never retried.
                // The disk, not the site: trying the site again would not help.
                Err(Failure::Spool(source)) => return Err(spool_error(req, source)),
                Err(Failure::TooLarge { status, cap }) => {
                    return Err(Error::TooLarge {
                        method: method.to_owned(),
                        path: req.path.to_owned(),
                        status,
                        cap,
                    });
                }
                Err(Failure::Transport(e)) => {
                    bump(&c.transport_errors);
                    // Only a failed connect proves the server never saw the request.
                    if req.mode == Mode::Once && !e.is_connect() {
                        bump(&c.ambiguous);
                        return Err(ambiguous(None, Some(e)));
                    }
                    if retries >= self.max_retries {
                        return Err(Error::Transport {
                            method: method.to_owned(),
                            path: req.path.to_owned(),
                            source: e,
                        });
                    }
                    let wait = self.backoff.delay(retries);
                    retries += 1;
                    wait
                }
            };
            bump(&c.retries);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }
}

fn spool_error(req: &Request<'_>, source: std::io::Error) -> Error {
    Error::Spool {
        method: req.method.to_string(),
        path: req.path.to_owned(),
        dir: req
            .spool
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
        source,
    }
}

/// Wall-clock Unix seconds, only to compare with `X-RateLimit-Reset` (a wall-clock stamp).
pub(super) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
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
