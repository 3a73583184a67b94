//! Stage `reference types`: `GET /config/referencetype?objectSchemaId={id}&includeAll=true`
//! returns the global reference types and the schema's own in one list; each keeps its
//! `objectSchemaId` (null for global), which splits them for the export and the restore.

use std::collections::HashSet;

use super::{Ctx, Error, array, entries_by_id, id_of, stage};
use crate::store::kind;

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(), Error> {
    ctx.report(stage::REFERENCE_TYPES, 0, 0);
    let path = format!(
        "/config/referencetype?objectSchemaId={}&includeAll=true",
        ctx.schema_id
    );
    let list = array(ctx.api(ctx.client.get(&path)).await?, "GET", &path)?;
    let mut seen = HashSet::new();
    let list: Vec<_> = list
        .into_iter()
        .filter(|r| id_of(r).is_some_and(|id| seen.insert(id)))
        .collect();
    let n = list.len() as u64;
    ctx.put(entries_by_id(kind::REFERENCE_TYPE, list)).await?;
    ctx.report(stage::REFERENCE_TYPES, n, n);
    Ok(())
}
