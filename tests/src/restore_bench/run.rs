//! Timed backups and restores through `assetark`, as the daemon runs them: a SQLite store,
//! `backup::run` (stopped once its main pass is complete), then `restore::plan`,
//! `restore::create` and `restore::execute`, with the client's counters snapshotted at every
//! stage boundary (the event sink runs synchronously inside the pipeline, so a snapshot taken
//! there is exact) and the object entries stage's progress timestamped.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Result, bail};
use assetark::assets::{AssetsClient, ClientStats};
use assetark::backup::{self, BackupRequest, Progress, stage};
use assetark::hooks::HookRegistry;
use assetark::restore::{self, Destination, RestoreEvent, RestoreRequest, ScanCost, Stage};
use assetark::store::{AsyncStore, BackupId, BackupType, SqliteStore};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

use super::sim::{self, Sim, SiteSpec};

/// Opens (creating) the SQLite store at `path`.
pub fn open_store(path: &Path) -> Result<AsyncStore> {
    Ok(AsyncStore::new(Arc::new(SqliteStore::open(path)?)))
}

/// With `RESTORE_BENCH_RSS` set, prints this process's `VmRSS` and `VmHWM` to stderr (a
/// diagnostic for the peak-RSS measurement: where in a restore memory grows).
fn rss_note(what: &str) {
    if std::env::var_os("RESTORE_BENCH_RSS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or(String::new(), |v| v.trim().to_owned())
    };
    eprintln!(
        "rss: {what}: VmRSS {} VmHWM {}",
        field("VmRSS:"),
        field("VmHWM:")
    );
}

/// A completed backup.
#[derive(Debug, Clone)]
pub struct BackupDone {
    /// Its id.
    pub id: BackupId,
    /// Objects in it.
    pub objects: u64,
    /// Wall time of the main pass.
    pub secs: f64,
}

/// Backs up schema `key` of the client's site. The background phase (object history, issues)
/// is cancelled as soon as it starts: the backup is complete by then, and a restore reads
/// neither.
pub async fn backup(client: &AssetsClient, store: &AsyncStore, key: &str) -> Result<BackupDone> {
    backup_with(client, store, key, false).await
}

/// [`backup`]; with `history` the background phases run to their end (a `--history` restore
/// needs the history phase done). `secs` is then the whole backup's time.
pub async fn backup_with(
    client: &AssetsClient,
    store: &AsyncStore,
    key: &str,
    history: bool,
) -> Result<BackupDone> {
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let on_progress = {
        let cancel = cancel.clone();
        move |p: Progress| {
            if p.stage == stage::HISTORY && !history {
                cancel.cancel();
            }
        }
    };
    let req = BackupRequest {
        site: client.site().name.clone(),
        schema_key: key.to_owned(),
        backup_type: BackupType::Manual,
        description: Some("restore-bench".into()),
    };
    let clock = assetark::clock::system();
    let id = backup::run(client, store, &req, &on_progress, cancel, &clock).await?;
    let secs = started.elapsed().as_secs_f64();
    let b = store.get_backup(id).await?;
    Ok(BackupDone {
        id,
        objects: b.object_count,
        secs,
    })
}

/// A backed-up cmdb dataset: its limits-off source simulator, a store in a temp dir and the
/// backup of schema ITSM (~97% of the dataset's objects).
pub struct CmdbSource {
    /// The source simulator (one site).
    pub sim: Sim,
    /// The store holding the backup.
    pub store: AsyncStore,
    /// The backup.
    pub backup: BackupDone,
    // Dropped last: the store's file lives in it.
    _dir: TempDir,
}

