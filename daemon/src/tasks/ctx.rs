//! [`Ctx`]: what every task kind works with — the store, the target's client, the restore and
//! its plan, progress, the stop switch — and the buffered per-item report.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::Error;
use crate::assets::AssetsApi;
use crate::model::ObjectType;
use crate::restore::RestorePlan;
use crate::store::{AsyncStore, BackupId, ItemOutcome, Restore, RestoreId, TaskId, TaskItem};

/// Report lines written to the store at once.
const ITEM_BATCH: usize = 100;
/// Id map rows read per store page.
const ID_PAGE: usize = 5000;

/// A running task's context.
pub struct Ctx<'a> {
    /// The store.
    pub store: &'a AsyncStore,
    /// The restore's target site.
    pub target: &'a dyn AssetsApi,
    /// The task.
    pub task: TaskId,
    /// The restore it follows.
    pub restore: &'a Restore,
    /// That restore's plan.
    pub plan: RestorePlan,
    on_progress: &'a (dyn Fn(&str, u64, u64) + Send + Sync),
    cancel: CancellationToken,
    items: Mutex<Vec<TaskItem>>,
}

impl<'a> Ctx<'a> {
    /// A context for `task` of `restore` (whose plan it reads).
    pub(super) async fn new(
        store: &'a AsyncStore,
        target: &'a dyn AssetsApi,
        task: TaskId,
        restore: &'a Restore,
        on_progress: &'a (dyn Fn(&str, u64, u64) + Send + Sync),
        cancel: CancellationToken,
    ) -> Result<Ctx<'a>, Error> {
        let plan = RestorePlan::from_stored(restore.plan.clone()).map_err(|e| {
            Error::Invalid(format!(
                "the plan of restore {} cannot be read: {}",
                restore.id,
                crate::error::error_chain(&e)
            ))
        })?;
        Ok(Ctx {
            store,
            target,
            task,
            restore,
            plan,
            on_progress,
            cancel,
            items: Mutex::new(Vec::new()),
        })
    }

    /// The backup the restore came from.
    pub fn backup(&self) -> BackupId {
        self.restore.backup_id
    }

    /// The schema the restore created on the target.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the restore row has none.
    pub fn new_schema_id(&self) -> Result<&str, Error> {
        self.restore.new_schema_id.as_deref().ok_or_else(|| {
            Error::Invalid(format!(
                "restore {} records no schema created on the target",
                self.restore.id
            ))
        })
    }

    /// The object types of the schema the restore created, by their id on the target (one
    /// request): what the tasks that change types or set per-type attributes start from.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] without a created schema, the target's API errors.
    pub async fn target_types(&self) -> Result<HashMap<String, ObjectType>, Error> {
        let schema = self.new_schema_id()?;
        Ok(self
            .target
            .list_object_types(schema)
            .await?
            .into_iter()
            .filter_map(|t| Some((t.id.non_empty()?.to_owned(), t)))
            .collect())
    }

    /// Writes a task keeps outstanding: enough to saturate the client's adaptive limit and
    /// pool (which decide how many actually fly and pace them), as the restore's stages do.
    pub fn fan_out(&self) -> usize {
        self.target.max_concurrency().clamp(1, 16) * 2
    }

    /// Reports progress.
    pub fn progress(&self, stage: &str, done: u64, total: u64) {
        (self.on_progress)(stage, done, total);
    }

    /// [`Error::Cancelled`] once shutdown asked the task to stop.
    ///
    /// # Errors
    ///
    /// As said.
    pub fn check_cancel(&self) -> Result<(), Error> {
        if self.cancel.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Adds a line to the report (written in batches; [`Ctx::flush`] writes the rest).
    ///
    /// # Errors
    ///
    /// The store's, when a full batch cannot be written.
    pub async fn item(
        &self,
        item: impl Into<String>,
        outcome: ItemOutcome,
        message: impl Into<String>,
    ) -> Result<(), Error> {
        let full = {
            let mut items = self.items.lock();
            items.push(TaskItem {
                item: item.into(),
                outcome,
                message: message.into(),
            });
            items.len() >= ITEM_BATCH
        };
        if full {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes the buffered report lines.
    ///
    /// # Errors
    ///
    /// The store's.
    pub async fn flush(&self) -> Result<(), Error> {
        let batch = std::mem::take(&mut *self.items.lock());
        self.store.put_task_items(self.task, batch).await?;
        Ok(())
    }

    /// Calls `f` with every entry of `kind` in `backup`, read as `T`, with its manifest id,
    /// one store page at a time.
    ///
    /// # Errors
    ///
    /// The store's, [`Error::Json`] for an entry that is not a `T`, or `f`'s.
    pub async fn for_each_entry<T: serde::de::DeserializeOwned>(
        &self,
        backup: BackupId,
        kind: &str,
        f: impl FnMut(String, T) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.store.for_each_entry_as(backup, kind, f).await
    }

    /// Every old -> new id of `kind` in the id map of `restore`.
    ///
    /// # Errors
    ///
    /// The store's.
    pub async fn id_map(
        &self,
        restore: RestoreId,
        kind: &str,
    ) -> Result<HashMap<String, String>, Error> {
        let mut out = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .restore_ids(restore, kind, after.as_deref(), ID_PAGE)
                .await?;
            let full = page.len() == ID_PAGE;
            after = page.last().map(|(o, _)| o.clone());
            out.extend(page);
            if !full {
                return Ok(out);
            }
        }
    }
}
