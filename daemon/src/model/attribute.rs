//! Object type attributes (reference §5): [`ObjectTypeAttribute`] with its full configuration,
//! as `GET /objecttype/{id}/attributes` and AQL pages return it; [`AttributeKind`], what an
//! attribute holds; and [`AttributeIn`], the create/update body.

use serde::{Deserialize, Serialize};

use super::{Extra, Id, Nullable, ObjectType, ReferenceType, Scalar};

/// An attribute of an object type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeAttribute {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<id>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub global_id: Nullable<String>,
    /// Attribute id.
    pub id: Id,
    /// The object type that owns it (in lists).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_type: Nullable<Box<ObjectType>>,
    /// Name, unique in its object type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// It is the object's label ("Name").
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub label: Nullable<bool>,
    /// 0 Default, 1 Object, 2 User, 3 Confluence, 4 Group, 5 Version, 6 Project, 7 Status.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub r#type: Nullable<i64>,
    /// Description.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub description: Nullable<String>,
    /// For `type` 0: Text, Integer, ... (see [`default_type_name`]).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub default_type: Nullable<DefaultType>,
    /// Object: the referenced object type's id.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub type_value: Nullable<Id>,
    /// User: allowed groups; Status: allowed status ids.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub type_value_multi: Nullable<Vec<Id>>,
    /// Object: the reference type id; URL: `ENABLED`/`DISABLED`; User: profile display.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub additional_value: Nullable<Scalar>,
    /// Object: the reference type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub reference_type: Nullable<ReferenceType>,
    /// Object: the referenced object type's id.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub reference_object_type_id: Nullable<Id>,
    /// Object: the referenced object type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub reference_object_type: Nullable<Box<ObjectType>>,
    /// Values can be edited.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub editable: Nullable<bool>,
    /// A system attribute (Key, Created, Updated).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub system: Nullable<bool>,
    /// Indexed for search.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub indexed: Nullable<bool>,
    /// Sortable.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub sortable: Nullable<bool>,
    /// Integer/Double values are summed.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub summable: Nullable<bool>,
    /// Values required at least.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub minimum_cardinality: Nullable<i64>,
    /// Values allowed at most; -1 unlimited.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub maximum_cardinality: Nullable<i64>,
    /// Integer/Double display suffix.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub suffix: Nullable<String>,
    /// It can be removed.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub removable: Nullable<bool>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_attribute_exists: Nullable<bool>,
    /// Hidden from Assets users.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub hidden: Nullable<bool>,
    /// Object: objects of child types of the referenced type are allowed.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub include_child_object_types: Nullable<bool>,
    /// Values are unique within the object type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub unique_attribute: Nullable<bool>,
    /// Text/Email: a regular expression values must match.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub regex_validation: Nullable<String>,
    /// Deprecated twin of `qlQuery`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub iql: Nullable<String>,
    /// Object: AQL restricting the selectable objects.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub ql_query: Nullable<String>,
    /// Select: the options, comma separated.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub options: Nullable<String>,
    /// Place in its type's list.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub position: Nullable<i64>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectTypeAttribute {
    /// The name (empty when missing).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// The owning object type's id (from the nested `objectType`).
    pub fn object_type_id(&self) -> Option<&str> {
        self.object_type.get().and_then(|t| t.id.non_empty())
    }

    /// What the attribute holds.
    pub fn kind(&self) -> AttributeKind {
        match self.r#type.get().copied().unwrap_or(0) {
            0 => AttributeKind::Default(self.default_type.get().map_or(TEXT, |d| d.id)),
            1 => AttributeKind::Object {
                target: self
                    .reference_object_type_id
                    .get()
                    .and_then(Id::non_empty)
                    .or_else(|| self.type_value.get().and_then(Id::non_empty))
                    .unwrap_or_default()
                    .to_owned(),
                ref_type: self
                    .reference_type
                    .get()
                    .and_then(|r| r.id.non_empty())
                    .map(str::to_owned)
                    .or_else(|| {
                        self.additional_value
                            .get()
                            .and_then(Scalar::as_id)
                            .map(|id| id.as_str().to_owned())
                    }),
            },
            2 => AttributeKind::User,
            4 => AttributeKind::Group,
            7 => AttributeKind::Status,
            n => AttributeKind::Other(n),
        }
    }

    /// `additionalValue` as non-empty text.
    pub fn additional_text(&self) -> Option<&str> {
        self.additional_value
            .get()
            .and_then(Scalar::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `typeValueMulti`, as ids or names.
    pub fn type_values(&self) -> impl Iterator<Item = &str> {
        self.type_value_multi
            .get()
            .into_iter()
            .flatten()
            .filter_map(Id::non_empty)
    }
}

/// `defaultType` of a Default attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultType {
    /// -1 None, 0 Text, 1 Integer, 2 Boolean, 3 Double, 4 Date, 5 Time, 6 DateTime, 7 URL,
    /// 8 Email, 9 Textarea, 10 Select, 11 IP Address.
    pub id: i64,
    /// The name the API gives it.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Default type id of Text.
pub const TEXT: i64 = 0;
/// Default type id of Textarea.
pub const TEXTAREA: i64 = 9;

/// The name of a default type id, as plans and notes show it (`Default(n)` for unknown ids).
pub fn default_type_name(id: i64) -> String {
    const NAMES: [&str; 12] = [
        "Text",
        "Integer",
        "Boolean",
        "Double",
        "Date",
        "Time",
        "DateTime",
        "URL",
        "Email",
        "Textarea",
        "Select",
        "IP Address",
    ];
    usize::try_from(id)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("Default({id})"), |s| (*s).to_owned())
}