/// Starts a limits-off simulator whose site `site` holds `objects` cmdb objects, and backs up
/// its schema ITSM into a fresh store ([`backup_with`]: `history` runs the background phases
/// to their end). Prints the backup's line.
pub async fn cmdb_source(site: &str, objects: u32, history: bool) -> Result<CmdbSource> {
    let sim = Sim::start(
        None,
        &[SiteSpec {
            cmdb_objects: Some(objects),
            ..SiteSpec::empty(site)
        }],
    )?;
    let dir = tempfile::tempdir()?;
    let store = open_store(&dir.path().join("store.db"))?;
    let client = sim::client(sim.site(site)?, 1, sim::unlimited())?;
    let backup = backup_with(&client, &store, "ITSM", history).await?;
    Ok(CmdbSource {
        sim,
        store,
        backup,
        _dir: dir,
    })
}

/// An instant with the client's counters then.
#[derive(Debug, Clone)]
pub struct Mark {
    /// When.
    pub at: Instant,
    /// Counters.
    pub stats: ClientStats,
}

#[derive(Default)]
struct Rec {
    started: BTreeMap<Stage, Mark>,
    finished: BTreeMap<Stage, Mark>,
    progress: Vec<(Instant, u64)>,
}

/// One restore, measured.
#[derive(Debug, Clone)]
pub struct RestoreRun {
    /// Objects in the plan.
    pub objects: u64,
    /// Objects created / refused.
    pub created: u64,
    /// Objects refused by the target.
    pub failed: u64,
    /// Objects per wave.
    pub waves: Vec<u64>,
    /// References deferred to the object references stage (cycles).
    pub deferred: u64,
    /// Planned requests, whole restore.
    pub planned_requests: u64,
    /// Planned requests per stage.
    pub planned: BTreeMap<Stage, u64>,
    /// Plan + create, seconds.
    pub plan_secs: f64,
    /// Execute, seconds.
    pub execute_secs: f64,
    /// Stage -> (start, end) marks.
    pub stages: BTreeMap<Stage, (Mark, Mark)>,
    /// Object entries progress: (when, objects done).
    pub progress: Vec<(Instant, u64)>,
    /// Counters before and after execute.
    pub before: ClientStats,
    /// Counters after execute.
    pub after: ClientStats,
    /// End of execute.
    pub end: Instant,
    /// Hook decisions in the plan.
    pub hook_decisions: usize,
    /// A restore into an existing schema: what reading the target schema cost the plan.
    pub scan: Option<ScanCost>,
    /// Backup objects the plan skips as duplicates of objects already in the target schema.
    pub skipped: u64,
    /// Backup objects the plan expects the target to refuse: a unique value is taken there.
    pub unique_taken: u64,
}

fn sent(s: &ClientStats) -> u64 {
    s.sent.values().sum()
}

impl RestoreRun {
    /// Seconds of a stage.
    pub fn stage_secs(&self, s: Stage) -> Option<f64> {
        self.stages
            .get(&s)
            .map(|(a, b)| (b.at - a.at).as_secs_f64())
    }

    /// Objects created per minute over the whole object entries stage.
    pub fn entries_per_minute(&self) -> f64 {
        let secs = self.stage_secs(Stage::ObjectEntries).unwrap_or(f64::NAN);
        self.objects as f64 / secs * 60.0
    }

    /// Objects per minute between `from` and `to` shares of the objects (steady state,
    /// without the client's initial burst and the last wave's drain).
    pub fn steady_per_minute(&self, from: f64, to: f64) -> Option<f64> {
        let n = self.objects as f64;
        let at = |share: f64| self.progress.iter().find(|(_, d)| *d as f64 >= share * n);
        let (a, b) = (at(from)?, at(to)?);
        let secs = (b.0 - a.0).as_secs_f64();
        (secs > 0.0).then(|| (b.1 - a.1) as f64 / secs * 60.0)
    }

    /// The window of the object stages: start of object entries to the end of object
    /// references (or of execute).
    fn object_window(&self) -> Option<(&ClientStats, &ClientStats)> {
        let start = &self.stages.get(&Stage::ObjectEntries)?.0.stats;
        let end = self
            .stages
            .get(&Stage::ObjectReferences)
            .map_or(&self.after, |(_, e)| &e.stats);
        Some((start, end))
    }

