//! Wire types of post-restore tasks (re-exported by [`super::wire`]): the answers of
//! `POST /v1/restores/{id}/tasks`, `GET /v1/restores/{id}/tasks` and `GET /v1/tasks/{id}`,
//! shared by the handlers and the CLI. The request body is [`TaskRequest`] itself.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::jobs::JobProgress;
use crate::store::{JobId, RestoreId, Task, TaskId};

pub use crate::store::{ItemOutcome, TaskItem, TaskStatus};
pub use crate::tasks::{
    ExtrasSummary, FieldResult, IssuesSummary, ReferencedSchema, ReferencesSummary, SchemaState,
    TaskKind, TaskRequest, TaskSummary, TypeIdsSummary,
};

/// `POST /v1/restores/{id}/tasks` (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskStarted {
    /// The task (`GET /v1/tasks/{id}`).
    pub task_id: TaskId,
    /// Its job (`GET /v1/jobs/{id}`).
    pub job_id: JobId,
    /// The restore it follows.
    pub restore_id: RestoreId,
    /// Its kind.
    pub kind: String,
    /// `pending`.
    pub status: TaskStatus,
}

/// One task: the seed's record (kind, status, start, end, result message) and the kind's
/// options and summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskView {
    /// Id.
    pub id: TaskId,
    /// The restore it follows.
    pub restore_id: RestoreId,
    /// Kind: `object-type-ids`, `issues`, `references`, `comments` or `attachments`.
    pub kind: String,
    /// Where it is.
    pub status: TaskStatus,
    /// The request (`None` when this build cannot read it).
    pub options: Option<TaskRequest>,
    /// What it found and did (once it ran).
    pub summary: Option<TaskSummary>,
    /// Result message.
    pub result: Option<String>,
    /// Its job.
    pub job_id: Option<JobId>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Live progress while it runs.
    #[serde(default)]
    pub progress: Option<JobProgress>,
}

impl TaskView {
    /// The view of a stored row (without live progress).
    pub fn from_row(t: &Task) -> TaskView {
        TaskView {
            id: t.id,
            restore_id: t.restore_id,
            kind: t.kind.clone(),
            status: t.status,
            options: serde_json::from_value(t.options.clone()).ok(),
            summary: serde_json::from_value(t.summary.clone()).ok(),
            result: t.result.clone(),
            job_id: t.job_id,
            created_at: t.created_at,
            started_at: t.started_at,
            ended_at: t.ended_at,
            progress: None,
        }
    }
}

/// `GET /v1/restores/{id}/tasks`: oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskList {
    /// The tasks.
    pub items: Vec<TaskView>,
}

/// `GET /v1/tasks/{id}`: the task and its per-item report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskDetail {
    /// The record.
    #[serde(flatten)]
    pub view: TaskView,
    /// One line per item, in the order they were decided.
    pub items: Vec<TaskItem>,
}
