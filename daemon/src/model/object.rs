//! Objects (reference §6, §7): [`Object`] with its attributes and values as `POST /object/aql`
//! returns it ([`AqlResponse`] is the page), the create/update body [`ObjectIn`], and object
//! history ([`HistoryEntry`]; [`ObjectHistory`] is how a backup stores one object's history).
//!
//! A value's kind follows from its attribute's definition; [`AttributeValue::kind`] reads the
//! value the way that kind spells it (a referenced object, a user, a group, a status, or plain
//! text for Text, numbers, dates, Select, URL, Email, IP ...).

use serde::{Deserialize, Serialize};

use super::{Extra, Id, Nullable, ObjectType, ObjectTypeAttribute, Scalar, StatusType};

/// An object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<id>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// Object id.
    pub id: Id,
    /// The label attribute's value.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub label: Nullable<String>,
    /// `"<schema key>-<id>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_key: Nullable<String>,
    /// The avatar (URLs; Cloud adds a per-response media token).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub avatar: Nullable<Avatar>,
    /// Its object type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_type: Nullable<ObjectType>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub created: Nullable<String>,
    /// Last update.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub updated: Nullable<String>,
    /// Whether it has its own avatar.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub has_avatar: Nullable<bool>,
    /// `updated` in epoch milliseconds.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub timestamp: Nullable<i64>,
    /// Attribute values (with `includeAttributes=true`).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub attributes: Nullable<Vec<ObjectAttribute>>,
    /// `{openIssuesExists, attachmentsExists}` (single reads).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub extended_info: Nullable<serde_json::Value>,
    /// `{"self": url}`.
    #[serde(
        default,
        rename = "_links",
        skip_serializing_if = "Nullable::is_absent"
    )]
    pub links: Nullable<serde_json::Value>,
    /// Same as `label`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Object {
    /// The key (empty when missing).
    pub fn key(&self) -> &str {
        self.object_key.as_deref().unwrap_or("")
    }

    /// Its object type's id.
    pub fn type_id(&self) -> Option<&str> {
        self.object_type.get().and_then(|t| t.id.non_empty())
    }

    /// Its attribute values (none when absent).
    pub fn attributes(&self) -> &[ObjectAttribute] {
        self.attributes.get().map_or(&[], Vec::as_slice)
    }
}

/// An object's avatar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Avatar {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// Image URLs.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url16: Nullable<String>,
    /// See `url16`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url48: Nullable<String>,
    /// See `url16`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url72: Nullable<String>,
    /// See `url16`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url144: Nullable<String>,
    /// See `url16`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url288: Nullable<String>,
    /// The object.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_id: Nullable<Id>,
    /// The media platform's access to an uploaded avatar.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub media_client_config: Nullable<MediaClientConfig>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `avatar.mediaClientConfig`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaClientConfig {
    /// Media client id.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub client_id: Nullable<String>,
    /// Media platform URL.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub media_base_url: Nullable<String>,
    /// A short-lived credential minted per response (never stored by a backup).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub media_jwt_token: Nullable<String>,
    /// The avatar file.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub file_id: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for MediaClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in Debug output.
        f.debug_struct("MediaClientConfig")
            .field("client_id", &self.client_id)
            .field("file_id", &self.file_id)
            .finish_non_exhaustive()
    }
}

/// The values of one attribute of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttribute {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// The value row's id (deprecated).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub id: Nullable<Id>,
    /// The definition (single object reads; not in AQL pages).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_type_attribute: Nullable<Box<ObjectTypeAttribute>>,
    /// The attribute.
    pub object_type_attribute_id: Id,
    /// The values.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_attribute_values: Nullable<Vec<AttributeValue>>,
    /// The object.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_id: Nullable<Id>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectAttribute {
    /// The values (none when absent).
    pub fn values(&self) -> &[AttributeValue] {
        self.object_attribute_values
            .get()
            .map_or(&[], Vec::as_slice)
    }
}

