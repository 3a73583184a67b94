//! The config file as serde reads it, before secrets are resolved and values are checked (see
//! the parent module). Types holding a literal token deliberately have no `Debug`.

use std::path::PathBuf;

use serde::Deserialize;

use super::Problems;
use crate::assets::Limits;

/// `token_env = "A"` or `token_env = ["A", "B"]` (a credential pool).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// Every value of an optional one-or-many key, in file order.
    pub(super) fn iter(this: &Option<Self>) -> impl Iterator<Item = &T> {
        let slice: &[T] = match this {
            None => &[],
            Some(OneOrMany::One(v)) => std::slice::from_ref(v),
            Some(OneOrMany::Many(v)) => v,
        };
        slice.iter()
    }
}

#[derive(Deserialize)]
pub(super) struct RawConfig {
    pub(super) store: RawStore,
    pub(super) control: RawControl,
    #[serde(default)]
    pub(super) sites: Vec<RawSite>,
    #[serde(default)]
    pub(super) jobs: RawJobs,
    #[serde(default)]
    pub(super) backup: super::backup::RawBackup,
    #[serde(default)]
    pub(super) schedules: Vec<super::schedules::RawSchedule>,
    #[serde(default)]
    pub(super) hooks: Vec<super::hooks::RawHook>,
}

