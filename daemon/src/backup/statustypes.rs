//! Stage `status types`: the global status types (`GET /config/statustype`) and the schema's
//! own (`?objectSchemaId=`). Both go into the backup — objects of the schema may use either —
//! and each keeps its `objectSchemaId` (null for global), which is how a restore tells them
//! apart.

use std::collections::HashSet;

use super::{Ctx, Error, array, entries_by_id, id_of, stage};
use crate::store::kind;

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(), Error> {
    ctx.report(stage::STATUS_TYPES, 0, 0);
    let global_path = "/config/statustype".to_owned();
    let schema_path = format!("/config/statustype?objectSchemaId={}", ctx.schema_id);
    let mut seen = HashSet::new();
    let mut all = Vec::new();
    for path in [global_path, schema_path] {
        let list = array(ctx.api(ctx.client.get(&path)).await?, "GET", &path)?;
        // A status listed by both calls is stored once.
        all.extend(
            list.into_iter()
                .filter(|s| id_of(s).is_some_and(|id| seen.insert(id))),
        );
    }
    let n = all.len() as u64;
    ctx.put(entries_by_id(kind::STATUS_TYPE, all)).await?;
    ctx.report(stage::STATUS_TYPES, n, n);
    Ok(())
}
