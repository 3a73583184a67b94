//! Object comments and attachments (Data Center; reference §11): adding, listing, finding and
//! deleting them, with the checks the API makes.

use bytes::Bytes;

use super::Workspace;
use crate::error::{ApiError, ApiResult};
use crate::model::{Attachment, Comment, Millis};

/// Largest comment text (Data Center stores comments as text of this length at most).
pub const COMMENT_MAX_CHARS: usize = 32_767;

/// A file name an attachment may have: 1 to 255 characters, no path separators.
pub fn check_filename(name: &str) -> ApiResult<()> {
    let name = name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || name.chars().count() > 255 {
        return Err(ApiError::field(
            "file",
            "The file needs a name of 1 to 255 characters without / or \\",
        ));
    }
    Ok(())
}

/// What a new attachment carries.
pub struct NewAttachment {
    pub filename: String,
    pub mime_type: String,
    pub bytes: Bytes,
    pub comment: String,
}

impl Workspace {
    /// Adds a comment to an object; `role` 0..=3 says who may see it.
    pub fn add_comment(
        &mut self,
        object_id: u32,
        text: &str,
        role: i64,
        actor: u32,
        now: Millis,
    ) -> ApiResult<u32> {
        self.object(object_id)?;
        let mut errors = Vec::new();
        if text.trim().is_empty() {
            errors.push((
                "comment".to_string(),
                "The comment must not be empty".to_string(),
            ));
        } else if text.chars().count() > COMMENT_MAX_CHARS {
            errors.push((
                "comment".to_string(),
                format!("The comment must be less than {COMMENT_MAX_CHARS} characters"),
            ));
        }
        if !(0..=3).contains(&role) {
            errors.push(("role".to_string(), "role must be 0, 1, 2 or 3".to_string()));
        }
        if !errors.is_empty() {
            return Err(ApiError::fields(errors));
        }
        self.next.comment += 1;
        let id = self.next.comment;
        self.comments.entry(object_id).or_default().push(Comment {
            id,
            object_id,
            actor,
            role,
            text: text.to_string(),
            created: now,
            updated: now,
        });
        Ok(id)
    }

    /// The comments of an object, oldest first.
    pub fn object_comments(&self, object_id: u32) -> ApiResult<&[Comment]> {
        self.object(object_id)?;
        Ok(self.comments.get(&object_id).map_or(&[], Vec::as_slice))
    }

    /// Attaches a file to an object.
    pub fn add_attachment(
        &mut self,
        object_id: u32,
        new: NewAttachment,
        author: u32,
        now: Millis,
    ) -> ApiResult<u32> {
        self.object(object_id)?;
        check_filename(&new.filename)?;
        let name = new.filename.trim();
        self.next.attachment += 1;
        let id = self.next.attachment;
        self.attachments
            .entry(object_id)
            .or_default()
            .push(Attachment {
                id,
                object_id,
                author,
                filename: name.to_string(),
                mime_type: new.mime_type,
                bytes: new.bytes,
                comment: new.comment,
                created: now,
            });
        self.touch();
        Ok(id)
    }

    /// The attachments of an object, oldest first.
    pub fn object_attachments(&self, object_id: u32) -> ApiResult<&[Attachment]> {
        self.object(object_id)?;
        Ok(self.attachments.get(&object_id).map_or(&[], Vec::as_slice))
    }

    pub fn attachment(&self, id: u32) -> ApiResult<&Attachment> {
        self.attachments
            .values()
            .flatten()
            .find(|a| a.id == id)
            .ok_or_else(|| ApiError::not_found(format!("No attachment found with id: {id}")))
    }

    /// Deletes an attachment and returns it.
    pub fn delete_attachment(&mut self, id: u32) -> ApiResult<Attachment> {
        let object_id = self.attachment(id)?.object_id;
        let list = self.attachments.entry(object_id).or_default();
        let i = list
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| ApiError::not_found(format!("No attachment found with id: {id}")))?;
        let a = list.remove(i);
        if list.is_empty() {
            self.attachments.remove(&object_id);
        }
        self.touch();
        Ok(a)
    }
}