    /// Requests sent in the object stages, by client class (retries included).
    pub fn object_stage_requests(&self) -> BTreeMap<&'static str, u64> {
        let Some((a, b)) = self.object_window() else {
            return BTreeMap::new();
        };
        b.sent
            .iter()
            .map(|(k, v)| (*k, v - a.sent.get(k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect()
    }

    /// Requests per object in the object stages.
    pub fn requests_per_object(&self) -> f64 {
        let total: u64 = self.object_stage_requests().values().sum();
        total as f64 / self.objects.max(1) as f64
    }

    /// 429s the client received in the object stages.
    pub fn object_stage_throttled(&self) -> u64 {
        self.object_window()
            .map_or(0, |(a, b)| b.throttled - a.throttled)
    }

    /// Requests sent in a stage (retries included), if it ran.
    pub fn stage_requests(&self, s: Stage) -> Option<u64> {
        self.stages
            .get(&s)
            .map(|(a, b)| sent(&b.stats) - sent(&a.stats))
    }

    /// Stages whose requests sent differ from the plan's: (stage, planned, sent).
    pub fn off_plan(&self) -> Vec<(Stage, u64, u64)> {
        self.planned
            .iter()
            .filter_map(|(s, p)| {
                let sent = self.stage_requests(*s).unwrap_or(0);
                (sent != *p).then_some((*s, *p, sent))
            })
            .collect()
    }

    /// Requests sent by execute, in total.
    pub fn execute_requests(&self) -> u64 {
        sent(&self.after) - sent(&self.before)
    }
}

/// Plans, stores and executes a restore of `backup` into a new schema `name`/`key` on the
/// client's site. `progress`: timestamp every object of the object entries stage.
pub async fn restore(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    dest: (&str, &str),
    progress: bool,
) -> Result<RestoreRun> {
    restore_with(store, client, backup, dest, progress, false).await
}

/// [`restore`], with `--history` when `history`.
pub async fn restore_with(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    dest: (&str, &str),
    progress: bool,
    history: bool,
) -> Result<RestoreRun> {
    let none = HookRegistry::new();
    restore_hooked(store, client, backup, dest, progress, history, &none).await
}

/// [`restore_with`] with every enabled hook of `hooks` (the daemon's registry, as
/// `[[hooks]]` builds it) selected, as a restore the daemon runs.
pub async fn restore_hooked(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    (name, key): (&str, &str),
    progress: bool,
    history: bool,
    hooks: &HookRegistry,
) -> Result<RestoreRun> {
    let destination = Destination::NewSchema {
        name: name.into(),
        key: key.into(),
    };
    restore_into(store, client, backup, destination, progress, history, hooks).await
}

/// A restore of `backup` to `destination` on the client's site, as the daemon builds it, with
/// every enabled hook of `hooks` selected.
fn request(
    client: &AssetsClient,
    backup: BackupId,
    destination: Destination,
    history: bool,
    hooks: &HookRegistry,
) -> Result<RestoreRequest> {
    let target_site = client.site().name.clone();
    Ok(RestoreRequest {
        backup_id: backup,
        destination,
        hooks: hooks.select(&target_site, &[], &[])?,
        target_site,
        history,
        with_icons: false,
        types: Vec::new(),
    })
}

/// Plans (only) a restore of `backup` into a new schema on the client's site with every
/// enabled hook of `hooks` selected, as a dry run does. Returns the seconds it took and the
/// plan's hook decisions.
pub async fn plan_only(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    hooks: &HookRegistry,
) -> Result<(f64, usize)> {
    let destination = Destination::NewSchema {
        name: "Planned".into(),
        key: "PLAN".into(),
    };
    let req = request(client, backup, destination, false, hooks)?;
    let setup = restore::HookSetup {
        registry: hooks,
        restore_id: None,
    };
    let t0 = Instant::now();
    let plan = restore::plan_with(store, client, &req, setup).await?;
    Ok((t0.elapsed().as_secs_f64(), plan.hooks.decisions.len()))
}

/// Plans, stores and executes a restore of `backup` to `destination` on the client's site,
/// with every enabled hook of `hooks` selected.
pub async fn restore_into(
    store: &AsyncStore,
    client: &AssetsClient,
    backup: BackupId,
    destination: Destination,
    progress: bool,
    history: bool,
    hooks: &HookRegistry,
) -> Result<RestoreRun> {
    let req = request(client, backup, destination, history, hooks)?;
    let t0 = Instant::now();
    rss_note("before plan");
    let setup = restore::HookSetup {
        registry: hooks,
        restore_id: None,
    };
    let plan = restore::plan_with(store, client, &req, setup).await?;
    if let Some(c) = &plan.conflict {
        bail!("destination conflict: {c}");
    }
    if std::env::var_os("RESTORE_BENCH_PLAN").is_some() {
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&plan.summary.attribute_conflicts)?
        );
        eprintln!(
            "{}",
            serde_json::to_string_pretty(&plan.summary.dropped_attributes)?
        );
    }
    let id = restore::create(store, &req, &plan, &assetark::clock::system()).await?;
    rss_note("planned");
    let plan_secs = t0.elapsed().as_secs_f64();
    let rec = Arc::new(Mutex::new(Rec::default()));
    let sink = {
        let (rec, client) = (rec.clone(), client.clone());
        move |e: RestoreEvent| {
            let mark = || Mark {
                at: Instant::now(),
                stats: client.stats(),
            };
            match e {
                RestoreEvent::StageStarted { stage, .. } => {
                    rss_note(&format!("{} started", stage.key()));
                    let m = mark();
                    rec.lock().unwrap().started.insert(stage, m);
                }
                RestoreEvent::StageFinished { stage, .. } => {
                    rss_note(&format!("{} finished", stage.key()));
                    let m = mark();
                    rec.lock().unwrap().finished.insert(stage, m);
                }
                RestoreEvent::Progress {
                    stage: Stage::ObjectEntries,
                    done,
                    ..
                } => {
                    if done % 20_000 == 0 && done > 0 {
                        rss_note(&format!("{done} objects"));
                    }
                    if progress {
                        rec.lock().unwrap().progress.push((Instant::now(), done));
                    }
                }
                _ => {}
            }
        }
    };
    let before = client.stats();
    let t1 = Instant::now();
    let clock = assetark::clock::system();
    let run = restore::Run {
        on_event: &sink,
        cancel: CancellationToken::new(),
        clock: &clock,
        hooks,
    };
    let outcome = restore::execute_with(store, client, id, &plan, run).await?;
    let end = Instant::now();
    let after = client.stats();
    if outcome.stopped {
        bail!("restore stopped");
    }
    let mut rec = std::mem::take(&mut *rec.lock().unwrap());
    let stages = std::mem::take(&mut rec.started)
        .into_iter()
        .filter_map(|(s, a)| Some((s, (a, rec.finished.remove(&s)?))))
        .collect();
    Ok(RestoreRun {
        objects: plan.order.objects,
        created: outcome.objects_created,
        failed: outcome.objects_failed,
        waves: plan.order.waves.clone(),
        deferred: plan.order.deferred_references,
        planned_requests: plan.requests.total,
        planned: plan
            .requests
            .per_stage
            .iter()
            .map(|s| (s.stage, s.requests))
            .collect(),
        plan_secs,
        execute_secs: (end - t1).as_secs_f64(),
        stages,
        progress: rec.progress,
        before,
        after,
        end,
        hook_decisions: plan.hooks.decisions.len(),
        scan: plan.existing.as_ref().map(|e| e.scan),
        skipped: plan
            .existing
            .as_ref()
            .filter(|e| e.skips())
            .map_or(0, |e| e.duplicates.len() as u64),
        unique_taken: plan.summary.unique_taken.len() as u64,
    })
}
