//! The simulator's TOML configuration: listener, admin API, rate limits, faults and sites.
//!
//! Key names are a contract (scripts rely on them): see the issue text and sim/README.md.

use serde::Deserialize;

/// Whole simulator configuration (`assets-sim --config FILE`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Address to bind, e.g. `127.0.0.1:0`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Serve the `/__sim/` admin API (fault switches, counters, site reset).
    #[serde(default)]
    pub admin_api: bool,
    /// Emit URLs inside responses in the `/ex/jira/{cloudId}/...` gateway form instead of the
    /// plain `/jsm/assets/workspace/...` form.
    #[serde(default)]
    pub links_use_cloud_id: bool,
    #[serde(default)]
    pub rate_limits: RateLimitConfig,
    #[serde(default)]
    pub faults: FaultConfig,
    /// Largest accepted request body; larger bodies get 413 with an error body.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(default)]
    pub sites: Vec<SiteConfig>,
}

fn default_listen() -> String {
    "127.0.0.1:0".into()
}
fn default_max_body_bytes() -> usize {
    8 * 1024 * 1024
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: default_listen(),
            admin_api: false,
            links_use_cloud_id: false,
            rate_limits: RateLimitConfig::default(),
            faults: FaultConfig::default(),
            max_body_bytes: default_max_body_bytes(),
            sites: Vec::new(),
        }
    }
}

/// Per-credential, per-endpoint-class request limits (reference §15).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Multiplies every limit (a benchmark runs the documented ratios in less time).
    #[serde(default = "one")]
    pub scale: f64,
    /// Per-minute limit of endpoints without a documented number.
    #[serde(default = "default_other_per_minute")]
    pub default_per_minute: u32,
    /// Size of the token bucket's burst, in seconds of the per-minute rate.
    #[serde(default = "default_burst_seconds")]
    pub burst_seconds: f64,
}

fn yes() -> bool {
    true
}
fn one() -> f64 {
    1.0
}
fn default_other_per_minute() -> u32 {
    3000
}
fn default_burst_seconds() -> f64 {
    10.0
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            scale: 1.0,
            default_per_minute: default_other_per_minute(),
            burst_seconds: default_burst_seconds(),
        }
    }
}

/// Deterministic fault injection (off by default).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the fault RNG: the same seed and request order give the same faults.
    #[serde(default)]
    pub seed: u64,
    /// Share of requests answered 500, 502 or 503 (503 with `Retry-After`), 0.0..=1.0.
    #[serde(default)]
    pub error_rate: f64,
    /// Latency added to every request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Share of requests whose connection is dropped before they are processed.
    #[serde(default)]
    pub drop_rate: f64,
    /// Share of requests that are processed but whose response is lost (connection dropped
    /// after the change was made): the case that makes naive retries duplicate data.
    #[serde(default)]
    pub lost_response_rate: f64,
    /// Only requests whose endpoint class is listed get faults (empty = every class).
    /// Classes: `aql_legacy`, `aql`, `object`, `other`, `jira`.
    #[serde(default)]
    pub classes: Vec<String>,
}

/// Which product a site simulates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// Assets Cloud behind the `api.atlassian.com` gateway, Jira Cloud (REST v3).
    #[default]
    Cloud,
    /// Jira Service Management Data Center: Assets at `/rest/assets/1.0` (and the legacy
    /// `/rest/insight/1.0`) on the site's base URL, Jira REST v2 (reference §19).
    Dc,
}

/// One simulated Atlassian site with its Assets workspace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    pub email: String,
    /// Cloud: the API token (Basic with the email, or Bearer). Data Center: a personal access
    /// token (Bearer), also accepted as the Basic password.
    pub token: String,
    /// Data Center only: the account's password for Basic auth (with the email or username).
    #[serde(default)]
    pub password: Option<String>,
    /// Further API tokens of the same account (a credential pool); each has its own limits.
    #[serde(default)]
    pub extra_tokens: Vec<String>,
    pub workspace_id: Option<String>,
    pub cloud_id: Option<String>,
    #[serde(default)]
    pub flavor: Flavor,
    /// Whether `[rate_limits]` apply to this site: default on for Cloud, off for Data Center
    /// (whose limits are an administrator's choice).
    #[serde(default)]
    pub rate_limits: Option<bool>,
    #[serde(default)]
    pub dataset: DatasetConfig,
    /// The site's user directory; when empty, the standard directory is used.
    #[serde(default)]
    pub users: Vec<UserConfig>,
}

impl SiteConfig {
    pub fn rate_limited(&self) -> bool {
        self.rate_limits.unwrap_or(self.flavor == Flavor::Cloud)
    }
}

/// Which data a site starts with.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    #[serde(default = "default_kind")]
    pub kind: DatasetKind,
    #[serde(default = "default_objects")]
    pub objects: u32,
    #[serde(default)]
    pub seed: u64,
    /// Some Text values exceed 255 characters, as a Data Center export would hold.
    #[serde(default)]
    pub from_data_center: bool,
    /// Number of object history entries written per object beyond its creation.
    #[serde(default = "default_history_updates")]
    pub history_updates: u32,
    /// The site's Jira holds a copy of that site's issues (same keys, same Assets field values,
    /// i.e. that site's object ids), as after a Jira migration: the post-restore issues task
    /// can then be tested across sites.
    #[serde(default)]
    pub jira_issues_from: Option<String>,
}

fn default_kind() -> DatasetKind {
    DatasetKind::Empty
}
fn default_objects() -> u32 {
    200
}
fn default_history_updates() -> u32 {
    1
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            kind: default_kind(),
            objects: default_objects(),
            seed: 0,
            from_data_center: false,
            history_updates: default_history_updates(),
            jira_issues_from: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    Cmdb,
    Empty,
}

