//! [`JobOutcome`]: what a finished job produced, per kind, persisted in the `jobs` table's
//! `outcome` column so a job's result survives a restart.
//!
//! Stored as versioned JSON tagged by kind (`{"version": 1, "kind": "backup", "backup":
//! {...}}`); the control API shows the same JSON without the version as a job's `result`,
//! which keeps the fields clients read today (`result.backup`, `result.restore_id`, ...).
//! Like specs, outcomes only ever gain fields (with defaults) and kinds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::spec::Loose;
use crate::store::{Backup, BackupId, BadBlob, RestoreId, RestoreStatus};

/// The outcome format this build writes.
pub const OUTCOME_VERSION: u32 = 1;

/// What a job produced.
// One outcome per job end, serialized into the job row: a few hundred bytes of difference
// between the variants cost nothing, while boxing would change every match on it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobOutcome {
    /// A backup job: the complete backup.
    Backup(BackupOutcome),
    /// A restore job: how its restore ended.
    Restore(RestoreResult),
    /// An export job: what was written where.
    Export(ExportReport),
    /// A verify job: the bad blobs, if any.
    Verify(VerifyReport),
    /// A task job: how its task ended.
    Task(TaskResult),
}

/// The outcome of a task job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskResult {
    /// The task.
    pub task_id: crate::store::TaskId,
    /// Its status when the job ended.
    pub status: crate::store::TaskStatus,
    /// Its result message.
    #[serde(default)]
    pub result: Option<String>,
}

/// The outcome of a backup job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupOutcome {
    /// The backup as it was when the job ended.
    pub backup: Backup,
}

/// The outcome of a restore job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreResult {
    /// The restore.
    pub restore_id: RestoreId,
    /// Its status when the job ended (`completed`, `stopped`, ...).
    pub status: RestoreStatus,
    /// What the execution did; absent when the restore ended without running (stopped while
    /// queued, or ended before a crash requeued its job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreSummary>,
}

/// What one execution of a restore reports (`restore::RestoreOutcome`, persisted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSummary {
    /// Whether a STOP ended it.
    pub stopped: bool,
    /// Done/total per stage key (stages not started are absent).
    pub counts: BTreeMap<String, StageTally>,
    /// Id of the schema created on the target.
    pub schema_id: Option<String>,
    /// Key of the schema created on the target.
    pub schema_key: Option<String>,
    /// Objects created (over all runs of this restore).
    pub objects_created: u64,
    /// Objects the API refused (see the log).
    pub objects_failed: u64,
}

/// Done/total of one restore stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTally {
    /// Items done.
    pub done: u64,
    /// Items in the stage.
    pub total: u64,
    /// Whether the stage ran to its end.
    pub finished: bool,
}

impl From<&crate::restore::RestoreOutcome> for RestoreSummary {
    fn from(o: &crate::restore::RestoreOutcome) -> Self {
        RestoreSummary {
            stopped: o.stopped,
            counts: o
                .counts
                .iter()
                .map(|(stage, c)| {
                    let tally = StageTally {
                        done: c.done,
                        total: c.total,
                        finished: c.finished,
                    };
                    (stage.key().to_owned(), tally)
                })
                .collect(),
            schema_id: o.schema_id.clone(),
            schema_key: o.schema_key.clone(),
            objects_created: o.objects_created,
            objects_failed: o.objects_failed,
        }
    }
}

/// The outcome of an export job (`backup::ExportSummary`, persisted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportReport {
    /// The export directory.
    pub dir: PathBuf,
    /// The backup exported.
    pub backup: BackupId,
    /// Entities written per file name.
    pub counts: BTreeMap<String, u64>,
    /// Bytes written in total.
    pub bytes: u64,
}

impl From<crate::backup::ExportSummary> for ExportReport {
    fn from(s: crate::backup::ExportSummary) -> Self {
        ExportReport {
            dir: s.dir,
            backup: s.backup,
            counts: s.counts,
            bytes: s.bytes,
        }
    }
}

/// The outcome of a verify job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// The backup verified.
    pub backup: BackupId,
    /// Whether every blob re-hashed to its key.
    pub ok: bool,
    /// The blobs that did not.
    pub bad_blobs: Vec<BadBlob>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    #[serde(flatten)]
    outcome: JobOutcome,
}

/// Why a stored outcome cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutcomeError {
    /// Written by a newer build.
    #[error("job outcome version {0} is newer than this build supports ({OUTCOME_VERSION})")]
    Newer(u64),
    /// Not the JSON of an outcome.
    #[error("invalid job outcome")]
    Invalid(#[from] serde_json::Error),
}

impl JobOutcome {
    /// The stored JSON (current version).
    pub fn to_stored(&self) -> Value {
        // Outcomes hold plain data; serializing them into a Value does not fail.
        serde_json::to_value(Stored {
            version: OUTCOME_VERSION,
            outcome: self.clone(),
        })
        .unwrap_or(Value::Null)
    }

    /// Reads a stored outcome.
    ///
    /// # Errors
    ///
    /// [`OutcomeError`].
    pub fn from_stored(v: &Value) -> Result<JobOutcome, OutcomeError> {
        /// The version a stored outcome says it has, read before the rest.
        #[derive(Deserialize)]
        struct Header {
            #[serde(default)]
            version: Option<Loose<u64>>,
        }
        if let Ok(Header {
            version: Some(Loose::Typed(found)),
        }) = Header::deserialize(v)
            && found > u64::from(OUTCOME_VERSION)
        {
            return Err(OutcomeError::Newer(found));
        }
        Ok(Stored::deserialize(v)?.outcome)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outcomes_keep_the_fields_clients_read_and_round_trip() {
        let restore = JobOutcome::Restore(RestoreResult {
            restore_id: 4,
            status: RestoreStatus::Stopped,
            restore: None,
        });
        let stored = restore.to_stored();
        assert_eq!(
            stored,
            json!({"version": 1, "kind": "restore", "restore_id": 4, "status": "stopped"})
        );
        assert_eq!(JobOutcome::from_stored(&stored).unwrap(), restore);
        let verify = JobOutcome::Verify(VerifyReport {
            backup: 1,
            ok: true,
            bad_blobs: vec![],
        });
        let v = serde_json::to_value(&verify).unwrap();
        assert_eq!(
            v,
            json!({"kind": "verify", "backup": 1, "ok": true, "bad_blobs": []})
        );
        assert!(matches!(
            JobOutcome::from_stored(&json!({"version": 7, "kind": "verify"})),
            Err(OutcomeError::Newer(7))
        ));
        assert!(JobOutcome::from_stored(&json!({"version": 1, "kind": "nope"})).is_err());
    }
}
