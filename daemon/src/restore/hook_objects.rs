//! The plan's view of the hooks that act while a restore executes: `transform_object` hooks
//! are asked about every object while planning too, so the plan lists each decision (the
//! object's key, the hook, every attribute whose values change from what to what, or the
//! skip); hooks whose input only execution has (`before_stage` / `after_stage`: the stage's
//! progress; `after_object_restored`: the created object) are listed as [`ExecuteTimeHook`]s,
//! their decisions going to the restore log.
//!
//! Execution asks the `transform_object` hooks again (the plan holds the changes, not whole
//! objects) and compares: a decision that differs from the plan's gets a warning in the log,
//! so "the executed restore matches the plan" can be checked object by object.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::ctx::Ctx;
use super::order::ObjectGraph;
use super::plan::RestorePlan;
use super::source::Source;
use super::{Error, Stage, hooks, log};
use crate::hooks::{ActiveHooks, DecisionOutcome, HookDecision, HookPoint, OnError};
use crate::model::Object;
use crate::store::{AsyncStore, LogLevel, NewLogEntry, kind};

/// Objects read from the store per query while planning.
const CHUNK: usize = 256;

/// A selected hook whose decisions cannot be known while planning: it runs while the restore
/// executes, and its decisions appear in the restore log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteTimeHook {
    /// The hook.
    pub hook: String,
    /// Its point.
    pub point: HookPoint,
    /// What it needs that only execution has.
    pub needs: ExecuteInput,
    /// What its decisions can do to the restore.
    pub effect: ExecuteEffect,
    /// Where its decisions show.
    pub decisions_in: DecisionRecord,
}

/// The input only execution has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteInput {
    /// A stage's progress as it runs (`done` / `total`).
    StageProgress,
    /// The object created on the target (its new id and key).
    CreatedObject,
}

/// What an execute-time hook's decisions can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteEffect {
    /// End the restore in error (nothing already written is changed).
    MayAbort,
    /// Only notes: nothing written depends on them.
    NotesOnly,
}

/// Where decisions are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRecord {
    /// The restore log (`restores log ID`), one entry per decision or note.
    RestoreLog,
}

/// The selected hooks that only run while the restore executes, in config order.
pub(super) fn execute_time(active: &ActiveHooks) -> Vec<ExecuteTimeHook> {
    active
        .points()
        .into_iter()
        .filter_map(|(hook, point)| {
            let (needs, effect) = match point {
                HookPoint::BeforeStage | HookPoint::AfterStage => {
                    (ExecuteInput::StageProgress, ExecuteEffect::MayAbort)
                }
                HookPoint::AfterObjectRestored => {
                    (ExecuteInput::CreatedObject, ExecuteEffect::NotesOnly)
                }
                _ => return None,
            };
            Some(ExecuteTimeHook {
                hook,
                point,
                needs,
                effect,
                decisions_in: DecisionRecord::RestoreLog,
            })
        })
        .collect()
}

/// Asks the `transform_object` hooks about every object the restore creates (in the order
/// execution creates them; duplicates an existing schema skips are not asked) and lists the
/// execute-time hooks, into `plan.hooks`.
///
/// # Errors
///
/// [`Error::Store`] reading the backup; [`Error::Hook`] when a hook fails with
/// `on_error = "fail"`.
pub(super) async fn plan(
    active: &ActiveHooks,
    store: &AsyncStore,
    source: &Source,
    graph: &ObjectGraph,
    plan: &mut RestorePlan,
) -> Result<Left, Error> {
    plan.hooks.at_execute = execute_time(active);
    let mut left = Left::default();
    if !active.has(HookPoint::TransformObject) {
        return Ok(left);
    }
    // Objects an existing schema skips (duplicates, unique values it holds) are not created.
    let skipped: HashSet<String> = plan
        .existing
        .iter()
        .flat_map(|e| e.skipped_identities())
        .map(str::to_owned)
        .collect();
    for w in 0..graph.waves() {
        for chunk in graph.wave(w).chunks(CHUNK) {
            let origs = chunk
                .iter()
                .map(|i| graph.orig_id(*i))
                .filter(|o| !skipped.contains(*o))
                .map(str::to_owned)
                .collect();
            let entries = store
                .entries_by_id(source.backup.id, kind::OBJECT, origs)
                .await?;
            for e in entries {
                let obj: Object = serde_json::from_slice(&e.json)?;
                let object_type = hooks::type_ref(source, &obj);
                let mut decisions = active.transform_object(&object_type, obj).await?.decisions;
                name_changes(source, &mut decisions);
                if decisions.iter().any(skips) {
                    left.objects += 1;
                    let deferred = graph.index_of_orig(&e.original_id);
                    left.with_deferred +=
                        u64::from(deferred.is_some_and(|i| graph.has_deferred(i)));
                }
                plan.hooks.decisions.extend(decisions);
            }
        }
    }
    plan.hooks.objects_planned = true;
    Ok(left)
}

/// Objects `transform_object` hooks leave out while planning: no create, and no PUT of the
/// object references stage for those with references in a cycle.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Left {
    objects: u64,
    with_deferred: u64,
}

/// Whether a decision leaves its object out.
fn skips(d: &HookDecision) -> bool {
    matches!(
        d.outcome,
        DecisionOutcome::Skipped { .. }
            | DecisionOutcome::Failed {
                on_error: OnError::Skip,
                ..
            }
    )
}

