//! Measurement 5, incremental capture (issue 14): a full backup of `--objects-incremental`
//! objects (limits off), a value PUT on 1% of them, then the second (incremental) backup: its requests over
//! the full backup's, per class and in total, its wall time over the full one's, and the
//! history GETs it did not send. Then what a daily backup of 100,000 objects with 1% changed
//! takes with the documented limits on: the requests of each class scaled to 100,000 objects
//! over that class's documented per-minute limit (the slowest class bounds the run; the
//! limits-on run of measurement 1 shows the client holds ~100% of a class's limit).

use std::collections::BTreeMap;

use anyhow::Result;
use assetark::assets::{AssetsClient, Class};

use super::{Sim, client, documented, modify, open_store, run_backup};

/// Requests per class sent by `client` while `f` ran.
fn delta(
    before: &BTreeMap<&'static str, u64>,
    after: &BTreeMap<&'static str, u64>,
) -> BTreeMap<&'static str, u64> {
    after
        .iter()
        .map(|(k, v)| (*k, v - before.get(k).copied().unwrap_or(0)))
        .collect()
}

fn sent(c: &AssetsClient) -> BTreeMap<&'static str, u64> {
    c.stats().sent
}

/// Minutes a run of `requests` (per class, for `objects` objects) takes for `target` objects
/// at the documented limits: the bounding class's requests over its limit.
fn minutes_at_limits(requests: &BTreeMap<&'static str, u64>, objects: u64, target: u64) -> f64 {
    Class::ALL
        .iter()
        .map(|c| {
            let n = requests.get(c.name()).copied().unwrap_or(0) as f64;
            n * target as f64 / objects.max(1) as f64 / f64::from(documented(*c))
        })
        .fold(0.0, f64::max)
}

pub(super) async fn incremental(objects: u32) -> Result<()> {
    println!(
        "\n[5] incremental capture, limits OFF, cmdb dataset of {objects} objects: full backup, 1% PUT, incremental backup"
    );
    let sim = Sim::start(objects, None)?;
    let client = client(&sim.site, None)?;
    let dir = tempfile::tempdir()?;
    let store = open_store(dir.path())?;
    let s0 = sent(&client);
    let full = run_backup(&client, &store, false).await?;
    let s1 = sent(&client);
    let modified = modify(&client, &store, full.id).await?;
    let s2 = sent(&client);
    let incr = run_backup(&client, &store, false).await?;
    let s3 = sent(&client);
    let (f, i) = (delta(&s0, &s1), delta(&s2, &s3));
    let total = |m: &BTreeMap<&str, u64>| m.values().sum::<u64>();
    let n = full.backup.object_count;
    println!(
        "  {n} objects; {modified} changed by a PUT; incremental backup {} (parent {:?}), history: {}",
        incr.backup.id,
        incr.backup.parent_id,
        incr.backup.history.note.as_deref().unwrap_or("")
    );
    for (class, fr) in &f {
        let ir = i.get(class).copied().unwrap_or(0);
        println!("  {class:<10} full {fr:>7} | incremental {ir:>7}");
    }
    let (ft, it) = (total(&f), total(&i));
    let history_avoided = f
        .get(Class::Other.name())
        .copied()
        .unwrap_or(0)
        .saturating_sub(i.get(Class::Other.name()).copied().unwrap_or(0));
    println!(
        "  requests: full {ft}, incremental {it} = {:.2}% of the full backup's; history GETs avoided {history_avoided}",
        it as f64 / ft.max(1) as f64 * 100.0
    );
    println!(
        "  wall time: full {:.2} s, incremental {:.2} s = {:.1}% (limits off)",
        full.secs,
        incr.secs,
        incr.secs / full.secs.max(1e-9) * 100.0
    );
    println!(
        "  with the documented limits, 100,000 objects, 1% changed (from these request counts): full {:.1} min, daily incremental {:.1} min",
        minutes_at_limits(&f, n, 100_000),
        minutes_at_limits(&i, n, 100_000)
    );
    Ok(())
}
