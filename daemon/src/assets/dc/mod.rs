//! [`AssetsApi`] for Jira Service Management Data Center / Server (reference §11, §19):
//! [`DcClient`], over the same layers as the Cloud client (retry → rate → HTTP, see
//! `super::Core`), with Data Center's surface:
//!
//! - Assets at `{base_url}/rest/assets/1.0` (or the legacy `/rest/insight/1.0`), Jira REST v2
//!   at `{base_url}/rest/api/2`; no workspace;
//! - Basic (`email` or username + password or token) or a personal access token (Bearer);
//! - integer ids (kept as numbers by [`crate::model::Id`]), `{"objectschemas": [...]}`,
//!   `GET /aql/objects` with `page`/`resultPerPage` (`objectEntries`), Jira's `startAt`/`total`
//!   search, groups through the picker (there is no bulk group read);
//! - User values are Jira user keys (`JiraUser::key`), Text takes 450 characters;
//! - object comments and attachments (list, create, download, multipart upload);
//! - rate limiting off unless configured (`Limits::rate_limited`); 429s are honoured anyway.

mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::IgnoredAny;

use super::calls::{query, seg};
use super::common;
use super::http::{Auth, Mode, Request, Target};
use super::{AqlPage, AqlQuery, AssetsApi, Core, Error, Flavor, Limits, Secret, SiteConn};
use crate::model::{
    Attachment, AttachmentUpload, AttributeIn, Comment, CommentIn, Group, GroupPage, HistoryEntry,
    Icon, Issue, IssueEdit, JiraField, JiraUser, JqlPage, JqlRequest, Object, ObjectIn,
    ObjectSchema, ObjectSchemaIn, ObjectType, ObjectTypeAttribute, ObjectTypeIn,
    ObjectTypePosition, ObjectTypeUpdate, ReferenceType, ReferenceTypeIn, SchemaConfig,
    SchemaConfigIn, StatusType, StatusTypeIn,
};
use wire::{ObjectListResult, SchemaList, SearchPage, SearchRequest};

/// The current Assets REST prefix (Assets 10.x / JSM 5.x and later).
pub const ASSETS_PATH: &str = "/rest/assets/1.0";
/// The legacy Insight prefix of older servers.
pub const INSIGHT_PATH: &str = "/rest/insight/1.0";
/// Results asked per user search (Jira Data Center caps it at 1000).
const USER_SEARCH_MAX: &str = "1000";
/// Groups asked per picker call when looking groups up by name.
const GROUP_PICKER_MAX: usize = 1000;
/// Jira's REST prefix on Data Center.
const JIRA: &str = "/rest/api/2";

/// How to reach one Data Center site.
#[derive(Debug, Clone)]
pub struct DcConn {
    /// Site name from the configuration.
    pub name: String,
    /// The Jira base URL, e.g. `https://jira.example.com` (no trailing slash).
    pub base_url: String,
    /// Basic auth's user (email or username) with the token as password; `None`: the token is
    /// a personal access token sent as Bearer.
    pub email: Option<String>,
    /// Tokens (or passwords); more than one makes a credential pool.
    pub tokens: Vec<Secret>,
    /// Rate limits (off unless `rate_limited`), retries and timeouts.
    pub limits: Limits,
    /// Use the legacy `/rest/insight/1.0` prefix instead of `/rest/assets/1.0`.
    pub legacy_insight: bool,
}

/// The Data Center client of one site. Cheap to clone; clones share the layers and counters.
#[derive(Clone)]
pub struct DcClient {
    inner: Arc<Core>,
}

impl std::ops::Deref for DcClient {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.inner
    }
}

impl std::fmt::Debug for DcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DcClient")
            .field("site", &self.site().name)
            .field("api_url", &self.site().api_url)
            .field("credentials", &self.site().tokens.len())
            .finish_non_exhaustive()
    }
}

