//! [`JobSpec`]: what a job runs, as stored in the `jobs` table's `payload` column.
//!
//! The payload is a persisted format (a queued job survives an upgrade): versioned JSON tagged
//! by kind, `{"version": 1, "kind": "backup", "site": ..., "schema": ...}`. Within a version
//! fields are only ever added, with defaults; a new kind is a new variant (post-restore tasks
//! are `{"kind": "task", ...}`, scheduled backups a backup spec with a schedule field), so
//! neither needs a store migration: the `kind` column is free text and the claim
//! query only looks at the queue key.
//!
//! Payloads written before specs were versioned (store schema 3 and older) carry no `version`
//! and no `kind`: [`JobSpec::from_stored`] reads them by the row's `kind` column (version 0).
//! A payload from a newer build, of an unknown kind or of the wrong shape is a [`SpecError`],
//! which the runner turns into a permanent failure with that message.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::{BackupId, BackupType, RestoreId};

/// The spec format this build writes.
pub const SPEC_VERSION: u32 = 1;

/// Kinds of jobs, as the `kind` column and the spec's tag spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobKind {
    /// Back up one schema.
    Backup,
    /// Run (plan, then execute or resume) one restore.
    Restore,
    /// Write a backup as plain files.
    Export,
    /// Re-hash every blob of a backup.
    Verify,
    /// Run a post-restore task.
    Task,
}

impl JobKind {
    /// The spelling of the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Restore => "restore",
            JobKind::Export => "export",
            JobKind::Verify => "verify",
            JobKind::Task => "task",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a job runs, per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobSpec {
    /// A backup of one schema.
    Backup(BackupSpec),
    /// A stored restore.
    Restore(RestoreSpec),
    /// An export of a backup into a directory.
    Export(ExportSpec),
    /// A verification of a backup.
    Verify(VerifySpec),
    /// A post-restore task.
    Task(TaskSpec),
}

/// What a backup job backs up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSpec {
    /// Site name.
    pub site: String,
    /// Schema key.
    pub schema: String,
    /// Free text for the backup.
    #[serde(default)]
    pub description: Option<String>,
    /// Manual or scheduled.
    #[serde(rename = "type", default = "manual")]
    pub backup_type: BackupType,
    /// For a backup a schedule queued: the schedule's retention, applied once the backup is
    /// complete (see `jobs::scheduled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduledBy>,
    /// Read everything, taking nothing over from an earlier backup (`backup run --full`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full: bool,
    /// A manual backup of a schema a schedule covers: that schedule's `full_every` when the
    /// backup was asked for, so manual and scheduled backups share one cycle. 0 (absent):
    /// the daemon's `[backup] full_every`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub full_every: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The schedule that queued a backup, as its job carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledBy {
    /// Why it fired: `cron`, `missed` or `manual`.
    pub reason: crate::store::FireReason,
    /// Its retention policy when it fired.
    pub policy: crate::schedules::Policy,
    /// Its time zone (IANA), in which the policy's periods are taken.
    pub tz: String,
    /// Every N-th backup of the schedule's schema is full (0 in specs queued before it
    /// existed: the default).
    #[serde(default)]
    pub full_every: u32,
}

fn manual() -> BackupType {
    BackupType::Manual
}

/// What a restore job runs: the restore row (which holds the request and, once planned, the
/// plan) and its target site, which names the queue the job waits in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSpec {
    /// The restore row.
    pub restore_id: RestoreId,
    /// Target site name.
    pub site: String,
}

/// What an export job writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSpec {
    /// The backup.
    pub backup_id: BackupId,
    /// The directory (absolute).
    pub out: PathBuf,
}

/// What a verify job checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySpec {
    /// The backup.
    pub backup_id: BackupId,
}

/// What a task job runs: the task row (which holds the request) and the restore's target
/// site, whose queue it waits in (behind restores to that site, so a task started while its
/// restore runs follows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The task row.
    pub task_id: crate::store::TaskId,
    /// Target site name.
    pub site: String,
}

/// The stored form: the spec with its format version.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    #[serde(flatten)]
    spec: JobSpec,
}

