//! The `attachments` capability, host side: the wire messages of the `assetark.attachments`
//! import (mirrored by `plugins/sdk/src/attachments.rs`) and the narrow site interface they
//! run against ([`AttachmentSite`], reached by name through a [`SiteLookup`]), so the WASM host
//! depends on "a site that has attachments", not on the whole Assets client.
//!
//! Transfers go through the sites' governed clients: their rate limits, concurrency limits and
//! retries apply to plugin traffic exactly as to the restore's own.

use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::assets::{self, AssetsApi};
use crate::error::error_chain;
use crate::model::{Attachment, AttachmentUpload};

/// A site whose attachments a plugin may use.
#[async_trait::async_trait]
pub trait AttachmentSite: Send + Sync {
    /// An object's attachments.
    async fn list(&self, object_id: &str) -> Result<Vec<AttachmentInfo>, AttachmentError>;
    /// One attachment's bytes.
    async fn download(&self, attachment_id: &str) -> Result<Vec<u8>, AttachmentError>;
    /// Attaches a file to an object; the new attachment.
    async fn upload(
        &self,
        object_id: &str,
        file: NewAttachment,
    ) -> Result<AttachmentInfo, AttachmentError>;
}

/// Sites by name (the daemon's site registry).
pub trait SiteLookup: Send + Sync {
    /// The site called `name`, when the daemon knows it.
    fn attachment_site(&self, name: &str) -> Option<Arc<dyn AttachmentSite>>;
}

/// Why an attachment call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// The site's API has no attachments (Assets Cloud). Permanent; nothing was sent.
    #[error("{message}")]
    NotOffered {
        /// Which site and why, in words.
        message: String,
    },
    /// The site answered with an error or could not be reached.
    #[error("{message}")]
    Failed {
        /// The error chain, with the API's status and body.
        message: String,
    },
}

/// An attachment, as plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// Its id on its site.
    pub id: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    pub size_bytes: Option<u64>,
    /// Its comment.
    pub comment: Option<String>,
}

/// A file to attach.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAttachment")
            .field("filename", &self.filename)
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Which end of the restore a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum End {
    Source,
    Target,
}

/// A plugin's request.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Request {
    List {
        site: End,
        object_id: String,
    },
    Fetch {
        site: End,
        attachment_id: String,
    },
    Upload {
        site: End,
        object_id: String,
        filename: String,
        #[serde(default)]
        mime_type: Option<String>,
        #[serde(default)]
        comment: Option<String>,
        content_base64: String,
    },
}

impl Request {
    fn end(&self) -> End {
        match self {
            Request::List { site, .. }
            | Request::Fetch { site, .. }
            | Request::Upload { site, .. } => *site,
        }
    }
}

/// The host's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Reply {
    List(Vec<AttachmentInfo>),
    Fetch { content_base64: String },
    Upload(AttachmentInfo),
    Error(ReplyError),
}

