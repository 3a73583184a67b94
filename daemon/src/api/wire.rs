//! The control API's wire types: every request body and every JSON answer, as one set of
//! structs that the handlers serialize and the CLI (or any Rust client) deserializes, so the
//! compiler checks both sides of each field.
//!
//! Field names are a contract (README, issues): they are only ever added. Types that belong to
//! a part of the daemon are defined there and re-exported here (a backup is `store::Backup`, a
//! job view `jobs::JobView`, a site `sites::SiteInfo`, a restore plan `restore::RestorePlan`),
//! so the CLI needs nothing but this module to read any answer.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::store::{BackupId, JobId, RestoreId};

pub use super::wire_schedules::*;
pub use super::wire_tasks::*;
pub use crate::jobs::feed::LiveEvent;
pub use crate::jobs::{
    BackupOutcome, ExportReport, FailureKind, JobFailure, JobKind, JobOutcome, JobProgress,
    JobSpec, JobView, RestoreResult, RestoreSummary, StageTally, VerifyReport,
};
pub use crate::restore::{AttrAction, Destination, RestorePlan, TypeNode};
pub use crate::sites::{Origin, SiteInfo, TokenSource};
pub use crate::store::{
    Backup, BackupStatus, BackupType, BadBlob, BlobProblem, DestinationKind, JobStatus, LogLevel,
    Phase, PhaseState, PhaseStatus, RestoreStatus,
};

/// Every error: `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code clients may match on.
    pub code: String,
    /// For people.
    pub message: String,
    /// One message per offending field (422 only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

// ---- sites ---------------------------------------------------------------------------------

/// `GET /v1/sites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteList {
    /// The config's sites in file order, then the added ones.
    pub items: Vec<SiteInfo>,
}

/// A token as sent to `POST /v1/sites`: serializable (the CLI must send it) but its `Debug`
/// shows nothing, so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, format = Password)]
pub struct TokenText(String);

impl TokenText {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        TokenText(token.into())
    }

    /// The token itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenText(redacted)")
    }
}

/// `POST /v1/sites` body: exactly one of the token fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSiteRequest {
    /// Unique name.
    pub name: String,
    /// `cloud` (the default) or `dc` (Data Center).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    /// Cloud: the Assets REST base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Cloud: the Jira site URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    /// Data Center: the Jira base URL (Assets at `base_url + /rest/assets/1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Account e-mail (Cloud: required; Data Center: Basic auth's user, else the token is a
    /// personal access token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// An environment variable of the daemon holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file (absolute path) the daemon reads the token from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub token_file: Option<PathBuf>,
    /// The token itself (stored sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenText>,
}

/// `DELETE /v1/sites/{site}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteRemoved {
    /// The site removed.
    pub removed: String,
    /// Restores to it that `force` stopped first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped: Vec<i64>,
}

/// `POST /v1/sites/{site}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteTested {
    /// The site.
    pub site: String,
    /// Always true in a success answer.
    pub ok: bool,
    /// Who the credentials belong to, as the site's Jira says.
    pub user: SiteUser,
}

/// The account a site's credentials belong to (Jira's `myself`, with all its fields).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiteUser {
    /// Display name.
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// Account id.
    #[serde(rename = "accountId", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Everything else the site said.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub other: Map<String, Value>,
}

// ---- schemas -------------------------------------------------------------------------------

/// `GET /v1/sites/{site}/schemas` and `POST .../schemas/sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchemaList {
    /// The site.
    pub site: String,
    /// Its synced schemas, by key.
    pub items: Vec<SchemaView>,
}

/// One synced schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchemaView {
    /// Schema id.
    pub id: String,
    /// Schema key.
    pub key: String,
    /// Schema name.
    pub name: String,
    /// Objects at sync time.
    pub object_count: u64,
    /// When the sync ran.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
    /// The newest complete backup of the schema.
    pub last_backup: Option<LastBackup>,
}

/// The newest complete backup of a schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LastBackup {
    /// Backup id.
    pub id: BackupId,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Its objects.
    pub object_count: u64,
}

// ---- backups and jobs ----------------------------------------------------------------------

/// `POST /v1/backups` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBackupRequest {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `manual` (default) or `scheduled`; checked by hand so a wrong value is a 422.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub backup_type: Option<String>,
    /// Read everything instead of taking unchanged objects' history over from the previous
    /// backup (incremental capture); default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
}