/// Why a stored payload is not a spec this build can run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The `kind` column names no kind this build knows.
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    /// The payload was written by a newer build.
    #[error(
        "job spec version {found} is newer than this build supports ({SPEC_VERSION}); upgrade assetark"
    )]
    Newer {
        /// The version found.
        found: u64,
    },
    /// The payload's kind is not the row's.
    #[error("the job's payload is a {payload} spec but its kind is {column}")]
    KindMismatch {
        /// The `kind` column.
        column: String,
        /// The payload's tag.
        payload: JobKind,
    },
    /// The payload does not have the shape of its kind.
    #[error("invalid {kind} job spec")]
    Invalid {
        /// The kind.
        kind: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

impl JobSpec {
    /// The kind.
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Backup(_) => JobKind::Backup,
            JobSpec::Restore(_) => JobKind::Restore,
            JobSpec::Export(_) => JobKind::Export,
            JobSpec::Verify(_) => JobKind::Verify,
            JobSpec::Task(_) => JobKind::Task,
        }
    }

    /// The queue key: restores of one target site run one at a time, in order; a backup of a
    /// site and schema is unique while queued or running. Migration `0004_jobs.sql` derives
    /// the same keys for jobs stored before it; the two must agree.
    pub fn queue_key(&self) -> Option<String> {
        match self {
            JobSpec::Backup(b) => Some(format!("backup:{}/{}", b.site, b.schema)),
            JobSpec::Restore(r) => Some(format!("restore-site:{}", r.site)),
            JobSpec::Task(t) => Some(format!("restore-site:{}", t.site)),
            JobSpec::Export(_) | JobSpec::Verify(_) => None,
        }
    }

    /// The stored JSON (current version).
    pub fn to_payload(&self) -> Value {
        // Plain strings, numbers and paths serialize into a Value without failing.
        serde_json::to_value(Stored {
            version: SPEC_VERSION,
            spec: self.clone(),
        })
        .unwrap_or(Value::Null)
    }

    /// Reads a stored payload of a row of `kind`, migrating older versions.
    ///
    /// # Errors
    ///
    /// A [`SpecError`] saying why the payload cannot be run.
    pub fn from_stored(kind: &str, payload: &Value) -> Result<JobSpec, SpecError> {
        let invalid = |source| SpecError::Invalid {
            kind: kind.to_owned(),
            source,
        };
        // Not even an object: no version, read as version 0 (which says why it fails).
        let header = Header::deserialize(payload).unwrap_or_default();
        let Some(version) = header.version else {
            return Self::from_v0(kind, payload).map_err(invalid);
        };
        if let Loose::Typed(v) = version
            && v > u64::from(SPEC_VERSION)
        {
            return Err(SpecError::Newer { found: v });
        }
        let stored = Stored::deserialize(payload).map_err(|e| match header.kind {
            Some(Loose::Typed(k)) if !KNOWN.contains(&k.as_str()) => SpecError::UnknownKind(k),
            _ => invalid(e),
        })?;
        if stored.spec.kind().as_str() != kind {
            return Err(SpecError::KindMismatch {
                column: kind.to_owned(),
                payload: stored.spec.kind(),
            });
        }
        Ok(stored.spec)
    }

    /// Version 0: the kind's fields alone, written by builds before specs were versioned
    /// (only backups and restores existed then).
    fn from_v0(kind: &str, payload: &Value) -> Result<JobSpec, serde_json::Error> {
        match kind {
            "backup" => BackupSpec::deserialize(payload).map(JobSpec::Backup),
            "restore" => RestoreSpec::deserialize(payload).map(JobSpec::Restore),
            other => Err(serde::de::Error::custom(format!(
                "no version and kind {other:?}: not a job this build can read"
            ))),
        }
    }
}

/// What a stored payload says about itself, read before the whole of it: whether it has a
/// version (none: version 0) and which, and its kind tag.
#[derive(Debug, Default, Deserialize)]
struct Header {
    #[serde(default)]
    version: Option<Loose<u64>>,
    #[serde(default)]
    kind: Option<Loose<String>>,
}

/// A field whose type is not trusted yet: the expected type, or anything else (which the
/// full read then rejects with its own message).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Loose<T> {
    Typed(T),
    Other(serde::de::IgnoredAny),
}

/// Tags this build knows.
const KNOWN: [&str; 5] = ["backup", "restore", "export", "verify", "task"];

impl BackupSpec {
    /// How the pipeline runs it for job `job`: full on request; else incremental, every
    /// `full_every`-th backup full — the firing schedule's, else the covering schedule's the
    /// spec carries, else `default_full_every` (the daemon's `[backup] full_every`).
    pub fn run_options(
        &self,
        job: crate::store::JobId,
        default_full_every: u32,
    ) -> crate::backup::RunOptions {
        let full_every = [
            self.schedule.as_ref().map_or(0, |s| s.full_every),
            self.full_every,
            default_full_every,
        ]
        .into_iter()
        .find(|&n| n > 0)
        .unwrap_or(0);
        crate::backup::RunOptions {
            job: Some(job),
            full: self.full,
            full_every,
        }
    }

