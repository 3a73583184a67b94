//! Stage "Restoring icons": Assets Cloud has no icon upload, so every icon of the backup is
//! mapped to a *global* icon of the target with the same name (the plan decided which); a
//! custom icon without such a twin falls back to the plan's default icon, with a note. No
//! request is made: the stage only records the decisions in the id map.

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
        if !icon.matched {
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
