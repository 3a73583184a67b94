//! The daemon's configuration file (`assetark serve --config FILE`): where the store lives, how
//! the control API listens, and which Assets sites exist with their credentials and limits.
//!
//! Parsing is two-step, as in ripgrep's low/high args: serde reads the TOML into `Raw*` types
//! (noting every key it does not know, so a typo is a problem rather than a silently ignored
//! key), then [`Config::from_raw`] resolves secrets (env vars, files) and checks every value,
//! collecting *all* problems, unknown keys included, so a user fixes the file in one go
//! instead of one error per restart.
//!
//! Secrets (site tokens, the TCP bearer token) are held as [`Secret`], whose `Debug` redacts;
//! the raw types that briefly hold a literal `token = "..."` have no `Debug` at all. Relative
//! paths are resolved against the directory of the config file, not the daemon's working
//! directory, so a config file means the same thing wherever the daemon is started from.
//!
//! The environment and the file system are reached through [`Sources`], so tests can resolve
//! `token_env` without touching the process environment (`set_var` is `unsafe` in edition 2024).

mod backup;
mod hooks;
mod raw;
mod schedules;
mod site_urls;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::assets::{self, DcConn, Flavor, Limits, Secret, SiteClient, SiteConn, SiteSpec};

pub use backup::BackupConfig;
pub use raw::LimitsConfig;
use raw::{OneOrMany, RawConfig, RawSite};

/// The one store backend this build has.
const STORE_SQLITE: &str = "sqlite";
/// The flavor of Assets Cloud sites (the default).
pub const FLAVOR_CLOUD: &str = "cloud";
/// The flavor of Data Center sites.
pub const FLAVOR_DC: &str = "dc";
/// File name of the token key when `[store] key_file` is not set.
const DEFAULT_KEY_FILE: &str = "assetark.key";

/// A validated configuration, ready to start the daemon.
#[derive(Debug)]
pub struct Config {
    /// Where backups are kept.
    pub store: StoreConfig,
    /// How the control API listens.
    pub control: ControlConfig,
    /// The Assets sites, in file order; names are unique.
    pub sites: Vec<SiteConfig>,
    /// How the job runner runs.
    pub jobs: JobsConfig,
    /// `[backup]`: the `full_every` of manual backups no schedule covers.
    pub backup: BackupConfig,
    /// `[[schedules]]`: cron backups, checked (one per site and schema).
    pub schedules: Vec<crate::schedules::Schedule>,
    /// `[[hooks]]`: the hooks, compiled, in config order.
    pub hooks: crate::hooks::HookRegistry,
    /// The engine of the WASM hooks, when any is configured (the daemon connects its sites).
    pub wasm: Option<std::sync::Arc<crate::hooks::wasm::WasmEngine>>,
}

/// `[jobs]`: the job runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsConfig {
    /// Jobs that run at the same time (default 4).
    pub max_concurrent: usize,
    /// Runs of a job after a temporary failure (429 beyond the client's retries, 5xx,
    /// timeout, site down) before it fails (default 3).
    pub max_retries: u32,
    /// Wait before the first retry, doubled before each further one (default 10 s).
    pub retry_base: Duration,
    /// Longest wait between retries (default 5 min).
    pub retry_max: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            max_concurrent: 4,
            max_retries: 3,
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Backend; only SQLite so far.
    pub kind: StoreKind,
    /// Database file (absolute: resolved against the config file's directory).
    pub path: PathBuf,
    /// The 32-byte key that encrypts tokens of sites added through the API (created with
    /// mode 0600 on first start); `key_file`, by default `assetark.key` beside the database.
    pub key_file: PathBuf,
}

/// Store backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// One SQLite file.
    Sqlite,
}

/// `[control]`.
#[derive(Debug)]
pub struct ControlConfig {
    /// Unix socket of the control API (created with mode 0600, removed on exit).
    pub socket: PathBuf,
    /// Optional loopback TCP listener with a bearer token.
    pub tcp: Option<TcpControl>,
    /// Longest time a request may take before the API answers 504 (streams excepted);
    /// the CLI waits a little longer than this for an answer.
    pub request_timeout: Duration,
    /// `allow_token_sources`: whether `POST /v1/sites` may name an environment variable or a
    /// file of the daemon as a site's token (default `false`: only inline tokens, sealed).
    /// Otherwise any local client could make the daemon read any of its files or variables
    /// and send it to any URL.
    pub allow_token_sources: bool,
}