/// What an attribute holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeKind {
    /// `type` 0 with its `defaultType.id` (0 Text ... 9 Textarea, 10 Select).
    Default(i64),
    /// `type` 1: references to objects of `target` through reference type `ref_type`.
    Object {
        /// The referenced object type's id.
        target: String,
        /// The reference type's id.
        ref_type: Option<String>,
    },
    /// `type` 2: Jira users.
    User,
    /// `type` 4: Jira groups.
    Group,
    /// `type` 7: a status.
    Status,
    /// Any other type code (Confluence 3, Version 5, Project 6 ...).
    Other(i64),
}

impl AttributeKind {
    /// The `type` code.
    pub fn type_code(&self) -> i64 {
        match self {
            AttributeKind::Default(_) => 0,
            AttributeKind::Object { .. } => 1,
            AttributeKind::User => 2,
            AttributeKind::Group => 4,
            AttributeKind::Status => 7,
            AttributeKind::Other(n) => *n,
        }
    }

    /// A human name for plans and notes ("Text", "Object", "User", "Type 6" ...).
    pub fn name(&self) -> String {
        match self {
            AttributeKind::Default(d) => default_type_name(*d),
            AttributeKind::Object { .. } => "Object".into(),
            AttributeKind::User => "User".into(),
            AttributeKind::Group => "Group".into(),
            AttributeKind::Status => "Status".into(),
            AttributeKind::Other(n) => format!("Type {n}"),
        }
    }
}

/// `POST /objecttypeattribute/{objectTypeId}` and `PUT .../{id}`: the attribute's
/// configuration. Fields left `None` are not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeIn {
    /// Name.
    pub name: String,
    /// Make it the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<bool>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Type code (see [`AttributeKind::type_code`]).
    pub r#type: i64,
    /// For `type` 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_type_id: Option<i64>,
    /// Object: the referenced object type's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_value: Option<Id>,
    /// User: allowed groups; Status: allowed status ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_value_multi: Option<Vec<String>>,
    /// Object: the reference type id; URL, User: their option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_value: Option<String>,
    /// Values required at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_cardinality: Option<i64>,
    /// Values allowed at most; -1 unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_cardinality: Option<i64>,
    /// Display suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Hidden from Assets users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// Values unique within the type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_attribute: Option<bool>,
    /// Integer/Double summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summable: Option<bool>,
    /// Regular expression for Text/Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_validation: Option<String>,
    /// AQL restricting referenced objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ql_query: Option<String>,
    /// Select options, comma separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    /// Objects of child types allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_child_object_types: Option<bool>,
}

impl AttributeIn {
    /// A Text attribute with a description (the identity attributes a restore adds).
    pub fn text(name: &str, description: &str) -> AttributeIn {
        AttributeIn {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            r#type: 0,
            default_type_id: Some(TEXT),
            ..AttributeIn::default()
        }
    }
}
