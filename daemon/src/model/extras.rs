//! Object comments and attachments (reference §11): Data Center offers them
//! (`/comment/object/{id}`, `/comment/create`, `/attachments/object/{id}`), Assets Cloud does
//! not. [`Comment`] and [`Attachment`] are what the API lists (stored losslessly by a backup);
//! [`CommentIn`] and [`AttachmentUpload`] are what a restore sends.
//!
//! A backup stores an object's comments as one [`ObjectComments`] and its attachments as one
//! [`ObjectAttachments`] (metadata and the SHA-256 of the bytes of each); the bytes themselves
//! are an [`AttachmentBytes`] addressed by that hash, so a file attached to many objects (or kept
//! by many backups) is stored once.

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{AssetsUser, Entity, Extra, Id, Nullable};

/// A comment on an object (`GET /comment/object/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    /// Comment id.
    pub id: Id,
    /// The object.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub object_id: Nullable<Id>,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub actor: Nullable<AssetsUser>,
    /// Visibility role (0 = everyone who can see the object).
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub role: Nullable<i64>,
    /// The text as written.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub comment: Nullable<String>,
    /// The text rendered as HTML.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub comment_output: Nullable<String>,
    /// When it was written.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub created: Nullable<String>,
    /// When it was last edited.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub updated: Nullable<String>,
    /// Fields not modelled here (`canEdit`, `canDelete`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Entity for Comment {
    fn id(&self) -> &Id {
        &self.id
    }
}

impl Comment {
    /// The text (empty when missing).
    pub fn text(&self) -> &str {
        self.comment.as_deref().unwrap_or("")
    }

    /// The author's display name, else their key (empty when unknown).
    pub fn author(&self) -> &str {
        let actor = self.actor.get();
        actor
            .and_then(|a| a.display_name.non_empty())
            .or_else(|| actor.and_then(|a| a.key.non_empty()))
            .unwrap_or("")
    }
}

/// `POST /comment/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentIn {
    /// The object.
    pub object_id: Id,
    /// The text.
    pub comment: String,
    /// Visibility role (0 = everyone who can see the object).
    pub role: i64,
}

/// When an attachment was made: a timestamp string when listed, `{seconds, nanos}` in the
/// answer of an upload (reference §19, "DC spec quirks").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttachmentTime {
    /// ISO-8601 text.
    Text(String),
    /// Epoch seconds and nanoseconds.
    Stamp {
        /// Seconds since the epoch.
        seconds: i64,
        /// Nanoseconds within the second.
        nanos: i64,
    },
}

/// An attachment of an object (`GET /attachments/object/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Attachment id.
    pub id: Id,
    /// User key of who attached it.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub author: Nullable<String>,
    /// Content type.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub mime_type: Nullable<String>,
    /// File name.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub filename: Nullable<String>,
    /// Size as Jira shows it ("4.9 kB").
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub filesize: Nullable<String>,
    /// When it was attached.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub created: Nullable<AttachmentTime>,
    /// The comment given with the upload.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub comment: Nullable<String>,
    /// The comment rendered as HTML.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub comment_output: Nullable<String>,
    /// Where the bytes download from.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub url: Nullable<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Attachment {
    /// The file name (empty when missing).
    pub fn filename(&self) -> &str {
        self.filename.as_deref().unwrap_or("")
    }
}

/// A file to attach to an object (`POST /attachments/object/{id}`, multipart).
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentUpload {
    /// File name.
    pub filename: String,
    /// Content type.
    pub mime_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Comment stored with the attachment (empty: none).
    pub comment: String,
}

impl std::fmt::Debug for AttachmentUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentUpload")
            .field("filename", &self.filename)
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.bytes.len())
            .field("comment", &self.comment)
            .finish()
    }
}

/// How a backup stores the comments of one object: its id at the source and its comments,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectComments {
    /// The object's id at the source.
    pub object_id: String,
    /// Its comments, oldest first.
    pub comments: Vec<Comment>,
}

/// How a backup stores the attachments of one object: its id at the source and each
/// attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttachments {
    /// The object's id at the source.
    pub object_id: String,
    /// Its attachments.
    pub attachments: Vec<ObjectAttachment>,
}

/// How a backup stores one attachment: what the API listed, and the SHA-256 (hex) and size of
/// its bytes (an [`AttachmentBytes`] entry under that hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectAttachment {
    /// The attachment as listed.
    pub attachment: Attachment,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// Size of the bytes.
    pub size: u64,
}

/// The bytes of an attachment, base64 in JSON (every blob is canonical JSON). Nothing else is
/// in it, so equal files make equal blobs, whatever their names or objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentBytes {
    /// The bytes, standard base64.
    pub base64: String,
}

impl AttachmentBytes {
    /// Wraps bytes.
    pub fn new(bytes: &[u8]) -> AttachmentBytes {
        AttachmentBytes {
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// The bytes.
    ///
    /// # Errors
    ///
    /// When `base64` is not valid base64.
    pub fn bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD.decode(&self.base64)
    }
}

/// SHA-256 of bytes, lower-case hex (the identity of an attachment's bytes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_times_and_listed_times_both_decode() {
        let listed: Attachment = serde_json::from_value(serde_json::json!({
            "id": 7, "created": "2024-01-02T03:04:05.000Z", "filename": "a.txt"
        }))
        .unwrap();
        assert!(matches!(
            listed.created.get(),
            Some(AttachmentTime::Text(_))
        ));
        let uploaded: Attachment = serde_json::from_value(serde_json::json!({
            "id": 8, "created": {"seconds": 1700000000, "nanos": 5}
        }))
        .unwrap();
        assert_eq!(
            uploaded.created.get(),
            Some(&AttachmentTime::Stamp {
                seconds: 1_700_000_000,
                nanos: 5
            })
        );
        assert_eq!(serde_json::to_value(&uploaded).unwrap()["id"], 8);
    }

    #[test]
    fn bytes_round_trip_and_hash() {
        let b = AttachmentBytes::new(b"hello");
        assert_eq!(b.bytes().unwrap(), b"hello");
        assert_eq!(
            sha256_hex(b"hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