/// One value of an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValue {
    /// The value (text, number, date, option, user account id, group name ...); absent for
    /// references and statuses.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub value: Nullable<Scalar>,
    /// As the UI shows it.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub display_value: Nullable<String>,
    /// As AQL searches it (a key for references, an id for statuses).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub search_value: Nullable<String>,
    /// Whether it references an object.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub referenced_type: Nullable<bool>,
    /// Object: the referenced object (without attributes).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub referenced_object: Nullable<Box<Object>>,
    /// User: the user.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub user: Nullable<AssetsUser>,
    /// Group: the group.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub group: Nullable<AssetsGroup>,
    /// Status: the status.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub status: Nullable<StatusType>,
    /// Extra per kind.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub additional_value: Nullable<Scalar>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A value read the way its attribute kind spells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueKind<'a> {
    /// A reference: the referenced object's id (on the source site) and a label for notes.
    Reference {
        /// Referenced object id.
        id: &'a str,
        /// Its display value (or the id).
        label: &'a str,
    },
    /// A user, by display name.
    User(&'a str),
    /// A group, by name.
    Group(&'a str),
    /// A status, by id.
    Status(&'a str),
    /// Anything else: the value as the API gave it.
    Plain(&'a Scalar),
    /// Nothing usable.
    Empty,
}

impl AttributeValue {
    /// The referenced object's id, for an Object value.
    pub fn referenced_id(&self) -> Option<&str> {
        self.referenced_object.get().and_then(|o| o.id.non_empty())
    }

    /// The user's display name, for a User value (from `user`, else `displayValue`, else
    /// `value`).
    pub fn user_name(&self) -> Option<&str> {
        self.user
            .get()
            .and_then(|u| u.display_name.as_deref())
            .or_else(|| self.display_value.as_deref())
            .or_else(|| self.value.get().and_then(Scalar::as_str))
    }

    /// The group's name, for a Group value (`value`, else `group.name`).
    pub fn group_name(&self) -> Option<&str> {
        self.value
            .get()
            .and_then(Scalar::as_str)
            .or_else(|| self.group.get().and_then(|g| g.name.as_deref()))
    }

    /// The status id, for a Status value (`status.id`, else `searchValue`).
    pub fn status_id(&self) -> Option<&str> {
        self.status
            .get()
            .and_then(|s| s.id.non_empty())
            .or_else(|| self.search_value.non_empty())
    }

    /// The value as an attribute of kind `kind` holds it.
    pub fn kind(&self, kind: &super::AttributeKind) -> ValueKind<'_> {
        use super::AttributeKind as K;
        let found = match kind {
            K::Object { .. } => self.referenced_id().map(|id| ValueKind::Reference {
                id,
                label: self.display_value.as_deref().unwrap_or(id),
            }),
            K::User => self.user_name().map(ValueKind::User),
            K::Group => self.group_name().map(ValueKind::Group),
            K::Status => self.status_id().map(ValueKind::Status),
            K::Default(_) | K::Other(_) => self.value.get().map(ValueKind::Plain),
        };
        found.unwrap_or(ValueKind::Empty)
    }
}

/// A user as Assets embeds it (User values, history actors); `key` is the account id on Cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetsUser {
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub avatar_url: Nullable<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub display_name: Nullable<String>,
    /// Name (Cloud: the display name).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Account id (Cloud) or user key (Data Center).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub key: Nullable<String>,
    /// Email, when visible.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub email_address: Nullable<String>,
    /// HTML rendering.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub html: Nullable<String>,
    /// Link rendering.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub rendered_link: Nullable<String>,
    /// The account is deleted or inactive.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub is_deleted: Nullable<bool>,
    /// Unused.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub last_seen_version: Nullable<String>,
    /// The Jira user resource.
    #[serde(default, rename = "self", skip_serializing_if = "Nullable::is_absent")]
    pub self_url: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group as Assets embeds it in Group values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetsGroup {
    /// Avatar URL.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub avatar_url: Nullable<String>,
    /// Group name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One page of `POST /object/aql`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AqlResponse {
    /// Offset of the first object.
    #[serde(default)]
    pub start_at: Option<u64>,
    /// Page size asked for.
    #[serde(default)]
    pub max_results: Option<u64>,
    /// Deprecated and capped; not relied on.
    #[serde(default)]
    pub total: Option<u64>,
    /// The objects.
    pub values: Vec<Object>,
    /// The definitions of the attributes present on this page.
    #[serde(default)]
    pub object_type_attributes: Vec<ObjectTypeAttribute>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last: Option<bool>,
    /// Twin of `isLast`.
    #[serde(default)]
    pub last: Option<bool>,
}

/// `POST /object/create` and `PUT /object/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectIn {
    /// The object type.
    pub object_type_id: Id,
    /// Values per attribute; on update only the attributes listed change.
    pub attributes: Vec<ObjectAttributeIn>,
}

/// The values of one attribute in an [`ObjectIn`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttributeIn {
    /// The attribute.
    pub object_type_attribute_id: Id,
    /// Its values (an empty list clears it on update).
    pub object_attribute_values: Vec<ValueIn>,
}

/// One value to send: text for every kind (a referenced object's id, an account id, a group
/// name, a status id ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueIn {
    /// The value.
    pub value: String,
}

/// One entry of `GET /object/{id}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Who made the change.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub actor: Nullable<AssetsUser>,
    /// Entry id.
    pub id: Id,
    /// The attribute's name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub affected_attribute: Nullable<String>,
    /// Value before.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub old_value: Nullable<String>,
    /// Value after.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub new_value: Nullable<String>,
    /// Kind of entry (0: created).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub r#type: Nullable<i64>,
    /// When.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub created: Nullable<String>,
    /// The object.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_id: Nullable<Id>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One object's history as a backup stores it: `{"objectId", "entries"}`, `objectId` being the
/// object's id on the source site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectHistory {
    /// The object's id at the source.
    pub object_id: String,
    /// Its history, oldest first.
    pub entries: Vec<HistoryEntry>,
}
