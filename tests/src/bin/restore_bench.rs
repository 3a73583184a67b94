//! `restore-bench`: the restore benchmark (not a timed test: it prints figures for the README
//! and fails only on hard errors). Release `assets-sim` child processes, a fresh SQLite store
//! in a temp dir, backups by `assetark::backup::run` (main pass; the background history phase
//! is cancelled, a restore does not read it), restores by `assetark::restore::{plan, create,
//! execute}` as the daemon runs them:
//!
//! 1. Throughput (`--objects`, default 20,000; `--scale`, default 10): a dataset **without
//!    reference cycles** is built through the API on an empty site of a limits-off source
//!    simulator (the cmdb dataset always closes cycles and has no setting to avoid them; see
//!    `restore_bench::dataset`), backed up, and restored to a new schema on a second simulator
//!    with the documented limits × scale and one token. Printed: objects created per minute in
//!    the "object entries" stage vs the scaled create limit (target >= 95%) and the same scaled
//!    back to the documented 2,000/min beside the seed app's ~1,000 objects/min; requests per
//!    object in the object stages (client counters snapshotted at the stage events; target <=
//!    1.05); 429s served (target simulator's `/__sim/stats`).
//! 2. Credential pool (`--pool-objects`, default 6,000; `--pool-scale`, default 3): the same
//!    kind of restore with 1 token and with 3 tokens (simulator `extra_tokens`, 3 `Secret`s in
//!    `SiteConn.tokens`), each to its own site of one limits-on simulator → throughput ratio
//!    (target >= 2.7x).
//! 3. Peak RSS (`--rss-small`, default 10,000; `--rss-large`, default 200,000 cmdb objects):
//!    cmdb backups (schema ITSM, ~97% of the dataset; cycles do not matter for memory) from a
//!    limits-off simulator, each restored in a child process (this binary with the hidden
//!    `--child-restore` mode: plan + create + execute, as the daemon does) to a fresh
//!    limits-off simulator; the parent reads the live child's `VmHWM` (target: large / small
//!    <= 1.5x). glibc's malloc raises its mmap threshold after a large block is freed (the
//!    plan's object graph), so the execute's graph may land in — and fragment — the heap:
//!    the large peak varies from run to run. Hence `--rss-runs` pairs (default 3) with glibc's
//!    defaults, then one pair with the threshold fixed (`GLIBC_TUNABLES`), which shows the
//!    allocator-independent growth. `RESTORE_BENCH_RSS=1` prints the child's RSS at every stage.
//!
//! 4. `--history` side by side (`--history-objects`, default 5,000 cmdb objects, limits off):
//!    one backup with its history phase run to the end, restored twice to fresh schemas of one
//!    target simulator, without and with `--history`. Printed: requests by endpoint of each
//!    (target simulator's `/__sim/stats`), requests per object in the object stages, and the
//!    difference, which must be exactly the `OBJECT_HISTORY` attributes created (one per
//!    attribute root type), none per object.
//!
//! 5. Hooks on vs off (`--only 5`; `--hook-objects`, default 10,000; `--hook-rounds`, default
//!    2): a cmdb backup (schema ITSM) restored to a limits-off simulator with no hooks, with
//!    the shipped text-to-textarea (`transform_attribute`) and user-match (`match_user`, a
//!    mapping table of two users, the rest by display name) as Rhai scripts, and as WASM
//!    modules, loaded as the daemon loads `[[hooks]]`; each round restores the three to fresh
//!    sites in turn. Printed: object entries per minute of each, and the hooked runs' drop
//!    against the unhooked median (target <= 10%).
//! 6. Hook calls per second (`--only 6`; `--call-secs`, default 3): back-to-back calls through
//!    the daemon's dispatcher of text-to-textarea at `transform_attribute`, the normalise
//!    example at `transform_object` and user-match at `match_user`, as Rhai and as WASM.
//!
//! 7. Existing schema vs new schema (`--only 7`; `--existing-objects`, default 10,330 cmdb
//!    objects, limits off): one backup restored to a new schema on a target simulator, then
//!    into that schema (now holding every object) without `--duplicates` — every object is
//!    matched by the one AQL scan of the target schema and skipped — and with it, which
//!    creates every object again. Printed: target requests of each (plan + execute, from
//!    `/__sim/stats`) per object, the scan's definition requests and AQL pages, and the
//!    difference per object with and without the matching.
//!
//! 8. Planning with a `transform_object` hook (`--only 8`; `--plan-objects`, default 20,000
//!    cmdb objects; `--hook-rounds` rounds): the normalise example is asked about every object
//!    while planning (so a dry run shows its decisions); the same backup planned with no
//!    hooks, as Rhai and as WASM. Printed: median plan seconds and the extra time per object,
//!    and that extrapolated to 200,000 objects.
//!
//! Defaults (measurements 1-4) run in ~10 minutes on 2 cores (create limits scaled ×10 and ×3 keep the limited
//! runs at ~1 minute each). Run: `cargo build --release -p assets-sim -p assetark-tests &&
//! target/release/restore-bench` (`--only 1,2,3,4,5,6,7,8`; `--concurrency N` creates in flight while
//! building datasets; `ASSETS_SIM_BIN` overrides the simulator binary).

