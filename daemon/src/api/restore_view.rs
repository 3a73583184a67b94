//! How a stored restore row becomes the API's [`RestoreView`] and [`RestoreDetail`]: the
//! source from its plan (or, until its job planned it, from its backup), the destination from
//! its stored request, per-stage counts in execution order, the live count of the stage in
//! flight, and its post-restore tasks.
//!
//! The plan and request are read through small typed views of just the fields shown, so a
//! row written by an older or newer build still lists (with what it has) instead of failing.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::ApiState;
use super::wire::{
    DestinationView, LiveProgress, PlanBrief, RestoreDetail, RestoreView, SourceView, StageCount,
};
use crate::restore::Stage;
use crate::store::{Restore, RestoreStatus};

/// The plan's fields the API shows.
#[derive(Debug, Default, Deserialize)]
struct PlanHead {
    #[serde(default)]
    source: Option<PlanSource>,
    #[serde(default)]
    conflict: Option<String>,
    #[serde(default)]
    order: Option<OrderHead>,
    #[serde(default)]
    requests: Option<RequestsHead>,
}

#[derive(Debug, Deserialize)]
struct PlanSource {
    site: Option<String>,
    id: Option<String>,
    key: Option<String>,
    name: Option<String>,
    objects: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct OrderHead {
    objects: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct RequestsHead {
    total: Option<u64>,
}

/// The stored request's fields the API shows.
#[derive(Debug, Default, Deserialize)]
struct OptionsHead {
    #[serde(default)]
    destination: Option<DestinationHead>,
}

#[derive(Debug, Deserialize)]
struct DestinationHead {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    key: Option<String>,
}

/// One stage's stored count.
#[derive(Debug, Default, Deserialize)]
struct CountRow {
    #[serde(default)]
    done: u64,
    #[serde(default)]
    total: u64,
    #[serde(default)]
    finished: bool,
}

fn plan_head(plan: &Value) -> PlanHead {
    PlanHead::deserialize(plan).unwrap_or_default()
}

/// The display name of a stage key ("Restoring object entries").
pub(super) fn stage_name(key: &str) -> Option<String> {
    Stage::deserialize(Value::String(key.to_owned()))
        .ok()
        .map(|s| s.to_string())
}

/// The source of a restore that has no plan yet, from its backup (the schema's name comes
/// with the plan).
async fn source_from_backup(state: &ApiState, r: &Restore) -> SourceView {
    match state.store.get_backup(r.backup_id).await {
        Ok(b) => SourceView {
            site: Some(b.site),
            schema_id: Some(b.schema_id),
            schema_key: Some(b.schema_key),
            schema_name: None,
            objects: Some(b.object_count),
        },
        Err(_) => SourceView::default(),
    }
}

/// One restore as the history lists it.
pub(super) async fn view(state: &ApiState, r: &Restore) -> RestoreView {
    let source = match plan_head(&r.plan).source {
        Some(s) => SourceView {
            site: s.site,
            schema_id: s.id,
            schema_key: s.key,
            schema_name: s.name,
            objects: s.objects,
        },
        None => source_from_backup(state, r).await,
    };
    let dest = OptionsHead::deserialize(&r.options)
        .unwrap_or_default()
        .destination;
    let site_url = state
        .sites
        .get(&r.target_site)
        .map(|s| s.info().site_url.clone());
    // Where the schema opens in Jira; known once the schema stage created it.
    let link = match (&site_url, &r.new_schema_id) {
        (Some(url), Some(id)) => Some(format!("{url}/jira/servicedesk/assets/object-schema/{id}")),
        _ => None,
    };
    let stage_name = r.stage.as_deref().and_then(stage_name);
    let status_text = match (r.status, &stage_name) {
        (RestoreStatus::InProgress, Some(s)) => format!("in progress ({s})"),
        (RestoreStatus::InProgress, None) => "in progress".to_owned(),
        (other, _) => other.as_str().to_owned(),
    };
    let (kind, name, key) = match dest {
        Some(d) => (d.kind, d.name, d.key),
        None => (None, None, None),
    };
    RestoreView {
        id: r.id,
        backup_id: r.backup_id,
        source,
        destination: DestinationView {
            kind,
            site: r.target_site.clone(),
            schema_key: r.new_schema_key.clone().or(key),
            schema_name: name,
            schema_id: r.new_schema_id.clone(),
            link,
        },
        status: r.status,
        stage: r.stage.clone(),
        stage_name,
        status_text,
        created_at: r.created_at,
        started_at: r.started_at,
        ended_at: r.ended_at,
        result: r.result.clone(),
        destination_kind: r.details.destination_kind,
        specific_types: r.details.specific_types.clone(),
        duplicates: r.details.duplicates,
        history_restored: r.details.history_restored,
        icons_restored: r.details.icons_restored,
    }
}

/// One restore with its per-stage counts, its plan in numbers and the live count.
pub(super) async fn detail(state: &ApiState, r: &Restore) -> RestoreDetail {
    let stored: BTreeMap<String, CountRow> = BTreeMap::deserialize(&r.counts).unwrap_or_default();
    // Per stage in execution order; stages not started yet show 0/0.
    let counts = Stage::ALL
        .iter()
        .map(|s| {
            let c = stored.get(s.key());
            StageCount {
                stage: s.key().to_owned(),
                name: s.to_string(),
                done: c.map_or(0, |c| c.done),
                total: c.map_or(0, |c| c.total),
                finished: c.is_some_and(|c| c.finished),
                started: c.is_some(),
            }
        })
        .collect();
    let head = plan_head(&r.plan);
    let plan = PlanBrief {
        objects: head.order.and_then(|o| o.objects),
        conflict: head.conflict,
        requests: head.requests.and_then(|q| q.total),
    };
    // Between checkpoints the row lags; the live feed has the latest count.
    let live = state.jobs.restore_feed(r.id).and_then(|f| f.progress());
    let progress = match live {
        Some((stage, done, total)) if r.status == RestoreStatus::InProgress => Some(LiveProgress {
            stage_name: stage_name(&stage),
            stage,
            done,
            total,
        }),
        _ => None,
    };
    let tasks = match super::tasks::of_restore(state, r.id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(restore_id = r.id, error = ?e, "Listing the restore's tasks failed.");
            Vec::new()
        }
    };
    RestoreDetail {
        view: view(state, r).await,
        counts,
        options: r.options.clone(),
        plan,
        progress,
        tasks,
    }
}
