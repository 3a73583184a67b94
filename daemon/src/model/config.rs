//! Status types and reference types (`/config/statustype`, `/config/referencetype`, reference
//! §8): global ones have no `objectSchemaId` (or `null`), a schema's own carry its id.

use serde::{Deserialize, Serialize};

use super::{Extra, Id, Nullable};

/// A status type (`Status` in the OpenAPI document); also the `status` of a Status value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusType {
    /// The Assets workspace (on single-status responses).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<id>"` (on single-status responses).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// Status id.
    pub id: Id,
    /// Name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub description: Nullable<String>,
    /// 0 inactive (red), 1 active (green), 2 pending (yellow).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub category: Nullable<i64>,
    /// The schema it belongs to; absent or null for a global status.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_schema_id: Nullable<Id>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StatusType {
    /// Whether it is global (not a schema's own).
    pub fn is_global(&self) -> bool {
        self.object_schema_id
            .get()
            .and_then(Id::non_empty)
            .is_none()
    }
}

/// A reference type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceType {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<id>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// Reference type id.
    pub id: Id,
    /// Name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub description: Nullable<String>,
    /// Hex colour without `#`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub color: Nullable<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url16: Nullable<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub removable: Nullable<bool>,
    /// The schema it belongs to; absent or null for a global reference type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_schema_id: Nullable<Id>,
    /// Common data model data (`{types: [...]}`), kept as it came.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub cdm_data: Nullable<serde_json::Value>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ReferenceType {
    /// Whether it is global (not a schema's own).
    pub fn is_global(&self) -> bool {
        self.object_schema_id
            .get()
            .and_then(Id::non_empty)
            .is_none()
    }
}

/// `POST /config/statustype`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusTypeIn {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 0, 1 or 2.
    pub category: i64,
    /// The schema, or `None` for a global status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_schema_id: Option<Id>,
}

/// `POST /config/referencetype`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceTypeIn {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Hex colour without `#`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// The schema, or `None` for a global reference type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_schema_id: Option<Id>,
}
