//! [`Ctx`]: what every stage of one execution needs — the store, the target client, the plan,
//! the backup's definitions, the id map, per-stage counts and the event sink — plus the few
//! rules every stage follows:
//!
//! - a stage persists that it started (its counts) *before* its first write, so a later run
//!   knows whether entities of this stage may exist on the target without being in the id map
//!   (then it looks them up before creating anything);
//! - every created entity is recorded in the store right away ([`Ctx::record`]); objects are
//!   batched by their stage;
//! - a finished stage is skipped by later runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::idmap::{self, IdMap, kinds};
use super::order::{self, ObjectGraph};
use super::source::Source;
use super::{Error, RestoreEvent, RestoreOutcome, RestorePlan, Stage, log};
use crate::assets::AssetsApi;
use crate::hooks::ActiveHooks;
use crate::store::{
    AsyncStore, IdMapping, LogLevel, NewLogEntry, Restore, RestoreId, RestoreUpdate,
};

pub(crate) use crate::pipeline::{Flow, StageCount};

/// Created and refused objects by index (see `objects`), shared by the object stages.
#[derive(Debug)]
pub(crate) struct ObjectIds {
    /// New object id per index; 0 = not created.
    pub new_ids: Vec<u64>,
    /// The API refused the object.
    pub failed: Vec<bool>,
    /// Skipped as a duplicate: `new_ids` holds the existing object (see `duplicates`).
    pub skipped: Vec<bool>,
}

impl ObjectIds {
    /// Objects this restore created.
    pub fn created(&self) -> u64 {
        self.new_ids
            .iter()
            .zip(&self.skipped)
            .filter(|(id, skipped)| **id != 0 && !**skipped)
            .count() as u64
    }
}

/// The state of one execution.
pub(crate) struct Ctx<'a> {
    pub store: &'a AsyncStore,
    pub api: &'a dyn AssetsApi,
    pub id: RestoreId,
    pub plan: &'a RestorePlan,
    pub source: Source,
    pub ids: IdMap,
    pub cancel: CancellationToken,
    /// Created and refused objects, once an object stage has loaded them; a stage takes
    /// them while it runs and hands them back when it ends (`objects::load_ids`).
    pub objects: Option<ObjectIds>,
    counts: BTreeMap<Stage, StageCount>,
    on_event: &'a (dyn Fn(RestoreEvent) + Send + Sync),
    graph: Option<Arc<ObjectGraph>>,
    /// The restore's hooks (its plan's selection; none until the caller sets them).
    pub hooks: ActiveHooks,
}

