//! The Assets values a hook sees, typed on the fields plugins use; every other field the API
//! sends is kept in `extra` and written back unchanged, so a plugin that returns a modified
//! attribute or object loses nothing it did not touch.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields not modelled here, kept as they came.
pub type Extra = Map<String, Value>;

/// An id: Cloud spells ids as strings, Data Center as numbers; both are kept as they came.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// `"123"`.
    Text(String),
    /// `123`.
    Number(i64),
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Text(s) => f.write_str(s),
            Id::Number(n) => write!(f, "{n}"),
        }
    }
}

/// `defaultType` of a Default attribute (`type` 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefaultType {
    /// 0 Text, 1 Integer, 2 Boolean, 3 Double, 4 Date, 5 Time, 6 DateTime, 7 URL, 8 Email,
    /// 9 Textarea, 10 Select, 11 IP Address.
    pub id: i64,
    /// Its name ("Text", "Textarea", ...).
    #[serde(default)]
    pub name: String,
}

/// `defaultType.id` of Text.
pub const TEXT: i64 = 0;
/// `defaultType.id` of Textarea.
pub const TEXTAREA: i64 = 9;

/// An object type attribute, as the Assets API spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeAttribute {
    /// Attribute id.
    pub id: Id,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// 0 Default, 1 Object, 2 User, 3 Confluence, 4 Group, 5 Version, 6 Project, 7 Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<i64>,
    /// For `type` 0: what it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_type: Option<DefaultType>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectTypeAttribute {
    /// Whether it is a Default attribute of this `defaultType.id`.
    pub fn is_default_type(&self, id: i64) -> bool {
        self.r#type.unwrap_or(0) == 0 && self.default_type.as_ref().is_some_and(|d| d.id == id)
    }
}

/// An object type, as much as a hook is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectTypeRef {
    /// Its id (on the source).
    pub id: Id,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Statistics of the backup's values of one attribute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeStats {
    /// Values.
    #[serde(default)]
    pub count: u64,
    /// Characters of the longest text value.
    #[serde(default)]
    pub longest_text: u64,
    /// Distinct values.
    #[serde(default)]
    pub distinct: u64,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A stage's progress (`before_stage` / `after_stage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageProgress {
    /// The stage (`object_entries`, ...).
    pub stage: String,
    /// Items done.
    #[serde(default)]
    pub done: u64,
    /// Items in all.
    #[serde(default)]
    pub total: u64,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One value of an object attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValue {
    /// The value (string, number, boolean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// How the API shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_value: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An object's values of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttribute {
    /// The attribute definition's id.
    pub object_type_attribute_id: Id,
    /// Its values.
    #[serde(default)]
    pub object_attribute_values: Vec<AttributeValue>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An object, as the API spells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectEntry {
    /// Object id.
    pub id: Id,
    /// `KEY-12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Attribute values.
    #[serde(default)]
    pub attributes: Vec<ObjectAttribute>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The object a restore created (`after_object_restored`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoredObject {
    /// Its id on the target.
    pub id: Id,
    /// Its key on the target.
    #[serde(default)]
    pub object_key: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A user as the backup knows it (`match_user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupUser {
    /// Cloud account id on the source.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// E-mail, when the source showed it.
    #[serde(default)]
    pub email: Option<String>,
    /// Data Center user key.
    #[serde(default)]
    pub key: Option<String>,
    /// Every account of the backup under this display name (several when people share it),
    /// each with its own ids; the fields above are the first one's.
    #[serde(default)]
    pub accounts: Vec<SourceAccount>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One account of the backup under a display name (`match_user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceAccount {
    /// Account id on the source site.
    #[serde(default)]
    pub account_id: Option<String>,
    /// E-mail, when the backup has one.
    #[serde(default)]
    pub email: Option<String>,
    /// The user's key (Cloud: the account id; Data Center: the user key).
    #[serde(default)]
    pub key: Option<String>,
    /// The user's name (Data Center: the username; Cloud: the display name again).
    #[serde(default)]
    pub name: Option<String>,
    /// Values in the backup holding this account.
    #[serde(default)]
    pub values: u64,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A target account a user may map to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its account id.
    pub account_id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// E-mail, when the target shows it.
    #[serde(default)]
    pub email: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_user_reads_every_account_under_its_name() {
        let user: BackupUser = serde_json::from_str(
            r#"{"account_id": "a1", "display_name": "Alex Morgan", "email": null, "key": "a1",
                "accounts": [{"account_id": "a1", "email": null, "key": "a1",
                              "name": "Alex Morgan", "values": 3},
                             {"account_id": null, "email": "am@dc.example",
                              "key": "JIRAUSER10", "name": "amorgan", "values": 1}]}"#,
        )
        .unwrap();
        assert_eq!(user.accounts.len(), 2);
        assert_eq!(user.accounts[1].name.as_deref(), Some("amorgan"));
        assert_eq!(user.accounts[1].email.as_deref(), Some("am@dc.example"));
        assert_eq!(user.accounts[0].values, 3);
        assert!(user.extra.is_empty(), "accounts is a typed field");
        // Hosts before `accounts` existed: an empty list.
        let old: BackupUser = serde_json::from_str(r#"{"display_name": "Ann"}"#).unwrap();
        assert!(old.accounts.is_empty());
    }
}
