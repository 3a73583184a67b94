//! The Assets (and Jira) API of a site: the [`AssetsApi`] boundary every pipeline talks to, and
//! its two implementations, [`AssetsClient`] (Assets Cloud) and [`DcClient`] (Data Center) —
//! one per site ([`SiteClient`]), shared by every job on it.
//!
//! The client is layers around the HTTP transport, each a wrapper of the next (STYLE §7):
//!
//! | layer                    | module       | does                                                       |
//! |--------------------------|--------------|------------------------------------------------------------|
//! | typed calls              | `cloud`, `dc`| paths, bodies, paging shapes, decoding into [`crate::model`] (the calls both spell alike in `common`, helpers in `calls`) |
//! | retry                    | [`retry`]    | 429 → again once the governor allows; 5xx, timeouts, resets → jittered backoff; other 4xx → permanent [`Error::Api`] with the API's own body; creates never repeated blindly ([`Error::Ambiguous`]) |
//! | rate                     | `governed`   | the [`Governor`] (token bucket per credential and endpoint class; a pool's credential that is ready soonest; `Retry-After` blocks), the adaptive concurrency limit ([`Aimd`]) |
//! | transport                | `http`       | one HTTP exchange (reqwest, rustls, timeouts, User-Agent)  |
//!
//! Paging over the trait's page methods is in [`paging`], so any implementation gets it.
//!
//! Secrets: tokens live in [`Secret`], whose `Debug`/`Display` print `***`; they are only
//! exposed to reqwest's `basic_auth` / `bearer_auth`, which mark the header sensitive.

mod api;
mod calls;
mod client;
mod cloud;
mod common;
pub mod dc;
mod download;
mod error;
mod governed;
pub mod governor;
mod http;
pub mod paging;
pub mod retry;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use api::{AqlPage, AqlQuery, AssetsApi};
pub use client::{SiteClient, SiteSpec};
pub use dc::{DcClient, DcConn};
pub use download::Download;
pub use error::Error;
pub use governor::{Aimd, Class, EventKind, Governor, GovernorEvent, classify};
pub use paging::{AqlPager, JqlPager};

use governed::Governed;
use http::{Auth, Http};
use retry::{Backoff, Retrying};

/// Which product a site runs: the API surface its client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// Assets Cloud (`api.atlassian.com/jsm/assets/workspace/{ws}/v1`).
    Cloud,
    /// Jira Service Management Data Center / Server (`{base_url}/rest/assets/1.0`).
    Dc,
}

impl Flavor {
    /// `cloud` or `dc`, as the config spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Cloud => "cloud",
            Flavor::Dc => "dc",
        }
    }

    /// The product's name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Flavor::Cloud => "Assets Cloud",
            Flavor::Dc => "Data Center",
        }
    }

    /// The longest Text attribute value the product takes (reference §19).
    pub fn text_max_chars(self) -> usize {
        match self {
            Flavor::Cloud => 255,
            Flavor::Dc => 450,
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.product())
    }
}

impl std::str::FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Flavor, String> {
        match s {
            "cloud" => Ok(Flavor::Cloud),
            "dc" => Ok(Flavor::Dc),
            other => Err(format!(
                "unsupported flavor {other:?}; use \"cloud\" or \"dc\""
            )),
        }
    }
}

/// A secret (API token) whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself; only for the place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How to reach one site.
#[derive(Debug, Clone)]
pub struct SiteConn {
    /// Site name from the configuration.
    pub name: String,
    /// Workspace base, e.g. `https://api.atlassian.com/jsm/assets/workspace/{ws}/v1`.
    pub api_url: String,
    /// Jira site, e.g. `https://x.atlassian.net`.
    pub site_url: String,
    /// Account email for Basic auth.
    pub email: String,
    /// API tokens of the account; more than one makes a credential pool.
    pub tokens: Vec<Secret>,
    /// Rate limits, retries and timeouts.
    pub limits: Limits,
}

