//! The payloads of backup and restore jobs as stored in the `jobs` table. Their JSON is a
//! persisted format (a queued job survives an upgrade), so fields are only ever added, with
//! defaults.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backup::BackupRequest;
use crate::store::BackupType;

/// Job kind of a backup.
pub const KIND_BACKUP: &str = "backup";
/// Job kind of a restore.
pub const KIND_RESTORE: &str = "restore";

/// What a restore job runs: the restore row (which holds the request and the plan) and, so
/// the runner can queue it behind other restores of the same site without a store read, the
/// target site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreJob {
    /// The restore row.
    pub restore_id: i64,
    /// Target site name.
    pub site: String,
}

impl RestoreJob {
    /// The stored JSON.
    pub fn to_payload(&self) -> Value {
        // Serializing a number and a string into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a stored payload.
    ///
    /// # Errors
    ///
    /// When the JSON does not have the expected shape.
    pub fn from_payload(payload: &Value) -> Result<RestoreJob, serde_json::Error> {
        RestoreJob::deserialize(payload)
    }
}

/// What a backup job backs up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupJob {
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
}

fn manual() -> BackupType {
    BackupType::Manual
}

impl BackupJob {
    /// The stored JSON.
    pub fn to_payload(&self) -> Value {
        // Serializing plain strings and an enum into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a stored payload.
    ///
    /// # Errors
    ///
    /// When the JSON does not have the expected shape.
    pub fn from_payload(payload: &Value) -> Result<BackupJob, serde_json::Error> {
        BackupJob::deserialize(payload)
    }

    /// The pipeline's request.
    pub fn request(&self) -> BackupRequest {
        BackupRequest {
            site: self.site.clone(),
            schema_key: self.schema.clone(),
            backup_type: self.backup_type,
            description: self.description.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_and_old_payloads_get_defaults() {
        let job = BackupJob {
            site: "prod".into(),
            schema: "ITSM".into(),
            description: Some("before upgrade".into()),
            backup_type: BackupType::Scheduled,
        };
        assert_eq!(BackupJob::from_payload(&job.to_payload()).unwrap(), job);
        let old = serde_json::json!({"site": "prod", "schema": "ITSM"});
        let parsed = BackupJob::from_payload(&old).unwrap();
        assert_eq!(parsed.backup_type, BackupType::Manual);
        assert!(BackupJob::from_payload(&serde_json::json!({"site": 1})).is_err());
    }
}
