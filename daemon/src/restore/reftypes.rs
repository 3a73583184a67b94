//! Stages "Restoring reference types" (the schema's own) and "Restoring global reference
//! types" (matched by name on the target; missing ones created). Reference types have no
//! update or delete endpoint on Cloud, so matching by name is the only way not to pile up
//! duplicates of global ones.

use super::ctx::{Ctx, Flow};
use super::entities::{Finder, Listing, create_or_find};
use super::idmap::kinds;
use super::named::{NamedEntities, NamedStage};
use super::{Error, Stage};
use crate::model::{Id, ReferenceTypeIn};

pub(super) async fn run(ctx: &mut Ctx<'_>, global: bool) -> Result<Flow, Error> {
    let stage = NamedStage {
        stage: if global {
            Stage::GlobalReferenceTypes
        } else {
            Stage::ReferenceTypes
        },
        kind: kinds::REF_TYPE,
        global,
        entities: NamedEntities::ReferenceTypes,
    };
    let plans = ctx.plan.reference_types.clone();
    stage
        .run(ctx, &plans, async |ctx, p, schema| {
            let Some(def) = ctx.source.ref_types.iter().find(|r| r.id == p.old_id) else {
                return Ok(None);
            };
            let body = ReferenceTypeIn {
                name: def.name.clone(),
                description: def.description.clone(),
                color: def.color.clone(),
                object_schema_id: schema.map(Id::new),
            };
            let finder = Finder::Named {
                list: Listing::ReferenceTypes(schema),
                name: &def.name,
            };
            let created =
                create_or_find(ctx.api, || ctx.api.create_reference_type(&body), finder).await?;
            Ok(Some(created.id()))
        })
        .await
}
