//! Post-restore tasks (DESIGN §5): follow-up work on a restore's target, each a stored task
//! (`store::tasks`) run as a job (`jobs::tasks`), with a kind, a status, a start, an end, a
//! result message, the kind's summary and a per-item report.
//!
//! | kind              | module       | what it does on the target                               |
//! |-------------------|--------------|----------------------------------------------------------|
//! | `object-type-ids` | `typeids`    | each restored object type's description := its old id    |
//! | `issues`          | `issues`     | Jira Assets fields rewritten to the restored objects     |
//! | `references`      | `references` | cross-schema reference attributes created and set        |
//! | `comments`        | `comments`   | the backup's object comments: Data Center comments, or the Textarea `OBJECT_COMMENTS` on Assets Cloud |
//! | `attachments`     | `attachments`| the backup's attachment files uploaded (Data Center; Cloud: not offered) |
//!
//! Every kind reads the target's current state and writes only what differs from what it
//! should be, so a task is safe to run twice (a second run reports `unchanged` and sends no
//! write) and a task interrupted by a crash simply runs again (the job is requeued at the next
//! start): what the first run did reads as done. Items are reported as they are decided, in
//! batches, keyed so that a resumed run overwrites its own earlier lines.
//!
//! Adding a kind: a variant of [`TaskRequest`] (its options), of [`TaskKind`] and of
//! [`TaskSummary`], a module with `run(&Ctx) -> Result<(TaskSummary, String), Error>`, and its
//! arm in [`run`]. The API, the CLI's `tasks show` and the store take it as it is.

mod attachments;
mod comments;
mod ctx;
mod extras;
mod issues;
mod references;
mod typeids;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::assets::{self, AssetsApi};
use crate::store::{self, AsyncStore, Restore, Task};

pub use comments::OBJECT_COMMENTS;
pub use ctx::Ctx;
pub use extras::ExtrasSummary;
pub use issues::{FieldResult, IssuesSummary};
pub use references::{ReferencedSchema, ReferencesSummary, SchemaState};
pub use typeids::TypeIdsSummary;

/// What a task is asked to do: its kind and the kind's options (the API's request body and the
/// task row's `options`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TaskRequest {
    /// Write each restored object type's original id into its description. (Variants without
    /// options are empty structs, so that unknown fields are refused for them too.)
    ObjectTypeIds {},
    /// Point the Jira issues' Assets fields at the restored objects.
    Issues {},
    /// Create the cross-schema reference attributes between the restored schema and the
    /// named schemas of the target site and set their values.
    References {
        /// Keys of schemas on the target site (there, the destinations of earlier restores;
        /// on the backup's own site also schemas never restored).
        from_schemas: Vec<String>,
        /// Also set the references the restored schema's objects hold into them.
        #[serde(default)]
        outbound: bool,
    },
    /// Carry the backup's object comments onto the restored objects.
    Comments {},
    /// Upload the backup's object attachments onto the restored objects.
    Attachments {},
}

/// Kinds of tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Original object type ids.
    ObjectTypeIds,
    /// Objects in Jira issues.
    Issues,
    /// Cross-schema references.
    References,
    /// Object comments.
    Comments,
    /// Object attachments.
    Attachments,
}

impl TaskKind {
    /// Every kind.
    pub const ALL: [TaskKind; 5] = [
        TaskKind::ObjectTypeIds,
        TaskKind::Issues,
        TaskKind::References,
        TaskKind::Comments,
        TaskKind::Attachments,
    ];

    /// The spelling of the API, the CLI and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::ObjectTypeIds => "object-type-ids",
            TaskKind::Issues => "issues",
            TaskKind::References => "references",
            TaskKind::Comments => "comments",
            TaskKind::Attachments => "attachments",
        }
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TaskRequest {
    /// Its kind.
    pub fn kind(&self) -> TaskKind {
        match self {
            TaskRequest::ObjectTypeIds {} => TaskKind::ObjectTypeIds,
            TaskRequest::Issues {} => TaskKind::Issues,
            TaskRequest::References { .. } => TaskKind::References,
            TaskRequest::Comments {} => TaskKind::Comments,
            TaskRequest::Attachments {} => TaskKind::Attachments,
        }
    }

    /// Checks the options; the message says what is wrong.
    ///
    /// # Errors
    ///
    /// A message per bad option.
    pub fn check(&self) -> Result<(), String> {
        match self {
            TaskRequest::ObjectTypeIds {}
            | TaskRequest::Issues {}
            | TaskRequest::Comments {}
            | TaskRequest::Attachments {} => Ok(()),
            TaskRequest::References { from_schemas, .. } => check_keys(from_schemas),
        }
    }
}

/// Most schemas one references task takes.
const MAX_FROM_SCHEMAS: usize = 50;

