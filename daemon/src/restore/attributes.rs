//! Stage "Restoring attributes": every attribute with its full configuration, type by type
//! (parents first), in position order, following the plan's [`AttrAction`]s:
//!
//! - `System` (Key, Created, Updated) and the label "Name" already exist on a new root type:
//!   they are looked up (one `GET .../attributes` per root type), and "Name" is *updated* with
//!   the backup's label configuration instead of being created again;
//! - `Create` sends the backup definition with its references mapped: the referenced object
//!   type, the reference type, allowed statuses (status map), allowed groups (those that exist
//!   on the target), plus select options, cardinality, unique, regex, suffix ...;
//! - `Added` creates the Text attributes `ORIGINAL_ID` / `ORIGINAL_KEY` on root types (their
//!   children see them through inheritance), which the object stage fills; with `--history`
//!   also the Textarea `OBJECT_HISTORY`;
//! - `Drop` creates nothing (a reference to a type outside the backup, a type code Cloud lacks);
//! - into an existing schema, `Existing` maps the target's attribute of the same name and
//!   type, and `Conflict` (same name, another type) leaves it alone: its values are skipped.
//!
//! An attribute the API refuses is logged with the API's error body and left out; the restore
//! goes on (its values are skipped).

use super::ctx::{Ctx, Flow};
use super::entities::{Finder, Listing, create_or_find, id_by_name, same_name};
use super::idmap::kinds;
use super::plan::{AttrAction, AttrPlan};
use super::source::AttrDef;
use super::{Error, Stage};
use crate::assets;
use crate::model::{AttributeIn, AttributeKind, Id, ObjectTypeAttribute};
use crate::store::LogLevel;

/// Description of the added `OBJECT_HISTORY` attribute (`--history`).
const HISTORY_DESCRIPTION: &str =
    "The object's history at the source, one line per change (restored by assetark)";
/// Description of the added identity attributes.
const IDENTITY_DESCRIPTION: &str =
    "Identity of the object in the backup it was restored from (written by assetark).";

/// The name the target gives the label attribute of a new root type.
const AUTO_LABEL: &str = "Name";

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let plans = ctx.plan.attributes.clone();
    let total = plans.len() as u64;
    let settled = |ctx: &Ctx<'_>, p: &AttrPlan| {
        matches!(p.action, AttrAction::Drop | AttrAction::Conflict) || mapped(ctx, p).is_some()
    };
    let mut done = plans.iter().filter(|p| settled(ctx, p)).count() as u64;
    let resumed = ctx.start(Stage::Attributes, done, total).await?;
    if !resumed {
        for p in plans
            .iter()
            .filter(|p| matches!(p.action, AttrAction::Drop | AttrAction::Conflict))
        {
            let why = p.reason.as_deref().unwrap_or("not restorable");
            let msg = format!(
                "Attribute {:?} of object type {:?} is not restored: {why}.",
                p.name, p.object_type_name
            );
            ctx.note(LogLevel::Warn, "", msg).await?;
        }
    }
    // Into an existing schema: the target's own attributes, mapped without a request.
    for p in plans.iter().filter(|p| p.action == AttrAction::Existing) {
        if let (None, Some(id)) = (mapped(ctx, p), &p.existing_id) {
            ctx.record(kinds::ATTR, &p.map_key(), id).await?;
            done += 1;
            ctx.progress(Stage::Attributes, done);
        }
    }
    let types: Vec<String> = ctx.source.types.iter().map(|t| t.id.clone()).collect();
    for t in &types {
        let mine: Vec<&AttrPlan> = plans.iter().filter(|p| &p.object_type == t).collect();
        if mine.iter().all(|p| settled(ctx, p)) {
            continue;
        }
        let Some(new_t) = ctx.ids.get(kinds::TYPE, t).map(str::to_owned) else {
            continue;
        };
        let root = ctx.source.attr_root(t) == t;
        // Root types need the ids of what the target created with them; after an
        // interruption every type needs to know what already exists.
        let existing: Vec<ObjectTypeAttribute> = if root || resumed {
            ctx.api.list_attributes(&new_t).await?
        } else {
            Vec::new()
        };
        for p in mine {
            if settled(ctx, p) {
                continue;
            }
            if ctx.cancel.is_cancelled() {
                return Ok(Flow::Stopped);
            }
            restore_one(ctx, p, &new_t, &existing, resumed).await?;
            done += 1;
            ctx.progress(Stage::Attributes, done);
        }
    }
    Ok(Flow::Continue)
}

fn mapped<'c>(ctx: &'c Ctx<'_>, p: &AttrPlan) -> Option<&'c str> {
    ctx.ids.get(kinds::ATTR, &p.map_key())
}