/// The request timeout when `[control] request_timeout_secs` is not set.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How much longer than the daemon's request timeout the CLI waits for an answer, so that the
/// daemon's own timeout answer arrives first.
pub const CLIENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

/// `[control] tcp` + `token_env`.
#[derive(Debug)]
pub struct TcpControl {
    /// A loopback address.
    pub addr: SocketAddr,
    /// The bearer token every request must carry.
    pub token: Secret,
}

/// One `[[sites]]` entry.
#[derive(Debug)]
pub struct SiteConfig {
    /// Unique name, used in API paths and stored with each backup.
    pub name: String,
    /// `cloud` or `dc`.
    pub flavor: String,
    /// Assets REST base, e.g. `https://api.atlassian.com/jsm/assets/workspace/{ws}/v1`
    /// (Data Center: `base_url` + `/rest/assets/1.0`).
    pub api_url: String,
    /// Jira site, e.g. `https://x.atlassian.net` (Data Center: `base_url`).
    pub site_url: String,
    /// Account e-mail (or Data Center username) for Basic auth; empty on a Data Center site
    /// whose token is a personal access token (Bearer).
    pub email: String,
    /// Data Center: the legacy `/rest/insight/1.0` prefix.
    pub legacy_insight: bool,
    /// API tokens: one, or several for a credential pool.
    pub tokens: Vec<Secret>,
    /// Rate and retry limits: the defaults with `[sites.limits]` applied.
    pub limits: Limits,
}

impl SiteConfig {
    /// The connection settings the Assets client takes (tokens are copied, still redacted).
    pub fn conn(&self) -> SiteConn {
        SiteConn {
            name: self.name.clone(),
            api_url: self.api_url.clone(),
            site_url: self.site_url.clone(),
            email: self.email.clone(),
            tokens: self
                .tokens
                .iter()
                .map(|t| Secret::new(t.expose()))
                .collect(),
            limits: self.limits.clone(),
        }
    }

    /// The site's flavor.
    pub fn flavor(&self) -> Flavor {
        if self.flavor == FLAVOR_DC {
            Flavor::Dc
        } else {
            Flavor::Cloud
        }
    }

    /// How the client reaches the site, by flavor.
    pub fn spec(&self) -> SiteSpec {
        match self.flavor() {
            Flavor::Cloud => SiteSpec::Cloud(self.conn()),
            Flavor::Dc => SiteSpec::Dc(DcConn {
                name: self.name.clone(),
                base_url: self.site_url.clone(),
                email: (!self.email.is_empty()).then(|| self.email.clone()),
                tokens: self.conn().tokens,
                limits: self.limits.clone(),
                legacy_insight: self.legacy_insight,
            }),
        }
    }

    /// The site's client.
    ///
    /// # Errors
    ///
    /// See [`SiteClient::new`].
    pub fn client(&self) -> Result<SiteClient, assets::Error> {
        SiteClient::new(self.spec())
    }
}

/// One thing wrong with a config file: the key (`sites[1].token_env`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the key.
    pub key: String,
    /// What is wrong, without the value when the value may be a secret.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a config file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML of the expected shape (unknown key, wrong type, missing key).
    /// The message is built from the parser's message and position only: the parser's own
    /// `Display` quotes the offending line, which could be a `token = "..."` line.
    #[error("config file {} is not valid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Position and parser message.
        message: String,
    },
    /// The file parsed but some values are wrong; every problem is listed.
    #[error("config file {} has {} problem(s):\n  {}", path.display(), problems.len(), join_problems(problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn join_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Where `token_env` and `token_file` are looked up. [`Sources::process`] is the real
/// environment and file system; tests pass closures.
pub struct Sources<'a> {
    /// Reads an environment variable.
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// Reads a whole file.
    pub read: &'a (dyn Fn(&Path) -> std::io::Result<String> + Sync),
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn process_read(path: &Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

impl Sources<'static> {
    /// The process environment and the real file system.
    pub fn process() -> Self {
        Sources {
            env: &process_env,
            read: &process_read,
        }
    }
}