/// The answer of every route that starts a job (202, `Location: /v1/jobs/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobStarted {
    /// The job.
    pub job_id: JobId,
    /// `queued`.
    pub status: JobStatus,
}

/// `GET /v1/backups`: one page of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupList {
    /// This page, newest first.
    pub items: Vec<Backup>,
    /// Page number, from 1.
    pub page: u64,
    /// Backups per page.
    pub per_page: u32,
    /// Backups reachable through the pages (at most 50 without a date filter).
    pub total: u64,
    /// Number of pages.
    pub pages: u64,
    /// Backups matching the filters in the store; larger than `total` when capped.
    pub matching: u64,
}

/// `GET /v1/backups/{id}`: the backup and its entry counts per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupDetail {
    /// The backup.
    #[serde(flatten)]
    pub backup: Backup,
    /// Entries per manifest kind.
    pub entries: BTreeMap<String, u64>,
}

/// `DELETE /v1/backups/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupDeleted {
    /// The backup deleted.
    pub deleted: BackupId,
    /// Blobs no other backup used.
    pub blobs_removed: u64,
    /// Their compressed bytes.
    pub bytes_freed: u64,
}

// ---- restores ------------------------------------------------------------------------------

/// `POST /v1/restores` body (`Default`: for callers that set a few fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRestoreRequest {
    /// The backup.
    pub backup_id: BackupId,
    /// Destination: `new-schema` (or `new_schema`) or `existing-schema` (or
    /// `existing_schema`); checked by hand so a wrong value is a 422.
    pub to: String,
    /// Name of the new schema (`new-schema` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Key of the new schema (`new-schema` only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// Key of the existing schema on the target (`existing-schema` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// `existing-schema` only: create objects already in the schema anyway.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicates: bool,
    /// Target site; default: the backup's own site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Plan only: answer with the plan, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Hooks to run in addition to the enabled ones for the target (`--hook`), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<String>,
    /// Enabled hooks to leave out (`--no-hook`), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_hooks: Vec<String>,
    /// `--history`: restore each object's history into a Textarea `OBJECT_HISTORY` (refused
    /// while the backup's history phase is still running).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub history: bool,
    /// `--with-icons` (another site only): object types take the target's global icons of
    /// the same names; refused as needless on the backup's own site.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_icons: bool,
    /// Only these object types (names, paths `Parent/Child` or ids in the backup) with their
    /// parents, and their objects (`--types`); empty or absent for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// `GET /v1/backups/{id}/objecttypes`: the backup's object types as a tree, to pick `--types`
/// from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupObjectTypes {
    /// The backup.
    pub backup_id: BackupId,
    /// Its schema's key.
    pub schema_key: String,
    /// Depth first (a parent before its children), siblings by position.
    pub types: Vec<TypeNode>,
}

/// `POST /v1/restores` with `dry_run`: the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DryRun {
    /// Always true.
    pub dry_run: bool,
    /// What the restore would do.
    #[schema(value_type = Object)]
    pub plan: RestorePlan,
}

/// `POST /v1/restores`: the restore stored and its job queued (202, `Location`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestoreStarted {
    /// The restore.
    pub restore_id: RestoreId,
    /// Its job.
    pub job_id: JobId,
    /// `pending`.
    pub status: RestoreStatus,
}

/// `GET /v1/restores`: one page of the history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestoreList {
    /// This page.
    pub items: Vec<RestoreView>,
    /// Page number, from 1.
    pub page: u64,
    /// Restores per page.
    pub per_page: u32,
}

/// One restore as the history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestoreView {
    /// Id.
    pub id: RestoreId,
    /// The backup restored.
    pub backup_id: BackupId,
    /// Where it comes from (known once planned).
    pub source: SourceView,
    /// Where it goes.
    pub destination: DestinationView,
    /// Where it is.
    pub status: RestoreStatus,
    /// Key of the stage in flight (or the last one).
    pub stage: Option<String>,
    /// Its name ("Restoring object entries").
    pub stage_name: Option<String>,
    /// `in progress (Restoring object entries)`, `completed`, ...
    pub status_text: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it (first) started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// When it last ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Result message (the error for `error`).
    pub result: Option<String>,
    /// `new-schema`, `existing-schema`, or `another-site` (either on a site other than the
    /// backup's).
    pub destination_kind: DestinationKind,
    /// The object types asked for (`--types`), as their paths of names; empty for all.
    pub specific_types: Vec<String>,
    /// `--duplicates`: objects already in the existing schema are created anyway.
    pub duplicates: bool,
    /// Whether object history was restored.
    pub history_restored: bool,
    /// Whether object icons were restored.
    pub icons_restored: bool,
}