/// Establishes one attribute's mapping (creating or updating it as planned).
async fn restore_one(
    ctx: &mut Ctx<'_>,
    p: &AttrPlan,
    new_t: &str,
    existing: &[ObjectTypeAttribute],
    resumed: bool,
) -> Result<(), Error> {
    let key = p.map_key();
    match p.action {
        AttrAction::Drop | AttrAction::Conflict | AttrAction::Existing => Ok(()),
        AttrAction::System => match id_by_name(existing, &p.name) {
            Some(id) => ctx.record(kinds::ATTR, &key, &id).await,
            None => {
                let msg = format!(
                    "The target did not create the system attribute {:?} on {:?}.",
                    p.name, p.object_type_name
                );
                ctx.note(LogLevel::Warn, "", msg).await
            }
        },
        AttrAction::UpdateName => {
            let target = id_by_name(existing, &p.name).or_else(|| {
                existing
                    .iter()
                    .find(|a| a.label.is_true())
                    .or_else(|| existing.iter().find(|a| same_name(a.name(), AUTO_LABEL)))
                    .and_then(|a| a.id.non_empty())
                    .map(str::to_owned)
            });
            let Some(id) = target else {
                let msg = format!(
                    "Object type {:?} has no label attribute to update.",
                    p.object_type_name
                );
                return ctx.note(LogLevel::Warn, "", msg).await;
            };
            let def = def_of(ctx, p)?;
            let (body, notes) = body(ctx, &def);
            for n in notes {
                ctx.note(LogLevel::Warn, "", n).await?;
            }
            // An update is idempotent; a refusal keeps the target's own label attribute, which
            // still takes the label values.
            if let Err(e) = ctx.api.update_attribute(new_t, &id, &body).await {
                refused(ctx, p, e).await?;
            }
            ctx.record(kinds::ATTR, &key, &id).await
        }
        AttrAction::Create | AttrAction::Added => {
            if resumed && let Some(id) = id_by_name(existing, &p.name) {
                return ctx.record(kinds::ATTR, &key, &id).await;
            }
            let body = if p.action == AttrAction::Added && p.name == super::OBJECT_HISTORY {
                AttributeIn {
                    default_type_id: Some(crate::model::TEXTAREA),
                    ..AttributeIn::text(&p.name, HISTORY_DESCRIPTION)
                }
            } else if p.action == AttrAction::Added {
                AttributeIn::text(&p.name, IDENTITY_DESCRIPTION)
            } else {
                let (body, notes) = body(ctx, &def_of(ctx, p)?);
                for n in notes {
                    ctx.note(LogLevel::Warn, "", n).await?;
                }
                body
            };
            let finder = Finder::Named {
                list: Listing::Attributes(new_t),
                name: &p.name,
            };
            let create = || ctx.api.create_attribute(new_t, &body);
            match create_or_find(ctx.api, create, finder).await {
                Ok(c) => ctx.record(kinds::ATTR, &key, &c.id()).await,
                Err(e) => refused(ctx, p, e).await,
            }
        }
    }
}

/// Logs an attribute the API refused (4xx) and goes on; other failures end the stage.
async fn refused(ctx: &Ctx<'_>, p: &AttrPlan, e: assets::Error) -> Result<(), Error> {
    if !e.is_refusal() {
        return Err(e.into());
    }
    let body = e.api_body().cloned().unwrap_or_default();
    let msg = format!(
        "Attribute {:?} of object type {:?} was refused: {body}",
        p.name, p.object_type_name
    );
    ctx.note(LogLevel::Error, "", msg).await
}

fn def_of(ctx: &Ctx<'_>, p: &AttrPlan) -> Result<AttrDef, Error> {
    p.old_id
        .as_deref()
        .and_then(|id| ctx.source.attr(id))
        .cloned()
        .ok_or_else(|| Error::InvalidBackup {
            backup: ctx.plan.backup_id,
            reason: format!("attribute {:?} is not in the backup", p.name),
        })
}

/// The create/update body of a backup attribute on the target, and notes about what had to
/// be left out of its configuration.
pub(super) fn body(ctx: &Ctx<'_>, def: &AttrDef) -> (AttributeIn, Vec<String>) {
    let d = &def.def;
    let mut notes = Vec::new();
    let additional = d.additional_text().map(str::to_owned);
    // The configuration the API takes back as it is.
    let mut b = AttributeIn {
        name: def.name.clone(),
        description: d.description.non_empty().map(str::to_owned),
        label: def.label.then_some(true),
        r#type: def.kind.type_code(),
        minimum_cardinality: d.minimum_cardinality.get().copied(),
        maximum_cardinality: d.maximum_cardinality.get().copied(),
        suffix: d.suffix.get().cloned(),
        hidden: d.hidden.get().copied(),
        unique_attribute: d.unique_attribute.get().copied(),
        summable: d.summable.get().copied(),
        regex_validation: d.regex_validation.get().cloned(),
        ql_query: d.ql_query.get().cloned(),
        options: d.options.get().cloned(),
        include_child_object_types: d.include_child_object_types.get().copied(),
        ..AttributeIn::default()
    };
    match &def.kind {
        AttributeKind::Default(t) => {
            b.default_type_id = Some(*t);
            b.additional_value = additional;
        }
        AttributeKind::Object { target, ref_type } => {
            b.type_value = ctx.ids.get(kinds::TYPE, target).map(Id::new);
            b.additional_value = ref_type
                .as_deref()
                .and_then(|r| ctx.ids.get(kinds::REF_TYPE, r))
                .map(str::to_owned);
        }
        AttributeKind::User => {
            b.additional_value = additional;
            let groups = d
                .type_values()
                .filter(|g| {
                    let ok = ctx.plan.group_exists(g);
                    if !ok {
                        notes.push(format!(
                            "Group {g:?} allowed for attribute {:?} does not exist on the target; \
                             it was left out of the attribute's groups.",
                            def.name
                        ));
                    }
                    ok
                })
                .map(str::to_owned)
                .collect();
            b.type_value_multi = Some(groups);
        }
        AttributeKind::Status => {
            let ids = d
                .type_values()
                .filter_map(|s| ctx.ids.get(kinds::STATUS, s).map(str::to_owned))
                .collect();
            b.type_value_multi = Some(ids);
        }
        AttributeKind::Group | AttributeKind::Other(_) => {}
    }
    (b, notes)
}