    /// The pipeline's request.
    pub fn request(&self) -> crate::backup::BackupRequest {
        crate::backup::BackupRequest {
            site: self.site.clone(),
            schema_key: self.schema.clone(),
            backup_type: self.backup_type,
            description: self.description.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn specs_round_trip_with_their_version_and_kind() {
        let specs = [
            JobSpec::Backup(BackupSpec {
                site: "prod".into(),
                schema: "ITSM".into(),
                description: Some("before upgrade".into()),
                backup_type: BackupType::Scheduled,
                schedule: Some(ScheduledBy {
                    reason: crate::store::FireReason::Missed,
                    policy: crate::schedules::Policy {
                        keep_daily: 7,
                        ..Default::default()
                    },
                    tz: "Europe/Berlin".into(),
                    full_every: 7,
                }),
                full: false,
                full_every: 0,
            }),
            JobSpec::Backup(BackupSpec {
                site: "prod".into(),
                schema: "HR".into(),
                description: None,
                backup_type: BackupType::Manual,
                schedule: None,
                full: true,
                full_every: 3,
            }),
            JobSpec::Restore(RestoreSpec {
                restore_id: 3,
                site: "dst".into(),
            }),
            JobSpec::Export(ExportSpec {
                backup_id: 1,
                out: "/tmp/x".into(),
            }),
            JobSpec::Verify(VerifySpec { backup_id: 9 }),
            JobSpec::Task(TaskSpec {
                task_id: 2,
                site: "dst".into(),
            }),
        ];
        for spec in specs {
            let payload = spec.to_payload();
            assert_eq!(payload["version"], SPEC_VERSION);
            assert_eq!(payload["kind"], spec.kind().as_str());
            let back = JobSpec::from_stored(spec.kind().as_str(), &payload).unwrap();
            assert_eq!(back, spec);
        }
        let backup = JobSpec::Backup(BackupSpec {
            site: "s".into(),
            schema: "K".into(),
            description: None,
            backup_type: BackupType::Manual,
            schedule: None,
            full: false,
            full_every: 0,
        });
        assert_eq!(
            backup.to_payload(),
            json!({"version": 1, "kind": "backup", "site": "s", "schema": "K",
                   "description": null, "type": "manual"})
        );
        assert_eq!(backup.queue_key().as_deref(), Some("backup:s/K"));
    }

    #[test]
    fn full_every_is_the_firing_schedules_then_the_covering_ones_then_the_daemons() {
        let manual = |full_every, full| BackupSpec {
            site: "s".into(),
            schema: "K".into(),
            description: None,
            backup_type: BackupType::Manual,
            schedule: None,
            full,
            full_every,
        };
        let fired = |full_every| BackupSpec {
            schedule: Some(ScheduledBy {
                reason: crate::store::FireReason::Cron,
                policy: crate::schedules::Policy::default(),
                tz: "UTC".into(),
                full_every,
            }),
            ..manual(0, false)
        };
        let every = |spec: &BackupSpec, default| spec.run_options(4, default).full_every;
        assert_eq!(every(&manual(0, false), 5), 5);
        assert_eq!(every(&manual(2, false), 5), 2);
        assert_eq!(every(&fired(3), 5), 3);
        // A spec queued before a schedule carried its cycle: the daemon's.
        assert_eq!(every(&fired(0), 5), 5);
        let forced = manual(2, true).run_options(4, 5);
        assert_eq!(
            (forced.full, forced.full_every, forced.job),
            (true, 2, Some(4))
        );
    }

    #[test]
    fn unversioned_payloads_of_older_builds_are_read_by_their_kind() {
        // As written by the code of store schema 3 (see tests/fixtures/store-v3).
        let old =
            json!({"description": "fixture", "schema": "ITSM", "site": "src", "type": "manual"});
        let JobSpec::Backup(b) = JobSpec::from_stored("backup", &old).unwrap() else {
            panic!("not a backup");
        };
        assert_eq!((b.site.as_str(), b.schema.as_str()), ("src", "ITSM"));
        let oldest = json!({"site": "prod", "schema": "ITSM"});
        let JobSpec::Backup(b) = JobSpec::from_stored("backup", &oldest).unwrap() else {
            panic!("not a backup");
        };
        assert_eq!(b.backup_type, BackupType::Manual);
        let restore = json!({"restore_id": 3, "site": "dst"});
        assert_eq!(
            JobSpec::from_stored("restore", &restore).unwrap(),
            JobSpec::Restore(RestoreSpec {
                restore_id: 3,
                site: "dst".into()
            })
        );
    }

    #[test]
    fn payloads_that_cannot_run_say_why() {
        let msg = |kind: &str, v: Value| JobSpec::from_stored(kind, &v).unwrap_err().to_string();
        assert!(msg("backup", json!({"site": 1})).contains("invalid backup job spec"));
        assert!(msg("sync", json!({})).contains("invalid sync job spec"));
        assert!(msg("backup", json!({"version": 9, "kind": "backup"})).contains("newer"));
        assert!(
            msg("sync", json!({"version": 1, "kind": "sync"}))
                .contains("unknown job kind \"sync\"")
        );
        assert!(
            msg(
                "backup",
                json!({"version": 1, "kind": "verify", "backup_id": 1})
            )
            .contains("its kind is backup")
        );
        assert!(msg("backup", json!("not json")).contains("invalid backup job spec"));
        // Header fields of the wrong type: the full read says what is wrong.
        assert!(
            msg("backup", json!({"version": "1", "kind": "backup"}))
                .contains("invalid backup job spec")
        );
        assert!(
            msg("backup", json!({"version": 1, "kind": 7})).contains("invalid backup job spec")
        );
        assert!(msg("backup", json!([1, 2])).contains("invalid backup job spec"));
    }
}