/// `[jobs]`: how the job runner runs; absent keys keep the defaults of [`super::JobsConfig`].
#[derive(Default, Deserialize)]
pub(super) struct RawJobs {
    pub(super) max_concurrent: Option<usize>,
    pub(super) max_retries: Option<u32>,
    pub(super) retry_base_ms: Option<u64>,
    pub(super) retry_max_ms: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct RawStore {
    #[serde(default = "default_store_kind")]
    pub(super) kind: String,
    pub(super) path: PathBuf,
    /// Key that encrypts site tokens added through the API; default: next to `path`.
    pub(super) key_file: Option<PathBuf>,
}

fn default_store_kind() -> String {
    super::STORE_SQLITE.to_owned()
}

#[derive(Deserialize)]
pub(super) struct RawControl {
    pub(super) socket: PathBuf,
    pub(super) tcp: Option<String>,
    pub(super) token_env: Option<String>,
    pub(super) request_timeout_secs: Option<u64>,
    pub(super) allow_token_sources: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct RawSite {
    pub(super) name: String,
    #[serde(default = "default_flavor")]
    pub(super) flavor: String,
    /// Cloud: the Assets workspace base.
    pub(super) api_url: Option<String>,
    /// Cloud: the Jira site.
    pub(super) site_url: Option<String>,
    /// Data Center: the Jira base URL (Assets at `base_url + /rest/assets/1.0`).
    pub(super) base_url: Option<String>,
    /// Cloud: required (Basic). Data Center: Basic with the token as password when set,
    /// else the token is a personal access token (Bearer).
    pub(super) email: Option<String>,
    /// Data Center: use the legacy `/rest/insight/1.0` prefix.
    pub(super) legacy_insight: Option<bool>,
    pub(super) token_env: Option<OneOrMany<String>>,
    pub(super) token_file: Option<OneOrMany<PathBuf>>,
    pub(super) token: Option<OneOrMany<String>>,
    #[serde(default)]
    pub(super) limits: LimitsConfig,
}

fn default_flavor() -> String {
    super::FLAVOR_CLOUD.to_owned()
}

/// `[sites.limits]`: overrides of the Assets client's defaults; an absent key keeps the
/// default. Field names and meaning are those of `assets::Limits`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LimitsConfig {
    /// Requests per minute per token to the legacy AQL endpoints.
    pub aql_legacy_per_minute: Option<u32>,
    /// Requests per minute per token to the AQL endpoints.
    pub aql_per_minute: Option<u32>,
    /// Requests per minute per token to object endpoints (create, update, get).
    pub object_per_minute: Option<u32>,
    /// Requests per minute per token to other Assets endpoints.
    pub other_per_minute: Option<u32>,
    /// Requests per minute per token to Jira endpoints.
    pub jira_per_minute: Option<u32>,
    /// Requests in flight at once on this site.
    pub max_concurrency: Option<usize>,
    /// Retries of a temporary failure (429, 5xx, timeout) before giving up.
    pub max_retries: Option<u32>,
    /// First backoff delay, in milliseconds.
    pub retry_base_ms: Option<u64>,
    /// Largest backoff delay, in milliseconds.
    pub retry_max_ms: Option<u64>,
    /// Timeout of one request, in seconds.
    pub request_timeout_secs: Option<u64>,
    /// Whether the per-minute limits apply (default: on for Cloud, off for Data Center).
    pub rate_limited: Option<bool>,
    /// Largest JSON response read from the site, in MiB.
    pub max_response_mb: Option<u64>,
    /// Largest attachment or icon download, in MiB.
    pub max_download_mb: Option<u64>,
}

impl LimitsConfig {
    /// The client's defaults with these overrides applied, or `None` after recording problems.
    /// `rate_limited` is the flavor's default for the `rate_limited` key.
    pub(super) fn validate(
        &self,
        p: &mut Problems,
        key: &str,
        rate_limited: bool,
    ) -> Option<Limits> {
        let before = p.0.len();
        let d = Limits::default();
        let limits = Limits {
            aql_legacy_per_minute: self
                .aql_legacy_per_minute
                .unwrap_or(d.aql_legacy_per_minute),
            aql_per_minute: self.aql_per_minute.unwrap_or(d.aql_per_minute),
            object_per_minute: self.object_per_minute.unwrap_or(d.object_per_minute),
            other_per_minute: self.other_per_minute.unwrap_or(d.other_per_minute),
            jira_per_minute: self.jira_per_minute.unwrap_or(d.jira_per_minute),
            max_concurrency: self.max_concurrency.unwrap_or(d.max_concurrency),
            max_retries: self.max_retries.unwrap_or(d.max_retries),
            retry_base_ms: self.retry_base_ms.unwrap_or(d.retry_base_ms),
            retry_max_ms: self.retry_max_ms.unwrap_or(d.retry_max_ms),
            request_timeout_secs: self.request_timeout_secs.unwrap_or(d.request_timeout_secs),
            rate_limited: self.rate_limited.unwrap_or(rate_limited),
            max_response_mb: self.max_response_mb.unwrap_or(d.max_response_mb),
            max_download_mb: self.max_download_mb.unwrap_or(d.max_download_mb),
        };
        let positive = [
            (
                "aql_legacy_per_minute",
                u64::from(limits.aql_legacy_per_minute),
            ),
            ("aql_per_minute", u64::from(limits.aql_per_minute)),
            ("object_per_minute", u64::from(limits.object_per_minute)),
            ("other_per_minute", u64::from(limits.other_per_minute)),
            ("jira_per_minute", u64::from(limits.jira_per_minute)),
            ("max_concurrency", limits.max_concurrency as u64),
            ("request_timeout_secs", limits.request_timeout_secs),
            ("max_response_mb", limits.max_response_mb),
            ("max_download_mb", limits.max_download_mb),
        ];
        for (name, value) in positive {
            if value == 0 {
                p.add(format!("{key}.{name}"), "must be at least 1");
            }
        }
        if limits.retry_base_ms > limits.retry_max_ms {
            p.add(
                format!("{key}.retry_base_ms"),
                format!(
                    "{} is larger than retry_max_ms ({})",
                    limits.retry_base_ms, limits.retry_max_ms
                ),
            );
        }
        (p.0.len() == before).then_some(limits)
    }
}

/// Parses the file into [`RawConfig`] and the dotted path of every key it does not know (the
/// caller reports all of them with the other problems, so one pass over the file finds every
/// typo); the error is "line L, column C: message".
pub(super) fn parse(text: &str) -> Result<(RawConfig, Vec<String>), String> {
    let de = toml::Deserializer::parse(text).map_err(|e| describe(text, &e))?;
    let mut unknown = Vec::new();
    let raw = serde_ignored::deserialize(de, |path| unknown.push(key_path(&path)))
        .map_err(|e| describe(text, &e))?;
    Ok((raw, unknown))
}

/// A key path as the other problems name keys: `sites[1].limits.typo`.
fn key_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", key_path(parent)),
        Path::Map { parent, key } => match key_path(parent) {
            p if p.is_empty() => key.clone(),
            p => format!("{p}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => key_path(parent),
    }
}

/// What the CLI reads of `[control]`: the socket and the request timeout, if present.
#[derive(Default, Deserialize)]
pub(super) struct ControlForClient {
    pub(super) socket: Option<String>,
    pub(super) request_timeout_secs: Option<u64>,
}

/// The file as far as the CLI reads it: `[control]` alone, every other key ignored.
#[derive(Deserialize)]
struct FileForClient {
    #[serde(default)]
    control: ControlForClient,
}

/// The `[control]` keys the CLI needs, for the CLI.
pub(super) fn control_for_client(text: &str) -> Result<ControlForClient, String> {
    let file: FileForClient = toml::from_str(text).map_err(|e| describe(text, &e))?;
    Ok(file.control)
}

/// Position and message of a TOML error, without the quoted source line its `Display` adds
/// (that line may hold a token).
fn describe(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {}", e.message())
        }
        None => e.message().to_owned(),
    }
}
