//! Background phase `attachments` (Data Center sources): `GET /attachments/object/{id}` for
//! every object of the backup, then each attachment's bytes (`GET /attachments/{id}`). An
//! object's attachments are one [`ObjectAttachments`] (the listed metadata with the SHA-256 and
//! size of each file) under the object's identity — also when it has none, so a resumed phase
//! knows the object was read; the bytes are an [`AttachmentBytes`] entry keyed by their hash,
//! written in the same batch. Equal files are one blob in the store, whichever objects (or
//! backups) they belong to.

use std::sync::atomic::{AtomicU64, Ordering};

use super::per_object::walk;
use super::{Ctx, Error, new_entry, stage};
use crate::model::{AttachmentBytes, ObjectAttachment, ObjectAttachments, sha256_hex};
use crate::store::kind;

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let (files, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let walked = walk(
        ctx,
        stage::ATTACHMENTS,
        kind::ATTACHMENTS,
        |identity, object_id| {
            let (files, bytes) = (&files, &bytes);
            async move {
                let listed = ctx.api(ctx.api.list_attachments(&object_id)).await?;
                let mut entries = Vec::with_capacity(listed.len() + 1);
                let mut attachments = Vec::with_capacity(listed.len());
                for attachment in listed {
                    let data = ctx
                        .api(ctx.api.download_attachment(attachment.id.as_str()))
                        .await?;
                    let sha256 = sha256_hex(&data);
                    files.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    entries.push(new_entry(
                        kind::ATTACHMENT_BYTES,
                        &sha256,
                        &AttachmentBytes::new(&data),
                    )?);
                    attachments.push(ObjectAttachment {
                        attachment,
                        sha256,
                        size: data.len() as u64,
                    });
                }
                let value = ObjectAttachments {
                    object_id,
                    attachments,
                };
                entries.push(new_entry(kind::ATTACHMENTS, &identity, &value)?);
                Ok(entries)
            }
        },
    )
    .await?;
    let mut note = format!(
        "{} objects, {} attachments, {} bytes",
        walked.objects,
        files.into_inner(),
        bytes.into_inner()
    );
    if walked.kept > 0 {
        note.push_str(&format!(" read, {} objects kept from before", walked.kept));
    }
    Ok(note)
}
