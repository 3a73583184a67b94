//! `backup-bench`: the backup benchmark (not a timed test: it prints figures for the README's
//! Performance section and fails only on hard errors). Every measurement runs
//! `assetark::backup::run` (main pass, then the background phase: history, issues) against a
//! release `assets-sim` child process, into a fresh SQLite store in a temp dir, with one API
//! token:
//!
//! 1. Limits on, scaled (`--scale`, burst default), `--objects-limited` cmdb objects: total
//!    time; requests per class against the scaled limits; the rate of the class that bounds the
//!    run (`other`: one `GET /object/{id}/history` per object) over the history phase's window
//!    (Progress callbacks + client stats snapshots); 429s and requests rejected twice; the
//!    equivalent unscaled time beside the seed app's published history capture time
//!    (5 min + 1 min per 1,000 objects).
//! 2. Limits off, `--objects-fast` objects: objects per second of the objects stage and of the
//!    whole run.
//! 3. Peak RSS (`VmHWM`) of the backup process for `--rss-small` vs `--rss-large` objects: each
//!    backup runs in a child process (this binary re-executed with the hidden
//!    `--child-backup N` mode), which reports and then waits on stdin while the parent reads
//!    `/proc/PID/status` (and samples it every 250 ms meanwhile, to tell a plateau from
//!    growth). The large run stops when its history phase starts (its main pass is complete
//!    then): with history, 200,000 objects took ~3 min on 2 cores, and the peak is in the
//!    objects stage anyway; `--rss-history` keeps it.
//! 4. Stored bytes per object (`--objects-bytes`): full backup, an unchanged second backup, and
//!    a third after a value change PUT on 1% of the objects.
//! 5. Incremental capture (`incremental`): the second backup of `--objects-incremental`
//!    objects with 1% changed, its requests and time over the full backup's.
//! 6. A Data Center backup (`dc`): `--dc-objects` objects with comments and attachments:
//!    objects/s, MiB/s of attachments, the store's bytes per attachment after dedup.
//!
//! Run: `cargo build --release -p assets-sim -p assetark-tests && target/release/backup-bench`
//! (`--only 1,2,3,4,5,6` selects measurements; `ASSETS_SIM_BIN` overrides the simulator binary).

#[path = "backup_bench/dc.rs"]
mod dc;
#[path = "backup_bench/incremental.rs"]
mod incremental;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use assetark::assets::{
    AssetsApi, AssetsClient, Class, ClientStats, EventKind, Limits, Secret, SiteConn,
};
use assetark::backup::{self, BackupRequest, Progress, stage};
use assetark::model::ObjectIn;
use assetark::store::{
    AsyncStore, Backup, BackupFilter, BackupId, BackupType, PageRequest, SqliteStore, kind,
};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

/// The schema backed up: the cmdb dataset's "IT Assets" (its other schema, LOC, holds ~3%).
const SCHEMA: &str = "ITSM";
/// Per-minute limits with limits off: high enough never to wait.
const UNLIMITED: u32 = 60_000_000;
/// The seed app's published history capture time: 5 min + 1 min per 1,000 objects.
fn seed_app_secs(objects: u64) -> f64 {
    300.0 + 60.0 * objects as f64 / 1000.0
}

// ---------------------------------------------------------------- simulator child process

/// One site of the simulator's ready line.
#[derive(Debug, Clone, serde::Deserialize)]
struct Site {
    name: String,
    api_url: String,
    site_url: String,
    email: String,
    token: String,
}

