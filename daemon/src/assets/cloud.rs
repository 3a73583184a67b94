//! [`AssetsApi`] for Assets Cloud: the only place that knows Cloud's paths, query parameters,
//! paging shapes and which writes are not idempotent. Each method builds a request and sends
//! it through the client's layers (retry → rate → HTTP) with the helpers of `calls`, which
//! decode the typed answer.

use reqwest::Method;
use serde::Serialize;
use serde::de::IgnoredAny;

use super::calls::{query, seg};
use super::common;
use super::http::{Mode, Target};
use super::{AqlPage, AqlQuery, AssetsClient, Error, Flavor};
use crate::model::{
    AqlResponse, Attachment, AttachmentUpload, Comment, CommentIn, GroupPage, JiraUser, JqlPage,
    JqlRequest, ObjectSchema, SchemaConfig, SchemaConfigIn, SchemaPage, WorkspacePage,
};

/// Page size of the schema list (the API default is 25; fewer round trips for big sites).
const SCHEMA_PAGE: usize = 50;
/// Page size of workspace discovery.
const WORKSPACE_PAGE: usize = 50;
/// Results asked per user search; Jira caps user search at 1000.
const USER_SEARCH_MAX: &str = "1000";
/// Jira's REST prefix on Cloud.
const JIRA: &str = "/rest/api/3";
const MYSELF: &str = "/rest/api/3/myself";

common::impl_assets_api!(AssetsClient, jira = JIRA, {
    fn flavor(&self) -> Flavor {
        Flavor::Cloud
    }

    async fn test_connection(&self) -> Result<JiraUser, Error> {
        let user = self.myself().await?;
        let _: IgnoredAny = self
            .get("/objectschema/list?startAt=0&maxResults=1", "a schema list")
            .await?;
        Ok(user)
    }

    async fn discover_workspace(&self) -> Result<String, Error> {
        let mut start = 0usize;
        loop {
            let path = format!(
                "/rest/servicedeskapi/assets/workspace?start={start}&limit={WORKSPACE_PAGE}"
            );
            let page: WorkspacePage = self.jira_get(&path, "a workspace page").await?;
            if let Some(ws) = page.values.iter().find_map(|v| v.workspace_id.clone()) {
                return Ok(ws);
            }
            if page.is_last_page.unwrap_or(true) || page.values.is_empty() {
                return Err(Error::Config(format!(
                    "site {:?} has no Assets workspace",
                    self.site().name
                )));
            }
            start += page.values.len();
        }
    }

    async fn list_schemas(&self) -> Result<Vec<ObjectSchema>, Error> {
        let mut out = Vec::new();
        let mut start = 0usize;
        loop {
            let path = format!(
                "/objectschema/list?startAt={start}&maxResults={SCHEMA_PAGE}&includeCounts=true"
            );
            let page: SchemaPage = self.get(&path, "a schema list page").await?;
            let n = page.values.len();
            out.extend(page.values);
            // Loop on isLast, never on total; an empty page also ends (defensive).
            if page.is_last.unwrap_or(n < SCHEMA_PAGE) || n == 0 {
                return Ok(out);
            }
            start += n;
        }
    }

    async fn get_schema_config(&self, schema: &str) -> Result<Option<SchemaConfig>, Error> {
        let path = format!("/global/config/objectschema/{}", seg(schema));
        self.get(&path, "a schema configuration").await
    }

    async fn set_schema_config(&self, schema: &str, body: &SchemaConfigIn) -> Result<(), Error> {
        let path = format!("/global/config/objectschema/{}/property", seg(schema));
        // Idempotent (the same body twice gives the same state), so plainly retried.
        self.send(
            Method::POST,
            Target::Assets,
            &path,
            Some(body),
            Mode::Idempotent,
        )
        .await
        .map(drop)
    }

    async fn aql(&self, q: &AqlQuery<'_>) -> Result<AqlPage, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            ql_query: &'a str,
        }
        let page_size = q.page_size.max(1);
        let path = format!(
            "/object/aql?startAt={}&maxResults={page_size}&includeAttributes={}",
            q.start_at, q.include_attributes
        );
        // A search: retried like a read.
        let page: AqlResponse = self
            .call(
                Method::POST,
                Target::Assets,
                &path,
                Some(&Body { ql_query: q.ql }),
                Mode::Idempotent,
                "an AQL page",
            )
            .await?;
        let n = page.values.len();
        // `isLast` (or its twin `last`) decides; an empty page ends too, so a server that
        // never says "last" cannot loop us forever.
        let is_last = page.is_last.or(page.last).unwrap_or(n < page_size) || n == 0;
        Ok(AqlPage {
            start_at: q.start_at,
            values: page.values,
            object_type_attributes: page.object_type_attributes,
            is_last,
        })
    }

    async fn myself(&self) -> Result<JiraUser, Error> {
        self.jira_get(MYSELF, "a user").await
    }

    async fn search_users(&self, q: &str) -> Result<Vec<JiraUser>, Error> {
        let path = format!(
            "/rest/api/3/user/search?{}",
            query([("query", q), ("maxResults", USER_SEARCH_MAX)])
        );
        self.jira_get(&path, "a list of users").await
    }

    async fn users_page(&self, start_at: usize, page_size: usize) -> Result<Vec<JiraUser>, Error> {
        let path = format!("/rest/api/3/users/search?startAt={start_at}&maxResults={page_size}");
        self.jira_get(&path, "a list of users").await
    }

    async fn groups_page(
        &self,
        names: &[String],
        start_at: usize,
        page_size: usize,
    ) -> Result<GroupPage, Error> {
        let (start, size) = (start_at.to_string(), page_size.to_string());
        let params = [("startAt", start.as_str()), ("maxResults", size.as_str())]
            .into_iter()
            .chain(names.iter().map(|n| ("groupName", n.as_str())));
        let path = format!("/rest/api/3/group/bulk?{}", query(params));
        self.jira_get(&path, "a page of groups").await
    }

    async fn jql(&self, request: &JqlRequest) -> Result<JqlPage, Error> {
        // A search: retried like a read.
        self.call(
            Method::POST,
            Target::Jira,
            "/rest/api/3/search/jql",
            Some(request),
            Mode::Idempotent,
            "a search page",
        )
        .await
    }

    async fn list_comments(&self, _object: &str) -> Result<Vec<Comment>, Error> {
        Err(self.not_offered("object comments"))
    }

    async fn create_comment(&self, _body: &CommentIn) -> Result<Comment, Error> {
        Err(self.not_offered("object comments"))
    }

    async fn list_attachments(&self, _object: &str) -> Result<Vec<Attachment>, Error> {
        Err(self.not_offered("object attachments"))
    }

    async fn download_attachment(&self, _attachment: &str) -> Result<Vec<u8>, Error> {
        Err(self.not_offered("object attachments"))
    }

    async fn download_attachment_to(
        &self,
        _attachment: &str,
        _dir: &std::path::Path,
    ) -> Result<super::Download, Error> {
        Err(self.not_offered("object attachments"))
    }

    async fn upload_attachment(
        &self,
        _object: &str,
        _file: &AttachmentUpload,
    ) -> Result<Vec<Attachment>, Error> {
        Err(self.not_offered("object attachments"))
    }
});

