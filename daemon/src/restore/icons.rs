//! Stage "Restoring icons": Assets Cloud has no icon upload, so every icon of the backup is
//! mapped to a *global* icon of the target with the same name (the plan decided which); a
//! custom icon without such a twin falls back to the plan's default icon, with a note. No
//! request is made: the stage only records the decisions in the id map.
//!
//! On another site icons are matched only with `--with-icons`; without it every type takes
//! the default icon (one note says so). With it, one note says that individually uploaded
//! object avatars cannot be restored (the API has no avatar upload): restored objects show
//! their type's icon; into an existing schema, each of its types that keeps its own icon
//! instead of the matched one is noted as kept. Icons the backup lacks (its icon capture had
//! not finished) are noted too; their types take the default icon and the restore's result
//! says so.

use super::ctx::{Ctx, Flow};
use super::idmap::kinds;
use super::{Error, Stage};
use crate::store::LogLevel;

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Flow, Error> {
    let icons = &ctx.plan.icons;
    let total = icons.len() as u64;
    let done = icons
        .iter()
        .filter(|i| ctx.ids.get(kinds::ICON, &i.old_id).is_some())
        .count() as u64;
    ctx.start(Stage::Icons, done, total).await?;
    if done == 0 {
        once_notes(ctx).await?;
    }
    let not_asked = !ctx.plan.with_icons && ctx.plan.source.site != ctx.plan.target_site;
    let mut done = done;
    for icon in icons {
        if ctx.ids.get(kinds::ICON, &icon.old_id).is_some() {
            continue;
        }
        let Some(target) = &icon.target_id else {
            ctx.note(
                LogLevel::Warn,
                "",
                format!(
                    "Icon {:?} has no counterpart on the target, which has no global icons; \
                     object types using it cannot be created.",
                    icon.name
                ),
            )
            .await?;
            continue;
        };
        if !icon.matched && !not_asked {
            ctx.note(
                LogLevel::Warn,
                "",
                format!(
                    "Icon {:?} (custom) cannot be uploaded to Assets Cloud and the target has \
                     no global icon of that name; using {:?} instead.",
                    icon.name, icon.target_name
                ),
            )
            .await?;
        }
        ctx.record(kinds::ICON, &icon.old_id, target).await?;
        done += 1;
        ctx.progress(Stage::Icons, done);
    }
    Ok(Flow::Continue)
}

/// The notes about the whole stage, written when it starts.
async fn once_notes(ctx: &Ctx<'_>) -> Result<(), Error> {
    let plan = ctx.plan;
    let default = plan
        .icons
        .iter()
        .find(|i| i.target_id == plan.default_icon)
        .map_or_else(
            || plan.default_icon.clone().unwrap_or_default(),
            |i| i.target_name.clone(),
        );
    if plan.with_icons {
        ctx.note(
            LogLevel::Info,
            "",
            "Object avatars follow their object type's icon: individually uploaded avatars \
             cannot be restored (the Assets API has no avatar upload)."
                .to_owned(),
        )
        .await?;
        // Into an existing schema its types keep their icons: say where that differs.
        for k in &plan.icons_kept {
            ctx.note(
                LogLevel::Info,
                "",
                format!(
                    "Icon kept: object type {:?} exists in the target schema and keeps its icon \
                     {:?}; the backup's icon {:?} (the target's global icon {:?}) goes only to \
                     object types the restore creates: existing ones are not changed.",
                    k.object_type, k.icon, k.backup_icon, k.matched_icon
                ),
            )
            .await?;
        }
    } else if plan.source.site != plan.target_site && !plan.icons.is_empty() {
        ctx.note(
            LogLevel::Info,
            "",
            format!(
                "Icons are not restored (no --with-icons): object types created on {:?} use \
                 its default icon {default:?}.",
                plan.target_site
            ),
        )
        .await?;
    }
    if !plan.icons_missing.is_empty() {
        ctx.note(
            LogLevel::Warn,
            "",
            format!(
                "The backup's icon capture had not finished: icons {} are not in it; object \
                 types using them take the default icon {default:?}.",
                plan.icons_missing.join(", ")
            ),
        )
        .await?;
    }
    Ok(())
}