/// A release `assets-sim` child process with one cmdb site; killed on drop.
struct Sim {
    child: Child,
    url: String,
    site: Site,
    _dir: tempfile::TempDir,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim_binary() -> Result<PathBuf> {
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

/// Starts the release simulator with `toml` as its config: the child, its ready line, and the
/// directory holding the config (kept as long as the child runs).
fn spawn_sim(toml: &str) -> Result<(Child, Value, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let cfg = dir.path().join("sim.toml");
    std::fs::write(&cfg, toml)?;
    let mut child = Command::new(sim_binary()?)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let ready: Value =
        serde_json::from_str(&line).with_context(|| format!("ready line: {line:?}"))?;
    Ok((child, ready, dir))
}

impl Sim {
    /// `scale`: `Some` = the documented limits × scale (burst default), `None` = limits off.
    /// History updates stay at the simulator's default (1).
    fn start(objects: u32, scale: Option<f64>) -> Result<Sim> {
        let limits = match scale {
            Some(s) => format!("enabled = true\nscale = {s:?}\n"),
            None => "enabled = false\n".to_owned(),
        };
        let (child, ready, dir) = spawn_sim(&format!(
            "admin_api = true\n[rate_limits]\n{limits}[[sites]]\nname = \"bench\"\n\
             email = \"bench@example.com\"\ntoken = \"bench\"\n[sites.dataset]\n\
             kind = \"cmdb\"\nobjects = {objects}\nseed = 1\n"
        ))?;
        let site = serde_json::from_value(ready["sites"][0].clone()).context("ready site")?;
        let url = ready["url"].as_str().context("ready url")?.to_owned();
        Ok(Sim {
            child,
            url,
            site,
            _dir: dir,
        })
    }

    /// `GET /__sim/stats`.
    async fn stats(&self) -> Result<Value> {
        let r = reqwest::get(format!("{}/__sim/stats", self.url)).await?;
        Ok(r.error_for_status()?.json().await?)
    }
}

/// Peak resident set size of a live process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("VmHWM")?;
    Ok(kb * 1024)
}

// ------------------------------------------------------------------------ backup runs

/// The documented per-minute limit of a class (the simulator's defaults agree).
fn documented(class: Class) -> u32 {
    let d = Limits::default();
    match class {
        Class::AqlLegacy => d.aql_legacy_per_minute,
        Class::Aql => d.aql_per_minute,
        Class::Object => d.object_per_minute,
        Class::Other => d.other_per_minute,
        Class::Jira => d.jira_per_minute,
    }
}

/// The client of the code under test: the documented limits × `scale`, or unlimited.
fn client(site: &Site, scale: Option<f64>) -> Result<AssetsClient> {
    let pm = |c: Class| scale.map_or(UNLIMITED, |s| (f64::from(documented(c)) * s) as u32);
    Ok(AssetsClient::new(SiteConn {
        name: site.name.clone(),
        api_url: site.api_url.clone(),
        site_url: site.site_url.clone(),
        email: site.email.clone(),
        tokens: vec![Secret::from(site.token.as_str())],
        limits: Limits {
            aql_legacy_per_minute: pm(Class::AqlLegacy),
            aql_per_minute: pm(Class::Aql),
            object_per_minute: pm(Class::Object),
            other_per_minute: pm(Class::Other),
            jira_per_minute: pm(Class::Jira),
            ..Limits::default()
        },
    })?)
}

fn open_store(dir: &std::path::Path) -> Result<AsyncStore> {
    Ok(AsyncStore::new(Arc::new(SqliteStore::open(
        dir.join("store.db"),
    )?)))
}

/// Progress reports of one stage: when, how far, and the client's counters at that moment.
#[derive(Default)]
struct Window {
    marks: Vec<(Instant, u64, ClientStats)>,
}

impl Window {
    fn secs(&self) -> f64 {
        match (self.marks.first(), self.marks.last()) {
            (Some(a), Some(b)) => (b.0 - a.0).as_secs_f64(),
            _ => 0.0,
        }
    }
    fn done(&self) -> u64 {
        self.marks.last().map_or(0, |m| m.1)
    }
    /// Requests of `class` sent from mark `from` to the last mark, and the seconds between.
    fn sent_since(&self, from: usize, class: &str) -> (u64, f64) {
        let (Some(a), Some(b)) = (self.marks.get(from), self.marks.last()) else {
            return (0, 0.0);
        };
        let n = |s: &ClientStats| s.sent.get(class).copied().unwrap_or(0);
        (n(&b.2) - n(&a.2), (b.0 - a.0).as_secs_f64())
    }
    /// The index of the first mark at least `share` of the window after its start.
    fn mark_at(&self, share: f64) -> usize {
        let Some(start) = self.marks.first().map(|m| m.0) else {
            return 0;
        };
        let at = self.secs() * share;
        self.marks
            .iter()
            .position(|m| (m.0 - start).as_secs_f64() >= at)
            .unwrap_or(0)
    }
}

/// One finished backup run.
struct Run {
    id: BackupId,
    backup: Backup,
    secs: f64,
    /// Store bytes added by the main pass (read when the history phase starts).
    main_bytes: u64,
    /// Seconds from the start to the end of the main pass (first history report).
    main_secs: f64,
    stages: BTreeMap<String, Window>,
}

impl Run {
    fn stage(&self, name: &str) -> &Window {
        static EMPTY: Window = Window { marks: Vec::new() };
        self.stages.get(name).unwrap_or(&EMPTY)
    }
}

#[derive(Default)]
struct Recorder {
    stages: BTreeMap<String, Window>,
    main: Option<(Instant, u64)>,
}

/// Runs one full backup of [`SCHEMA`] on a spawned task (as the daemon does), recording
/// every progress report. `skip_history` cancels the backup when its history phase starts
/// (the main pass is complete by then; the phases are marked failed).
async fn run_backup(client: &AssetsClient, store: &AsyncStore, skip_history: bool) -> Result<Run> {
    let rec = Arc::new(Mutex::new(Recorder::default()));
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let task = {
        let (client, store, rec, cancel) =
            (client.clone(), store.clone(), rec.clone(), cancel.clone());
        tokio::spawn(async move {
            let req = BackupRequest {
                site: client.site().name.clone(),
                schema_key: SCHEMA.into(),
                backup_type: BackupType::Manual,
                description: Some("backup-bench".into()),
            };
            let on_progress = |p: Progress| {
                let now = Instant::now();
                let stats = client.stats();
                let mut r = rec.lock().expect("recorder");
                if p.stage == stage::HISTORY && r.main.is_none() {
                    // The backup is complete (visible) by now: the newest backup is this one.
                    let newest = store.blocking().list_backups(
                        &BackupFilter::default(),
                        PageRequest {
                            limit: 1,
                            offset: 0,
                        },
                    );
                    let bytes = newest
                        .ok()
                        .and_then(|p| p.items.first().map(|b| b.bytes_added));
                    r.main = Some((now, bytes.unwrap_or(0)));
                    if skip_history {
                        cancel.cancel();
                    }
                }
                r.stages
                    .entry(p.stage)
                    .or_default()
                    .marks
                    .push((now, p.done, stats));
            };
            backup::run(
                &client,
                &store,
                &req,
                &on_progress,
                cancel.clone(),
                &assetark::clock::system(),
            )
            .await
        })
    };
    let id = task.await?.context("backup")?;
    let secs = started.elapsed().as_secs_f64();
    let backup = store.get_backup(id).await?;
    let rec = std::mem::take(&mut *rec.lock().expect("recorder"));
    let (main_at, main_bytes) = rec.main.unwrap_or((Instant::now(), backup.bytes_added));
    Ok(Run {
        id,
        main_bytes,
        main_secs: (main_at - started).as_secs_f64().min(secs),
        secs,
        backup,
        stages: rec.stages,
    })
}

// ----------------------------------------------------------------------- measurements

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1048576.0
}

