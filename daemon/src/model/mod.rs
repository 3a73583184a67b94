//! The Assets and Jira entities the daemon reads and writes, as typed values. Field names are
//! exactly those of the API (reference §3-§10, §18; `assets-openapi.json`).
//!
//! | module          | entities                                                              |
//! |-----------------|-----------------------------------------------------------------------|
//! | [`schema`]      | object schemas, the schema list page, schema configuration           |
//! | [`config`]      | status types, reference types                                         |
//! | [`icon`]        | icons and the stored icon image                                       |
//! | [`objecttype`]  | object types, their create body and position                          |
//! | [`attribute`]   | object type attributes with their full configuration, their kinds     |
//! | [`object`]      | objects with values (AQL), create/update bodies, history              |
//! | [`extras`]      | object comments and attachments (Data Center), as stored by a backup  |
//! | [`jira`]        | Jira users, groups, fields, issues and JQL pages, workspace discovery  |
//!
//! # Lossless on purpose
//!
//! Backups store every entity as canonical JSON addressed by its hash, and the bytes of an
//! unchanged entity must stay the same across versions of this code (an unchanged object then
//! costs nothing, and old backups stay readable). So every entity that is stored round-trips
//! *losslessly* through its type:
//!
//! - fields this code does not model are kept in `extra` (`#[serde(flatten)]`) as they came;
//! - an optional field is a [`Nullable`]: absent, `null` and a value are three different
//!   things, each written back as it came;
//! - ids are [`Id`]s, which remember whether the API spelled them as a string (Cloud) or a
//!   number (Data Center); attribute values are [`Scalar`]s, which keep the JSON type.
//!
//! Tests hold real simulator responses (`assets::tests`) and the blobs of a store written by
//! older code (`model::tests`) to that: decoded and encoded again, byte-identical canonical
//! JSON.
//!
//! Request bodies (`...In` types) are not stored; they use plain `Option`s.

pub mod attribute;
pub mod config;
pub mod extras;
pub mod icon;
pub mod jira;
pub mod object;
pub mod objecttype;
pub mod schema;

#[cfg(test)]
pub(crate) mod tests;

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

pub use attribute::{
    AttributeIn, AttributeKind, DefaultType, ObjectTypeAttribute, TEXT, TEXTAREA, default_type_name,
};
pub use config::{ReferenceType, ReferenceTypeIn, StatusType, StatusTypeIn};
pub use extras::{
    Attachment, AttachmentBytes, AttachmentTime, AttachmentUpload, Comment, CommentIn,
    ObjectAttachment, ObjectAttachments, ObjectComments, sha256_hex,
};
pub use icon::{Icon, IconPng};
pub use jira::{
    AssetsFieldValue, Group, GroupPage, GroupPicker, Issue, IssueEdit, JiraField, JiraUser,
    JqlPage, JqlRequest, StoredIssue, Workspace, WorkspacePage,
};
pub use object::{
    AqlResponse, AssetsGroup, AssetsUser, AttributeValue, Avatar, HistoryEntry, MediaClientConfig,
    Object, ObjectAttribute, ObjectAttributeIn, ObjectHistory, ObjectIn, ValueIn, ValueKind,
};
pub use objecttype::{ObjectType, ObjectTypeIn, ObjectTypePosition, ObjectTypeUpdate};
pub use schema::{ObjectSchema, ObjectSchemaIn, SchemaConfig, SchemaConfigIn, SchemaPage};

/// Fields a type does not model, kept as they came (see the module doc).
pub type Extra = serde_json::Map<String, Value>;

/// An entity with an id (every create answers with one).
pub trait Entity {
    /// Its id.
    fn id(&self) -> &Id;
}

/// An entity with a name, unique where it lives (what a restore matches by).
pub trait Named: Entity {
    /// Its name (empty when missing).
    fn name(&self) -> &str;
}

macro_rules! entity {
    ($($ty:ty => $name:ident),* $(,)?) => {$(
        impl Entity for $ty {
            fn id(&self) -> &Id {
                &self.id
            }
        }
        impl Named for $ty {
            fn name(&self) -> &str {
                self.$name.as_deref().unwrap_or("")
            }
        }
    )*};
}

entity!(
    ObjectSchema => name,
    StatusType => name,
    ReferenceType => name,
    Icon => name,
    ObjectType => name,
    ObjectTypeAttribute => name,
    Object => label,
);

/// The API's error envelope (reference §14.1): general messages and per-field ones (for
/// object values keyed `rlabs-insight-attribute-<attribute id>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrors {
    /// General messages.
    #[serde(default)]
    pub error_messages: Vec<String>,
    /// Messages by field.
    #[serde(default)]
    pub errors: std::collections::BTreeMap<String, Value>,
}

impl ApiErrors {
    /// An envelope with one general message.
    pub fn message(text: impl Into<String>) -> ApiErrors {
        ApiErrors {
            error_messages: vec![text.into()],
            errors: Default::default(),
        }
    }