impl AssetsClient {
    /// Assets Cloud has no comment or attachment endpoints (reference §11): nothing is sent.
    fn not_offered(&self, what: &'static str) -> Error {
        Error::NotOffered {
            site: self.site().name.clone(),
            flavor: Flavor::Cloud,
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::AssetsApi;

    #[test]
    fn path_segments_and_queries_are_encoded() {
        assert_eq!(seg("123"), "123");
        assert_eq!(seg("ITSM-12"), "ITSM-12");
        assert_eq!(seg("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(
            query([("query", "Diego Hernández & Co"), ("maxResults", "1000")]),
            "query=Diego+Hern%C3%A1ndez+%26+Co&maxResults=1000"
        );
    }

    #[tokio::test]
    async fn comments_and_attachments_are_not_offered_without_a_request() {
        // An address nothing listens on: a request sent would be a transport error.
        let client = AssetsClient::new(crate::assets::SiteConn {
            name: "c".into(),
            api_url: "http://127.0.0.1:9/v1".into(),
            site_url: "http://127.0.0.1:9".into(),
            email: "a@b".into(),
            tokens: vec!["t".into()],
            limits: crate::assets::Limits::default(),
        })
        .unwrap();
        assert_eq!(client.flavor(), Flavor::Cloud);
        let e = client.list_comments("1").await.unwrap_err();
        assert!(e.is_not_offered() && !e.is_retryable(), "{e:?}");
        assert_eq!(
            e.to_string(),
            "site \"c\": object comments not offered by the Assets Cloud API"
        );
        let upload = AttachmentUpload {
            filename: "a.txt".into(),
            mime_type: "text/plain".into(),
            bytes: b"x".to_vec(),
            comment: String::new(),
        };
        assert!(
            client
                .upload_attachment("1", &upload)
                .await
                .unwrap_err()
                .is_not_offered()
        );
        assert!(
            client
                .download_attachment("1")
                .await
                .unwrap_err()
                .is_not_offered()
        );
        assert_eq!(client.stats().sent.values().sum::<u64>(), 0);
    }
}
