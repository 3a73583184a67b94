//! The requests a plan expects `execute` to send to the target per stage, when nothing goes
//! wrong (for a new schema; `existing::adjust_estimate` corrects it for an existing one).

use super::Stage;
use super::plan::{AttrAction, AttrPlan, EntityPlan, RequestEstimate, RestorePlan, StageRequests};
use super::source::Source;

/// Requests per stage, mirroring what each stage sends when nothing goes wrong.
pub(super) fn estimate(source: &Source, plan: &RestorePlan) -> RequestEstimate {
    let count = |f: &dyn Fn(&AttrPlan) -> bool| plan.attributes.iter().filter(|a| f(a)).count();
    let roots = source
        .types
        .iter()
        .filter(|t| source.attr_root(&t.id) == t.id)
        .count();
    // A type whose position differs from its rank among its siblings is moved after creation.
    let moves = source
        .types
        .iter()
        .filter(|t| {
            let rank = source
                .types
                .iter()
                .filter(|s| s.parent == t.parent && (s.position, &s.id) < (t.position, &t.id))
                .count();
            rank as i64 != t.position
        })
        .count();
    let creates = |list: &[EntityPlan], global: bool| {
        list.iter()
            .filter(|e| e.global == global && e.existing_id.is_none())
            .count()
    };
    let per_stage: Vec<StageRequests> = Stage::ALL
        .iter()
        .map(|&stage| {
            let n = match stage {
                Stage::Icons => 0,
                Stage::Schema => 1,
                Stage::GlobalConfig => {
                    usize::from(super::schema::config_body(source.config.as_ref()).is_some())
                }
                Stage::GlobalStatusTypes => creates(&plan.status_types, true),
                Stage::SchemaStatusTypes => creates(&plan.status_types, false),
                Stage::ReferenceTypes => creates(&plan.reference_types, false),
                Stage::GlobalReferenceTypes => creates(&plan.reference_types, true),
                Stage::ObjectTypes => source.types.len() + moves,
                Stage::Attributes => {
                    roots
                        + count(&|a| {
                            matches!(
                                a.action,
                                AttrAction::Create | AttrAction::Added | AttrAction::UpdateName
                            )
                        })
                }
                Stage::ObjectEntries => plan.order.objects as usize,
                Stage::ObjectReferences => plan.order.objects_with_deferred_references as usize,
            };
            StageRequests {
                stage,
                requests: n as u64,
            }
        })
        .collect();
    RequestEstimate {
        total: per_stage.iter().map(|s| s.requests).sum(),
        per_stage,
    }
}
