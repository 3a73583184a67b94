//! The simulator's internal entities: compact, id-keyed records that the HTTP layer renders
//! into the API's JSON shapes (see `render`).

use compact_str::CompactString;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Schema-level "general configuration" (`/global/config/objectschema/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaConfig {
    pub allow_other_object_schema: bool,
    pub validate_quick_create: bool,
    pub quick_create_objects: bool,
}

impl Default for SchemaConfig {
    fn default() -> Self {
        SchemaConfig {
            allow_other_object_schema: false,
            validate_quick_create: false,
            quick_create_objects: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub id: u32,
    pub name: String,
    pub key: String,
    pub description: Option<String>,
    pub created: Millis,
    pub updated: Millis,
    pub config: SchemaConfig,
}

#[derive(Debug, Clone)]
pub struct ObjectType {
    pub id: u32,
    pub schema_id: u32,
    pub name: String,
    pub description: Option<String>,
    pub icon_id: u32,
    pub parent: Option<u32>,
    pub position: i32,
    /// Children of this type inherit its attributes.
    pub inherited: bool,
    pub abstract_type: bool,
    pub created: Millis,
    pub updated: Millis,
}

/// `defaultType` of a `type = 0` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefaultType {
    Text,
    Integer,
    Boolean,
    Double,
    Date,
    Time,
    DateTime,
    Url,
    Email,
    Textarea,
    Select,
    IpAddress,
}

impl DefaultType {
    pub fn from_id(id: i64) -> Option<DefaultType> {
        use DefaultType::*;
        Some(match id {
            0 => Text,
            1 => Integer,
            2 => Boolean,
            3 => Double,
            4 => Date,
            5 => Time,
            6 => DateTime,
            7 => Url,
            8 => Email,
            9 => Textarea,
            10 => Select,
            11 => IpAddress,
            _ => return None,
        })
    }
    pub fn id(self) -> i64 {
        use DefaultType::*;
        match self {
            Text => 0,
            Integer => 1,
            Boolean => 2,
            Double => 3,
            Date => 4,
            Time => 5,
            DateTime => 6,
            Url => 7,
            Email => 8,
            Textarea => 9,
            Select => 10,
            IpAddress => 11,
        }
    }
    pub fn name(self) -> &'static str {
        use DefaultType::*;
        match self {
            Text => "Text",
            Integer => "Integer",
            Boolean => "Boolean",
            Double => "Double",
            Date => "Date",
            Time => "Time",
            DateTime => "DateTime",
            Url => "URL",
            Email => "Email",
            Textarea => "Textarea",
            Select => "Select",
            IpAddress => "IP Address",
        }
    }
    /// Only these default types may hold more than one value (reference §5.3).
    pub fn allows_multiple(self) -> bool {
        matches!(self, DefaultType::Email | DefaultType::Select)
    }
    pub fn is_numeric(self) -> bool {
        matches!(self, DefaultType::Integer | DefaultType::Double)
    }
}

/// What kind of values an attribute holds (`type` code and its type-specific config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrKind {
    /// `type = 0`.
    Default(DefaultType),
    /// `type = 1`: reference to objects of `target_type` with reference type `ref_type`.
    Object { target_type: u32, ref_type: u32 },
    /// `type = 2`: Jira users (account ids).
    User,
    /// `type = 4`: Jira groups (names).
    Group,
    /// `type = 7`: Assets status types (ids).
    Status,
}

impl AttrKind {
    pub fn type_code(&self) -> i64 {
        match self {
            AttrKind::Default(_) => 0,
            AttrKind::Object { .. } => 1,
            AttrKind::User => 2,
            AttrKind::Group => 4,
            AttrKind::Status => 7,
        }
    }
    pub fn default_type(&self) -> Option<DefaultType> {
        match self {
            AttrKind::Default(d) => Some(*d),
            _ => None,
        }
    }
    pub fn allows_multiple(&self) -> bool {
        match self {
            AttrKind::Default(d) => d.allows_multiple(),
            AttrKind::Object { .. } | AttrKind::User | AttrKind::Group => true,
            AttrKind::Status => false,
        }
    }
}

/// Which system attribute an attribute is (created with every root object type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemAttr {
    Key,
    Created,
    Updated,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub id: u32,
    pub object_type_id: u32,
    pub name: String,
    pub label: bool,
    pub description: Option<String>,
    pub kind: AttrKind,
    pub system: Option<SystemAttr>,
    pub hidden: bool,
    pub unique: bool,
    pub min_cardinality: i64,
    /// `-1` means unlimited.
    pub max_cardinality: i64,
    pub suffix: Option<String>,
    pub include_child_object_types: bool,
    pub summable: bool,
    /// Compiled once here: values are checked against it on every write.
    pub regex_validation: Option<regex::Regex>,
    pub ql_query: Option<String>,
    /// Select options, comma separated ("" otherwise).
    pub options: String,
    /// User: groups restricting selectable users; Status: allowed status ids.
    pub type_value_multi: Vec<String>,
    /// URL: DISABLED/ENABLED; User: SHOW_PROFILE/HIDE_PROFILE.
    pub additional_value: Option<String>,
    pub position: i32,
}

impl Attribute {
    pub fn editable(&self) -> bool {
        self.system.is_none()
    }
    pub fn option_list(&self) -> impl Iterator<Item = &str> {
        self.options
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// One stored attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Text-like values in canonical form (numbers, booleans and dates normalised).
    Text(CompactString),
    /// Reference to an object id.
    Ref(u32),
    /// Status type id.
    Status(u32),
}

/// All values an object holds for one attribute.
#[derive(Debug, Clone)]
pub struct AttrValues {
    pub attr_id: u32,
    /// The `ObjectAttribute.id` row id (deprecated in the API, but still present).
    pub row_id: u32,
    pub vals: Box<[Val]>,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub id: u32,
    pub type_id: u32,
    pub created: Millis,
    pub updated: Millis,
    pub values: Vec<AttrValues>,
}

impl Object {
    pub fn values_of(&self, attr_id: u32) -> &[Val] {
        self.values
            .iter()
            .find(|v| v.attr_id == attr_id)
            .map(|v| &*v.vals)
            .unwrap_or(&[])
    }
}

/// Kinds of history entries (the `type` field of `ObjectHistory`).
pub mod history_kind {
    pub const CREATED: u8 = 0;
    pub const VALUE_ADDED: u8 = 1;
    pub const VALUE_CHANGED: u8 = 2;
    pub const VALUE_REMOVED: u8 = 3;
}

#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub id: u32,
    pub kind: u8,
    /// Index into the site's user directory.
    pub actor: u32,
    pub attr_name: Option<CompactString>,
    pub old_value: Option<CompactString>,
    pub new_value: Option<CompactString>,
    pub created: Millis,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: u32,
    pub name: String,
    pub description: Option<String>,
    pub category: i64,
    /// `None` for a global status.
    pub schema_id: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct ReferenceType {
    pub id: u32,
    pub name: String,
    pub description: Option<String>,
    pub color: String,
    /// `None` for a global reference type.
    pub schema_id: Option<u32>,
    pub removable: bool,
}

#[derive(Debug, Clone)]
pub struct Icon {
    pub id: u32,
    pub name: String,
    /// `None` for a global icon; custom icons belong to a schema.
    pub schema_id: Option<u32>,
    /// RGB colour the PNG is drawn with (deterministic per icon).
    pub rgb: [u8; 3],
}

#[derive(Debug, Clone)]
pub struct User {
    /// What User attribute values hold: the account id on Cloud, the user key on Data Center.
    pub account_id: String,
    /// The login name (Data Center's `name`; Cloud has none to show).
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub group_id: String,
}

/// A comment on an object (Data Center).
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u32,
    pub object_id: u32,
    /// Index into the site's user directory.
    pub actor: u32,
    /// Who may see it: 0 users, 1 managers, 2 administrators, 3 developers.
    pub role: i64,
    pub text: String,
    pub created: Millis,
    pub updated: Millis,
}

/// A file attached to an object (Data Center).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: u32,
    pub object_id: u32,
    /// Index into the site's user directory.
    pub author: u32,
    pub filename: String,
    pub mime_type: String,
    pub bytes: bytes::Bytes,
    pub comment: String,
    pub created: Millis,
}

/// A Jira custom field holding Assets objects.
#[derive(Debug, Clone)]
pub struct AssetsField {
    pub id: String,
    pub custom_id: u32,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u32,
    pub key: String,
    pub project: String,
    pub summary: String,
    pub created: Millis,
    pub updated: Millis,
    /// Assets field id -> object ids.
    pub assets: Vec<(String, Vec<u32>)>,
}

impl Attribute {
    /// A fresh, non-system, optional, single-valued attribute (id and position assigned later).
    pub fn plain(object_type_id: u32, name: &str, kind: AttrKind) -> Attribute {
        Attribute {
            id: 0,
            object_type_id,
            name: name.to_string(),
            label: false,
            description: None,
            kind,
            system: None,
            hidden: false,
            unique: false,
            min_cardinality: 0,
            max_cardinality: 1,
            suffix: None,
            include_child_object_types: false,
            summable: false,
            regex_validation: None,
            ql_query: None,
            options: String::new(),
            type_value_multi: Vec::new(),
            additional_value: None,
            position: 0,
        }
    }
}
