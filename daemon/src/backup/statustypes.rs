//! Stage `status types`: the global status types (`GET /config/statustype`) and the schema's
//! own (`?objectSchemaId=`). Both go into the backup — objects of the schema may use either —
//! and each keeps its `objectSchemaId` (none for global), which is how a restore tells them
//! apart.

use std::collections::HashSet;

use super::{Ctx, Error, entries_by_id, stage};
use crate::store::kind;

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(), Error> {
    ctx.report(stage::STATUS_TYPES, 0, 0);
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for schema in [None, Some(ctx.schema_id.as_str())] {
        let list = ctx.api(ctx.api.list_status_types(schema)).await?;
        // A status listed by both calls is stored once.
        entries.extend(entries_by_id(
            kind::STATUS_TYPE,
            &list,
            |s| &s.id,
            &mut seen,
        )?);
    }
    let n = entries.len() as u64;
    ctx.put(entries).await?;
    ctx.report(stage::STATUS_TYPES, n, n);
    Ok(())
}