impl DcClient {
    /// Builds the client of one Data Center site.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] without tokens or with an unparsable URL; [`Error::Transport`] when
    /// the TLS backend cannot be initialised.
    pub fn new(conn: DcConn) -> Result<DcClient, Error> {
        let base = conn.base_url.trim_end_matches('/').to_owned();
        let prefix = if conn.legacy_insight {
            INSIGHT_PATH
        } else {
            ASSETS_PATH
        };
        let email = conn.email.filter(|e| !e.trim().is_empty());
        let auth = if email.is_some() {
            Auth::Basic
        } else {
            Auth::Bearer
        };
        let site = SiteConn {
            name: conn.name,
            api_url: format!("{base}{prefix}"),
            site_url: base,
            email: email.unwrap_or_default(),
            tokens: conn.tokens,
            limits: conn.limits,
        };
        Ok(DcClient {
            inner: Arc::new(Core::new(site, auth)?),
        })
    }

    fn not_offered(&self, what: &'static str) -> Error {
        Error::NotOffered {
            site: self.site().name.clone(),
            flavor: Flavor::Dc,
            what,
        }
    }

    /// Groups whose name contains `q`, through the v2 picker.
    async fn picker(&self, q: &str, max: usize) -> Result<Vec<Group>, Error> {
        common::pick_groups(self, JIRA, q, max).await
    }
}

#[async_trait]
impl AssetsApi for DcClient {
    fn site_name(&self) -> &str {
        &self.site().name
    }

    fn flavor(&self) -> Flavor {
        Flavor::Dc
    }

    fn max_concurrency(&self) -> usize {
        self.site().limits.max_concurrency.max(1)
    }

    async fn test_connection(&self) -> Result<JiraUser, Error> {
        let user = self.myself().await?;
        let _: IgnoredAny = self.get("/objectschema/list", "a schema list").await?;
        Ok(user)
    }

    async fn discover_workspace(&self) -> Result<String, Error> {
        Err(self.not_offered("an Assets workspace"))
    }

    async fn list_schemas(&self) -> Result<Vec<ObjectSchema>, Error> {
        let list: SchemaList = self.get("/objectschema/list", "a schema list").await?;
        Ok(list.objectschemas)
    }

    async fn get_schema(&self, id: &str) -> Result<ObjectSchema, Error> {
        common::get_schema(self, id).await
    }

    async fn create_schema(&self, body: &ObjectSchemaIn) -> Result<ObjectSchema, Error> {
        common::create_schema(self, body).await
    }

    async fn get_schema_config(&self, _schema: &str) -> Result<Option<SchemaConfig>, Error> {
        // Data Center has no `/global/config/objectschema/{id}`: nothing to back up.
        Ok(None)
    }

    async fn set_schema_config(&self, _schema: &str, _body: &SchemaConfigIn) -> Result<(), Error> {
        Err(self.not_offered("schema configuration (/global/config)"))
    }

    async fn list_status_types(&self, schema: Option<&str>) -> Result<Vec<StatusType>, Error> {
        common::list_status_types(self, schema).await
    }

    async fn create_status_type(&self, body: &StatusTypeIn) -> Result<StatusType, Error> {
        common::create_status_type(self, body).await
    }

    async fn list_reference_types(
        &self,
        schema: Option<&str>,
        include_global: bool,
    ) -> Result<Vec<ReferenceType>, Error> {
        common::list_reference_types(self, schema, include_global).await
    }

    async fn create_reference_type(&self, body: &ReferenceTypeIn) -> Result<ReferenceType, Error> {
        common::create_reference_type(self, body).await
    }

    async fn global_icons(&self) -> Result<Vec<Icon>, Error> {
        common::global_icons(self).await
    }

    async fn get_icon(&self, id: &str) -> Result<Icon, Error> {
        common::get_icon(self, id).await
    }

    async fn icon_png(&self, id: &str, size: u32) -> Result<Vec<u8>, Error> {
        common::icon_png(self, id, size).await
    }

