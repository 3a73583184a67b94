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

use reqwest::Method;
use serde::de::IgnoredAny;

use super::calls::{query, seg};
use super::common;
use super::http::{Auth, Mode, Request, Target};
use super::{AqlPage, AqlQuery, Core, Error, Flavor, Limits, Secret, SiteConn};
use crate::model::{
    Attachment, AttachmentUpload, Comment, CommentIn, Group, GroupPage, JiraUser, JqlPage,
    JqlRequest, ObjectSchema, SchemaConfig, SchemaConfigIn,
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

common::impl_assets_api!(DcClient, jira = JIRA, {
    fn flavor(&self) -> Flavor {
        Flavor::Dc
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

    async fn get_schema_config(&self, _schema: &str) -> Result<Option<SchemaConfig>, Error> {
        // Data Center has no `/global/config/objectschema/{id}`: nothing to back up.
        Ok(None)
    }

    async fn set_schema_config(&self, _schema: &str, _body: &SchemaConfigIn) -> Result<(), Error> {
        Err(self.not_offered("schema configuration (/global/config)"))
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

    async fn download_attachment_to(
        &self,
        attachment: &str,
        dir: &std::path::Path,
    ) -> Result<super::Download, Error> {
        let path = format!("/attachments/{}", seg(attachment));
        common::spooled_get(self, Target::Assets, &path, dir).await
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
            spool: None,
        };
        let bytes = self.transport().send(&req).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            method: Method::POST.to_string(),
            path: path.clone(),
            what: "the uploaded attachments",
            source: Some(e),
        })
    }
});

#[cfg(test)]
mod tests;
