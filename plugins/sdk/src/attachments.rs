//! The `attachments` capability (import `assetark.attachments`): list, fetch and upload object
//! attachments on the restore's source and target sites, through the daemon's governed
//! clients (rate limits and retries apply). The manifest must list
//! [`crate::Capability::Attachments`] and the `[[hooks]]` entry must grant it.
//!
//! A site whose API has no attachments (Assets Cloud) answers [`ErrorKind::NotOffered`].

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::model::Extra;

/// Which end of the restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// The site the backup came from.
    Source,
    /// The site restored to.
    Target,
}

/// An attachment of an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// Its id on its site.
    pub id: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// Its comment.
    #[serde(default)]
    pub comment: Option<String>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A request to the host (the wire form; use the functions below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// An object's attachments.
    List {
        /// Which site.
        site: Site,
        /// The object's id there.
        object_id: String,
    },
    /// One attachment's content.
    Fetch {
        /// Which site.
        site: Site,
        /// The attachment's id there.
        attachment_id: String,
    },
    /// Attach a file to an object.
    Upload {
        /// Which site.
        site: Site,
        /// The object's id there.
        object_id: String,
        /// File name.
        filename: String,
        /// MIME type.
        mime_type: Option<String>,
        /// Comment.
        comment: Option<String>,
        /// The content, base64 (standard alphabet, padded).
        content_base64: String,
    },
}

/// The host's answer (the wire form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// Answer to `list`.
    List(Vec<Attachment>),
    /// Answer to `fetch`.
    Fetch {
        /// The content, base64.
        content_base64: String,
    },
    /// Answer to `upload`: the new attachment.
    Upload(Attachment),
    /// The call failed.
    Error(Error),
}

/// Why a capability call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The site's API has no attachments (Assets Cloud).
    NotOffered,
    /// The site is not known to this restore (e.g. a backup whose source site is not
    /// configured).
    NoSite,
    /// The site answered with an error (the message has its status and body).
    Failed,
    /// The request exceeded a host limit (size, number of calls).
    Limit,
    /// The request was malformed.
    Invalid,
}

/// A failed capability call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The host's explanation.
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

fn exchange(request: &Request) -> Result<Reply, Error> {
    let bytes = serde_json::to_vec(request).map_err(|e| Error {
        kind: ErrorKind::Invalid,
        message: e.to_string(),
    })?;
    #[cfg(target_arch = "wasm32")]
    let answer = crate::abi::host_attachments(&bytes);
    #[cfg(not(target_arch = "wasm32"))]
    let answer = crate::testing::attachments_exchange(&bytes);
    match serde_json::from_slice(&answer) {
        Ok(Reply::Error(e)) => Err(e),
        Ok(reply) => Ok(reply),
        Err(e) => Err(Error {
            kind: ErrorKind::Invalid,
            message: format!("host reply: {e}"),
        }),
    }
}

fn unexpected(reply: &Reply) -> Error {
    Error {
        kind: ErrorKind::Invalid,
        message: format!("unexpected host reply {reply:?}"),
    }
}

/// An object's attachments on `site`.
///
/// # Errors
/// [`ErrorKind::NotOffered`] on a site without attachments; the others as documented.
pub fn list(site: Site, object_id: &str) -> Result<Vec<Attachment>, Error> {
    match exchange(&Request::List {
        site,
        object_id: object_id.to_owned(),
    })? {
        Reply::List(v) => Ok(v),
        other => Err(unexpected(&other)),
    }
}

/// An attachment's content.
///
/// # Errors
/// As [`list`].
pub fn fetch(site: Site, attachment_id: &str) -> Result<Vec<u8>, Error> {
    match exchange(&Request::Fetch {
        site,
        attachment_id: attachment_id.to_owned(),
    })? {
        Reply::Fetch { content_base64 } => base64::engine::general_purpose::STANDARD
            .decode(content_base64)
            .map_err(|e| Error {
                kind: ErrorKind::Invalid,
                message: format!("content is not base64: {e}"),
            }),
        other => Err(unexpected(&other)),
    }
}

/// Attaches `content` to an object on `site`; returns the new attachment.
///
/// # Errors
/// As [`list`].
pub fn upload(
    site: Site,
    object_id: &str,
    like: &Attachment,
    content: &[u8],
) -> Result<Attachment, Error> {
    match exchange(&Request::Upload {
        site,
        object_id: object_id.to_owned(),
        filename: like.filename.clone(),
        mime_type: like.mime_type.clone(),
        comment: like.comment.clone(),
        content_base64: base64::engine::general_purpose::STANDARD.encode(content),
    })? {
        Reply::Upload(a) => Ok(a),
        other => Err(unexpected(&other)),
    }
}
