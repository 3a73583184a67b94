//! Stage `object types`: `GET /objectschema/{id}/objecttypes/flat`, stored as the API returns
//! them (hierarchy through `parentObjectTypeId`, sibling order through `position`, `icon`,
//! `inherited`, `abstractObjectType`, description). Returns the slim facts later stages need.

use super::{Ctx, Error, array, entries_by_id, id_of, stage};
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
    let path = format!("/objectschema/{}/objecttypes/flat", ctx.schema_id);
    let list = array(ctx.api(ctx.client.get(&path)).await?, "GET", &path)?;
    let infos: Vec<TypeInfo> = list
        .iter()
        .filter_map(|t| {
            Some(TypeInfo {
                id: id_of(t)?,
                icon_id: id_of(&t["icon"]),
            })
        })
        .collect();
    let n = list.len() as u64;
    ctx.put(entries_by_id(kind::OBJECT_TYPE, list)).await?;
    ctx.report(stage::OBJECT_TYPES, n, n);
    Ok(infos)
}
