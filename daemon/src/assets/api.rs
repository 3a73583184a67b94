//! [`AssetsApi`]: the one boundary between the daemon and a site. Backup, restore (and later
//! tasks and plugins) see a site only through it, as `&dyn AssetsApi` / `Arc<dyn AssetsApi>`,
//! with typed values of [`crate::model`] in and out. [`super::AssetsClient`] is the Assets
//! Cloud implementation, [`super::DcClient`] the Data Center one.
//!
//! What stays out of the trait: paths, auth, paging styles, rate limits and retries (each
//! implementation's own business), and Cloud's string ids (ids are `&str` and
//! [`crate::model::Id`], which an integer-id site fills as well). The short lists the daemon
//! reads whole (schemas) come complete; the others are page methods, walked by the pagers of
//! [`super::paging`].

use async_trait::async_trait;

use super::{Error, Flavor};
use crate::model::{
    Attachment, AttachmentUpload, AttributeIn, Comment, CommentIn, Group, GroupPage, HistoryEntry,
    Icon, Issue, IssueEdit, JiraField, JiraUser, JqlPage, JqlRequest, Object, ObjectIn,
    ObjectSchema, ObjectSchemaIn, ObjectType, ObjectTypeAttribute, ObjectTypeIn,
    ObjectTypePosition, ObjectTypeUpdate, ReferenceType, ReferenceTypeIn, SchemaConfig,
    SchemaConfigIn, StatusType, StatusTypeIn,
};

/// One page of an AQL search, in the implementation-neutral form the pagers use.
#[derive(Debug, Clone, PartialEq)]
pub struct AqlPage {
    /// Offset of the first object of this page.
    pub start_at: usize,
    /// Objects (with their attribute values when asked for).
    pub values: Vec<Object>,
    /// Definitions of the attributes present on this page.
    pub object_type_attributes: Vec<ObjectTypeAttribute>,
    /// Whether this is the last page.
    pub is_last: bool,
}

/// What an AQL page request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AqlQuery<'a> {
    /// The AQL.
    pub ql: &'a str,
    /// Offset of the first object.
    pub start_at: usize,
    /// Objects per page.
    pub page_size: usize,
    /// Whether objects come with their attribute values.
    pub include_attributes: bool,
}

/// A site, typed. Every method is one logical request (retried, rate-limited and paged by the
/// implementation) unless its doc says otherwise.
///
/// Errors are [`Error`]s: permanent or temporary ([`Error::is_retryable`]), with the API's
/// status and body; writes that may or may not have been applied are [`Error::Ambiguous`].
#[async_trait]
pub trait AssetsApi: Send + Sync + std::fmt::Debug {
    /// The site's name (from the configuration).
    fn site_name(&self) -> &str;

    /// Which product the site runs (what it offers: comments and attachments only on Data
    /// Center; its Text limit: [`Flavor::text_max_chars`]).
    fn flavor(&self) -> Flavor;

    /// Requests worth keeping outstanding at once: the upper bound of the site's concurrency
    /// (the implementation's own limit decides how many actually fly).
    fn max_concurrency(&self) -> usize;

    /// Checks credentials on both sides (Jira and Assets); returns the Jira user.
    async fn test_connection(&self) -> Result<JiraUser, Error>;

    /// The site's Assets workspace id ([`Error::Config`] when it has none).
    async fn discover_workspace(&self) -> Result<String, Error>;

    /// Every schema of the site, with object counts (all pages).
    async fn list_schemas(&self) -> Result<Vec<ObjectSchema>, Error>;

    /// One schema.
    async fn get_schema(&self, id: &str) -> Result<ObjectSchema, Error>;

    /// Creates a schema (not repeated when its outcome is unknown: [`Error::Ambiguous`]).
    async fn create_schema(&self, body: &ObjectSchemaIn) -> Result<ObjectSchema, Error>;

    /// A schema's configuration (`None` when the API answers with an empty body).
    async fn get_schema_config(&self, schema: &str) -> Result<Option<SchemaConfig>, Error>;

    /// Sets a schema's configuration (idempotent).
    async fn set_schema_config(&self, schema: &str, body: &SchemaConfigIn) -> Result<(), Error>;

    /// Status types: the global ones (`schema` `None`) or a schema's own.
    async fn list_status_types(&self, schema: Option<&str>) -> Result<Vec<StatusType>, Error>;

    /// Creates a status type (once).
    async fn create_status_type(&self, body: &StatusTypeIn) -> Result<StatusType, Error>;

    /// Reference types: the global ones (`schema` `None`), a schema's own, or with
    /// `include_global` a schema's own and the global ones in one list.
    async fn list_reference_types(
        &self,
        schema: Option<&str>,
        include_global: bool,
    ) -> Result<Vec<ReferenceType>, Error>;

    /// Creates a reference type (once).
    async fn create_reference_type(&self, body: &ReferenceTypeIn) -> Result<ReferenceType, Error>;

    /// The site's global icons.
    async fn global_icons(&self) -> Result<Vec<Icon>, Error>;

    /// One icon.
    async fn get_icon(&self, id: &str) -> Result<Icon, Error>;

