//! Task `attachments`: the backup's object attachments (Data Center sources; their bytes in the
//! store, deduplicated by SHA-256) uploaded onto the restored objects, what the attachments
//! plugin of issue 10 does live during a restore, here from the backup after it.
//!
//! Per object: one `list_attachments` of the new object, then one multipart upload per file it
//! lacks (matched by file name and size, so a second run uploads nothing). Assets Cloud has no
//! attachments API (reference §11): the task then sends nothing, reports each object as
//! skipped and says in its result that the files stay in the backup, where `backups export`
//! writes them to `attachments/`.

use std::collections::HashMap;

use super::extras::{Carried, ExtrasSummary, carried, phase_ready, refusal};
use super::{Ctx, Error, TaskSummary};
use crate::model::{Attachment, AttachmentUpload, ObjectAttachments};
use crate::store::{ItemOutcome, Phase, kind};

/// Progress stage name.
const STAGE: &str = "attachments";
/// Content type of a file the backup lists without one.
const OCTET_STREAM: &str = "application/octet-stream";

/// A file's name and size as Jira shows it (`490 B`, `4.9 kB`): how an attachment already on
/// the target is recognised.
fn same_file(a: &Attachment, name: &str, size: &str) -> bool {
    a.filename.get().map(String::as_str) == Some(name) && a.filesize.get().is_none_or(|s| s == size)
}

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(TaskSummary, String), Error> {
    let mut s = ExtrasSummary {
        into: "attachments".to_owned(),
        ..ExtrasSummary::default()
    };
    if let Some(why) = phase_ready(ctx, Phase::Attachments).await? {
        s.into = "nothing".to_owned();
        return Ok((TaskSummary::Attachments(s), why));
    }
    let objects = carried(ctx, kind::ATTACHMENTS, |a: &ObjectAttachments| {
        !a.attachments.is_empty()
    })
    .await?;
    s.objects = objects.len() as u64;
    s.entries = objects
        .iter()
        .map(|o| o.entry.attachments.len() as u64)
        .sum();
    let total = s.objects;
    ctx.progress(STAGE, 0, total);
    let mut blobs = Blobs::default();
    let mut not_offered: Option<String> = None;
    for (i, o) in objects.iter().enumerate() {
        ctx.check_cancel()?;
        let (outcome, message) = match (&o.new_id, &not_offered) {
            (None, _) => (
                ItemOutcome::Skipped,
                "not restored (no id in the restore's id map)".to_owned(),
            ),
            (Some(_), Some(why)) => (ItemOutcome::Skipped, why.clone()),
            (Some(new), None) => match ctx.target.list_attachments(new).await {
                Ok(existing) => upload(ctx, o, new, &existing, &mut blobs, &mut s).await?,
                Err(e) if e.is_not_offered() => {
                    let why = format!(
                        "{}; the files stay in backup {} (`backups export {}` writes them to \
                         attachments/)",
                        crate::error::error_chain(&e),
                        ctx.backup(),
                        ctx.backup()
                    );
                    not_offered = Some(why.clone());
                    s.into = "not offered".to_owned();
                    (ItemOutcome::Skipped, why)
                }
                Err(e) if e.is_retryable() => return Err(e.into()),
                Err(e) => (ItemOutcome::Failed, refusal(&format!("object {new}"), &e)),
            },
        };
        s.count(outcome);
        ctx.item(o.item(), outcome, message).await?;
        ctx.progress(STAGE, i as u64 + 1, total);
    }
    let message = match &not_offered {
        Some(why) => format!(
            "attachments not carried: {why}; {} attachments of {} objects; {}",
            s.entries,
            s.objects,
            s.counts()
        ),
        None => format!(
            "{} of {} attachments uploaded; {}",
            s.written,
            s.entries,
            s.counts()
        ),
    };
    Ok((TaskSummary::Attachments(s), message))
}