/// Per-site limits. Per-minute numbers are per credential and endpoint class.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Deprecated AQL endpoints and `/object/aql/totalcount` (documented: 500).
    pub aql_legacy_per_minute: u32,
    /// `POST /object/aql` (documented: 1000).
    pub aql_per_minute: u32,
    /// Object get/create, type attributes, connected tickets (documented: 2000).
    pub object_per_minute: u32,
    /// Every other Assets endpoint (undocumented; 3000 by default).
    pub other_per_minute: u32,
    /// The site's Jira endpoints.
    pub jira_per_minute: u32,
    /// Upper bound of the adaptive concurrency limit.
    pub max_concurrency: usize,
    /// Retries of 5xx and transport failures (429 has its own, larger budget).
    pub max_retries: u32,
    /// First backoff delay, doubled each retry.
    pub retry_base_ms: u64,
    /// Backoff cap.
    pub retry_max_ms: u64,
    /// Timeout of one whole request.
    pub request_timeout_secs: u64,
    /// Whether the per-minute limits apply (Data Center sites leave it off by default: their
    /// administrator sets limits, if any; a 429 is honoured either way).
    pub rate_limited: bool,
    /// Largest JSON response body read from the site, in MiB. A page of 1000 objects with
    /// their attributes is a few MiB to a few tens of MiB; past the cap the call fails
    /// ([`Error::TooLarge`]) instead of filling the daemon's memory.
    pub max_response_mb: u64,
    /// Largest attachment or icon download, in MiB (Jira's own attachment limit defaults to
    /// 10 MiB; administrators raise it, rarely past 1 GiB).
    pub max_download_mb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            aql_legacy_per_minute: 500,
            aql_per_minute: 1000,
            object_per_minute: 2000,
            other_per_minute: 3000,
            jira_per_minute: 3000,
            max_concurrency: 16,
            max_retries: 8,
            retry_base_ms: 500,
            retry_max_ms: 30_000,
            request_timeout_secs: 60,
            rate_limited: true,
            max_response_mb: 128,
            max_download_mb: 1024,
        }
    }
}

impl Limits {
    /// Per-minute limits indexed like [`Class::ALL`].
    fn per_minute(&self) -> [u32; 5] {
        if !self.rate_limited {
            // Buckets that never run dry; 429 blocks still apply.
            return [u32::MAX; 5];
        }
        [
            self.aql_legacy_per_minute,
            self.aql_per_minute,
            self.object_per_minute,
            self.other_per_minute,
            self.jira_per_minute,
        ]
    }

    /// 429s tolerated per request: more than 5xx, because a 429 is an instruction, not a
    /// failure, and a forced storm can hit one request several times.
    fn max_throttles(&self) -> u32 {
        self.max_retries.saturating_mul(4).max(16)
    }
}

/// Counters of one client (all jobs on the site).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    /// Requests sent, by class name (`aql_legacy`, `aql`, `object`, `other`, `jira`).
    pub sent: BTreeMap<&'static str, u64>,
    /// 429 responses received.
    pub throttled: u64,
    /// 429 responses received, by class name.
    pub throttled_by_class: BTreeMap<&'static str, u64>,
    /// Time requests spent waiting for the governor, by class name, in microseconds.
    pub governor_wait_micros: BTreeMap<&'static str, u64>,
    /// Retries made (after 429, 5xx or transport failures).
    pub retries: u64,
    /// Writes reported as [`Error::Ambiguous`].
    pub ambiguous: u64,
    /// 5xx responses received.
    pub server_errors: u64,
    /// Transport failures (connect, timeout, reset).
    pub transport_errors: u64,
    /// The adaptive concurrency limit now.
    pub concurrency_limit: usize,
}

