//! Background phase `comments` (Data Center sources): `GET /comment/object/{id}?asc=true` for
//! every object of the backup, each object's comments (author, time, text, as the API lists
//! them) stored as one [`ObjectComments`] under the object's identity — also when it has none,
//! so a resumed phase knows the object was read.

use super::per_object::walk;
use super::{Ctx, Error, new_entry, stage};
use crate::model::ObjectComments;
use crate::store::kind;

/// Returns the phase note.
pub(super) async fn run(ctx: &Ctx<'_>) -> Result<String, Error> {
    let counted = std::sync::atomic::AtomicU64::new(0);
    let walked = walk(
        ctx,
        stage::COMMENTS,
        kind::COMMENTS,
        |identity, object_id| {
            let counted = &counted;
            async move {
                let comments = ctx.api(ctx.api.list_comments(&object_id)).await?;
                counted.fetch_add(comments.len() as u64, std::sync::atomic::Ordering::Relaxed);
                let value = ObjectComments {
                    object_id,
                    comments,
                };
                Ok(vec![new_entry(kind::COMMENTS, &identity, &value)?])
            }
        },
    )
    .await?;
    let mut note = format!(
        "{} objects, {} comments",
        walked.objects,
        counted.into_inner()
    );
    if walked.kept > 0 {
        note.push_str(&format!(" read, {} objects kept from before", walked.kept));
    }
    Ok(note)
}