/// 1. Limits on, scaled: what bounds the run and how close to the limit it gets.
async fn limited(objects: u32, scale: f64) -> Result<()> {
    println!(
        "\n[1] limits ON x{scale} (burst default), cmdb dataset of {objects} objects, full backup incl. background phase"
    );
    let built = Instant::now();
    let sim = Sim::start(objects, Some(scale))?;
    println!(
        "  simulator ready in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let client = client(&sim.site, Some(scale))?;
    client.governor().record_events(true);
    let dir = tempfile::tempdir()?;
    let store = open_store(dir.path())?;
    let run = run_backup(&client, &store, false).await?;
    let n = run.backup.object_count;
    let hist = run.stage(stage::HISTORY);
    println!(
        "  {SCHEMA}: {n} objects; total time {:.1} s = main pass {:.1} s (objects stage {:.1} s) + history {:.1} s + issues {:.1} s",
        run.secs,
        run.main_secs,
        run.stage(stage::OBJECTS).secs(),
        hist.secs(),
        run.stage(stage::ISSUES).secs(),
    );
    println!(
        "  history phase: {}",
        run.backup.history.note.as_deref().unwrap_or("-")
    );
    let stats = client.stats();
    let served = sim.stats().await?;
    println!(
        "  requests per class: sent by the client / served by the simulator (limit x{scale}):"
    );
    let mut bound: Option<(&str, f64)> = None;
    for class in Class::ALL {
        let name = class.name();
        let sent = stats.sent.get(name).copied().unwrap_or(0);
        let limit = f64::from(documented(class)) * scale;
        // Minutes of budget the class used: the largest is the one that bounds the run.
        let minutes = sent as f64 / limit;
        if bound.is_none_or(|(_, m)| minutes > m) {
            bound = Some((name, minutes));
        }
        println!(
            "    {name:<10} {sent:>7} / {:>7}   limit {limit:>9.0}/min ({:.0}/s), whole-run average {:.0}/s",
            served["requests_by_class"][name].as_u64().unwrap_or(0),
            limit / 60.0,
            sent as f64 / run.secs,
        );
    }
    let (bound, _) = bound.context("no classes")?;
    let limit_s = f64::from(documented(Class::Other)) * scale / 60.0;
    let (sent, secs) = hist.sent_since(0, bound);
    let rate = sent as f64 / secs;
    let (sent2, secs2) = hist.sent_since(hist.mark_at(0.5), bound);
    let rate2 = sent2 as f64 / secs2;
    println!(
        "  bounding class: {bound}; over the history window: {sent} requests in {secs:.1} s = {rate:.0}/s = {:.1}% of the {limit_s:.0}/s limit (second half: {rate2:.0}/s = {:.1}%; the first half includes the client's 2 s burst)",
        rate / limit_s * 100.0,
        rate2 / limit_s * 100.0,
    );
    // A request rejected twice got its second 429 after the block of its first had ended
    // (the governor holds a throttled credential+class until then). So a 429 counts as a
    // possible second rejection when it lands after the end of an earlier block: an upper
    // bound, exact when it is 0.
    let events = client.governor().events();
    let mut first_end: HashMap<(usize, Class), tokio::time::Instant> = HashMap::new();
    let mut twice = 0u64;
    for e in &events {
        if let EventKind::Blocked { until } = e.kind {
            let end = first_end.entry((e.credential, e.class)).or_insert(until);
            if e.at >= *end {
                twice += 1;
            }
            *end = (*end).min(until);
        }
    }
    println!(
        "  429s: served by the simulator {}, received by the client {}, retries {} (5xx {}, transport errors {}); rejected twice: {twice}{}",
        served["rate_limited"].as_u64().unwrap_or(0),
        stats.throttled,
        stats.retries,
        stats.server_errors,
        stats.transport_errors,
        if stats.throttled == 0 {
            ""
        } else {
            " (upper bound from the governor's event log)"
        },
    );
    let seed = seed_app_secs(n);
    println!(
        "  vs the seed app: published history capture 5 min + 1 min per 1,000 objects = {:.1} min for {n} objects;",
        seed / 60.0
    );
    println!(
        "    assetark, equivalent unscaled time (measured x {scale}): whole backup {:.1} min ({:.2}x faster), history phase alone {:.1} min ({:.2}x)",
        run.secs * scale / 60.0,
        seed / (run.secs * scale),
        hist.secs() * scale / 60.0,
        seed / (hist.secs() * scale),
    );
    Ok(())
}

/// 2. Limits off: raw throughput.
async fn fast(objects: u32) -> Result<()> {
    println!(
        "\n[2] limits OFF, cmdb dataset of {objects} objects, full backup incl. background phase"
    );
    let sim = Sim::start(objects, None)?;
    let client = client(&sim.site, None)?;
    let dir = tempfile::tempdir()?;
    let store = open_store(dir.path())?;
    let run = run_backup(&client, &store, false).await?;
    let n = run.backup.object_count;
    let obj = run.stage(stage::OBJECTS);
    let hist = run.stage(stage::HISTORY);
    let (hsent, hsecs) = hist.sent_since(0, Class::Other.name());
    println!(
        "  {SCHEMA}: {n} objects; objects stage: {} objects in {:.1} s = {:.0} objects/s",
        obj.done(),
        obj.secs(),
        obj.done() as f64 / obj.secs()
    );
    println!(
        "  main pass {:.1} s = {:.0} objects/s; history {hsent} requests in {hsecs:.1} s = {:.0}/s; whole run {:.1} s = {:.0} objects/s",
        run.main_secs,
        n as f64 / run.main_secs,
        hsent as f64 / hsecs,
        run.secs,
        n as f64 / run.secs
    );
    Ok(())
}

/// 3. Peak RSS of the backup process, small vs large.
async fn rss(small: u32, large: u32, skip_history_large: bool) -> Result<()> {
    println!("\n[3] peak RSS of the backup process (a child process), limits OFF");
    let mut peaks = Vec::new();
    for (objects, skip) in [(small, false), (large, skip_history_large)] {
        let built = Instant::now();
        let sim = Sim::start(objects, None)?;
        let build = built.elapsed().as_secs_f64();
        let s = &sim.site;
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.args(["--child-backup", &objects.to_string()])
            .args(["--api-url", &s.api_url, "--site-url", &s.site_url])
            .args(["--email", &s.email, "--site", &s.name])
            .env("BACKUP_BENCH_TOKEN", &s.token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if skip {
            cmd.arg("--skip-history");
        }
        let mut child = cmd.spawn()?;
        let pid = child.id().context("child pid")?;
        // The high-water mark over time, to tell a plateau from growth with the object count.
        let sampler = tokio::spawn(async move {
            let (t0, mut marks) = (Instant::now(), Vec::new());
            while let Ok(hwm) = peak_rss(pid) {
                marks.push((t0.elapsed().as_secs_f64(), hwm));
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            marks
        });
        let mut lines = tokio::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = lines
            .next_line()
            .await?
            .context("child exited without a report")?;
        let report: Value = serde_json::from_str(&line).with_context(|| format!("{line:?}"))?;
        // The child waits on stdin: read its high-water mark while it is alive, then release it.
        let peak = peak_rss(pid)?;
        drop(child.stdin.take());
        let status = child.wait().await?;
        if !status.success() {
            bail!("child backup: {status}");
        }
        let marks = sampler.await?;
        let at = |share: f64| {
            let end = marks.last().map_or(0.0, |m| m.0);
            let m = marks.iter().take_while(|m| m.0 <= end * share).last();
            mib(m.map_or(0, |m| m.1))
        };
        println!(
            "  {objects} objects (simulator ready in {build:.1} s): {} objects backed up in {:.1} s (history {}), peak RSS {:.1} MiB",
            report["objects"],
            report["secs"].as_f64().unwrap_or(0.0),
            report["history"].as_str().unwrap_or("?"),
            mib(peak)
        );
        println!(
            "    high-water mark at 25/50/75% of the run: {:.1} / {:.1} / {:.1} MiB",
            at(0.25),
            at(0.5),
            at(0.75)
        );
        peaks.push(peak);
    }
    let ratio = peaks[1] as f64 / peaks[0] as f64;
    println!(
        "  ratio {large}/{small} objects: {ratio:.2}x ({} 1.5x)",
        if ratio <= 1.5 { "within" } else { "NOT within" }
    );
    Ok(())
}

/// The hidden child mode of [`rss`]: one backup, a JSON report line, then wait for EOF on
/// stdin so the parent can read this process's `VmHWM`.
async fn child_backup(args: &Args) -> Result<()> {
    let get = |name: &str| args.value(name).with_context(|| format!("{name} missing"));
    let site = Site {
        name: get("--site")?,
        api_url: get("--api-url")?,
        site_url: get("--site-url")?,
        email: get("--email")?,
        token: std::env::var("BACKUP_BENCH_TOKEN").context("BACKUP_BENCH_TOKEN")?,
    };
    let client = client(&site, None)?;
    let dir = tempfile::tempdir()?;
    let store = open_store(dir.path())?;
    let run = run_backup(&client, &store, args.flag("--skip-history")).await?;
    let history = match (&run.backup.history.status, args.flag("--skip-history")) {
        (_, true) => "skipped".to_owned(),
        (s, false) => format!("{s}: {}", run.backup.history.note.as_deref().unwrap_or("")),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        json!({"objects": run.backup.object_count, "secs": run.secs, "history": history})
    )?;
    out.flush()?;
    drop(out);
    std::io::stdin().read_to_end(&mut Vec::new())?;
    Ok(())
}

/// Every entry of `kind` in a backup, as JSON with its hash.
async fn entries(
    store: &AsyncStore,
    id: BackupId,
    kind: &str,
) -> Result<Vec<(String, String, Value)>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.entry_page(id, kind, after.as_deref(), 1000).await?;
        let full = page.len() == 1000;
        after = page.last().map(|e| e.original_id.clone());
        for e in page {
            out.push((e.original_id, e.hash, serde_json::from_slice(&e.json)?));
        }
        if !full {
            return Ok(out);
        }
    }
}

/// Changes a plain Text value (not the label, not unique, no regex) of 1% of the objects of
/// a backup, spread evenly in id order, with a PUT through the API. Returns the count.
async fn modify(client: &AssetsClient, store: &AsyncStore, id: BackupId) -> Result<usize> {
    let writable: HashSet<String> = entries(store, id, kind::ATTRIBUTE)
        .await?
        .into_iter()
        .map(|(_, _, a)| a)
        .filter(|a| {
            a["type"] == 0
                && a["defaultType"]["id"] == 0
                && a["label"] != true
                && a["uniqueAttribute"] != true
                && a["editable"] != false
                && a["system"] != true
                && a["regexValidation"].as_str().is_none_or(str::is_empty)
        })
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    let objects = entries(store, id, kind::OBJECT).await?;
    let want = (objects.len() / 100).max(1);
    // Objects with a writable Text value (and that value), then every k-th of them.
    let eligible: Vec<(&Value, String, String)> = objects
        .iter()
        .filter_map(|(_, _, obj)| {
            obj["attributes"].as_array()?.iter().find_map(|a| {
                let aid = a["objectTypeAttributeId"].as_str()?;
                let old = a["objectAttributeValues"][0]["value"].as_str()?;
                writable
                    .contains(aid)
                    .then(|| (obj, aid.to_owned(), old.to_owned()))
            })
        })
        .collect();
    if eligible.len() < want {
        bail!("only {} objects have a writable Text value", eligible.len());
    }
    let stride = eligible.len() / want;
    let mut edits = Vec::with_capacity(want);
    for (obj, aid, old) in eligible.into_iter().step_by(stride).take(want) {
        let value: String = format!("{old} (edited)").chars().take(255).collect();
        let body: ObjectIn = serde_json::from_value(
            json!({"objectTypeId": obj["objectType"]["id"], "attributes": [
            {"objectTypeAttributeId": aid, "objectAttributeValues": [{"value": value}]}]}),
        )?;
        edits.push((obj["id"].as_str().context("object id")?.to_owned(), body));
    }
    let n = edits.len();
    let results: Vec<_> = futures::stream::iter(edits)
        .map(|(oid, body)| async move { client.update_object(&oid, &body).await })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r.context("PUT /object/{id}")?;
    }
    Ok(n)
}