/// Requests, outcomes and retries of one client, counted by its layers.
#[derive(Default)]
pub(crate) struct Counters {
    sent: [AtomicU64; 5],
    throttled: AtomicU64,
    throttled_by_class: [AtomicU64; 5],
    governor_wait_micros: [AtomicU64; 5],
    retries: AtomicU64,
    ambiguous: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The shared layers of one site's client (retry → rate → HTTP), its settings and counters:
/// what [`AssetsClient`] and [`DcClient`] both are underneath. Both deref to it for the
/// diagnostics below.
pub struct Core {
    site: SiteConn,
    transport: Retrying,
    counters: Arc<Counters>,
}

impl Core {
    /// The layers of one site, with `auth` on every request.
    fn new(site: SiteConn, auth: Auth) -> Result<Core, Error> {
        if site.tokens.is_empty() {
            return Err(Error::Config(format!(
                "site {:?} has no API token",
                site.name
            )));
        }
        for (what, url) in [("api_url", &site.api_url), ("site_url", &site.site_url)] {
            reqwest::Url::parse(url).map_err(|e| {
                Error::Config(format!(
                    "site {:?}: {what} {url:?} is not a URL: {e}",
                    site.name
                ))
            })?;
        }
        let http = Http::new(&site, auth).map_err(|source| Error::Transport {
            method: String::new(),
            path: String::new(),
            source,
        })?;
        let limits = &site.limits;
        let backoff = Backoff {
            base: Duration::from_millis(limits.retry_base_ms),
            max: Duration::from_millis(limits.retry_max_ms.max(limits.retry_base_ms)),
        };
        let counters = Arc::new(Counters::default());
        let governed = Governed::new(
            http,
            Governor::new(site.tokens.len(), limits.per_minute()),
            Aimd::new(limits.max_concurrency),
            backoff,
            Arc::clone(&counters),
            site.name.clone(),
        );
        let transport = Retrying::new(
            governed,
            backoff,
            limits.max_retries,
            limits.max_throttles(),
            Arc::clone(&counters),
        );
        Ok(Core {
            site,
            transport,
            counters,
        })
    }

    /// The site this client talks to.
    pub fn site(&self) -> &SiteConn {
        &self.site
    }

    /// The site's rate governor (diagnostics: event recording for tests).
    pub fn governor(&self) -> &Governor {
        &self.transport.governed().governor
    }

    /// Counters so far.
    pub fn stats(&self) -> ClientStats {
        let c = &*self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            sent: Class::ALL
                .iter()
                .zip(&c.sent)
                .map(|(cl, n)| (cl.name(), load(n)))
                .collect(),
            throttled: load(&c.throttled),
            throttled_by_class: Class::ALL
                .iter()
                .zip(&c.throttled_by_class)
                .map(|(cl, n)| (cl.name(), load(n)))
                .collect(),
            governor_wait_micros: Class::ALL
                .iter()
                .zip(&c.governor_wait_micros)
                .map(|(cl, n)| (cl.name(), load(n)))
                .collect(),
            retries: load(&c.retries),
            ambiguous: load(&c.ambiguous),
            server_errors: load(&c.server_errors),
            transport_errors: load(&c.transport_errors),
            concurrency_limit: self.transport.governed().aimd.limit(),
        }
    }

    /// The layers requests go through.
    fn transport(&self) -> &Retrying {
        &self.transport
    }
}

/// The Assets Cloud client of one site. Cheap to clone; clones share the governor, the
/// concurrency limit and the counters. Its API is [`AssetsApi`].
#[derive(Clone)]
pub struct AssetsClient {
    inner: Arc<Core>,
}

impl std::ops::Deref for AssetsClient {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.inner
    }
}

impl std::fmt::Debug for AssetsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssetsClient")
            .field("site", &self.site.name)
            .field("api_url", &self.site.api_url)
            .field("credentials", &self.site.tokens.len())
            .finish_non_exhaustive()
    }
}

impl AssetsClient {
    /// Builds the Assets Cloud client of one site (Basic auth: `email` and a token).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without tokens or with unparsable URLs; [`Error::Transport`] when the
    /// TLS backend cannot be initialised.
    pub fn new(site: SiteConn) -> Result<AssetsClient, Error> {
        Ok(AssetsClient {
            inner: Arc::new(Core::new(site, Auth::Basic)?),
        })
    }
}
