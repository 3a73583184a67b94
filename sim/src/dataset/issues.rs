//! The Jira side of a dataset: the two Assets object custom fields every site has, and the
//! seeded ITSM issues that point at objects through them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{BASE_MILLIS, SPAN_MILLIS};
use crate::model::{AssetsField, Issue, Millis};
use crate::ws::Workspace;

/// The multi-object field most issues use.
pub const AFFECTED_ASSETS: &str = "customfield_10191";
/// A second Assets field, set on some issues.
pub const OWNER_ASSET: &str = "customfield_10192";
/// Project the dataset's issues belong to.
pub const PROJECT: &str = "ITSM";

const SUMMARIES: [&str; 8] = [
    "{} is not responding",
    "Request a replacement for {}",
    "Renew the licence on {}",
    "{} needs the latest patches",
    "Move {} to another office",
    "Access request for {}",
    "Audit finding on {}",
    "Decommission {}",
];

/// Adds the Assets object custom fields.
pub fn add_fields(ws: &mut Workspace) {
    for (id, custom_id, name) in [
        (AFFECTED_ASSETS, 10191, "Affected assets"),
        (OWNER_ASSET, 10192, "Owner asset"),
    ] {
        ws.fields.push(AssetsField {
            id: id.into(),
            custom_id,
            name: name.into(),
        });
    }
}

/// How many issues a dataset of `objects` objects gets.
pub fn issue_count(objects: u32) -> u32 {
    (objects / 20).max(5)
}

/// Adds `issue_count(objects)` issues ITSM-1.. pointing at 1-3 existing objects each (and every
/// third one at an owner object too). Needs the objects to exist already.
pub fn add_issues(ws: &mut Workspace, objects: u32, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6973_7375_6573);
    let max_id = ws.objects().last().map(|o| o.id).unwrap_or(0);
    let count = issue_count(objects);
    let step: Millis = (SPAN_MILLIS / Millis::from(count)).max(1000);
    for i in 0..count {
        let pick = |rng: &mut ChaCha8Rng, k: usize| -> Vec<u32> {
            let mut ids: Vec<u32> = Vec::with_capacity(k);
            for _ in 0..k * 4 {
                if ids.len() == k || max_id == 0 {
                    break;
                }
                let id = rng.random_range(1..=max_id);
                if ws.get_object(id).is_some() && !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids
        };
        let k = rng.random_range(1..=3);
        let affected = pick(&mut rng, k);
        let owner = if i % 3 == 0 {
            pick(&mut rng, 1)
        } else {
            Vec::new()
        };
        let about = affected
            .first()
            .and_then(|id| ws.get_object(*id))
            .map(|o| ws.object_label(o));
        let template = SUMMARIES[rng.random_range(0..SUMMARIES.len())];
        let summary = template.replace("{}", about.as_deref().unwrap_or("the service desk"));
        // Raised after the objects it names exist.
        let latest = affected
            .iter()
            .chain(&owner)
            .filter_map(|id| ws.get_object(*id))
            .map(|o| o.created)
            .max();
        let planned = BASE_MILLIS + Millis::from(i) * step + rng.random_range(0..step);
        let created =
            planned.max(latest.unwrap_or(0) + rng.random_range(3_600_000..7 * 86_400_000));
        let updated = created + rng.random_range(0..14 * 86_400_000);
        let mut assets = vec![(AFFECTED_ASSETS.to_string(), affected)];
        if !owner.is_empty() {
            assets.push((OWNER_ASSET.to_string(), owner));
        }
        let id = 10_000 + i;
        let key = format!("{PROJECT}-{}", i + 1);
        ws.issues.insert(
            id,
            Issue {
                id,
                key,
                project: PROJECT.into(),
                summary,
                created,
                updated,
                assets,
            },
        );
    }
}
