//! The cost of restore options, each measured side by side with the plain restore in one run
//! on one target simulator (limits off, so requests, not time, are the figure): measurement 4
//! (`--history`) and measurement 7 (a restore into an existing schema, whose duplicate
//! matching reads the target schema once by AQL pages).

use anyhow::{Context, Result, bail};
use assetark::assets::{AqlPager, AssetsApi, AssetsClient};
use assetark::hooks::HookRegistry;
use assetark::restore::Destination;
use assetark_tests::restore_bench::run::{self, RestoreRun};
use assetark_tests::restore_bench::sim::{self, Sim, SimStats, SiteSpec};

use super::thousands;

/// Measurement 4 (`--history-objects`): the requests of a restore with `--history` beside the same without it.
pub async fn history(objects: u32) -> Result<()> {
    println!(
        "\n4. --history side by side: cmdb {} objects (schema ITSM, with history), restored \
         twice to one target, limits off",
        thousands(f64::from(objects))
    );
    let src = run::cmdb_source("src", objects, true).await?;
    let (store, b) = (&src.store, &src.backup);
    let entries = store
        .count_entries(b.id, assetark::store::kind::HISTORY)
        .await?;
    println!(
        "   backup with its history phase: {} objects, {} histories, {:.1} s",
        thousands(b.objects as f64),
        thousands(entries as f64),
        b.secs
    );
    let tgt = Sim::start(None, &[SiteSpec::empty("dst")])?;
    let client = sim::client(tgt.site("dst")?, 1, sim::unlimited())?;
    let mut runs = Vec::new();
    for (history, key) in [(false, "PLAIN"), (true, "HIST")] {
        let before = tgt.stats().await?;
        let r = run::restore_with(store, &client, b.id, (key, key), false, history).await?;
        let m = Measured::of(r, &before, &tgt.stats().await?);
        println!(
            "   {}: {} target requests (plan + execute), {} object creates, {:.3} requests per \
             object in the object stages; plan {:.1} s, execute {:.1} s",
            if history {
                "with --history   "
            } else {
                "without --history"
            },
            thousands(m.requests as f64),
            thousands(m.creates as f64),
            m.run.requests_per_object(),
            m.run.plan_secs,
            m.run.execute_secs
        );
        runs.push(m);
    }
    let (plain, hist) = (&runs[0], &runs[1]);
    let diff: Vec<String> = hist
        .endpoints
        .iter()
        .filter_map(|(k, n)| {
            let p = plain
                .endpoints
                .iter()
                .find(|(pk, _)| pk == k)
                .map_or(0, |(_, n)| *n);
            (*n != p).then(|| format!("{k} {:+}", *n as i64 - p as i64))
        })
        .collect();
    println!(
        "   difference: {:+} requests ({}), {:+} object creates, {:+.3} requests per object",
        hist.requests as i64 - plain.requests as i64,
        diff.join(", "),
        hist.creates as i64 - plain.creates as i64,
        hist.run.requests_per_object() - plain.run.requests_per_object()
    );
    Ok(())
}

/// Target requests of one restore (plan + execute), from the simulator's counters.
struct Measured {
    run: RestoreRun,
    /// Requests by endpoint (only those that were served).
    endpoints: Vec<(String, u64)>,
    requests: u64,
    creates: u64,
    aql: u64,
}

impl Measured {
    fn of(run: RestoreRun, before: &SimStats, after: &SimStats) -> Measured {
        let delta = |e: &str| after.endpoint(e) - before.endpoint(e);
        let endpoints = after.endpoints_since(before);
        Measured {
            requests: endpoints.iter().map(|(_, n)| n).sum(),
            endpoints,
            creates: delta("POST /object/create"),
            aql: delta("POST /object/aql"),
            run,
        }
    }

    fn per_object(&self) -> f64 {
        self.requests as f64 / self.run.objects.max(1) as f64
    }
}

/// Reference values of the target schema `key`'s objects, split by where they point: from an
/// object of the first restore (id <= `first_max`) or of a later one, to either.
#[derive(Debug, Default, PartialEq, Eq)]
struct Census {
    objects: [u64; 2],
    /// `[from][to]`, 0 = first restore, 1 = later.
    references: [[u64; 2]; 2],
    /// The highest object id.
    max_id: u64,
}

async fn census(client: &AssetsClient, key: &str, first_max: u64) -> Result<Census> {
    let schema = client
        .list_schemas()
        .await?
        .into_iter()
        .find(|s| s.key() == key)
        .with_context(|| format!("no schema {key} on the target"))?;
    let generation = |id: &str| -> Result<usize> {
        let n: u64 = id.parse().with_context(|| format!("object id {id:?}"))?;
        Ok(usize::from(n > first_max))
    };
    let mut c = Census::default();
    let ql = format!("objectSchemaId = {}", schema.id.as_str());
    let mut pager = AqlPager::new(client, &ql, 1000);
    while let Some(page) = pager.next_page().await? {
        for o in &page.values {
            let from = generation(o.id.as_str())?;
            c.max_id = c.max_id.max(o.id.as_str().parse().unwrap_or(0));
            c.objects[from] += 1;
            for a in o.attributes() {
                for v in a.object_attribute_values.get().into_iter().flatten() {
                    if let Some(to) = v.referenced_id() {
                        c.references[from][generation(to)?] += 1;
                    }
                }
            }
        }
    }
    Ok(c)
}