/// Objects `transform_object` hooks leave out, per the plan.
pub(super) fn objects_skipped(plan: &RestorePlan) -> u64 {
    plan.hooks
        .decisions
        .iter()
        .filter(|d| d.point == HookPoint::TransformObject && skips(d))
        .count() as u64
}

/// The estimate less what objects a hook leaves out would have cost: their creates and
/// their PUTs of the object references stage.
pub(super) fn adjust_estimate(plan: &mut RestorePlan, left: Left) {
    let r = &mut plan.requests;
    for s in r.per_stage.iter_mut() {
        let less = match s.stage {
            Stage::ObjectEntries => left.objects,
            Stage::ObjectReferences => left.with_deferred,
            _ => continue,
        }
        .min(s.requests);
        s.requests -= less;
        r.total = r.total.saturating_sub(less);
    }
}

/// Names the attributes of value changes after the backup's definitions.
fn name_changes(source: &Source, decisions: &mut [HookDecision]) {
    for d in decisions {
        if let DecisionOutcome::Changed { values, .. } = &mut d.outcome {
            for v in values {
                if let Some(a) = source.attr(&v.attribute_id) {
                    v.attribute.clone_from(&a.name);
                }
            }
        }
    }
}

/// The plan's `transform_object` decisions by object key (only when the plan asked the hooks
/// about every object; plans written before that hold none to compare with).
#[derive(Debug, Default)]
pub(super) struct Planned(Option<HashMap<String, Vec<HookDecision>>>);

impl Planned {
    pub(super) fn of(plan: &RestorePlan) -> Planned {
        if !plan.hooks.objects_planned {
            return Planned(None);
        }
        let mut by_key: HashMap<String, Vec<HookDecision>> = HashMap::new();
        for d in plan
            .hooks
            .decisions
            .iter()
            .filter(|d| d.point == HookPoint::TransformObject)
        {
            by_key.entry(d.subject.clone()).or_default().push(d.clone());
        }
        Planned(Some(by_key))
    }

    /// Why `now` (execution's decisions about `key`) is not what the plan said, if it is not.
    /// Notes are free text and not compared.
    fn differs(&self, key: &str, now: &[HookDecision]) -> Option<String> {
        let by_key = self.0.as_ref()?;
        let planned = by_key.get(key).map_or(&[][..], Vec::as_slice);
        let same = |a: &HookDecision, b: &HookDecision| a.hook == b.hook && a.outcome == b.outcome;
        let equal = planned.len() == now.len() && planned.iter().zip(now).all(|(a, b)| same(a, b));
        if equal {
            return None;
        }
        let list = |l: &[HookDecision]| match l.len() {
            0 => "no decision".to_owned(),
            _ => l
                .iter()
                .map(HookDecision::message)
                .collect::<Vec<_>>()
                .join(" | "),
        };
        Some(format!(
            "The transform_object hooks decided otherwise than the plan: planned {}; now {}",
            list(planned),
            list(now)
        ))
    }
}

/// Runs the `transform_object` hooks on `obj` (key `key`) while executing: the object to
/// create (`None`: left out) and the log entries of the decisions, with a warning when they
/// differ from the plan's.
///
/// # Errors
///
/// [`Error::Hook`] when a hook fails with `on_error = "fail"`.
pub(super) async fn transform(
    ctx: &Ctx<'_>,
    planned: &Planned,
    key: &str,
    obj: Object,
) -> Result<(Option<Object>, Vec<NewLogEntry>), Error> {
    let object_type = hooks::type_ref(&ctx.source, &obj);
    let applied = ctx.hooks.transform_object(&object_type, obj).await?;
    let mut decisions = applied.decisions;
    name_changes(&ctx.source, &mut decisions);
    let mut entries = hooks::object_notes(key, &decisions);
    if let Some(why) = planned.differs(key, &decisions) {
        entries.push(log::note(LogLevel::Warn, key, why));
    }
    Ok((applied.result, entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::ValueChange;

    fn decision(hook: &str, to: &str) -> HookDecision {
        HookDecision {
            hook: hook.into(),
            point: HookPoint::TransformObject,
            subject: "K-1".into(),
            outcome: DecisionOutcome::Changed {
                change: "1 attribute(s) changed".into(),
                values: vec![ValueChange {
                    attribute_id: "10".into(),
                    attribute: "Name".into(),
                    from: vec!["a  b".into()],
                    to: vec![to.into()],
                }],
            },
            note: None,
        }
    }

    #[test]
    fn execution_is_compared_with_the_plan_decision_by_decision() {
        let planned = Planned(Some(HashMap::from([(
            "K-1".to_owned(),
            vec![decision("norm", "a b")],
        )])));
        assert_eq!(planned.differs("K-1", &[decision("norm", "a b")]), None);
        let mut noted = decision("norm", "a b");
        noted.note = Some("another note".into());
        assert_eq!(
            planned.differs("K-1", &[noted]),
            None,
            "notes are free text"
        );
        let why = planned
            .differs("K-1", &[decision("norm", "a  b")])
            .expect("another value");
        assert!(why.contains("planned Hook norm"), "{why}");
        assert!(planned.differs("K-1", &[]).is_some());
        assert!(planned.differs("K-2", &[decision("norm", "x")]).is_some());
        assert_eq!(planned.differs("K-2", &[]), None);
        assert_eq!(Planned(None).differs("K-1", &[]), None, "an older plan");
    }
}