/// `from_schemas`: one to [`MAX_FROM_SCHEMAS`] schema keys, each named once, without spaces
/// or commas (the CLI splits its list at commas).
fn check_keys(keys: &[String]) -> Result<(), String> {
    if keys.is_empty() {
        return Err("from_schemas names no schema: name one or more schema keys".to_owned());
    }
    if keys.len() > MAX_FROM_SCHEMAS {
        return Err(format!(
            "from_schemas names {} schemas; at most {MAX_FROM_SCHEMAS} are taken",
            keys.len()
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        if k.is_empty() || k.len() > 64 || k.chars().any(|c| c.is_whitespace() || c == ',') {
            return Err(format!(
                "from_schemas: {k:?} is not a schema key (1 to 64 characters, no spaces or \
                 commas)"
            ));
        }
        if keys[..i].contains(k) {
            return Err(format!("from_schemas names {k} twice"));
        }
    }
    Ok(())
}

/// What a task found and did, per kind (the task row's `summary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TaskSummary {
    /// Original object type ids.
    ObjectTypeIds(TypeIdsSummary),
    /// Objects in issues.
    Issues(IssuesSummary),
    /// Cross-schema references.
    References(ReferencesSummary),
    /// Object comments.
    Comments(ExtrasSummary),
    /// Object attachments.
    Attachments(ExtrasSummary),
}

/// Errors of a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The target's API failed after the client's retries.
    #[error("assets api")]
    Assets(#[from] assets::Error),
    /// The store failed.
    #[error("store")]
    Store(#[from] store::Error),
    /// Stored JSON (the task's options, the restore's plan, a backup entity) cannot be read.
    #[error("task json")]
    Json(#[from] serde_json::Error),
    /// The restore is not in a state the task can follow.
    #[error("restore {restore} is {status}: tasks run after a restore completed")]
    RestoreNotCompleted {
        /// The restore.
        restore: store::RestoreId,
        /// Its status.
        status: store::RestoreStatus,
    },
    /// The task cannot run as asked (the message says why).
    #[error("{0}")]
    Invalid(String),
    /// Shutdown interrupted it; it resumes at the next start.
    #[error("interrupted")]
    Cancelled,
}

impl Error {
    /// Whether running the task again may succeed without changes.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Assets(e) => e.is_retryable(),
            Error::Store(e) => e.is_temporary(),
            _ => false,
        }
    }

    /// The API's error body, when the target refused a request.
    pub fn api_body(&self) -> Option<&serde_json::Value> {
        match self {
            Error::Assets(e) => e.api_body(),
            _ => None,
        }
    }
}

/// How a task run ended (the row's summary and result message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEnd {
    /// The kind's summary.
    pub summary: TaskSummary,
    /// The result message.
    pub message: String,
}

/// Runs (or resumes) `task` of `restore` against `target`, the restore's target site.
/// `on_progress(stage, done, total)` is told how far it is.
///
/// # Errors
///
/// [`Error`]: a restore not completed, options that cannot be read, the target or the store
/// failing, or [`Error::Cancelled`] when `cancel` fired.
pub async fn run(
    store: &AsyncStore,
    target: &dyn AssetsApi,
    task: &Task,
    restore: &Restore,
    on_progress: &(dyn Fn(&str, u64, u64) + Send + Sync),
    cancel: CancellationToken,
) -> Result<TaskEnd, Error> {
    if restore.status != store::RestoreStatus::Completed {
        return Err(Error::RestoreNotCompleted {
            restore: restore.id,
            status: restore.status,
        });
    }
    let request: TaskRequest = serde_json::from_value(task.options.clone())?;
    let ctx = Ctx::new(store, target, task.id, restore, on_progress, cancel).await?;
    let (summary, message) = match &request {
        TaskRequest::ObjectTypeIds {} => typeids::run(&ctx).await?,
        TaskRequest::Issues {} => issues::run(&ctx).await?,
        TaskRequest::References {
            from_schemas,
            outbound,
        } => references::run(&ctx, from_schemas, *outbound).await?,
        TaskRequest::Comments {} => comments::run(&ctx).await?,
        TaskRequest::Attachments {} => attachments::run(&ctx).await?,
    };
    ctx.flush().await?;
    Ok(TaskEnd { summary, message })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_are_tagged_by_kind_as_the_api_spells_them() {
        let t: TaskRequest = serde_json::from_value(json!({"kind": "object-type-ids"})).unwrap();
        assert_eq!(t, TaskRequest::ObjectTypeIds {});
        assert_eq!(
            serde_json::to_value(TaskRequest::ObjectTypeIds {}).unwrap(),
            json!({"kind": "object-type-ids"})
        );
        for k in TaskKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!(serde_json::from_value::<TaskRequest>(json!({"kind": "nonsense"})).is_err());
        assert!(
            serde_json::from_value::<TaskRequest>(
                json!({"kind": "object-type-ids", "outbound": true})
            )
            .is_err()
        );
    }

    #[test]
    fn a_references_request_names_one_or_more_schemas_once() {
        let t: TaskRequest = serde_json::from_value(
            json!({"kind": "references", "from_schemas": ["LOC", "HR"], "outbound": true}),
        )
        .unwrap();
        assert_eq!(t.kind(), TaskKind::References);
        assert_eq!(t.check(), Ok(()));
        let plain: TaskRequest =
            serde_json::from_value(json!({"kind": "references", "from_schemas": ["LOC"]})).unwrap();
        assert_eq!(
            plain,
            TaskRequest::References {
                from_schemas: vec!["LOC".into()],
                outbound: false
            }
        );
        assert!(serde_json::from_value::<TaskRequest>(json!({"kind": "references"})).is_err());
        let bad = |keys: &[&str]| TaskRequest::References {
            from_schemas: keys.iter().map(|k| (*k).to_owned()).collect(),
            outbound: false,
        };
        assert!(bad(&[]).check().unwrap_err().contains("names no schema"));
        assert!(bad(&["LOC", "LOC"]).check().unwrap_err().contains("twice"));
        assert!(
            bad(&["L C"])
                .check()
                .unwrap_err()
                .contains("not a schema key")
        );
        assert!(bad(&[""]).check().is_err());
        let many: Vec<String> = (0..51).map(|i| format!("K{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(bad(&many).check().unwrap_err().contains("at most 50"));
    }
}
