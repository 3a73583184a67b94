//! Object schemas (reference §3): [`ObjectSchema`] as `GET /objectschema/{id}` and the list
//! return it, the list page [`SchemaPage`], the schema-level configuration [`SchemaConfig`]
//! (`GET /global/config/objectschema/{id}`, §9.3) and the bodies that create a schema and set
//! its configuration.

use serde::{Deserialize, Serialize};

use super::{Extra, Id, Nullable};

/// An object schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchema {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<id>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// Schema id.
    pub id: Id,
    /// Name, unique on the site.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Key, unique on the site (e.g. `ITSM`).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_schema_key: Nullable<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub description: Nullable<String>,
    /// Always `"Ok"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub status: Nullable<String>,
    /// Creation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub created: Nullable<String>,
    /// Last update (ISO 8601).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub updated: Nullable<String>,
    /// Objects in the schema (0 in lists without `includeCounts=true`).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_count: Nullable<i64>,
    /// Object types in the schema (likewise).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_type_count: Nullable<i64>,
    /// Whether the caller may manage it.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub can_manage: Nullable<bool>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectSchema {
    /// The name (empty when missing).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The key (empty when missing).
    pub fn key(&self) -> &str {
        self.object_schema_key.as_deref().unwrap_or("")
    }

    /// The object count, 0 when missing or negative.
    pub fn objects(&self) -> u64 {
        self.object_count
            .get()
            .and_then(|n| u64::try_from(*n).ok())
            .unwrap_or(0)
    }
}

/// One page of `GET /objectschema/list` (`startAt`/`maxResults` paging).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaPage {
    /// Offset of the first schema.
    #[serde(default)]
    pub start_at: Option<u64>,
    /// Page size asked for.
    #[serde(default)]
    pub max_results: Option<u64>,
    /// Total (not relied on).
    #[serde(default)]
    pub total: Option<u64>,
    /// The schemas of this page.
    pub values: Vec<ObjectSchema>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last: Option<bool>,
    /// Twin of `isLast`.
    #[serde(default)]
    pub last: Option<bool>,
}

/// Schema-level configuration ("allow others to select objects from this schema", quick
/// create), as `GET /global/config/objectschema/{id}` returns it. A backup adds
/// `objectSchemaId`, which the API body does not carry, to say which schema it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaConfig {
    /// Other schemas may reference this schema's objects.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub allow_other_object_schema: Nullable<bool>,
    /// Validate mandatory attributes on quick create.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub validate_quick_create: Nullable<bool>,
    /// Objects may be quick-created from issue fields.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub quick_create_objects: Nullable<bool>,
    /// The schema it belongs to (added by the backup).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_schema_id: Nullable<Id>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl SchemaConfig {
    /// The body that applies this configuration to a schema, `None` when it sets nothing.
    pub fn to_input(&self) -> Option<SchemaConfigIn> {
        let body = SchemaConfigIn {
            allow_other_object_schema: self.allow_other_object_schema.get().copied(),
            validate_quick_create: self.validate_quick_create.get().copied(),
            quick_create_objects: self.quick_create_objects.get().copied(),
        };
        (body != SchemaConfigIn::default()).then_some(body)
    }
}

/// `POST /objectschema/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchemaIn {
    /// Name.
    pub name: String,
    /// Key.
    pub object_schema_key: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /global/config/objectschema/{id}/property`: the fields to set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaConfigIn {
    /// See [`SchemaConfig::allow_other_object_schema`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_other_object_schema: Option<bool>,
    /// See [`SchemaConfig::validate_quick_create`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_quick_create: Option<bool>,
    /// See [`SchemaConfig::quick_create_objects`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_create_objects: Option<bool>,
}