// mimalloc, as in the daemon binary (daemon/src/main.rs, which says why): the child restore
// processes measure the allocator the daemon really uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "restore_bench/options.rs"]
mod options;

use std::time::Instant;

use anyhow::Result;
use assetark::hooks::HookRegistry;
use assetark::restore::Stage;
use assetark_tests::restore_bench::child::{self, ChildArgs};
use assetark_tests::restore_bench::dataset;
use assetark_tests::restore_bench::hooks::{self, Host};
use assetark_tests::restore_bench::run::{self, BackupDone, RestoreRun};
use assetark_tests::restore_bench::sim::{self, Sim, SiteSpec};

/// The documented object create limit, per minute and token.
const CREATE_PER_MINUTE: f64 = 2000.0;
/// The seed app's restore throughput, objects per minute.
const SEED_APP_PER_MINUTE: f64 = 1000.0;

struct Args {
    only: Vec<u32>,
    objects: usize,
    scale: f64,
    pool_objects: usize,
    pool_scale: f64,
    rss_small: u32,
    rss_large: u32,
    rss_runs: usize,
    concurrency: usize,
    history_objects: u32,
    existing_objects: u32,
    plan_objects: u32,
    hook_objects: u32,
    hook_rounds: usize,
    call_secs: f64,
}

impl Args {
    fn parse() -> Args {
        let args: Vec<String> = std::env::args().collect();
        let value = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .cloned()
        };
        let num = |name: &str, default: f64| -> f64 {
            value(name)
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or(default)
        };
        Args {
            only: value("--only")
                .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
                .unwrap_or_else(|| vec![1, 2, 3, 4]),
            objects: num("--objects", 20_000.0) as usize,
            scale: num("--scale", 10.0),
            pool_objects: num("--pool-objects", 6_000.0) as usize,
            pool_scale: num("--pool-scale", 3.0),
            rss_small: num("--rss-small", 10_000.0) as u32,
            rss_large: num("--rss-large", 200_000.0) as u32,
            rss_runs: num("--rss-runs", 3.0) as usize,
            concurrency: num("--concurrency", 16.0) as usize,
            history_objects: num("--history-objects", 5_000.0) as u32,
            existing_objects: num("--existing-objects", 10_330.0) as u32,
            plan_objects: num("--plan-objects", 20_000.0) as u32,
            hook_objects: num("--hook-objects", 10_000.0) as u32,
            hook_rounds: num("--hook-rounds", 2.0) as usize,
            call_secs: num("--call-secs", 3.0),
        }
    }
}