impl Config {
    /// Reads, parses and validates the config file at `path`, resolving secrets from the
    /// process environment and the file system.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`], [`ConfigError::Parse`], or [`ConfigError::Invalid`] with every
    /// problem found.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path, &Sources::process())
    }

    /// Parses and validates config text that was read from `path` (used for messages and to
    /// resolve relative paths against its directory).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] or [`ConfigError::Invalid`].
    pub fn parse(text: &str, path: &Path, sources: &Sources<'_>) -> Result<Config, ConfigError> {
        let (raw, unknown) = raw::parse(text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        let base = base_dir(path);
        Config::from_raw(raw, &unknown, &base, sources).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// Finds a site by name.
    pub fn site(&self, name: &str) -> Option<&SiteConfig> {
        self.sites.iter().find(|s| s.name == name)
    }

    fn from_raw(
        raw: RawConfig,
        unknown: &[String],
        base: &Path,
        src: &Sources<'_>,
    ) -> Result<Config, Vec<Problem>> {
        let mut p = Problems::default();
        for key in unknown {
            p.add(
                key.as_str(),
                "unknown key (misspelt, or not in this version)",
            );
        }

        let kind = match raw.store.kind.as_str() {
            STORE_SQLITE => Some(StoreKind::Sqlite),
            other => {
                p.add(
                    "store.kind",
                    format!("unknown store kind {other:?}; this build supports \"sqlite\""),
                );
                None
            }
        };
        let store_path = non_empty_path(&mut p, "store.path", &raw.store.path, base);
        let key_file = match &raw.store.key_file {
            Some(k) => non_empty_path(&mut p, "store.key_file", k, base),
            None => store_path.as_ref().map(|db| default_key_file(db)),
        };
        let socket = non_empty_path(&mut p, "control.socket", &raw.control.socket, base);
        let tcp = tcp_control(&mut p, &raw.control, src);
        let request_timeout = request_timeout(&mut p, raw.control.request_timeout_secs);
        let jobs = jobs_config(&mut p, &raw.jobs);
        let backup = backup::backup_config(&mut p, &raw.backup);

        let mut names = BTreeSet::new();
        let sites = raw
            .sites
            .into_iter()
            .enumerate()
            .filter_map(|(i, site)| {
                let key = format!("sites[{i}]");
                if !names.insert(site.name.clone()) {
                    p.add(
                        format!("{key}.name"),
                        format!("duplicate site name {:?}", site.name),
                    );
                }
                site_config(&mut p, &key, site, base, src)
            })
            .collect();
        let schedules = schedules::schedules(&mut p, raw.schedules, &names);
        let (hooks, wasm) = hooks::hooks(&mut p, raw.hooks, base, src);

        match (p.0.is_empty(), kind, store_path, socket, key_file) {
            (true, Some(kind), Some(path), Some(socket), Some(key_file)) => Ok(Config {
                store: StoreConfig {
                    kind,
                    path,
                    key_file,
                },
                control: ControlConfig {
                    socket,
                    tcp,
                    request_timeout,
                    allow_token_sources: raw.control.allow_token_sources.unwrap_or(false),
                },
                sites,
                jobs,
                backup,
                schedules,
                hooks,
                wasm,
            }),
            _ => Err(p.0),
        }
    }
}

/// Collects problems so validation can go on after the first one.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }
}

/// The directory relative paths in the file are resolved against.
fn base_dir(config_path: &Path) -> PathBuf {
    let dir = config_path.parent().unwrap_or(Path::new(""));
    if dir.is_absolute() {
        return dir.to_path_buf();
    }
    // A relative config path is relative to the current directory; make the base absolute so
    // the daemon's paths stay right even if something changes directory later.
    std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}

