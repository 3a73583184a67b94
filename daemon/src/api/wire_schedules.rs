//! Wire types of schedules, retention and job events (re-exported by [`super::wire`]): the
//! requests and answers of `/v1/schedules`, `POST /v1/backups/prune` and the events of
//! `GET /v1/jobs/{id}/events`, shared by the handlers and the CLI.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::store::{BackupId, JobId};

pub use crate::jobs::{JobEvent, ScheduledBy};
pub use crate::schedules::Origin as ScheduleSource;
pub use crate::schedules::Policy as Retention;
pub use crate::schedules::retention::{Rule, Verdict};
pub use crate::store::{FireOutcome, FireReason};

/// `GET /v1/schedules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleList {
    /// Every schedule, by site and schema.
    pub items: Vec<ScheduleView>,
}

/// One schedule with its firing state and the result of its last backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
    /// Cron expression: six fields, seconds first.
    pub cron: String,
    /// IANA time zone of the expression and of the retention periods.
    pub tz: String,
    /// Whether it fires.
    pub enabled: bool,
    /// What its backups keep (all 0: everything).
    pub retention: Retention,
    /// Every N-th scheduled backup reads everything.
    pub full_every: u32,
    /// `config` (change it in the file) or `api`.
    pub source: ScheduleSource,
    /// When it fires next (absent while disabled).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_fire_at: Option<OffsetDateTime>,
    /// When it last fired.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_fired_at: Option<OffsetDateTime>,
    /// Why it last fired: `cron`, `missed` (at start-up) or `manual`.
    pub last_reason: Option<FireReason>,
    /// What its last firing did: `enqueued`, `skipped` (a backup of the schema was queued or
    /// running) or `error`.
    pub last_firing: Option<FireOutcome>,
    /// Why the last firing could not queue its backup.
    pub last_note: Option<String>,
    /// The backup job of the last firing (the one it was skipped for, when skipped), and how
    /// it ended.
    pub last_result: Option<LastResult>,
    /// Firings that queued a backup.
    pub fired: u64,
    /// Firings skipped because a backup was queued or running.
    pub skipped: u64,
    /// Scheduled backups of the schema that failed after their retries.
    pub failed: u64,
}

/// Where the backup job of a schedule's last firing is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LastResult {
    /// The job.
    pub job_id: JobId,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: RunResult,
    /// Runs so far (retries included).
    pub attempts: u32,
    /// The backup, once it succeeded.
    pub backup_id: Option<BackupId>,
    /// Why it failed (or, while it is retried, why its last run failed).
    pub error: Option<String>,
    /// The job's last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// How a scheduled backup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Waiting for the runner.
    Queued,
    /// Running (or waiting to be retried).
    Running,
    /// Complete.
    Succeeded,
    /// Failed after its retries.
    Failed,
}

impl RunResult {
    /// The spelling in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Queued => "queued",
            RunResult::Running => "running",
            RunResult::Succeeded => "succeeded",
            RunResult::Failed => "failed",
        }
    }
}

/// `POST /v1/schedules` body: adds or replaces the schedule of a site's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetScheduleRequest {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
    /// Cron expression, six fields with seconds: `0 0 2 * * *` is 02:00 every day.
    pub cron: String,
    /// IANA time zone; default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Retention: the newest N backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// Retention: the newest of each of N hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<u32>,
    /// Retention: the newest of each of N days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<u32>,
    /// Retention: the newest of each of N ISO weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<u32>,
    /// Retention: the newest of each of N months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<u32>,
    /// Every N-th scheduled backup reads everything; default 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_every: Option<u32>,
}

/// `DELETE /v1/schedules/{site}/{schema}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleRemoved {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
}

/// `POST /v1/backups/prune` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PruneRequest {
    /// Only the schedules of this site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Only the schedules of this schema key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Decide, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// `POST /v1/backups/prune`: per schedule, what is kept (and by which rule) and removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PruneReport {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// One entry per schedule pruned.
    pub schedules: Vec<SchedulePrune>,
    /// Backups removed (would be removed, in a dry run).
    pub removed: u64,
    /// Blobs freed (0 in a dry run).
    pub blobs_removed: u64,
    /// Their compressed bytes (0 in a dry run).
    pub bytes_freed: u64,
}

/// What one schedule's retention keeps and removes, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchedulePrune {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
    /// The zone the periods are taken in.
    pub tz: String,
    /// The policy.
    pub retention: Retention,
    /// Kept, with the rules that keep each (`last`, `hourly`, `daily`, `weekly`, `monthly`,
    /// `newest`, `no_policy`, `restoring`).
    pub keep: Vec<Verdict>,
    /// Removed.
    pub remove: Vec<Verdict>,
}