/// `1234567` -> `"1,234,567"`.
pub(crate) fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.round());
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// The median of `v` (the upper one of an even count).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn stage_line(r: &RestoreRun) -> String {
    Stage::ALL
        .iter()
        .filter_map(|s| Some(format!("{} {:.1}s", s.key(), r.stage_secs(*s)?)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn waves(r: &RestoreRun) -> String {
    let w: Vec<String> = r.waves.iter().map(|n| thousands(*n as f64)).collect();
    format!("{} waves [{}]", r.waves.len(), w.join(", "))
}

/// Builds `objects` cycle-free objects in a new schema on `src`'s site and backs it up.
async fn prepare(
    src: &Sim,
    store: &assetark::store::AsyncStore,
    (name, key): (&str, &str),
    objects: usize,
    concurrency: usize,
) -> Result<BackupDone> {
    let site = src.site("src")?;
    let built = dataset::build(site, name, key, objects, concurrency).await?;
    let per_type: Vec<String> = built
        .per_type
        .iter()
        .map(|(t, n)| format!("{t} {}", thousands(*n as f64)))
        .collect();
    let client = sim::client(site, 1, sim::unlimited())?;
    let b = run::backup(&client, store, key).await?;
    println!(
        "   source {key}: {} objects built through the API in {:.1} s ({}); backup main pass \
         {:.1} s ({} objects)",
        thousands(built.objects as f64),
        built.secs,
        per_type.join(", "),
        b.secs,
        thousands(b.objects as f64)
    );
    Ok(b)
}

/// Measurement 1: throughput and requests per object, no reference cycles, limits on.
async fn throughput(a: &Args, src: &Sim, store: &assetark::store::AsyncStore) -> Result<()> {
    let limit = CREATE_PER_MINUTE * a.scale;
    println!(
        "\n1. Restore throughput, no reference cycles: {} objects, target limits on x{} \
         (object create {}/min), 1 token",
        thousands(a.objects as f64),
        a.scale,
        thousands(limit)
    );
    println!(
        "   dataset: built on an empty site of a limits-off source simulator (the cmdb dataset \
         always closes reference cycles; no setting avoids them)"
    );
    let b = prepare(
        src,
        store,
        ("Bench Assets", "NOCYC"),
        a.objects,
        a.concurrency,
    )
    .await?;
    let tgt = Sim::start(Some(a.scale), &[SiteSpec::empty("dst")])?;
    let client = sim::client(tgt.site("dst")?, 1, sim::scaled_limits(a.scale))?;
    let before = tgt.stats().await?;
    let r = run::restore(store, &client, b.id, ("Bench Assets", "NOCYC"), true).await?;
    let after = tgt.stats().await?;
    let rate = r.entries_per_minute();
    let steady = r.steady_per_minute(0.2, 0.9);
    println!(
        "   plan: {} objects in {}, {} deferred references, {} requests planned; plan {:.1} s",
        thousands(r.objects as f64),
        waves(&r),
        r.deferred,
        thousands(r.planned_requests as f64),
        r.plan_secs
    );
    println!(
        "   object entries: {} created, {} refused in {:.1} s = {} objects/min = {:.1}% of the \
         scaled create limit (target >= 95%)",
        thousands(r.created as f64),
        r.failed,
        r.stage_secs(Stage::ObjectEntries).unwrap_or(f64::NAN),
        thousands(rate),
        rate / limit * 100.0
    );
    if let Some(s) = steady {
        println!(
            "   steady state (20%..90% of the objects): {} objects/min = {:.1}% of the limit",
            thousands(s),
            s / limit * 100.0
        );
    }
    println!(
        "   scaled back to the documented 2,000/min: {} objects/min = {:.2}x the seed app's \
         ~1,000 objects/min",
        thousands(rate / a.scale),
        rate / a.scale / SEED_APP_PER_MINUTE
    );
    let by_class: Vec<String> = r
        .object_stage_requests()
        .iter()
        .map(|(k, v)| format!("{k} {}", thousands(*v as f64)))
        .collect();
    println!(
        "   requests in the object stages (entries + references): {} = {:.3} per object \
         (target <= 1.05)",
        by_class.join(", "),
        r.requests_per_object()
    );
    println!(
        "   429s served by the target: {} (client: {} in the object stages, {} retries in all)",
        after.rate_limited() - before.rate_limited(),
        r.object_stage_throttled(),
        r.after.retries - r.before.retries
    );
    let endpoints: Vec<String> = after
        .endpoints_since(&before)
        .iter()
        .map(|(k, v)| format!("{k} {}", thousands(*v as f64)))
        .collect();
    println!(
        "   target requests during plan + execute, by endpoint: {}",
        endpoints.join(", ")
    );
    println!(
        "   execute {:.1} s ({} requests); stages: {}",
        r.execute_secs,
        thousands(r.execute_requests() as f64),
        stage_line(&r)
    );
    Ok(())
}

/// Measurement 2: 1 token vs 3 tokens.
async fn pool(a: &Args, src: &Sim, store: &assetark::store::AsyncStore) -> Result<()> {
    let limit = CREATE_PER_MINUTE * a.pool_scale;
    println!(
        "\n2. Credential pool: {} objects (no cycles), target limits on x{} (object create \
         {}/min per token)",
        thousands(a.pool_objects as f64),
        a.pool_scale,
        thousands(limit)
    );
    let b = prepare(
        src,
        store,
        ("Pool Assets", "POOL"),
        a.pool_objects,
        a.concurrency,
    )
    .await?;
    let tgt = Sim::start(
        Some(a.pool_scale),
        &[
            SiteSpec::empty("p1"),
            SiteSpec {
                extra_tokens: 2,
                ..SiteSpec::empty("p3")
            },
        ],
    )?;
    let mut rates = Vec::new();
    for (site, tokens) in [("p1", 1usize), ("p3", 3)] {
        let client = sim::client(tgt.site(site)?, tokens, sim::scaled_limits(a.pool_scale))?;
        let before = tgt.stats().await?;
        let r = run::restore(store, &client, b.id, ("Pool Assets", "POOL"), true).await?;
        let after = tgt.stats().await?;
        let rate = r.entries_per_minute();
        let steady = r.steady_per_minute(0.2, 0.9).unwrap_or(f64::NAN);
        let cap = limit * tokens as f64;
        println!(
            "   {tokens} token{}: object entries {} created in {:.1} s = {} objects/min ({:.1}% of \
             {}/min); steady (20%..90%) {} objects/min; {:.3} requests per object; 429s served {}",
            if tokens == 1 { "" } else { "s" },
            thousands(r.created as f64),
            r.stage_secs(Stage::ObjectEntries).unwrap_or(f64::NAN),
            thousands(rate),
            rate / cap * 100.0,
            thousands(cap),
            thousands(steady),
            r.requests_per_object(),
            after.rate_limited() - before.rate_limited()
        );
        rates.push((rate, steady));
    }
    let (one, three) = (rates[0], rates[1]);
    println!(
        "   throughput ratio 3 tokens / 1 token: {:.2}x over the stage, {:.2}x steady state \
         (target >= 2.7x)",
        three.0 / one.0,
        three.1 / one.1
    );
    Ok(())
}

/// Measurement 3: peak RSS of the restoring process, small vs large.
async fn rss(a: &Args) -> Result<()> {
    println!(
        "\n3. Peak RSS of the restoring process: cmdb datasets of {} and {} objects (schema \
         ITSM, with reference cycles), each restored in a child process, limits off",
        thousands(f64::from(a.rss_small)),
        thousands(f64::from(a.rss_large))
    );
    let t = Instant::now();
    let src = Sim::start(
        None,
        &[
            SiteSpec {
                cmdb_objects: Some(a.rss_small),
                ..SiteSpec::empty("small")
            },
            SiteSpec {
                cmdb_objects: Some(a.rss_large),
                ..SiteSpec::empty("large")
            },
        ],
    )?;
    println!(
        "   source simulator ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    let mut backups = Vec::new();
    {
        let store = run::open_store(&path)?;
        for site in ["small", "large"] {
            let client = sim::client(src.site(site)?, 1, sim::unlimited())?;
            let b = run::backup(&client, &store, "ITSM").await?;
            println!(
                "   backup of {site}/ITSM: {} objects, main pass {:.1} s",
                thousands(b.objects as f64),
                b.secs
            );
            backups.push(b);
        }
    }
    drop(src);
    let passes = [
        (
            "the process allocator (mimalloc, as in the daemon)",
            None,
            a.rss_runs.max(1),
        ),
        (
            "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072 (no heap fragmentation by a \
             raised mmap threshold)",
            Some(child::FIXED_MMAP_THRESHOLD),
            1,
        ),
    ];
    for (what, tunables, runs) in passes {
        println!("   {what}, {runs} run{}:", if runs == 1 { "" } else { "s" });
        let mut ratios = Vec::new();
        for _ in 0..runs {
            // A fresh target per run, so every run restores into the same empty sites.
            let tgt = Sim::start(
                None,
                &[SiteSpec::empty("t-small"), SiteSpec::empty("t-large")],
            )?;
            let mut peaks = Vec::new();
            for (b, site) in backups.iter().zip(["t-small", "t-large"]) {
                let args = ChildArgs {
                    store: path.clone(),
                    backup: b.id,
                    site: tgt.site(site)?.clone(),
                    schema_name: "IT Assets Restored".into(),
                    schema_key: "ITR".into(),
                };
                let (report, peak) =
                    tokio::task::spawn_blocking(move || child::run_child(&args, tunables))
                        .await??;
                peaks.push((report, peak));
            }
            if ratios.is_empty() {
                for (r, _) in &peaks {
                    println!(
                        "     {} objects: {} created, {} refused, {} deferred references; plan \
                         {:.1} s, execute {:.1} s, {} requests",
                        thousands(r.objects as f64),
                        thousands(r.created as f64),
                        r.failed,
                        thousands(r.deferred as f64),
                        r.plan_secs,
                        r.execute_secs,
                        thousands(r.requests as f64)
                    );
                }
            }
            let ratio = peaks[1].1 as f64 / peaks[0].1 as f64;
            println!(
                "     run {}: peak RSS (VmHWM) {:.1} MiB vs {:.1} MiB = {ratio:.2}x",
                ratios.len() + 1,
                mib(peaks[0].1),
                mib(peaks[1].1)
            );
            ratios.push(ratio);
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "     peak RSS ratio large / small: median {:.2}x, range {:.2}x..{:.2}x (target <= \
             1.5x)",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    Ok(())
}

/// Measurement 5: restores with the shipped hooks on (Rhai, WASM) beside none, limits off.
async fn hooks_on_off(a: &Args) -> Result<()> {
    println!(
        "\n5. Hooks on vs off: a cmdb backup of {} objects (schema ITSM) restored to a limits-off \
         simulator with no hooks, with text-to-textarea + user-match as Rhai, and as WASM; {} \
         round{}",
        thousands(f64::from(a.hook_objects)),
        a.hook_rounds,
        if a.hook_rounds == 1 { "" } else { "s" }
    );
    let src = run::cmdb_source("hsrc", a.hook_objects, false).await?;
    let (store, b) = (&src.store, &src.backup);
    println!(
        "   backup: {} objects, main pass {:.1} s",
        thousands(b.objects as f64),
        b.secs
    );
    let sets = [
        ("no hooks", None),
        ("rhai", Some(Host::Rhai)),
        ("wasm", Some(Host::Wasm)),
    ];
    let registries = sets
        .iter()
        .map(|(_, host)| host.map_or_else(|| Ok(HookRegistry::new()), hooks::shipped))
        .collect::<Result<Vec<_>>>()?;
    let rounds = a.hook_rounds.max(1);
    let sites: Vec<SiteSpec> = (0..rounds)
        .flat_map(|r| (0..sets.len()).map(move |i| SiteSpec::empty(&format!("h{r}-{i}"))))
        .collect();
    let tgt = Sim::start(None, &sites)?;
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); sets.len()];
    for r in 0..rounds {
        for (i, ((label, _), registry)) in sets.iter().zip(&registries).enumerate() {
            let client = sim::client(tgt.site(&format!("h{r}-{i}"))?, 1, sim::unlimited())?;
            let run = run::restore_hooked(
                store,
                &client,
                b.id,
                ("IT Assets Restored", "ITR"),
                true,
                false,
                registry,
            )
            .await?;
            let rate = run.entries_per_minute();
            println!(
                "   round {} {label:>8}: object entries {} created, {} refused in {:.1} s = {} \
                 objects/min (steady {}); plan {:.2} s with {} hook decisions; execute {:.1} s",
                r + 1,
                thousands(run.created as f64),
                run.failed,
                run.stage_secs(Stage::ObjectEntries).unwrap_or(f64::NAN),
                thousands(rate),
                thousands(run.steady_per_minute(0.2, 0.9).unwrap_or(f64::NAN)),
                run.plan_secs,
                run.hook_decisions,
                run.execute_secs
            );
            rates[i].push(rate);
        }
    }
    let off = median(&rates[0]);
    for (i, (label, _)) in sets.iter().enumerate().skip(1) {
        let on = median(&rates[i]);
        println!(
            "   {label}: median {} objects/min vs {} without hooks: {:+.1}% (target: a drop of \
             at most 10%)",
            thousands(on),
            thousands(off),
            (on / off - 1.0) * 100.0
        );
    }
    Ok(())
}

/// Measurement 6: hook calls per second, per point and host.
async fn hook_calls(a: &Args) -> Result<()> {
    println!(
        "\n6. Hook calls per second through the daemon's dispatcher, back to back, ~{} s each",
        a.call_secs
    );
    for point in [
        hooks::Point::TransformAttribute,
        hooks::Point::TransformObject,
        hooks::Point::MatchUser,
    ] {
        let mut line = format!("   {:<50}", point.as_str());
        for host in [Host::Rhai, Host::Wasm] {
            let (calls, rate) = hooks::calls_per_second(host, point, a.call_secs).await?;
            line.push_str(&format!(
                "  {}: {:>7} calls/s ({} calls)",
                host.as_str(),
                thousands(rate),
                thousands(calls as f64)
            ));
        }
        println!("{line}");
    }
    Ok(())
}

/// Measurement 8: planning with the `transform_object` example (asked about every object
/// while planning) beside planning without hooks.
async fn plan_hooks(a: &Args) -> Result<()> {
    println!(
        "\n8. Planning with a transform_object hook (the normalise example, asked per object): \
         a cmdb backup of {} objects (schema ITSM), planned with no hooks, as Rhai and as WASM, \
         {} round{}, limits off",
        thousands(f64::from(a.plan_objects)),
        a.hook_rounds.max(1),
        if a.hook_rounds.max(1) == 1 { "" } else { "s" }
    );
    let src = run::cmdb_source("psrc", a.plan_objects, false).await?;
    let (store, b) = (&src.store, &src.backup);
    let tgt = Sim::start(None, &[SiteSpec::empty("pt")])?;
    let client = sim::client(tgt.site("pt")?, 1, sim::unlimited())?;
    let sets = [
        ("no hooks", HookRegistry::new()),
        ("rhai", hooks::normalise(Host::Rhai)?),
        ("wasm", hooks::normalise(Host::Wasm)?),
    ];
    let mut secs: Vec<Vec<f64>> = vec![Vec::new(); sets.len()];
    for _ in 0..a.hook_rounds.max(1) {
        for (i, (label, registry)) in sets.iter().enumerate() {
            let (s, decisions) = run::plan_only(store, &client, b.id, registry).await?;
            println!(
                "   {label:>8}: plan {s:.2} s, {decisions} hook decisions (changes and skips)"
            );
            secs[i].push(s);
        }
    }
    let off = median(&secs[0]);
    for (i, (label, _)) in sets.iter().enumerate().skip(1) {
        let on = median(&secs[i]);
        let per_object = (on - off) / b.objects.max(1) as f64;
        println!(
            "   {label}: median plan {on:.2} s vs {off:.2} s without hooks = +{:.1} µs per \
             object, +{:.0} s for 200,000 objects",
            per_object * 1e6,
            per_object * 200_000.0
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::args().any(|a| a == child::FLAG) {
        return child::child_main().await;
    }
    let a = Args::parse();
    let started = Instant::now();
    println!(
        "restore-bench: {} cores; release assets-sim child processes; SQLite store in a temp dir",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if a.only.contains(&1) || a.only.contains(&2) {
        let src = Sim::start(None, &[SiteSpec::empty("src")])?;
        let dir = tempfile::tempdir()?;
        let store = run::open_store(&dir.path().join("store.db"))?;
        if a.only.contains(&1) {
            throughput(&a, &src, &store).await?;
        }
        if a.only.contains(&2) {
            pool(&a, &src, &store).await?;
        }
    }
    if a.only.contains(&3) {
        rss(&a).await?;
    }
    if a.only.contains(&4) {
        options::history(a.history_objects).await?;
    }
    if a.only.contains(&5) {
        hooks_on_off(&a).await?;
    }
    if a.only.contains(&6) {
        hook_calls(&a).await?;
    }
    if a.only.contains(&7) {
        options::existing_schema(a.existing_objects).await?;
    }
    if a.only.contains(&8) {
        plan_hooks(&a).await?;
    }
    println!(
        "\nrestore-bench: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
