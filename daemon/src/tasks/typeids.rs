//! Task `object-type-ids`: writes each restored object type's original id (its id in the
//! backup) into its description on the target, overwriting what was there (the CLI asks first).
//!
//! Requests: one `list_object_types` of the new schema, then one `update_object_type` per type
//! whose description is not its original id yet; a second run sends none.

use serde::{Deserialize, Serialize};

use super::{Ctx, Error, TaskSummary};
use crate::model::ObjectTypeUpdate;
use crate::restore::id_kinds;
use crate::store::ItemOutcome;

/// Progress stage name.
const STAGE: &str = "object type ids";

/// What the task did, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TypeIdsSummary {
    /// Object types whose description was set.
    pub updated: u64,
    /// Object types whose description held the id already.
    pub unchanged: u64,
    /// Object types not restored, or gone from the target.
    pub skipped: u64,
    /// Object types the target refused to update.
    pub failed: u64,
}

pub(super) async fn run(ctx: &Ctx<'_>) -> Result<(TaskSummary, String), Error> {
    let schema = ctx.new_schema_id()?;
    let map = ctx.id_map(ctx.restore.id, id_kinds::TYPE).await?;
    let on_target = ctx.target_types().await?;
    let total = ctx.plan.object_types.len() as u64;
    let mut s = TypeIdsSummary::default();
    ctx.progress(STAGE, 0, total);
    for (i, planned) in ctx.plan.object_types.iter().enumerate() {
        ctx.check_cancel()?;
        let item = format!("objecttype {} ({})", planned.old_id, planned.name);
        let current = map.get(&planned.old_id).and_then(|new| on_target.get(new));
        let (outcome, message) = match (map.get(&planned.old_id), current) {
            (None, _) => (
                ItemOutcome::Skipped,
                "not restored (no id in the restore's id map)".to_owned(),
            ),
            (Some(new), None) => (
                ItemOutcome::Skipped,
                format!("object type {new} is no longer in schema {schema} on the target"),
            ),
            (Some(new), Some(t)) if t.description.as_deref() == Some(planned.old_id.as_str()) => (
                ItemOutcome::Unchanged,
                format!("object type {new} holds its original id already"),
            ),
            (Some(new), Some(_)) => {
                let body = ObjectTypeUpdate {
                    name: None,
                    description: Some(planned.old_id.clone()),
                };
                match ctx.target.update_object_type(new, &body).await {
                    Ok(()) => (
                        ItemOutcome::Updated,
                        format!("object type {new}: description := {}", planned.old_id),
                    ),
                    Err(e) if e.is_retryable() => return Err(e.into()),
                    Err(e) => (
                        ItemOutcome::Failed,
                        format!(
                            "object type {new}: {}{}",
                            crate::error::error_chain(&e),
                            e.api_body().map(|b| format!(": {b}")).unwrap_or_default()
                        ),
                    ),
                }
            }
        };
        match outcome {
            ItemOutcome::Updated => s.updated += 1,
            ItemOutcome::Unchanged => s.unchanged += 1,
            ItemOutcome::Skipped => s.skipped += 1,
            ItemOutcome::Failed => s.failed += 1,
        }
        ctx.item(item, outcome, message).await?;
        ctx.progress(STAGE, i as u64 + 1, total);
    }
    let message = format!(
        "{} object types updated, {} unchanged, {} skipped, {} failed",
        s.updated, s.unchanged, s.skipped, s.failed
    );
    Ok((TaskSummary::ObjectTypeIds(s), message))
}
