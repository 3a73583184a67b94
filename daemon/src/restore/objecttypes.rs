//! Stage "Restoring object types": parents first (the source's order), each created with its
//! parent (`parentObjectTypeId`), icon (mapped), description, `inherited` and
//! `abstractObjectType`. Creating siblings in position order reproduces their positions; only
//! when the target places a type elsewhere is it moved (`POST /objecttype/{id}/position`).

use serde_json::{Value, json};

use super::ctx::{Ctx, Flow};
use super::entities::{Created, Finder, create_or_find, get_list, id_by_name};
use super::idmap::kinds;
use super::{Error, Stage};

const PATH: &str = "/objecttype/create";

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let types = ctx.source.types.clone();
    let total = types.len() as u64;
    let mapped = |ctx: &Ctx<'_>, id: &str| ctx.ids.get(kinds::TYPE, id).is_some();
    let mut done = types.iter().filter(|t| mapped(ctx, &t.id)).count() as u64;
    let resumed = ctx.start(Stage::ObjectTypes, done, total).await?;
    if done == total {
        return ctx.finish(Stage::ObjectTypes).await;
    }
    let schema = ctx.schema_id()?;
    let list = format!("/objectschema/{schema}/objecttypes/flat");
    let existing: Vec<Value> = if resumed {
        get_list(ctx.client, &list).await?
    } else {
        Vec::new()
    };
    for t in &types {
        if mapped(ctx, &t.id) {
            continue;
        }
        if ctx.cancel.is_cancelled() {
            return Ok(Flow::Stopped);
        }
        if let Some(id) = id_by_name(&existing, &t.name) {
            ctx.record(kinds::TYPE, &t.id, &id).await?;
            done += 1;
            ctx.progress(Stage::ObjectTypes, done);
            continue;
        }
        let icon = t
            .icon_id
            .as_deref()
            .and_then(|i| ctx.ids.get(kinds::ICON, i))
            .map(str::to_owned)
            .or_else(|| ctx.plan.default_icon.clone())
            .unwrap_or_default();
        let parent =
            match &t.parent {
                Some(p) => Some(ctx.ids.get(kinds::TYPE, p).map(str::to_owned).ok_or_else(
                    || Error::InvalidBackup {
                        backup: ctx.plan.backup_id,
                        reason: format!("object type {} has an unknown parent {p}", t.id),
                    },
                )?),
                None => None,
            };
        let mut body = json!({
            "name": t.name,
            "iconId": icon,
            "objectSchemaId": schema,
            "inherited": t.inherited,
            "abstractObjectType": t.abstract_type,
        });
        if let Some(d) = &t.description {
            body["description"] = Value::String(d.clone());
        }
        if let Some(p) = &parent {
            body["parentObjectTypeId"] = Value::String(p.clone());
        }
        let finder = Finder::Named {
            list: &list,
            name: &t.name,
        };
        let created = create_or_find(ctx.client, PATH, &body, finder).await?;
        let id = created.id(PATH)?;
        ctx.record(kinds::TYPE, &t.id, &id).await?;
        if let Created::New(v) = &created
            && v["position"].as_i64() != Some(t.position)
        {
            let mut pos = json!({"position": t.position});
            if let Some(p) = &parent {
                pos["toObjectTypeId"] = Value::String(p.clone());
            }
            ctx.client
                .post(&format!("/objecttype/{id}/position"), &pos)
                .await?;
        }
        done += 1;
        ctx.progress(Stage::ObjectTypes, done);
    }
    ctx.finish(Stage::ObjectTypes).await
}
