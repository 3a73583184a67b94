//! Release `assets-sim` child processes for the restore benchmark: configuration text, the
//! one-line JSON ready output, `/__sim/stats`, peak RSS from `/proc/PID/status`, and
//! `assetark` clients for a site (scaled documented limits, or none).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use assetark::assets::{AssetsClient, Limits, Secret, SiteConn};
use serde::Deserialize;
use serde_json::Value;

/// Per-minute limits of a client when the simulator's limits are off: never waits.
pub const UNLIMITED: u32 = 60_000_000;

/// One site of the simulator's ready line (plus the extra tokens of its configuration).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SiteInfo {
    /// Site name.
    pub name: String,
    /// Assets workspace base URL.
    pub api_url: String,
    /// Jira site URL.
    pub site_url: String,
    /// Account email.
    pub email: String,
    /// Primary token.
    pub token: String,
    /// `extra_tokens` of the site (not in the ready line; filled from the configuration).
    #[serde(default)]
    pub extra_tokens: Vec<String>,
}

/// A site of a simulator configuration.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    /// Site name (also the base of its tokens).
    pub name: String,
    /// Extra tokens (a credential pool): `{name}-tok-2`, `{name}-tok-3`, ...
    pub extra_tokens: usize,
    /// `Some(n)`: a cmdb dataset of `n` objects (no history updates); `None`: empty.
    pub cmdb_objects: Option<u32>,
}

impl SiteSpec {
    /// An empty site with one token.
    pub fn empty(name: &str) -> SiteSpec {
        SiteSpec {
            name: name.to_owned(),
            extra_tokens: 0,
            cmdb_objects: None,
        }
    }

    fn token(&self) -> String {
        format!("{}-tok-1", self.name)
    }

    fn extras(&self) -> Vec<String> {
        (2..self.extra_tokens + 2)
            .map(|i| format!("{}-tok-{i}", self.name))
            .collect()
    }
}

/// A release `assets-sim` child process; killed on drop.
pub struct Sim {
    child: Child,
    /// Base URL (admin API under `/__sim/`).
    pub url: String,
    /// Its sites.
    pub sites: Vec<SiteInfo>,
    _dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The simulator binary: `$ASSETS_SIM_BIN`, else `assets-sim` next to this executable.
pub fn sim_binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("ASSETS_SIM_BIN") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("exe dir")?.join("assets-sim");
    if !p.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p assets-sim`",
            p.display()
        );
    }
    Ok(p)
}

impl Sim {
    /// Starts a simulator with the admin API, `sites`, and the documented limits × `scale`
    /// (`None`: limits off). Waits for its ready line.
    pub fn start(scale: Option<f64>, sites: &[SiteSpec]) -> Result<Sim> {
        let mut cfg = String::from("admin_api = true\n[rate_limits]\n");
        match scale {
            Some(s) => cfg.push_str(&format!("enabled = true\nscale = {s:?}\n")),
            None => cfg.push_str("enabled = false\n"),
        }
        for s in sites {
            cfg.push_str(&format!(
                "[[sites]]\nname = {:?}\nemail = \"bench@{}.example\"\ntoken = {:?}\n\
                 extra_tokens = {:?}\n",
                s.name,
                s.name,
                s.token(),
                s.extras()
            ));
            if let Some(n) = s.cmdb_objects {
                cfg.push_str(&format!(
                    "[sites.dataset]\nkind = \"cmdb\"\nobjects = {n}\nseed = 1\n\
                     history_updates = 0\n"
                ));
            }
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("sim.toml");
        std::fs::write(&path, cfg)?;
        let mut child = Command::new(sim_binary()?)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        let ready: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("simulator ready line {line:?}: {e}");
            }
        };
        let mut infos: Vec<SiteInfo> =
            serde_json::from_value(ready["sites"].clone()).context("ready sites")?;
        for info in &mut infos {
            if let Some(s) = sites.iter().find(|s| s.name == info.name) {
                info.extra_tokens = s.extras();
            }
        }
        Ok(Sim {
            child,
            url: ready["url"].as_str().context("ready url")?.to_owned(),
            sites: infos,
            _dir: dir,
        })
    }

    /// A site by name.
    pub fn site(&self, name: &str) -> Result<&SiteInfo> {
        self.sites
            .iter()
            .find(|s| s.name == name)
            .with_context(|| format!("no site {name}"))
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET /__sim/stats`.
    pub async fn stats(&self) -> Result<SimStats> {
        let r = reqwest::get(format!("{}/__sim/stats", self.url)).await?;
        Ok(r.error_for_status()?.json().await?)
    }
}

/// A `/__sim/stats` answer: the parts the benchmark reads (the simulator sends more).
#[derive(Debug, Clone, Deserialize)]
pub struct SimStats {
    /// Requests served, by endpoint template (e.g. `"POST /object/create"`).
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// 429s served.
    pub rate_limited: u64,
}

impl SimStats {
    /// Requests of one endpoint template (e.g. `"POST /object/create"`).
    pub fn endpoint(&self, name: &str) -> u64 {
        self.requests_by_endpoint.get(name).copied().unwrap_or(0)
    }

    /// 429s served.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited
    }

    /// Every endpoint's count since `before`, only those that changed, by name.
    pub fn endpoints_since(&self, before: &SimStats) -> Vec<(String, u64)> {
        self.requests_by_endpoint
            .iter()
            .map(|(k, v)| (k.clone(), v.saturating_sub(before.endpoint(k))))
            .filter(|(_, d)| *d > 0)
            .collect()
    }
}

/// Peak resident set size of a live process, in bytes (`VmHWM`).
pub fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmHWM")?;
    Ok(kb * 1024)
}

/// The documented limits × `scale` (as the simulator scales them), default retries.
pub fn scaled_limits(scale: f64) -> Limits {
    let d = Limits::default();
    let s = |x: u32| ((f64::from(x) * scale).round() as u32).max(1);
    Limits {
        aql_legacy_per_minute: s(d.aql_legacy_per_minute),
        aql_per_minute: s(d.aql_per_minute),
        object_per_minute: s(d.object_per_minute),
        other_per_minute: s(d.other_per_minute),
        jira_per_minute: s(d.jira_per_minute),
        ..d
    }
}

/// Limits that never wait (for a simulator with limits off).
pub fn unlimited() -> Limits {
    Limits {
        aql_legacy_per_minute: UNLIMITED,
        aql_per_minute: UNLIMITED,
        object_per_minute: UNLIMITED,
        other_per_minute: UNLIMITED,
        jira_per_minute: UNLIMITED,
        ..Limits::default()
    }
}

/// A client of `site` using its first `tokens` tokens (1 = the primary only).
pub fn client(site: &SiteInfo, tokens: usize, limits: Limits) -> Result<AssetsClient> {
    let all: Vec<Secret> = std::iter::once(&site.token)
        .chain(&site.extra_tokens)
        .take(tokens.max(1))
        .map(|t| Secret::from(t.as_str()))
        .collect();
    if all.len() < tokens {
        bail!("site {} has {} tokens, not {tokens}", site.name, all.len());
    }
    Ok(AssetsClient::new(SiteConn {
        name: site.name.clone(),
        api_url: site.api_url.clone(),
        site_url: site.site_url.clone(),
        email: site.email.clone(),
        tokens: all,
        limits,
    })?)
}
