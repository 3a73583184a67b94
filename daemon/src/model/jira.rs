//! The Jira side of a site (reference §1.2, §18): users ([`JiraUser`]; user search and the
//! users directory), groups (the picker and the bulk page), fields, issues and enhanced-search
//! pages, the issue edit that sets Assets fields, and workspace discovery.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Extra, Id, Nullable};

/// A Jira user (`/myself`, `/user/search`, `/users/search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraUser {
    /// The user resource.
    #[serde(default, rename = "self", skip_serializing_if = "Nullable::is_absent")]
    pub self_url: Nullable<String>,
    /// Account id (Cloud).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub account_id: Nullable<String>,
    /// `atlassian`, `app`, `customer` or `unknown`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub account_type: Nullable<String>,
    /// User key (Data Center).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub key: Nullable<String>,
    /// User name (Data Center).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub name: Nullable<String>,
    /// Email, when the profile shows it.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub email_address: Nullable<String>,
    /// Avatar URLs by size.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub avatar_urls: Nullable<BTreeMap<String, String>>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub display_name: Nullable<String>,
    /// Whether the account is active.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub active: Nullable<bool>,
    /// Time zone.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub time_zone: Nullable<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub locale: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl JiraUser {
    /// The id a User attribute value takes on this site: the account id (Cloud), else the user
    /// key (Data Center).
    pub fn id(&self) -> Option<&str> {
        self.account_id.non_empty().or_else(|| self.key.non_empty())
    }

    /// The display name (empty when missing).
    pub fn display_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or("")
    }

    /// Whether the account is inactive (`active: false`); unknown counts as active.
    pub fn is_inactive(&self) -> bool {
        matches!(self.active, Nullable::Value(false))
    }
}

/// `GET /rest/api/3/groups/picker`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPicker {
    /// "Showing 2 of 2 matching groups".
    #[serde(default)]
    pub header: Option<String>,
    /// Matching groups in all.
    #[serde(default)]
    pub total: Option<u64>,
    /// The groups shown.
    #[serde(default)]
    pub groups: Vec<Group>,
}

/// A Jira group (picker and bulk results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Group name (what Group attribute values hold).
    pub name: String,
    /// Group id.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub group_id: Nullable<String>,
    /// The name with the match highlighted (picker).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub html: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One page of `GET /rest/api/3/group/bulk` (`startAt`/`maxResults`, a PageBean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPage {
    /// Page size asked for.
    #[serde(default)]
    pub max_results: Option<u64>,
    /// Offset of the first group.
    #[serde(default)]
    pub start_at: Option<u64>,
    /// Groups in all.
    #[serde(default)]
    pub total: Option<u64>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last: Option<bool>,
    /// The groups.
    #[serde(default)]
    pub values: Vec<Group>,
}

/// A Jira field (`GET /rest/api/3/field`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraField {
    /// Field id (`summary`, `customfield_10191`).
    pub id: String,
    /// Field key.
    #[serde(default)]
    pub key: Option<String>,
    /// Display name (what JQL's `aqlFunction` needs).
    #[serde(default)]
    pub name: Option<String>,
    /// Whether it is a custom field.
    #[serde(default)]
    pub custom: Option<bool>,
    /// Its schema.
    #[serde(default)]
    pub schema: Option<FieldSchema>,
}

/// `schema` of a Jira field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSchema {
    /// Value type (`array`, `string` ...).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Item type of arrays.
    #[serde(default)]
    pub items: Option<String>,
    /// The custom field type key.
    #[serde(default)]
    pub custom: Option<String>,
    /// The custom field's number.
    #[serde(default)]
    pub custom_id: Option<i64>,
}

/// `schema.custom` of Jira fields that hold Assets objects.
pub const CMDB_FIELD_TYPE: &str = "com.atlassian.jira.plugins.cmdb:cmdb-object-cftype";
/// The same on Data Center, which keeps the Insight plugin's type key (reference §18.3).
pub const INSIGHT_FIELD_TYPE: &str =
    "com.riadalabs.jira.plugins.insight:rlabs-customfield-default-object";

impl JiraField {
    /// Whether it is an Assets objects field (Cloud's or Data Center's type).
    pub fn is_assets(&self) -> bool {
        self.schema
            .as_ref()
            .and_then(|s| s.custom.as_deref())
            .is_some_and(|c| c == CMDB_FIELD_TYPE || c == INSIGHT_FIELD_TYPE)
    }
}

/// An issue of a search page or `GET /issue/{key}`. Field values stay JSON: Jira fields are
/// open-ended; [`Issue::assets_refs`] reads an Assets field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// Issue id.
    pub id: Id,
    /// Issue key.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub key: Nullable<String>,
    /// The issue resource.
    #[serde(default, rename = "self", skip_serializing_if = "Nullable::is_absent")]
    pub self_url: Nullable<String>,
    /// Requested fields by id.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Issue {
    /// The objects an Assets field points at (none when the field is empty or not there).
    ///
    /// # Errors
    ///
    /// When the field holds something else than Assets object descriptors.
    pub fn assets_refs(&self, field: &str) -> Result<Vec<AssetsFieldValue>, serde_json::Error> {
        match self.fields.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(v) => Vec::<AssetsFieldValue>::deserialize(v),
        }
    }
}

/// An Assets object in an issue field: `{workspaceId, id (= globalId), objectId}` on Cloud,
/// `{key}` (the object key) on Data Center (reference §18.4, §19).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetsFieldValue {
    /// The Assets workspace.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub workspace_id: Nullable<String>,
    /// `"<workspaceId>:<objectId>"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub id: Nullable<String>,
    /// The object.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_id: Nullable<Id>,
    /// The object key (Data Center's form).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub key: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /rest/api/3/search/jql`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JqlRequest {
    /// The query.
    pub jql: String,
    /// Fields to return.
    pub fields: Vec<String>,
    /// Page size.
    pub max_results: usize,
    /// Where the previous page ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// One page of the enhanced search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JqlPage {
    /// The issues.
    pub issues: Vec<Issue>,
    /// Token of the next page; absent or null on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last: Option<bool>,
}

/// `PUT /rest/api/3/issue/{key}` setting Assets fields (the `fields` form: the whole value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueEdit {
    /// Field id -> the objects it should hold.
    pub fields: BTreeMap<String, Vec<AssetsFieldValue>>,
}

/// One page of workspace discovery (JSM `start`/`limit` paging).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspacePage {
    /// Offset of the first entry.
    #[serde(default)]
    pub start: Option<u64>,
    /// Page size.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Entries on this page.
    #[serde(default)]
    pub size: Option<u64>,
    /// Whether this is the last page.
    #[serde(default)]
    pub is_last_page: Option<bool>,
    /// The workspaces.
    pub values: Vec<Workspace>,
}

/// An Assets workspace of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    /// Its id.
    #[serde(default)]
    pub workspace_id: Option<String>,
}

/// An issue as a backup stores it (objects-in-issues phase): `{"key", "id", "fields"}` with
/// the value of every Assets field that points at the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredIssue {
    /// Issue key (`null` when the search did not return one).
    #[serde(default)]
    pub key: Option<String>,
    /// Issue id.
    pub id: String,
    /// Assets field id -> its value as the search returned it.
    pub fields: BTreeMap<String, Value>,
}