/// 4. Stored bytes per object: full, unchanged, 1% modified.
async fn stored_bytes(objects: u32) -> Result<()> {
    println!(
        "\n[4] stored bytes (store bytes-added), limits OFF, cmdb dataset of {objects} objects"
    );
    let sim = Sim::start(objects, None)?;
    let client = client(&sim.site, None)?;
    let dir = tempfile::tempdir()?;
    let store = open_store(dir.path())?;
    let full = run_backup(&client, &store, false).await?;
    let again = run_backup(&client, &store, false).await?;
    let modified = modify(&client, &store, again.id).await?;
    let after = run_backup(&client, &store, false).await?;
    let hashes: HashMap<String, String> = entries(&store, again.id, kind::OBJECT)
        .await?
        .into_iter()
        .map(|(k, h, _)| (k, h))
        .collect();
    let new_blobs = entries(&store, after.id, kind::OBJECT)
        .await?
        .iter()
        .filter(|(k, h, _)| hashes.get(k) != Some(h))
        .count();
    let n = full.backup.object_count;
    println!("  {SCHEMA}: {n} objects; main pass = schema..objects; total = + history and issues");
    let row = |what: &str, r: &Run| {
        let pct = |a: u64, b: u64| a as f64 / b.max(1) as f64 * 100.0;
        println!(
            "  {what:<30} main pass {:>10} B = {:>7.1} B/object ({:>6.2}% of full) | total {:>10} B = {:>7.1} B/object ({:>6.2}% of full)",
            r.main_bytes,
            r.main_bytes as f64 / n as f64,
            pct(r.main_bytes, full.main_bytes),
            r.backup.bytes_added,
            r.backup.bytes_added as f64 / n as f64,
            pct(r.backup.bytes_added, full.backup.bytes_added),
        );
    };
    row("full backup", &full);
    row("2nd backup, unchanged", &again);
    row(&format!("3rd, {modified} objects PUT (1%)"), &after);
    println!(
        "  3rd backup: {new_blobs} objects stored a new blob ({modified} changed + {} that embed a changed object in a reference)",
        new_blobs.saturating_sub(modified)
    );
    Ok(())
}

