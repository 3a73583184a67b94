//! Stage "Restoring object types": parents first (the source's order), each created with its
//! parent (`parentObjectTypeId`), icon (mapped), description, `inherited` and
//! `abstractObjectType`. Creating siblings in position order reproduces their positions; only
//! when the target places a type elsewhere is it moved (`POST /objecttype/{id}/position`).

use super::ctx::{Ctx, Flow};
use super::entities::{Created, Finder, Listing, create_or_find, id_by_name};
use super::idmap::kinds;
use super::{Error, Stage};
use crate::model::{Id, ObjectType, ObjectTypeIn, ObjectTypePosition};

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let types = ctx.source.types.clone();
    let total = types.len() as u64;
    let mapped = |ctx: &Ctx<'_>, id: &str| ctx.ids.get(kinds::TYPE, id).is_some();
    let mut done = types.iter().filter(|t| mapped(ctx, &t.id)).count() as u64;
    let resumed = ctx.start(Stage::ObjectTypes, done, total).await?;
    if done == total {
        return Ok(Flow::Continue);
    }
    let schema = ctx.schema_id()?;
    let existing: Vec<ObjectType> = if resumed {
        ctx.api.list_object_types(&schema).await?
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
        // Matched by the plan (an existing schema), or created by an interrupted run.
        let planned = ctx
            .plan
            .object_types
            .iter()
            .find(|p| p.old_id == t.id)
            .and_then(|p| p.existing_id.clone());
        if let Some(id) = planned.or_else(|| id_by_name(&existing, &t.name)) {
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
        let body = ObjectTypeIn {
            name: t.name.clone(),
            description: t.description.clone(),
            icon_id: Id::new(icon),
            object_schema_id: Id::new(schema.as_str()),
            parent_object_type_id: parent.as_deref().map(Id::new),
            inherited: t.inherited,
            abstract_object_type: t.abstract_type,
        };
        let finder = Finder::Named {
            list: Listing::ObjectTypes(&schema),
            name: &t.name,
        };
        let created = create_or_find(ctx.api, || ctx.api.create_object_type(&body), finder).await?;
        let id = created.id();
        ctx.record(kinds::TYPE, &t.id, &id).await?;
        if let Created::New(v) = &created
            && v.position.get() != Some(&t.position)
        {
            let pos = ObjectTypePosition {
                to_object_type_id: parent.as_deref().map(Id::new),
                position: t.position,
            };
            ctx.api.move_object_type(&id, &pos).await?;
        }
        done += 1;
        ctx.progress(Stage::ObjectTypes, done);
    }
    Ok(Flow::Continue)
}