/// The source schema of a restore.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceView {
    /// Site of the backup.
    pub site: Option<String>,
    /// Schema id.
    pub schema_id: Option<String>,
    /// Schema key.
    pub schema_key: Option<String>,
    /// Schema name.
    pub schema_name: Option<String>,
    /// Objects in the backup.
    pub objects: Option<u64>,
}

/// The destination of a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DestinationView {
    /// `new_schema`, ...
    pub kind: Option<String>,
    /// Target site.
    pub site: String,
    /// Key of the schema on the target.
    pub schema_key: Option<String>,
    /// Name of the schema on the target.
    pub schema_name: Option<String>,
    /// Id of the schema created on the target.
    pub schema_id: Option<String>,
    /// Where the schema opens in Jira, once created.
    pub link: Option<String>,
}

/// `GET /v1/restores/{id}`: the restore with its per-stage counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestoreDetail {
    /// What the history shows.
    #[serde(flatten)]
    pub view: RestoreView,
    /// Per stage in execution order.
    pub counts: Vec<StageCount>,
    /// The request as stored.
    pub options: Value,
    /// The plan in numbers (null until the restore's job planned it).
    pub plan: PlanBrief,
    /// The latest live count, between checkpoints, while in progress.
    pub progress: Option<LiveProgress>,
    /// Its post-restore tasks, oldest first.
    #[serde(default)]
    pub tasks: Vec<TaskView>,
}

/// Done/total of one stage of a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageCount {
    /// Stage key.
    pub stage: String,
    /// Its name.
    pub name: String,
    /// Items done.
    pub done: u64,
    /// Items in the stage.
    pub total: u64,
    /// Whether it ran to its end.
    pub finished: bool,
    /// Whether it started.
    pub started: bool,
}

/// A restore's plan in numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanBrief {
    /// Objects to restore.
    pub objects: Option<u64>,
    /// Why the destination conflicts with the target, if it does.
    pub conflict: Option<String>,
    /// Requests the plan expects.
    pub requests: Option<u64>,
}

/// The live count of the stage in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiveProgress {
    /// Stage key.
    pub stage: String,
    /// Its name.
    pub stage_name: Option<String>,
    /// Items done.
    pub done: u64,
    /// Items in the stage.
    pub total: u64,
}

/// `POST /v1/restores/{id}/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StopAnswer {
    /// The restore.
    pub restore_id: RestoreId,
    /// `stopped` (it had not started: 200) or `stopping` (the stage in flight ends: 202).
    pub status: StopStatus,
}

/// What a stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopStatus {
    /// Stopped at once.
    Stopped,
    /// Stopping at the end of the batch in flight.
    Stopping,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tokens_never_show_in_debug_and_errors_keep_their_shape() {
        let req = AddSiteRequest {
            name: "s".into(),
            flavor: None,
            api_url: Some("u".into()),
            site_url: Some("u".into()),
            base_url: None,
            email: Some("e".into()),
            token_env: None,
            token_file: None,
            token: Some(TokenText::new("sekret")),
        };
        assert!(!format!("{req:?}").contains("sekret"));
        assert_eq!(serde_json::to_value(&req).unwrap()["token"], "sekret");
        let body = ErrorBody {
            error: ErrorDetail {
                code: "not_found".into(),
                message: "no".into(),
                fields: BTreeMap::new(),
            },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": {"code": "not_found", "message": "no"}})
        );
        let user: SiteUser =
            serde_json::from_value(json!({"accountId": "a1", "active": true})).unwrap();
        assert_eq!(user.account_id.as_deref(), Some("a1"));
        assert_eq!(
            serde_json::to_value(&user).unwrap(),
            json!({"accountId": "a1", "active": true})
        );
    }
}