    /// As JSON (for logs that keep the API's bodies as they are).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// An id as the API spells it: a JSON string on Cloud (`"12"`), a number on Data Center (`12`).
/// It is written back in the same spelling; it compares and hashes by its text.
#[derive(Clone, Default)]
pub struct Id {
    text: String,
    number: bool,
}

impl Id {
    /// An id spelled as a JSON string.
    pub fn new(text: impl Into<String>) -> Id {
        Id {
            text: text.into(),
            number: false,
        }
    }

    /// The id as text (`"12"` for both spellings).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The id as text, `None` when it is empty (a missing reference in some payloads).
    pub fn non_empty(&self) -> Option<&str> {
        (!self.text.is_empty()).then_some(self.text.as_str())
    }

    /// Whether the API spelled it as a number.
    pub fn is_number(&self) -> bool {
        self.number
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.text == other.text
    }
}

impl Eq for Id {}

impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialEq<str> for Id {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Id {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.number {
            f.write_str(&self.text)
        } else {
            write!(f, "{:?}", self.text)
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Id {
        Id::new(s)
    }
}

impl From<String> for Id {
    fn from(s: String) -> Id {
        Id::new(s)
    }
}

impl From<&String> for Id {
    fn from(s: &String) -> Id {
        Id::new(s.as_str())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.number {
            if let Ok(n) = self.text.parse::<u64>() {
                return s.serialize_u64(n);
            }
            if let Ok(n) = self.text.parse::<i64>() {
                return s.serialize_i64(n);
            }
        }
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id (a string or an integer)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::new(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id::new(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id {
                    text: v.to_string(),
                    number: true,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id {
                    text: v.to_string(),
                    number: true,
                })
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

/// An optional field of a stored entity: absent, `null`, or a value — kept apart, so the
/// entity is written back exactly as the API sent it. Use it with
/// `#[serde(default, skip_serializing_if = "Nullable::is_absent")]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Nullable<T> {
    /// The field was not there.
    #[default]
    Absent,
    /// The field was `null`.
    Null,
    /// The field held a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// The value, if there is one.
    pub fn get(&self) -> Option<&T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if there is one, mutably.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if there is one, by value.
    pub fn into_option(self) -> Option<T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the field was not there (then it is not written either).
    pub fn is_absent(&self) -> bool {
        matches!(self, Nullable::Absent)
    }

    /// Whether the field holds a value.
    pub fn is_value(&self) -> bool {
        matches!(self, Nullable::Value(_))
    }
}

impl<T: std::ops::Deref> Nullable<T> {
    /// The value through `Deref` (`&str` for a `Nullable<String>`).
    pub fn as_deref(&self) -> Option<&T::Target> {
        self.get().map(|v| &**v)
    }
}

impl Nullable<String> {
    /// The text, `None` when absent, null or empty.
    pub fn non_empty(&self) -> Option<&str> {
        self.as_deref().filter(|s| !s.is_empty())
    }
}

impl Nullable<bool> {
    /// Whether the flag is there and `true`.
    pub fn is_true(&self) -> bool {
        matches!(self, Nullable::Value(true))
    }
}

impl<T> From<Option<T>> for Nullable<T> {
    fn from(v: Option<T>) -> Nullable<T> {
        match v {
            Some(v) => Nullable::Value(v),
            None => Nullable::Absent,
        }
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Nullable::Value(v) => v.serialize(s),
            // `Absent` is skipped by `skip_serializing_if`; written anyway it becomes null.
            Nullable::Absent | Nullable::Null => s.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Nullable<T>, D::Error> {
        // Only called for a field that is there (`default` covers the absent one).
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Nullable::Value(v),
            None => Nullable::Null,
        })
    }
}

/// A scalar JSON value as the API sent it: attribute values are strings on Cloud, but may be
/// numbers or booleans elsewhere; anything else is kept as it came.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A JSON string.
    Text(String),
    /// A JSON number, with its integer/float spelling.
    Number(serde_json::Number),
    /// A JSON boolean.
    Bool(bool),
    /// An array or object (not expected, but kept).
    Other(Value),
}

impl Scalar {
    /// The value as text: strings as they are, numbers and booleans as JSON spells them.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Other(v) => v.to_string(),
        }
    }

    /// The string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A string or an integer as an id (`referenceType` ids in `additionalValue`).
    pub fn as_id(&self) -> Option<Id> {
        match self {
            Scalar::Text(s) if !s.is_empty() => Some(Id::new(s.as_str())),
            Scalar::Number(n) if n.is_u64() || n.is_i64() => Some(Id {
                text: n.to_string(),
                number: true,
            }),
            _ => None,
        }
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Scalar {
        Scalar::Text(s.to_owned())
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Text(t) => s.serialize_str(t),
            Scalar::Number(n) => n.serialize(s),
            Scalar::Bool(b) => s.serialize_bool(*b),
            Scalar::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        // Through `Value`, which keeps serde_json's number spelling (u64, i64 or f64) exactly
        // as a plain `Value` parse would; strings, the common case, stay cheap.
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Scalar::Text(s),
            Value::Number(n) => Scalar::Number(n),
            Value::Bool(b) => Scalar::Bool(b),
            other => Scalar::Other(other),
        })
    }
}
