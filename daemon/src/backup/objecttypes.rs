//! Stage `object types`: `GET /objectschema/{id}/objecttypes/flat`, stored as the API returns
//! them (hierarchy through `parentObjectTypeId`, sibling order through `position`, `icon`,
//! `inherited`, `abstractObjectType`, description). Returns the slim facts later stages need.

use std::collections::HashSet;

use super::{Ctx, Error, entries_by_id, stage};
use crate::store::kind;

/// What later stages need of an object type.
pub(super) struct TypeInfo {
    /// Object type id.
    pub id: String,
    /// Id of its icon, when it has one.
    pub icon_id: Option<String>,
}

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<Vec<TypeInfo>, Error> {
    ctx.report(stage::OBJECT_TYPES, 0, 0);
    let list = ctx.api(ctx.api.list_object_types(&ctx.schema_id)).await?;
    let infos: Vec<TypeInfo> = list
        .iter()
        .filter_map(|t| {
            Some(TypeInfo {
                id: t.id.non_empty()?.to_owned(),
                icon_id: t.icon_id().map(str::to_owned),
            })
        })
        .collect();
    let n = list.len() as u64;
    ctx.put(entries_by_id(
        kind::OBJECT_TYPE,
        &list,
        |t| &t.id,
        &mut HashSet::new(),
    )?)
    .await?;
    ctx.report(stage::OBJECT_TYPES, n, n);
    Ok(infos)
}