/// A user of a site's directory.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub display_name: String,
    pub email: Option<String>,
    /// Cloud only: the Atlassian account id (derived from name and email when absent).
    pub account_id: Option<String>,
    /// Data Center only: the user key (`JIRAUSER1xxxx` by position when absent).
    #[serde(default)]
    pub key: Option<String>,
    /// Data Center only: the username (the email's local part when absent).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

impl SimConfig {
    /// Parses TOML and checks everything at once, reporting every problem in one error.
    pub fn from_toml(text: &str) -> anyhow::Result<SimConfig> {
        let cfg: SimConfig = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        if self.rate_limits.scale.is_nan() || self.rate_limits.scale <= 0.0 {
            problems.push("rate_limits.scale must be > 0".to_string());
        }
        if self.rate_limits.burst_seconds.is_nan() || self.rate_limits.burst_seconds <= 0.0 {
            problems.push("rate_limits.burst_seconds must be > 0".to_string());
        }
        for (name, v) in [
            ("error_rate", self.faults.error_rate),
            ("drop_rate", self.faults.drop_rate),
            ("lost_response_rate", self.faults.lost_response_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                problems.push(format!("faults.{name} must be within 0.0..=1.0"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.sites {
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                problems.push(format!(
                    "site name {:?} must be non-empty [A-Za-z0-9_-]",
                    s.name
                ));
            }
            if !seen.insert(s.name.clone()) {
                problems.push(format!("site name {:?} is used twice", s.name));
            }
            if s.token.is_empty() {
                problems.push(format!("site {:?}: token must not be empty", s.name));
            }
            if let Some(from) = &s.dataset.jira_issues_from {
                let source = self.sites.iter().find(|o| &o.name == from);
                match source {
                    None => problems.push(format!(
                        "site {:?}: dataset.jira_issues_from names no site ({from:?})",
                        s.name
                    )),
                    Some(o) if o.name == s.name => problems.push(format!(
                        "site {:?}: dataset.jira_issues_from names the site itself",
                        s.name
                    )),
                    Some(o) if o.flavor != s.flavor => problems.push(format!(
                        "site {:?}: dataset.jira_issues_from names a site of another flavor",
                        s.name
                    )),
                    Some(o) if o.dataset.jira_issues_from.is_some() => problems.push(format!(
                        "site {:?}: dataset.jira_issues_from names a site whose issues are copies",
                        s.name
                    )),
                    Some(_) => {}
                }
            }
            let only = |what: &str, flavor: &str| {
                format!("site {:?}: {what} for {flavor} sites only", s.name)
            };
            match s.flavor {
                Flavor::Cloud => {
                    if s.password.is_some() {
                        problems.push(only("password is", "dc"));
                    }
                    if s.users
                        .iter()
                        .any(|u| u.key.is_some() || u.username.is_some())
                    {
                        problems.push(only("users.key and users.username are", "dc"));
                    }
                }
                Flavor::Dc => {
                    if s.workspace_id.is_some() || s.cloud_id.is_some() {
                        problems.push(only("workspace_id and cloud_id are", "cloud"));
                    }
                    if s.users.iter().any(|u| u.account_id.is_some()) {
                        problems.push(only("users.account_id is", "cloud"));
                    }
                    if s.password.as_deref().is_some_and(str::is_empty) {
                        problems.push(format!("site {:?}: password must not be empty", s.name));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(
                "invalid simulator configuration:\n  {}",
                problems.join("\n  ")
            )
        }
    }
}

impl SimConfig {
    /// One site, `demo`, with a 2,000-object cmdb dataset: what runs without a config file.
    pub fn demo() -> SimConfig {
        SimConfig {
            admin_api: true,
            sites: vec![SiteConfig {
                name: "demo".into(),
                email: "admin@demo.example".into(),
                token: "demo-token".into(),
                password: None,
                extra_tokens: Vec::new(),
                workspace_id: None,
                cloud_id: None,
                flavor: Flavor::Cloud,
                rate_limits: None,
                dataset: DatasetConfig {
                    kind: DatasetKind::Cmdb,
                    objects: 2000,
                    ..DatasetConfig::default()
                },
                users: Vec::new(),
            }],
            ..SimConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_center_sites_and_their_keys() {
        let good = r#"
[[sites]]
name = "d"
flavor = "dc"
email = "a@d.example"
token = "pat"
password = "pw"
[[sites.users]]
display_name = "Ann"
key = "JIRAUSER20000"
username = "ann"
[[sites]]
name = "c"
email = "a@c.example"
token = "t"
"#;
        let ok = SimConfig::from_toml(good).expect("valid");
        assert_eq!(ok.sites[0].flavor, Flavor::Dc);
        assert!(!ok.sites[0].rate_limited() && ok.sites[1].rate_limited());
        // The Data Center keys on the Cloud site and the other way round.
        let bad = good
            .replace(r#"password = "pw""#, r#"workspace_id = "w""#)
            .replace(
                "key = \"JIRAUSER20000\"\nusername = \"ann\"",
                r#"account_id = "5b10""#,
            )
            + "password = \"pw\"\n";
        let err = SimConfig::from_toml(&bad).expect_err("invalid").to_string();
        for want in [
            "\"d\": workspace_id and cloud_id are for cloud sites only",
            "\"d\": users.account_id is for cloud sites only",
            "\"c\": password is for dc sites only",
        ] {
            assert!(err.contains(want), "{want} in {err}");
        }
        let err = SimConfig::from_toml(
            "[[sites]]\nname = \"x\"\nemail = \"e\"\ntoken = \"t\"\nflavor = \"server\"\n",
        );
        assert!(err.is_err_and(|e| e.to_string().contains("unknown variant")));
    }
}