/// A failed call, as the plugin sees it.
#[derive(Debug, Serialize)]
pub(super) struct ReplyError {
    kind: ErrorKind,
    message: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ErrorKind {
    NotOffered,
    NoSite,
    Failed,
    Limit,
    Invalid,
}

impl Reply {
    pub(super) fn error(kind: ErrorKind, message: impl Into<String>) -> Reply {
        Reply::Error(ReplyError {
            kind,
            message: message.into(),
        })
    }
}

/// What one call needs to reach its restore's sites.
pub struct Sites {
    /// The daemon's sites (`None`: not connected; every request answers `no_site`).
    pub lookup: Option<Arc<dyn SiteLookup>>,
    /// The restore's source site.
    pub source: String,
    /// The restore's target site.
    pub target: String,
    /// The runtime the transfers run on (the call itself runs on a blocking thread).
    pub runtime: Option<tokio::runtime::Handle>,
}

impl Sites {
    /// Runs one request to the end (blocking the calling thread, which is a blocking-pool
    /// thread: the hook call runs under `spawn_blocking`).
    pub(super) fn serve(&self, bytes: &[u8], max_bytes: usize) -> Reply {
        let request: Request = match serde_json::from_slice(bytes) {
            Ok(r) => r,
            Err(e) => return Reply::error(ErrorKind::Invalid, format!("request: {e}")),
        };
        let name = match request.end() {
            End::Source => &self.source,
            End::Target => &self.target,
        };
        let Some(site) = self.lookup.as_ref().and_then(|l| l.attachment_site(name)) else {
            return Reply::error(
                ErrorKind::NoSite,
                format!("site {name:?} is not configured in this daemon"),
            );
        };
        let Some(runtime) = &self.runtime else {
            return Reply::error(ErrorKind::Failed, "no runtime to reach the site from");
        };
        let outcome = runtime.block_on(run(site.as_ref(), request, max_bytes));
        match outcome {
            Ok(reply) => reply,
            Err(AttachmentError::NotOffered { message }) => {
                Reply::error(ErrorKind::NotOffered, message)
            }
            Err(AttachmentError::Failed { message }) => Reply::error(ErrorKind::Failed, message),
        }
    }
}

async fn run(
    site: &dyn AttachmentSite,
    request: Request,
    max_bytes: usize,
) -> Result<Reply, AttachmentError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(match request {
        Request::List { object_id, .. } => Reply::List(site.list(&object_id).await?),
        Request::Fetch { attachment_id, .. } => {
            let bytes = site.download(&attachment_id).await?;
            // base64 grows the content by a third; the reply must fit the limit.
            if bytes.len().div_ceil(3) * 4 > max_bytes {
                return Ok(Reply::error(
                    ErrorKind::Limit,
                    format!(
                        "attachment {attachment_id} has {} bytes, more than a plugin may take \
                         ({max_bytes} bytes base64)",
                        bytes.len()
                    ),
                ));
            }
            Reply::Fetch {
                content_base64: b64.encode(bytes),
            }
        }
        Request::Upload {
            object_id,
            filename,
            mime_type,
            comment,
            content_base64,
            ..
        } => {
            let bytes = match b64.decode(content_base64) {
                Ok(b) => b,
                Err(e) => {
                    return Ok(Reply::error(
                        ErrorKind::Invalid,
                        format!("content_base64: {e}"),
                    ));
                }
            };
            let file = NewAttachment {
                filename,
                mime_type,
                comment,
                bytes,
            };
            Reply::Upload(site.upload(&object_id, file).await?)
        }
    })
}

/// A site through its Assets client (the governed client the restore uses too).
#[derive(Debug)]
pub struct ApiSite(pub Arc<dyn AssetsApi>);

fn from_assets(e: assets::Error) -> AttachmentError {
    if e.is_not_offered() {
        AttachmentError::NotOffered {
            message: e.to_string(),
        }
    } else {
        AttachmentError::Failed {
            message: error_chain(&e),
        }
    }
}

fn info(a: Attachment) -> AttachmentInfo {
    AttachmentInfo {
        id: a.id.as_str().to_owned(),
        filename: a.filename.as_deref().unwrap_or_default().to_owned(),
        mime_type: a.mime_type.as_deref().map(str::to_owned),
        // The API gives the size only as display text ("4.9 kB").
        size_bytes: None,
        comment: a.comment.as_deref().map(str::to_owned),
    }
}

#[async_trait::async_trait]
impl AttachmentSite for ApiSite {
    async fn list(&self, object_id: &str) -> Result<Vec<AttachmentInfo>, AttachmentError> {
        let found = self
            .0
            .list_attachments(object_id)
            .await
            .map_err(from_assets)?;
        Ok(found.into_iter().map(info).collect())
    }

    async fn download(&self, attachment_id: &str) -> Result<Vec<u8>, AttachmentError> {
        self.0
            .download_attachment(attachment_id)
            .await
            .map_err(from_assets)
    }

    async fn upload(
        &self,
        object_id: &str,
        file: NewAttachment,
    ) -> Result<AttachmentInfo, AttachmentError> {
        let upload = AttachmentUpload {
            filename: file.filename,
            mime_type: file
                .mime_type
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            bytes: file.bytes,
            comment: file.comment.unwrap_or_default(),
        };
        let created = self
            .0
            .upload_attachment(object_id, &upload)
            .await
            .map_err(from_assets)?;
        created
            .into_iter()
            .next()
            .map(info)
            .ok_or_else(|| AttachmentError::Failed {
                message: format!(
                    "site {}: the upload to object {object_id} answered no attachment",
                    self.0.site_name()
                ),
            })
    }
}

/// Sites by name through a function (the daemon passes its site registry's lookup).
pub struct SitesByName<F>(pub F);

impl<F> SiteLookup for SitesByName<F>
where
    F: Fn(&str) -> Option<Arc<dyn AssetsApi>> + Send + Sync,
{
    fn attachment_site(&self, name: &str) -> Option<Arc<dyn AttachmentSite>> {
        (self.0)(name).map(|api| Arc::new(ApiSite(api)) as Arc<dyn AttachmentSite>)
    }
}