/// Measurement 7 (`--existing-objects`): a backup of `objects` cmdb objects restored to a new
/// schema, then into that schema (now holding every object) without `--duplicates` (every
/// object matched and skipped) and with it (every object created again), on one target.
pub async fn existing_schema(objects: u32) -> Result<()> {
    println!(
        "\n7. Existing schema vs new schema: cmdb {} objects (schema ITSM), restored three \
         times to one target, limits off",
        thousands(f64::from(objects))
    );
    let src = run::cmdb_source("src", objects, false).await?;
    let (store, b) = (&src.store, &src.backup);
    println!(
        "   backup: {} objects, main pass {:.1} s",
        thousands(b.objects as f64),
        b.secs
    );
    let tgt = Sim::start(None, &[SiteSpec::empty("dst")])?;
    let client = sim::client(tgt.site("dst")?, 1, sim::unlimited())?;
    let none = HookRegistry::new();
    let key = "EXB";
    let runs = [
        (
            "new schema",
            Destination::NewSchema {
                name: "Existing Bench".into(),
                key: key.into(),
            },
        ),
        (
            "existing schema",
            Destination::ExistingSchema {
                key: key.into(),
                duplicates: false,
            },
        ),
        (
            "existing schema, --duplicates",
            Destination::ExistingSchema {
                key: key.into(),
                duplicates: true,
            },
        ),
    ];
    let mut measured = Vec::new();
    let mut first_max = 0;
    for (label, dest) in runs {
        let before = tgt.stats().await?;
        let r = run::restore_into(store, &client, b.id, dest, false, false, &none).await?;
        let m = Measured::of(r, &before, &tgt.stats().await?);
        let scan = m.run.scan.map_or_else(
            || "no scan".to_owned(),
            |s| {
                format!(
                    "scan: {} definition requests + {} AQL pages reading {} objects",
                    s.definition_requests,
                    s.aql_pages,
                    thousands(s.objects as f64)
                )
            },
        );
        println!(
            "   {label:<30}: {} target requests (plan + execute; planned {}) = {:.4} per \
             object; {} create requests, {} objects created, {} refused, {} skipped for a \
             unique value the schema holds, {} skipped as duplicates; {scan}; plan {:.1} s, \
             execute {:.1} s",
            thousands(m.requests as f64),
            thousands(m.run.planned_requests as f64),
            m.per_object(),
            thousands(m.creates as f64),
            thousands(m.run.created as f64),
            thousands(m.run.failed as f64),
            thousands(m.run.unique_taken as f64),
            thousands(m.run.skipped as f64),
            m.run.plan_secs,
            m.run.execute_secs
        );
        let off: Vec<String> = m
            .run
            .off_plan()
            .iter()
            .map(|(s, p, n)| format!("{} planned {p} sent {n}", s.key()))
            .collect();
        println!(
            "   {:<30}  execute sent {} requests; stages off the plan: {}",
            "",
            thousands(m.run.execute_requests() as f64),
            if off.is_empty() {
                "none".to_owned()
            } else {
                off.join(", ")
            }
        );
        if first_max == 0 {
            first_max = census(&client, key, u64::MAX).await?.max_id;
        }
        measured.push(m);
    }
    let c = census(&client, key, first_max).await?;
    println!(
        "   target schema afterwards: {} objects of the first restore, {} of the --duplicates \
         one; reference values first -> first {}, first -> copies {}, copies -> copies {}, \
         copies -> first {} (to objects holding a skipped copy's unique value)",
        thousands(c.objects[0] as f64),
        thousands(c.objects[1] as f64),
        thousands(c.references[0][0] as f64),
        thousands(c.references[0][1] as f64),
        thousands(c.references[1][1] as f64),
        thousands(c.references[1][0] as f64)
    );
    let copies = &measured[2].run;
    if c.objects[1] != copies.created
        || copies.failed != 0
        || copies.created + copies.unique_taken != copies.objects
        || !copies.off_plan().is_empty()
        || c.references[0][1] != 0
    {
        bail!(
            "the --duplicates restore did not go as planned (copies {} created, {} refused, {} \
             skipped for a unique value; stages off the plan {:?}): {c:?}",
            copies.created,
            copies.failed,
            copies.unique_taken,
            copies.off_plan()
        );
    }
    let [fresh, skip, dup] = &measured[..] else {
        bail!("three restores expected");
    };
    if skip.creates != 0 || dup.creates + dup.run.unique_taken != fresh.creates {
        bail!(
            "creates: new schema {}, existing {}, --duplicates {} (+{} skipped for a unique \
             value): the matching is wrong",
            fresh.creates,
            skip.creates,
            dup.creates,
            dup.run.unique_taken
        );
    }
    let scan = skip.run.scan.unwrap_or_default();
    if skip.aql != scan.aql_pages {
        bail!(
            "the simulator served {} AQL requests, the plan counted {} pages",
            skip.aql,
            scan.aql_pages
        );
    }
    let per = |n: u64| n as f64 / skip.run.objects.max(1) as f64;
    println!(
        "   matching against the {}-object schema: {} AQL pages + {} definition reads = {} \
         requests = {:.4} per object (a new schema: 0); the restore that finds every object \
         there: {} requests in all = {:.4} per object, nothing created",
        thousands(scan.objects as f64),
        scan.aql_pages,
        scan.definition_requests,
        scan.aql_pages + scan.definition_requests,
        per(scan.aql_pages + scan.definition_requests),
        skip.requests,
        skip.per_object()
    );
    let per_created = |m: &Measured| m.requests as f64 / m.run.created.max(1) as f64;
    println!(
        "   requests per object created: new schema {:.4}, existing schema with --duplicates \
         {:.4} (its types and attributes exist; {} copies skipped because the schema holds \
         their unique value, which the target would refuse)",
        per_created(fresh),
        per_created(dup),
        thousands(dup.run.unique_taken as f64)
    );
    Ok(())
}
