//! A restore in a child process, for its peak RSS: the parent re-executes this binary with
//! [`FLAG`] and writes one JSON line of [`ChildArgs`] on its stdin (no credentials on the
//! command line). The child opens the store, plans, stores and executes the restore exactly as
//! the daemon would (limits off, one token), prints one JSON line of [`ChildReport`], then
//! waits for its stdin to close, so the parent can read the live child's `VmHWM`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use assetark::store::BackupId;

use super::run;
use super::sim::{self, SiteInfo};

/// The hidden mode flag.
pub const FLAG: &str = "--child-restore";

/// What the child restores where.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildArgs {
    /// SQLite store file holding the backup.
    pub store: PathBuf,
    /// The backup.
    pub backup: BackupId,
    /// The target site (limits off).
    pub site: SiteInfo,
    /// New schema name.
    pub schema_name: String,
    /// New schema key.
    pub schema_key: String,
}

/// What the child reports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChildReport {
    /// Objects in the plan.
    pub objects: u64,
    /// Objects created.
    pub created: u64,
    /// Objects refused.
    pub failed: u64,
    /// References deferred to the object references stage.
    pub deferred: u64,
    /// Plan + create seconds.
    pub plan_secs: f64,
    /// Execute seconds.
    pub execute_secs: f64,
    /// Requests sent by execute.
    pub requests: u64,
}

/// The child's side: runs the restore read from stdin, reports, waits for stdin to close.
pub async fn child_main() -> Result<()> {
    let mut stdin = BufReader::new(std::io::stdin());
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    let args: ChildArgs = serde_json::from_str(&line).context("child arguments")?;
    let store = run::open_store(&args.store)?;
    let client = sim::client(&args.site, 1, sim::unlimited())?;
    let r = run::restore(
        &store,
        &client,
        args.backup,
        (&args.schema_name, &args.schema_key),
        false,
    )
    .await?;
    let report = ChildReport {
        objects: r.objects,
        created: r.created,
        failed: r.failed,
        deferred: r.deferred,
        plan_secs: r.plan_secs,
        execute_secs: r.execute_secs,
        requests: r.execute_requests(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&report)?)?;
    out.flush()?;
    drop(out);
    let mut rest = Vec::new();
    stdin.read_to_end(&mut rest)?;
    Ok(())
}

/// The glibc setting that fixes malloc's mmap threshold at its 128 KiB default (glibc
/// otherwise raises it after a large block is freed, up to 32 MiB, and later large blocks
/// then come from — and fragment — the heap).
pub const FIXED_MMAP_THRESHOLD: &str = "glibc.malloc.mmap_threshold=131072";

/// The parent's side: runs one restore in a child process; returns its report and its peak
/// RSS in bytes (`VmHWM`, read while the child is still alive). `glibc_tunables`: the
/// child's `GLIBC_TUNABLES` (`None`: unset, glibc's defaults).
pub fn run_child(args: &ChildArgs, glibc_tunables: Option<&str>) -> Result<(ChildReport, u64)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    match glibc_tunables {
        Some(t) => cmd.env("GLIBC_TUNABLES", t),
        None => cmd.env_remove("GLIBC_TUNABLES"),
    };
    let mut child = cmd
        .arg(FLAG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdin = child.stdin.take().context("child stdin")?;
    writeln!(stdin, "{}", serde_json::to_string(args)?)?;
    stdin.flush()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("child stdout")?).read_line(&mut line)?;
    if line.trim().is_empty() {
        drop(stdin);
        let status = child.wait()?;
        bail!("the child restore ended without a report ({status})");
    }
    let rss = sim::peak_rss(child.id());
    drop(stdin);
    let status = child.wait()?;
    let report: ChildReport = serde_json::from_str(&line).context("child report")?;
    if !status.success() {
        bail!("the child restore exited with {status}");
    }
    Ok((report, rss?))
}
