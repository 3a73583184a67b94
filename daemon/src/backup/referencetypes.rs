//! Stage `reference types`: `GET /config/referencetype?objectSchemaId={id}&includeAll=true`
//! returns the global reference types and the schema's own in one list; each keeps its
//! `objectSchemaId` (null for global), which splits them for the export and the restore.

use std::collections::HashSet;

use super::{Ctx, Error, entries_by_id, stage};
use crate::store::kind;

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(), Error> {
    ctx.report(stage::REFERENCE_TYPES, 0, 0);
    let list = ctx
        .api(ctx.api.list_reference_types(Some(&ctx.schema_id), true))
        .await?;
    let entries = entries_by_id(kind::REFERENCE_TYPE, &list, |r| &r.id, &mut HashSet::new())?;
    let n = entries.len() as u64;
    ctx.put(entries).await?;
    ctx.report(stage::REFERENCE_TYPES, n, n);
    Ok(())
}