impl<'a> Ctx<'a> {
    /// Loads what an execution starts from: the backup's definitions, the id map so far and
    /// the per-stage counts of earlier runs.
    pub async fn new(
        store: &'a AsyncStore,
        api: &'a dyn AssetsApi,
        id: RestoreId,
        plan: &'a RestorePlan,
        on_event: &'a (dyn Fn(RestoreEvent) + Send + Sync),
        cancel: CancellationToken,
        row: &Restore,
    ) -> Result<Ctx<'a>, Error> {
        let backup = store.get_backup(plan.backup_id).await?;
        let mut source = Source::load(store, backup).await?;
        if let Some(types) = &plan.types {
            source.restrict(&types.restored());
        }
        super::hooks::apply_overrides(&mut source, plan);
        let ids = IdMap::load(store, id).await?;
        // Stored by stage key; a key this version does not know is left alone.
        let mut stored: BTreeMap<String, StageCount> = match &row.counts {
            Value::Null => BTreeMap::new(),
            v => serde_json::from_value(v.clone())?,
        };
        let counts = Stage::ALL
            .into_iter()
            .filter_map(|stage| Some((stage, stored.remove(stage.key())?)))
            .collect();
        Ok(Ctx {
            store,
            api,
            id,
            plan,
            source,
            ids,
            cancel,
            objects: None,
            counts,
            on_event,
            graph: None,
            hooks: ActiveHooks::default(),
        })
    }

    /// Sends an event.
    pub fn event(&self, e: RestoreEvent) {
        (self.on_event)(e);
    }

    /// The counts as stored in the restore row: `{stage key: {done, total, finished}}`.
    pub fn counts_json(&self) -> Value {
        serde_json::to_value(&self.counts).unwrap_or_default()
    }

    async fn persist(&self, stage: Option<Stage>) -> Result<(), Error> {
        let update = RestoreUpdate {
            stage: stage.map(|s| s.key().to_owned()),
            counts: Some(self.counts_json()),
            ..Default::default()
        };
        self.store.update_restore(self.id, update).await?;
        Ok(())
    }

    /// Starts (or resumes) a stage with `total` items and `done` of them done already.
    /// Returns whether an earlier run had started it: then entities of this stage may exist
    /// on the target without being in the id map, and the stage must look before it creates.
    pub async fn start(&mut self, stage: Stage, done: u64, total: u64) -> Result<bool, Error> {
        let resumed = self.counts.contains_key(&stage);
        self.counts.insert(
            stage,
            StageCount {
                done,
                total,
                finished: false,
            },
        );
        // Durable before the stage writes anything to the target.
        self.persist(Some(stage)).await?;
        self.event(RestoreEvent::StageStarted { stage, total });
        if done > 0 {
            self.event(RestoreEvent::Progress { stage, done, total });
        }
        tracing::debug!(
            restore_id = self.id,
            stage = stage.key(),
            done,
            total,
            resumed,
            "Stage started."
        );
        Ok(resumed)
    }

    /// Forgets that `stage` started: its one write was refused, so nothing of it exists and a
    /// rerun starts it fresh.
    pub async fn forget(&mut self, stage: Stage) -> Result<(), Error> {
        self.counts.remove(&stage);
        self.persist(None).await
    }

    /// Reports progress (not persisted; see [`Ctx::checkpoint`]).
    pub fn progress(&mut self, stage: Stage, done: u64) {
        let c = self.counts.entry(stage).or_default();
        c.done = done;
        let total = c.total.max(done);
        self.event(RestoreEvent::Progress { stage, done, total });
    }

    /// Persists the counts (after a batch of objects).
    pub async fn checkpoint(&self) -> Result<(), Error> {
        self.persist(None).await
    }

    /// Marks a stage finished (the runner's checkpoint, see [`crate::pipeline`]).
    pub async fn finish(&mut self, stage: Stage) -> Result<(), Error> {
        let c = self.counts.entry(stage).or_default();
        c.finished = true;
        let (done, total) = (c.done, c.total);
        self.persist(Some(stage)).await?;
        self.event(RestoreEvent::StageFinished { stage, done, total });
        Ok(())
    }

    /// The count of `stage`, if a run started it.
    pub fn count(&self, stage: Stage) -> Option<StageCount> {
        self.counts.get(&stage).copied()
    }

    /// Records one mapping in the store and the in-memory map.
    pub async fn record(&mut self, kind: &'static str, old: &str, new: &str) -> Result<(), Error> {
        self.store
            .record_restore(
                self.id,
                vec![IdMapping {
                    kind: kind.to_owned(),
                    old_id: old.to_owned(),
                    new_id: new.to_owned(),
                }],
                Vec::new(),
            )
            .await?;
        self.ids.insert(kind, old.to_owned(), new.to_owned());
        Ok(())
    }

    /// Writes a note to the log and sends it as an event.
    pub async fn note(&self, level: LogLevel, key: &str, message: String) -> Result<(), Error> {
        let e = log::note(level, key, message);
        self.event(log::event(&e));
        self.store
            .record_restore(self.id, Vec::new(), vec![e])
            .await?;
        Ok(())
    }

    /// Appends log entries and mappings in one transaction (the object stages' batches).
    pub async fn record_batch(
        &self,
        ids: Vec<IdMapping>,
        log: Vec<NewLogEntry>,
    ) -> Result<(), Error> {
        self.store.record_restore(self.id, ids, log).await?;
        Ok(())
    }

    /// The new schema's id.
    pub fn schema_id(&self) -> Result<String, Error> {
        let old = self.plan.source.id.as_str();
        self.ids
            .get(kinds::SCHEMA, old)
            .map(str::to_owned)
            .ok_or_else(|| Error::InvalidBackup {
                backup: self.plan.backup_id,
                reason: "the schema stage has not created the schema".into(),
            })
    }

    /// The object creation order (computed once per execution, on first use).
    pub async fn graph(&mut self) -> Result<Arc<ObjectGraph>, Error> {
        if let Some(g) = &self.graph {
            return Ok(g.clone());
        }
        let g = Arc::new(order::build(self.store, &self.source, |_| {}).await?);
        self.graph = Some(g.clone());
        Ok(g)
    }

    /// Requests a stage keeps outstanding: enough to saturate the client's adaptive limit
    /// (which decides how many actually fly); results are consumed as they come, so one
    /// request waiting out a `Retry-After` does not hold up the others.
    pub fn fan_out(&self) -> usize {
        self.api.max_concurrency().clamp(1, 16) * 2
    }

    /// The outcome as of now.
    pub async fn outcome(&self, stopped: bool) -> Result<RestoreOutcome, Error> {
        let created = match &self.objects {
            Some(o) => o.created(),
            None => idmap::for_each(self.store, self.id, kinds::OBJECT, |_, _| {}).await?,
        };
        let failed = match &self.objects {
            Some(o) => o.failed.iter().filter(|x| **x).count() as u64,
            None => idmap::for_each(self.store, self.id, kinds::OBJECT_FAILED, |_, _| {}).await?,
        };
        let row = self.store.get_restore(self.id).await?;
        Ok(RestoreOutcome {
            stopped,
            counts: self.counts.clone(),
            schema_id: row.new_schema_id,
            schema_key: row.new_schema_key,
            objects_created: created,
            objects_failed: failed,
        })
    }
}