/// `assetark.key` in the directory of the database file.
fn default_key_file(db: &Path) -> PathBuf {
    db.with_file_name(DEFAULT_KEY_FILE)
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn non_empty_path(p: &mut Problems, key: &str, path: &Path, base: &Path) -> Option<PathBuf> {
    if path.as_os_str().is_empty() {
        p.add(key, "must not be empty");
        None
    } else {
        Some(resolve(base, path))
    }
}

fn tcp_control(p: &mut Problems, raw: &raw::RawControl, src: &Sources<'_>) -> Option<TcpControl> {
    let Some(tcp) = &raw.tcp else {
        if raw.token_env.is_some() {
            p.add(
                "control.token_env",
                "is only used with control.tcp, which is not set",
            );
        }
        return None;
    };
    let addr = match tcp.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_loopback() => Some(addr),
        Ok(_) => {
            p.add(
                "control.tcp",
                "must be a loopback address such as \"127.0.0.1:7878\"; \
                 put a TLS proxy in front for remote access",
            );
            None
        }
        Err(_) => {
            p.add(
                "control.tcp",
                format!("{tcp:?} is not an address like \"127.0.0.1:7878\""),
            );
            None
        }
    };
    let token = match &raw.token_env {
        None => {
            p.add(
                "control.token_env",
                "is required when control.tcp is set (the bearer token for TCP clients)",
            );
            None
        }
        Some(var) => env_secret(p, "control.token_env", var, src),
    };
    Some(TcpControl {
        addr: addr?,
        token: token?,
    })
}

fn request_timeout(p: &mut Problems, secs: Option<u64>) -> Duration {
    match secs {
        None => DEFAULT_REQUEST_TIMEOUT,
        Some(0) => {
            p.add("control.request_timeout_secs", "must be at least 1");
            DEFAULT_REQUEST_TIMEOUT
        }
        Some(s) => Duration::from_secs(s),
    }
}

fn jobs_config(p: &mut Problems, raw: &raw::RawJobs) -> JobsConfig {
    let d = JobsConfig::default();
    let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
    let jobs = JobsConfig {
        max_concurrent: raw.max_concurrent.unwrap_or(d.max_concurrent),
        max_retries: raw.max_retries.unwrap_or(d.max_retries),
        retry_base: ms(raw.retry_base_ms, d.retry_base),
        retry_max: ms(raw.retry_max_ms, d.retry_max),
    };
    if jobs.max_concurrent == 0 {
        p.add("jobs.max_concurrent", "must be at least 1");
    }
    if jobs.retry_base > jobs.retry_max {
        p.add(
            "jobs.retry_base_ms",
            format!(
                "{} is larger than retry_max_ms ({})",
                jobs.retry_base.as_millis(),
                jobs.retry_max.as_millis()
            ),
        );
    }
    jobs
}

fn env_secret(p: &mut Problems, key: &str, var: &str, src: &Sources<'_>) -> Option<Secret> {
    match (src.env)(var) {
        Some(v) if !v.trim().is_empty() => Some(Secret::new(v.trim())),
        Some(_) => {
            p.add(key, format!("environment variable {var} is empty"));
            None
        }
        None => {
            p.add(key, format!("environment variable {var} is not set"));
            None
        }
    }
}

fn site_config(
    p: &mut Problems,
    key: &str,
    site: RawSite,
    base: &Path,
    src: &Sources<'_>,
) -> Option<SiteConfig> {
    let before = p.0.len();
    if !valid_site_name(&site.name) {
        p.add(
            format!("{key}.name"),
            format!(
                "{:?} is not a valid site name (1-64 letters, digits, '-', '_' or '.', \
                 starting with a letter or digit)",
                site.name
            ),
        );
    }
    let flavor = site
        .flavor
        .parse::<Flavor>()
        .map_err(|m| p.add(format!("{key}.flavor"), m))
        .ok();
    // An unknown flavor is checked as a Cloud entry, so every other problem shows too.
    let urls = site_urls::resolve(p, key, flavor.unwrap_or(Flavor::Cloud), &site);
    let tokens = site_tokens(p, key, &site, base, src);
    let rate_limited = flavor != Some(Flavor::Dc);
    let limits = site
        .limits
        .validate(p, &format!("{key}.limits"), rate_limited);
    if p.0.len() != before {
        return None;
    }
    let urls = urls?;
    Some(SiteConfig {
        name: site.name,
        flavor: site.flavor,
        api_url: urls.api_url,
        site_url: urls.site_url,
        email: urls.email,
        legacy_insight: urls.legacy_insight,
        tokens,
        limits: limits?,
    })
}