    /// An icon's PNG image, `size` pixels square.
    async fn icon_png(&self, id: &str, size: u32) -> Result<Vec<u8>, Error>;

    /// A schema's object types, flat (hierarchy through `parentObjectTypeId`).
    async fn list_object_types(&self, schema: &str) -> Result<Vec<ObjectType>, Error>;

    /// Creates an object type (once).
    async fn create_object_type(&self, body: &ObjectTypeIn) -> Result<ObjectType, Error>;

    /// Moves an object type under a parent and to a position (the response is not read).
    async fn move_object_type(&self, id: &str, body: &ObjectTypePosition) -> Result<(), Error>;

    /// Changes the fields of an object type present in `body` (idempotent; the response is
    /// not read).
    async fn update_object_type(&self, id: &str, body: &ObjectTypeUpdate) -> Result<(), Error>;

    /// An object type's own attributes (inherited ones excluded: they belong to the parent).
    async fn list_attributes(&self, object_type: &str) -> Result<Vec<ObjectTypeAttribute>, Error>;

    /// Creates an attribute on an object type (once).
    async fn create_attribute(
        &self,
        object_type: &str,
        body: &AttributeIn,
    ) -> Result<ObjectTypeAttribute, Error>;

    /// Updates an attribute's configuration (idempotent; the response is not read).
    async fn update_attribute(
        &self,
        object_type: &str,
        id: &str,
        body: &AttributeIn,
    ) -> Result<(), Error>;

    /// One page of an AQL search (retried like a read).
    async fn aql(&self, query: &AqlQuery<'_>) -> Result<AqlPage, Error>;

    /// One object with its attributes.
    async fn get_object(&self, id: &str) -> Result<Object, Error>;

    /// Creates an object (once); the result carries the new id.
    async fn create_object(&self, body: &ObjectIn) -> Result<Object, Error>;

    /// Sets the listed attributes of an object (idempotent; the response is not read).
    async fn update_object(&self, id: &str, body: &ObjectIn) -> Result<(), Error>;

    /// An object's history, oldest first.
    async fn object_history(&self, id: &str) -> Result<Vec<HistoryEntry>, Error>;

    /// The Jira user of the credentials.
    async fn myself(&self) -> Result<JiraUser, Error>;

    /// Users matching `query` (display name or email, fuzzy; at most 1,000).
    async fn search_users(&self, query: &str) -> Result<Vec<JiraUser>, Error>;

    /// One page of the users directory (every account, active or not); a page shorter than
    /// `page_size` is the last.
    async fn users_page(&self, start_at: usize, page_size: usize) -> Result<Vec<JiraUser>, Error>;

    /// Groups whose name contains `query` (a picker: at most `max` of them).
    async fn pick_groups(&self, query: &str, max: usize) -> Result<Vec<Group>, Error>;

    /// One page of the groups with exactly these names (every group when `names` is empty);
    /// names the site lacks are left out.
    async fn groups_page(
        &self,
        names: &[String],
        start_at: usize,
        page_size: usize,
    ) -> Result<GroupPage, Error>;

    /// Every Jira field.
    async fn fields(&self) -> Result<Vec<JiraField>, Error>;

    /// One page of a JQL search (retried like a read).
    async fn jql(&self, request: &JqlRequest) -> Result<JqlPage, Error>;

    /// One issue with the fields asked for (`Error::Api` with 404 when the site has no such
    /// issue).
    async fn get_issue(&self, key: &str, fields: &[String]) -> Result<Issue, Error>;

    /// Sets fields of an issue (idempotent).
    async fn edit_issue(&self, key: &str, body: &IssueEdit) -> Result<(), Error>;

    /// An object's comments, oldest first ([`Error::NotOffered`] on Assets Cloud).
    async fn list_comments(&self, object: &str) -> Result<Vec<Comment>, Error>;

    /// Adds a comment to an object, as the site's account (once; [`Error::NotOffered`] on
    /// Assets Cloud).
    async fn create_comment(&self, body: &CommentIn) -> Result<Comment, Error>;

    /// An object's attachments ([`Error::NotOffered`] on Assets Cloud).
    async fn list_attachments(&self, object: &str) -> Result<Vec<Attachment>, Error>;

    /// The bytes of an attachment, in memory ([`Error::NotOffered`] on Assets Cloud).
    async fn download_attachment(&self, attachment: &str) -> Result<Vec<u8>, Error>;

    /// An attachment as it streams in: its length and SHA-256, the bytes in memory when small
    /// and in an unnamed temporary file in `dir` otherwise, so a large one is never held
    /// ([`Error::NotOffered`] on Assets Cloud).
    async fn download_attachment_to(
        &self,
        attachment: &str,
        dir: &std::path::Path,
    ) -> Result<super::Download, Error>;

    /// Attaches a file to an object (multipart, once); answers the new attachments
    /// ([`Error::NotOffered`] on Assets Cloud).
    async fn upload_attachment(
        &self,
        object: &str,
        file: &AttachmentUpload,
    ) -> Result<Vec<Attachment>, Error>;
}