// ------------------------------------------------------------------------------- main

/// The 1, 5 and 15 minute load averages.
fn loadavg() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

struct Args(Vec<String>);

impl Args {
    fn value(&self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|a| a == name)?;
        self.0.get(i + 1).cloned()
    }
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("{name}: bad value {v:?}")),
        }
    }
    fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args(std::env::args().collect());
    if args.flag("--child-backup") {
        return child_backup(&args).await;
    }
    let only: Vec<u32> = match args.value("--only") {
        Some(v) => v
            .split(',')
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()
            .context("--only 1,2,3,4,5,6")?,
        None => vec![1, 2, 3, 4, 5, 6],
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "backup-bench: assetark backup of schema {SCHEMA} against a release assets-sim child process, fresh SQLite store per run, 1 API token, {cores} cores"
    );
    // Other work on the machine skews every figure: say how busy it was.
    println!("load average at start (1/5/15 min): {}", loadavg());
    let started = Instant::now();
    if only.contains(&1) {
        limited(
            args.num("--objects-limited", 20_000)?,
            args.num("--scale", 20.0)?,
        )
        .await?;
    }
    if only.contains(&2) {
        fast(args.num("--objects-fast", 50_000)?).await?;
    }
    if only.contains(&3) {
        let small = args.num("--rss-small", 10_000)?;
        let large = args.num("--rss-large", 200_000)?;
        rss(small, large, !args.flag("--rss-history")).await?;
    }
    if only.contains(&4) {
        stored_bytes(args.num("--objects-bytes", 10_000)?).await?;
    }
    if only.contains(&5) {
        incremental::incremental(args.num("--objects-incremental", 10_000)?).await?;
    }
    if only.contains(&6) {
        dc::dc(args.num("--dc-objects", 20_000)?).await?;
    }
    println!(
        "\nbackup-bench: done in {:.0} s; load average at end: {}",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    Ok(())
}