    async fn list_object_types(&self, schema: &str) -> Result<Vec<ObjectType>, Error> {
        common::list_object_types(self, schema).await
    }

    async fn create_object_type(&self, body: &ObjectTypeIn) -> Result<ObjectType, Error> {
        common::create_object_type(self, body).await
    }

    async fn move_object_type(&self, id: &str, body: &ObjectTypePosition) -> Result<(), Error> {
        common::move_object_type(self, id, body).await
    }

    async fn update_object_type(&self, id: &str, body: &ObjectTypeUpdate) -> Result<(), Error> {
        common::update_object_type(self, id, body).await
    }

    async fn list_attributes(&self, object_type: &str) -> Result<Vec<ObjectTypeAttribute>, Error> {
        common::list_attributes(self, object_type).await
    }

    async fn create_attribute(
        &self,
        object_type: &str,
        body: &AttributeIn,
    ) -> Result<ObjectTypeAttribute, Error> {
        common::create_attribute(self, object_type, body).await
    }

    async fn update_attribute(
        &self,
        object_type: &str,
        id: &str,
        body: &AttributeIn,
    ) -> Result<(), Error> {
        common::update_attribute(self, object_type, id, body).await
    }

    async fn aql(&self, q: &AqlQuery<'_>) -> Result<AqlPage, Error> {
        let per_page = q.page_size.max(1);
        // Pages are numbered from 1. An offset inside a page (callers page by whole pages, so
        // only a hand-made query) fetches that page and drops what lies before the offset.
        let page = (q.start_at / per_page) as u64 + 1;
        let skip = q.start_at % per_page;
        let (page_s, per_s) = (page.to_string(), per_page.to_string());
        let include = if q.include_attributes {
            "true"
        } else {
            "false"
        };
        let path = format!(
            "/aql/objects?{}",
            query([
                ("qlQuery", q.ql),
                ("page", page_s.as_str()),
                ("resultPerPage", per_s.as_str()),
                ("includeAttributes", include),
            ])
        );
        let result: ObjectListResult = self.get(&path, "an AQL page").await?;
        let is_last = result.is_last(page, per_page);
        let mut values = result.object_entries;
        values.drain(..skip.min(values.len()));
        Ok(AqlPage {
            start_at: q.start_at,
            values,
            object_type_attributes: result.object_type_attributes,
            is_last,
        })
    }

    async fn get_object(&self, id: &str) -> Result<Object, Error> {
        common::get_object(self, id).await
    }

    async fn create_object(&self, body: &ObjectIn) -> Result<Object, Error> {
        common::create_object(self, body).await
    }

    async fn update_object(&self, id: &str, body: &ObjectIn) -> Result<(), Error> {
        common::update_object(self, id, body).await
    }

    async fn object_history(&self, id: &str) -> Result<Vec<HistoryEntry>, Error> {
        common::object_history(self, id).await
    }

    async fn myself(&self) -> Result<JiraUser, Error> {
        self.jira_get("/rest/api/2/myself", "a user").await
    }

    async fn search_users(&self, q: &str) -> Result<Vec<JiraUser>, Error> {
        let path = format!(
            "/rest/api/2/user/search?{}",
            query([("username", q), ("maxResults", USER_SEARCH_MAX)])
        );
        self.jira_get(&path, "a list of users").await
    }

    async fn users_page(&self, start_at: usize, page_size: usize) -> Result<Vec<JiraUser>, Error> {
        // `.` matches every user on Data Center; inactive ones are asked for explicitly.
        let (start, size) = (start_at.to_string(), page_size.to_string());
        let path = format!(
            "/rest/api/2/user/search?{}",
            query([
                ("username", "."),
                ("startAt", start.as_str()),
                ("maxResults", size.as_str()),
                ("includeActive", "true"),
                ("includeInactive", "true"),
            ])
        );
        self.jira_get(&path, "a list of users").await
    }

    async fn pick_groups(&self, q: &str, max: usize) -> Result<Vec<Group>, Error> {
        self.picker(q, max).await
    }

