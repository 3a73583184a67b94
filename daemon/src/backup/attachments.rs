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
//!
//! An incremental backup still lists every object's attachments (adding or deleting one
//! does not move the object's `updated`, so only the list tells), but a listed attachment
//! its parent holds with the same metadata (id, name, size, time, author, comment) is not
//! downloaded again: Jira never changes an attachment's bytes, so the parent's
//! [`AttachmentBytes`] entry is taken over by reference.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::per_object::walk;
use super::{Ctx, Error, new_entry, stage};
use crate::model::{AttachmentBytes, ObjectAttachment, ObjectAttachments};
use crate::store::{SpooledBlob, kind};

/// The field of [`AttachmentBytes`] that holds the bytes (its only one).
const BYTES_FIELD: &str = "base64";

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let (files, bytes, kept) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let scratch = ctx.store.scratch_dir();
    let walked = walk(
        ctx,
        stage::ATTACHMENTS,
        kind::ATTACHMENTS,
        |identity, object_id| {
            let (files, bytes, kept, scratch) = (&files, &bytes, &kept, &scratch);
            async move {
                let listed = ctx.api(ctx.api.list_attachments(&object_id)).await?;
                let mut before = match listed.is_empty() {
                    true => HashMap::new(),
                    false => parent_files(ctx, &identity).await?,
                };
                let mut entries = Vec::with_capacity(listed.len() + 1);
                let mut attachments = Vec::with_capacity(listed.len());
                for attachment in listed {
                    files.fetch_add(1, Ordering::Relaxed);
                    let known = before
                        .remove(attachment.id.as_str())
                        .filter(|k| k.attachment == attachment);
                    if let Some(known) = known
                        && take_over(ctx, &known.sha256).await?
                    {
                        kept.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(known.size, Ordering::Relaxed);
                        attachments.push(known);
                        continue;
                    }
                    let download = ctx
                        .api(
                            ctx.api
                                .download_attachment_to(attachment.id.as_str(), scratch),
                        )
                        .await?;
                    let (sha256, size) = (download.sha256().to_owned(), download.len());
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
    if let (Some(parent), n @ 1..) = (ctx.parent, kept.into_inner()) {
        note.push_str(&format!(", {n} files taken over from backup {parent}"));
    }
    Ok(note)
}

/// The parent's attachments of the object `identity`, by attachment id (none without a
/// parent, or when the parent did not read the object).
async fn parent_files(
    ctx: &Ctx<'_>,
    identity: &str,
) -> Result<HashMap<String, ObjectAttachment>, Error> {
    let Some(parent) = ctx.parent else {
        return Ok(HashMap::new());
    };
    let found = ctx
        .store
        .entries_by_id(parent, kind::ATTACHMENTS, vec![identity.to_owned()])
        .await?;
    let mut out = HashMap::new();
    for e in found {
        let stored: ObjectAttachments = serde_json::from_slice(&e.json)?;
        for a in stored.attachments {
            out.insert(a.attachment.id.as_str().to_owned(), a);
        }
    }
    Ok(out)
}

/// Takes the parent's bytes of the file `sha256` over into this backup by reference; false
/// when the parent lacks them (then the file is downloaded).
async fn take_over(ctx: &Ctx<'_>, sha256: &str) -> Result<bool, Error> {
    let Some(parent) = ctx.parent else {
        return Ok(false);
    };
    let (backup, ids) = (ctx.backup, vec![sha256.to_owned()]);
    let copied = ctx
        .store
        .run(move |s| s.copy_entries(parent, backup, kind::ATTACHMENT_BYTES, &ids))
        .await?;
    Ok(copied == 1)
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
