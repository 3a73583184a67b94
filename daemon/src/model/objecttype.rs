//! Object types (reference §4): [`ObjectType`] as the flat list, `GET /objecttype/{id}` and
//! nested `objectType` fields return it; the create body [`ObjectTypeIn`] and the move body
//! [`ObjectTypePosition`].

use serde::{Deserialize, Serialize};

use super::{Extra, Icon, Id, Nullable};

/// An object type. Hierarchy through `parentObjectTypeId` (an integer on Cloud, absent at the
/// root), sibling order through `position`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectType {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<id>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// Object type id.
    pub id: Id,
    /// Name, unique in its schema.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub description: Nullable<String>,
    /// Its icon.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub icon: Nullable<Icon>,
    /// Place among its siblings (0-based).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub position: Nullable<i64>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub created: Nullable<String>,
    /// Last update.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub updated: Nullable<String>,
    /// Objects of the type (reliable only on single reads).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_count: Nullable<i64>,
    /// The parent type; absent at the root.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub parent_object_type_id: Nullable<Id>,
    /// Usually 0.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub r#type: Nullable<i64>,
    /// The schema.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_schema_id: Nullable<Id>,
    /// Children inherit its attributes.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub inherited: Nullable<bool>,
    /// It cannot hold objects.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub abstract_object_type: Nullable<bool>,
    /// It inherits its parent's attributes.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub parent_object_type_inherited: Nullable<bool>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectType {
    /// The name (empty when missing).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The parent's id, `None` at the root.
    pub fn parent(&self) -> Option<&str> {
        self.parent_object_type_id.get().and_then(Id::non_empty)
    }

    /// The icon's id, when it has one.
    pub fn icon_id(&self) -> Option<&str> {
        self.icon.get().and_then(|i| i.id.non_empty())
    }
}

/// `POST /objecttype/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeIn {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An existing icon.
    pub icon_id: Id,
    /// The schema.
    pub object_schema_id: Id,
    /// The parent type; `None` for a root type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_object_type_id: Option<Id>,
    /// Children inherit its attributes.
    pub inherited: bool,
    /// It cannot hold objects.
    pub abstract_object_type: bool,
}

/// `PUT /objecttype/{id}`: every field optional; only those present change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /objecttype/{id}/position`: the new parent (`None`: root) and place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypePosition {
    /// The new parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_object_type_id: Option<Id>,
    /// Place among the siblings.
    pub position: i64,
}
