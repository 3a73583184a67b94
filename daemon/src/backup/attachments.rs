//! Background phase `attachments` (Data Center sources): `GET /attachments/object/{id}` for
//! every object of the backup, then each attachment's bytes (`GET /attachments/{id}`). An
//! object's attachments are one [`ObjectAttachments`] (the listed metadata with the SHA-256 and
//! size of each file) under the object's identity — also when it has none, so a resumed phase
//! knows the object was read; the bytes are an [`AttachmentBytes`] entry keyed by their hash,
//! written in the same batch. Equal files are one blob in the store, whichever objects (or
//! backups) they belong to.
//!
//! A download streams (`AssetsApi::download_attachment_to`): hashed as it comes, and once
//! larger than a few MiB spooled to a temporary file beside the store, encoded from there
//! into a second one and copied into the store piece by piece before the object's batch, so
//! a file up to `max_download_mb` never sits in memory whole.

use std::sync::atomic::{AtomicU64, Ordering};

use super::per_object::walk;
use super::{Ctx, Error, new_entry, stage};
use crate::model::{AttachmentBytes, ObjectAttachment, ObjectAttachments};
use crate::store::{SpooledBlob, kind};

/// The field of [`AttachmentBytes`] that holds the bytes (its only one).
const BYTES_FIELD: &str = "base64";

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let (files, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let scratch = ctx.store.scratch_dir();
    let walked = walk(
        ctx,
        stage::ATTACHMENTS,
        kind::ATTACHMENTS,
        |identity, object_id| {
            let (files, bytes, scratch) = (&files, &bytes, &scratch);
            async move {
                let listed = ctx.api(ctx.api.list_attachments(&object_id)).await?;
                let mut entries = Vec::with_capacity(listed.len() + 1);
                let mut attachments = Vec::with_capacity(listed.len());
                for attachment in listed {
                    let download = ctx
                        .api(
                            ctx.api
                                .download_attachment_to(attachment.id.as_str(), scratch),
                        )
                        .await?;
                    let (sha256, size) = (download.sha256().to_owned(), download.len());
                    files.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(size, Ordering::Relaxed);
                    let parts = download.into_parts().map_err(|source| Error::Io {
                        path: scratch.clone(),
                        source,
                    })?;
                    match parts {
                        Ok(data) => entries.push(new_entry(
                            kind::ATTACHMENT_BYTES,
                            &sha256,
                            &AttachmentBytes::new(&data),
                        )?),
                        Err(file) => {
                            let blob = encode(file, scratch.clone()).await?;
                            ctx.store
                                .put_spooled_entry(
                                    ctx.backup,
                                    kind::ATTACHMENT_BYTES.to_owned(),
                                    sha256.clone(),
                                    blob,
                                )
                                .await?;
                        }
                    }
                    attachments.push(ObjectAttachment {
                        attachment,
                        sha256,
                        size,
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

/// Encodes a spooled attachment as the blob of its [`AttachmentBytes`] into a temporary file
/// in `dir`, on the blocking pool (it reads and compresses the whole file).
async fn encode(file: std::fs::File, dir: std::path::PathBuf) -> Result<SpooledBlob, Error> {
    let blob = tokio::task::spawn_blocking(move || {
        let out = tempfile::tempfile_in(&dir)?;
        crate::store::encode_base64_object(BYTES_FIELD, std::io::BufReader::new(file), out)
    })
    .await
    .map_err(crate::store::Error::Task)??;
    Ok(blob)
}