/// One object on a target with attachments: uploads the files it lacks.
async fn upload(
    ctx: &Ctx<'_>,
    o: &Carried<ObjectAttachments>,
    new: &str,
    existing: &[Attachment],
    blobs: &mut Blobs,
    s: &mut ExtrasSummary,
) -> Result<(ItemOutcome, String), Error> {
    let mut there: Vec<&Attachment> = existing.iter().collect();
    let mut written = 0u64;
    for a in &o.entry.attachments {
        let name = a.attachment.filename.get().cloned().unwrap_or_default();
        let size = a.attachment.filesize.get().cloned().unwrap_or_default();
        if let Some(pos) = there.iter().position(|t| same_file(t, &name, &size)) {
            there.swap_remove(pos);
            continue;
        }
        let bytes = blobs.bytes(ctx, &a.sha256).await?;
        let file = AttachmentUpload {
            filename: name.clone(),
            mime_type: a
                .attachment
                .mime_type
                .non_empty()
                .unwrap_or(OCTET_STREAM)
                .to_owned(),
            bytes,
            comment: a.attachment.comment.get().cloned().unwrap_or_default(),
        };
        match ctx.target.upload_attachment(new, &file).await {
            Ok(_) => {
                written += 1;
                s.written += 1;
            }
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => {
                let what = format!("object {new}: {written} files uploaded, then {name}");
                return Ok((ItemOutcome::Failed, refusal(&what, &e)));
            }
        }
    }
    Ok(if written == 0 {
        (
            ItemOutcome::Unchanged,
            format!(
                "object {new} holds its {} attachments already",
                o.entry.attachments.len()
            ),
        )
    } else {
        (
            ItemOutcome::Updated,
            format!("object {new}: {written} attachments uploaded"),
        )
    })
}

/// The attachment bytes of the backup, read from the store by SHA-256 (one file shared by
/// several objects is read once).
#[derive(Default)]
struct Blobs {
    cache: HashMap<String, Vec<u8>>,
    cached_bytes: usize,
}

impl Blobs {
    async fn bytes(&mut self, ctx: &Ctx<'_>, sha256: &str) -> Result<Vec<u8>, Error> {
        if let Some(b) = self.cache.get(sha256) {
            return Ok(b.clone());
        }
        let backup = ctx.backup();
        let ids = vec![sha256.to_owned()];
        let found = ctx
            .store
            .run(move |st| st.entry_hashes_of(backup, kind::ATTACHMENT_BYTES, &ids))
            .await?;
        let Some((_, hash)) = found.into_iter().next() else {
            return Err(Error::Invalid(format!(
                "backup {backup} lists an attachment {sha256} whose bytes it does not hold"
            )));
        };
        // Decoded as the store decompresses it: only the bytes are ever held, not also the
        // blob's JSON and its base64 string.
        let decoded = ctx
            .store
            .run(move |st| {
                let mut bytes = Vec::new();
                let mut body = crate::backup::export_body::Base64Body::new(&mut bytes);
                // The decoder's complaints (InvalidData) are about the JSON, not the store.
                let done = match st.write_blob(&hash, &mut body) {
                    Ok(_) => body.finish(),
                    Err(crate::store::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::InvalidData =>
                    {
                        Err(e)
                    }
                    Err(e) => return Err(e),
                };
                Ok(done.map(|_| bytes))
            })
            .await?;
        let bytes = decoded.map_err(|e| {
            Error::Invalid(format!(
                "backup {backup}: attachment {sha256} is not base64: {e}"
            ))
        })?;
        // Files shared between objects (a vendor's datasheet) are read once; the cache holds
        // small files up to a total, so memory stays bounded whatever the backup holds.
        if bytes.len() <= CACHE_MAX_FILE && self.cached_bytes + bytes.len() <= CACHE_MAX_TOTAL {
            self.cached_bytes += bytes.len();
            self.cache.insert(sha256.to_owned(), bytes.clone());
        }
        Ok(bytes)
    }
}

/// Files up to this size are kept in memory for the objects that share them...
const CACHE_MAX_FILE: usize = 1 << 20;
/// ... up to this many bytes in all.
const CACHE_MAX_TOTAL: usize = 64 << 20;