/// Whether `name` may name a site: 1-64 letters, digits, '-', '_' or '.', starting with a
/// letter or digit (it appears in API paths and file names).
pub fn valid_site_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An absolute http(s) URL, without a trailing slash so paths can be appended.
fn http_url(p: &mut Problems, key: &str, text: &str) -> Option<String> {
    match check_http_url(text) {
        Ok(url) => Some(url),
        Err(message) => {
            p.add(key, message);
            None
        }
    }
}

/// Checks that `text` is an absolute http(s) URL and returns it without a trailing slash;
/// `Err` holds the message for the user.
///
/// # Errors
///
/// The message when `text` is not such a URL.
pub fn check_http_url(text: &str) -> Result<String, String> {
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "{text:?} is not an http(s) URL like \"https://example.atlassian.net\""
        )),
    }
}

/// Resolves every token source of a site; the sources add up into one pool.
fn site_tokens(
    p: &mut Problems,
    key: &str,
    site: &RawSite,
    base: &Path,
    src: &Sources<'_>,
) -> Vec<Secret> {
    let mut tokens = Vec::new();
    let mut seen_source = false;
    for (i, var) in OneOrMany::iter(&site.token_env).enumerate() {
        seen_source = true;
        let k = format!("{key}.token_env[{i}]");
        tokens.extend(env_secret(p, &k, var, src));
    }
    for (i, path) in OneOrMany::iter(&site.token_file).enumerate() {
        seen_source = true;
        let k = format!("{key}.token_file[{i}]");
        let path = resolve(base, path);
        // The first line, as the example config says: a trailing note or a second token on
        // later lines must not become part of the credential.
        match (src.read)(&path) {
            Ok(text) if !first_line(&text).is_empty() => {
                tokens.push(Secret::new(first_line(&text)));
            }
            Ok(_) => p.add(
                k,
                format!("first line of token file {} is empty", path.display()),
            ),
            Err(e) => p.add(k, format!("cannot read token file {}: {e}", path.display())),
        }
    }
    for (i, token) in OneOrMany::iter(&site.token).enumerate() {
        seen_source = true;
        if token.trim().is_empty() {
            p.add(format!("{key}.token[{i}]"), "must not be empty");
        } else {
            tokens.push(Secret::new(token.trim()));
        }
    }
    if !seen_source {
        p.add(
            key,
            "needs an API token: set token_env, token_file or token (each may be a list)",
        );
    }
    tokens
}

/// The first line of a token file, whitespace trimmed.
pub(crate) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// What the CLI needs to reach the daemon: its socket, and how long to wait for an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSettings {
    /// The control socket.
    pub socket: PathBuf,
    /// How long the CLI waits for an answer (the daemon's request timeout plus a margin).
    pub timeout: Duration,
}

/// Reads only `[control]` `socket` and `request_timeout_secs` from a config file, for the
/// CLI: the CLI must not need the site tokens (or anything else the daemon validates) just to
/// find the socket.
///
/// # Errors
///
/// [`ConfigError::Read`], [`ConfigError::Parse`], or [`ConfigError::Invalid`] when the socket
/// is missing or empty.
pub fn client_settings(path: &Path) -> Result<ClientSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let control = raw::control_for_client(&text).map_err(|message| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    let timeout = control
        .request_timeout_secs
        .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs)
        + CLIENT_TIMEOUT_MARGIN;
    match control.socket {
        Some(s) if !s.is_empty() => Ok(ClientSettings {
            socket: resolve(&base_dir(path), Path::new(&s)),
            timeout,
        }),
        _ => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: vec![Problem {
                key: "control.socket".into(),
                message: "is required (a path)".into(),
            }],
        }),
    }
}

/// The control socket of a config file (see [`client_settings`]).
///
/// # Errors
///
/// As [`client_settings`].
pub fn control_socket(path: &Path) -> Result<PathBuf, ConfigError> {
    client_settings(path).map(|s| s.socket)
}
