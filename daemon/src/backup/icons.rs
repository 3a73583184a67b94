//! Stage `icons`: every icon the schema's object types use — metadata (`GET /icon/{id}`) and
//! the 48 px PNG (`GET /icon/{id}/icon.png?size=48`). Custom (schema) icons cannot be listed on
//! Cloud, so the object types are the only way to find them; global ones used by the types
//! come along too, since the target site may lack them. The PNG is stored as an [`IconPng`]
//! (base64 in JSON) because every blob is canonical JSON.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};

use super::objecttypes::TypeInfo;
use super::{Ctx, Error, new_entry, stage};
use crate::model::{Icon, IconPng};
use crate::store::kind;

/// Icon size stored: what the Assets UI shows and what the import API's `png48` accepts.
pub const ICON_SIZE: u32 = 48;

pub(super) async fn run(ctx: &Ctx<'_>, types: &[TypeInfo]) -> Result<(), Error> {
    // Owned ids: a stream over borrowed ones makes the future not provably `Send`
    // (higher-ranked lifetime inference of async closures).
    let ids: BTreeSet<String> = types.iter().filter_map(|t| t.icon_id.clone()).collect();
    let total = ids.len() as u64;
    ctx.report(stage::ICONS, 0, total);
    let fetched: Vec<(Icon, Vec<u8>, String)> = futures::stream::iter(ids)
        .map(|id: String| async move {
            let meta = ctx.api(ctx.api.get_icon(&id)).await?;
            let png = ctx.api(ctx.api.icon_png(&id, ICON_SIZE)).await?;
            Ok::<_, Error>((meta, png, id))
        })
        .buffer_unordered(ctx.fan_out())
        .try_collect()
        .await?;
    let mut entries = Vec::with_capacity(fetched.len() * 2);
    for (meta, png, id) in fetched {
        entries.push(new_entry(kind::ICON, &id, &meta)?);
        entries.push(new_entry(
            kind::ICON_PNG,
            &id,
            &IconPng::new(&id, ICON_SIZE, &png),
        )?);
    }
    ctx.put(entries).await?;
    ctx.report(stage::ICONS, total, total);
    Ok(())
}