    async fn groups_page(
        &self,
        names: &[String],
        start_at: usize,
        _page_size: usize,
    ) -> Result<GroupPage, Error> {
        // No bulk read on Data Center: the picker per name (exact matches kept), or the whole
        // picker list for "every group". One page holds everything.
        let mut values = Vec::new();
        if start_at == 0 {
            if names.is_empty() {
                values = self.picker("", GROUP_PICKER_MAX).await?;
            } else {
                for name in names {
                    let found = self.picker(name, GROUP_PICKER_MAX).await?;
                    values.extend(found.into_iter().filter(|g| &g.name == name));
                }
            }
        }
        Ok(GroupPage {
            max_results: Some(values.len() as u64),
            start_at: Some(start_at as u64),
            total: Some(values.len() as u64),
            is_last: Some(true),
            values,
        })
    }

    async fn fields(&self) -> Result<Vec<JiraField>, Error> {
        common::fields(self, JIRA).await
    }

    async fn jql(&self, request: &JqlRequest) -> Result<JqlPage, Error> {
        // Data Center pages by offset: the page token is the next offset.
        let start_at = match request.next_page_token.as_deref() {
            None => 0,
            Some(t) => t
                .parse::<u64>()
                .map_err(|_| Error::Config(format!("{t:?} is not a Data Center search offset")))?,
        };
        let body = SearchRequest {
            jql: &request.jql,
            fields: &request.fields,
            start_at,
            max_results: request.max_results.max(1),
        };
        let page: SearchPage = self
            .call(
                Method::POST,
                Target::Jira,
                "/rest/api/2/search",
                Some(&body),
                Mode::Idempotent,
                "a search page",
            )
            .await?;
        let next = page.start_at + page.issues.len() as u64;
        let is_last = page.issues.is_empty() || page.total.is_none_or(|t| next >= t);
        Ok(JqlPage {
            issues: page.issues,
            next_page_token: (!is_last).then(|| next.to_string()),
            is_last: Some(is_last),
        })
    }

    async fn get_issue(&self, key: &str, fields: &[String]) -> Result<Issue, Error> {
        common::get_issue(self, JIRA, key, fields).await
    }

    async fn edit_issue(&self, key: &str, body: &IssueEdit) -> Result<(), Error> {
        common::edit_issue(self, JIRA, key, body).await
    }

    async fn list_comments(&self, object: &str) -> Result<Vec<Comment>, Error> {
        let path = format!("/comment/object/{}?asc=true", seg(object));
        self.get(&path, "a list of comments").await
    }

    async fn create_comment(&self, body: &CommentIn) -> Result<Comment, Error> {
        self.create("/comment/create", body, "the created comment")
            .await
    }

    async fn list_attachments(&self, object: &str) -> Result<Vec<Attachment>, Error> {
        let path = format!("/attachments/object/{}", seg(object));
        self.get(&path, "a list of attachments").await
    }

    async fn download_attachment(&self, attachment: &str) -> Result<Vec<u8>, Error> {
        let path = format!("/attachments/{}", seg(attachment));
        common::raw_get(self, Target::Assets, &path).await
    }

    async fn upload_attachment(
        &self,
        object: &str,
        file: &AttachmentUpload,
    ) -> Result<Vec<Attachment>, Error> {
        let path = format!("/attachments/object/{}", seg(object));
        let boundary = wire::boundary_for(&file.bytes);
        let (body, content_type) = wire::multipart(file, &boundary);
        let req = Request {
            method: Method::POST,
            target: Target::Assets,
            path: &path,
            body: Some(body.into()),
            mode: Mode::Once,
            accept: super::http::JSON,
            content_type: Some(&content_type),
        };
        let bytes = self.transport().send(&req).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            method: Method::POST.to_string(),
            path: path.clone(),
            what: "the uploaded attachments",
            source: Some(e),
        })
    }
}

#[cfg(test)]
mod tests;
