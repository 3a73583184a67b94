//! [`PlanSummary`]: what a plan leaves out or skips, listed for a person reading a dry run
//! (`restore start --dry-run --json`, `summary`): the duplicates it skips, the attributes it
//! drops (`--types`, cross-schema references, types Cloud lacks, hooks) and those whose name
//! exists on the target with another type, the object types and objects it restores, and the
//! requests it sends. Derived from the rest of the plan, so it never disagrees with it.

use serde::{Deserialize, Serialize};

use super::plan::{AttrAction, AttrPlan, RestorePlan};
use super::unique::UniqueTaken;

/// The lists of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Backup objects already in the existing schema, skipped (empty with `--duplicates`).
    pub skipped_duplicates: Vec<SkippedDuplicate>,
    /// Attributes not restored, with why.
    pub dropped_attributes: Vec<AttrNote>,
    /// Attributes whose name exists on the target's type with another type: left as they are
    /// there, their values skipped.
    pub attribute_conflicts: Vec<AttrNote>,
    /// Object types the restore creates or maps.
    pub object_types: u64,
    /// Objects the restore creates (the backup's, less skipped duplicates, those whose unique
    /// value the target holds and objects `transform_object` hooks leave out).
    pub objects_created: u64,
    /// Objects skipped because a value of a unique attribute is held by an object of the
    /// existing schema already, which the target would refuse (above all the copies
    /// `--duplicates` creates); references to them point at that object.
    #[serde(default)]
    pub unique_taken: Vec<UniqueTaken>,
    /// Requests `execute` sends to the target when nothing goes wrong.
    pub requests: u64,
}

/// A skipped duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedDuplicate {
    /// Its key in the backup.
    pub key: String,
    /// The target object it duplicates.
    pub duplicate_of: String,
}

/// An attribute of the plan, named for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttrNote {
    /// Its object type's name.
    pub object_type: String,
    /// Its name.
    pub name: String,
    /// Its type ("Object", "Text", ...).
    pub type_name: String,
    /// Why.
    pub reason: String,
}

fn note(a: &AttrPlan) -> AttrNote {
    AttrNote {
        object_type: a.object_type_name.clone(),
        name: a.name.clone(),
        type_name: a.type_name.clone(),
        reason: a.reason.clone().unwrap_or_default(),
    }
}

/// The summary of `plan`.
pub(super) fn of(plan: &RestorePlan) -> PlanSummary {
    let with = |action: AttrAction| {
        plan.attributes
            .iter()
            .filter(|a| a.action == action)
            .map(note)
            .collect::<Vec<_>>()
    };
    let skipped: Vec<SkippedDuplicate> = plan
        .existing
        .iter()
        .filter(|e| e.skips())
        .flat_map(|e| &e.duplicates)
        .map(|d| SkippedDuplicate {
            key: d.key.clone(),
            duplicate_of: d.existing_key.clone(),
        })
        .collect();
    let unique_taken: Vec<UniqueTaken> = plan
        .existing
        .iter()
        .flat_map(|e| e.unique_taken.iter().cloned())
        .collect();
    PlanSummary {
        objects_created: plan
            .order
            .objects
            .saturating_sub((skipped.len() + unique_taken.len()) as u64)
            .saturating_sub(super::hook_objects::objects_skipped(plan)),
        unique_taken,
        skipped_duplicates: skipped,
        dropped_attributes: with(AttrAction::Drop),
        attribute_conflicts: with(AttrAction::Conflict),
        object_types: plan.object_types.len() as u64,
        requests: plan.requests.total,
    }
}
