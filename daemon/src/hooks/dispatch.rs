//! Calling the selected hooks of one restore, point by point, with `on_error` applied.
//!
//! Hooks of one point run in config order. Transforms chain (each hook sees the attribute or
//! object as the previous one left it; a skip ends the chain); `match_user` takes the first
//! hook that decides; stage hooks may abort. Every decision, note and tolerated failure comes
//! back as a [`HookDecision`] so the caller can put it in the plan and the restore log.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::changes::{ValueChange, describe, value_changes};
use super::messages::{
    AttributeDecision, AttributeInput, AttributeStats, Decision, HookCall, HookContext, HookInput,
    HookReply, MatchUserInput, ObjectDecision, ObjectInput, RestoredInput, StageDecision,
    StageInput, TypeRef, UserDecision, UserInput, UserToMatch,
};
use super::registry::RegisteredHook;
use super::{HookError, HookPoint, OnError};
use crate::model::{Object, ObjectTypeAttribute, default_type_name};

/// What a hook decided (or how it failed), as the plan and the restore log show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookDecision {
    /// The hook.
    pub hook: String,
    /// The point.
    pub point: HookPoint,
    /// What it was about: `Laptop.Notes`, `LAP-12`, a user's name, a stage.
    pub subject: String,
    /// What it decided.
    pub outcome: DecisionOutcome,
    /// The hook's note, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The kinds of decisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// The attribute or object was replaced.
    Changed {
        /// What changed, in words.
        change: String,
        /// `transform_object`: each attribute whose values changed, from what to what
        /// (empty for an attribute definition, and in plans written before it existed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        values: Vec<ValueChange>,
    },
    /// The attribute or object is left out.
    Skipped {
        /// The hook's reason.
        reason: String,
    },
    /// The restore ends in error.
    Aborted {
        /// The hook's reason.
        reason: String,
    },
    /// The user becomes this target account.
    Matched {
        /// Target account id.
        account_id: String,
    },
    /// The user is left empty.
    Unmatched {
        /// The hook's reason.
        reason: String,
    },
    /// Only a note; default behaviour.
    Noted,
    /// The hook failed and `on_error` (skip or ignore) let the restore go on.
    Failed {
        /// The error.
        error: String,
        /// What was done about it.
        on_error: OnError,
    },
}

impl HookDecision {
    /// One line for the restore log.
    pub fn message(&self) -> String {
        let what = match &self.outcome {
            DecisionOutcome::Changed { change, values } if !values.is_empty() => {
                format!("changed: {change} ({})", describe(values))
            }
            DecisionOutcome::Changed { change, .. } => format!("changed: {change}"),
            DecisionOutcome::Skipped { reason } => format!("skipped: {reason}"),
            DecisionOutcome::Aborted { reason } => format!("aborted the restore: {reason}"),
            DecisionOutcome::Matched { account_id } => format!("matched to {account_id}"),
            DecisionOutcome::Unmatched { reason } => format!("no user: {reason}"),
            DecisionOutcome::Noted => "default".to_owned(),
            DecisionOutcome::Failed { error, on_error } => {
                let done = match on_error {
                    OnError::Skip => "skipped",
                    _ => "default behaviour",
                };
                format!("failed ({error}); {done}")
            }
        };
        let note = self
            .note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        format!(
            "Hook {} at {} on {}: {what}{note}",
            self.hook, self.point, self.subject
        )
    }

    /// Whether it records a failure (logged as a warning).
    pub fn is_failure(&self) -> bool {
        matches!(self.outcome, DecisionOutcome::Failed { .. })
    }
}

/// Why hooks stopped a restore (or a plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HookFailed {
    /// A hook with `on_error = "fail"` failed.
    #[error("hook {hook:?} failed at {point}")]
    Failed {
        /// The hook.
        hook: String,
        /// The point.
        point: HookPoint,
        /// Why.
        #[source]
        source: HookError,
    },
    /// A stage hook aborted the restore.
    #[error("hook {hook:?} aborted the restore at {point}: {reason}")]
    Aborted {
        /// The hook.
        hook: String,
        /// The point.
        point: HookPoint,
        /// The hook's reason.
        reason: String,
    },
}

/// A subject after the hooks: the value (`None` = skipped) and what the hooks decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied<T> {
    /// The result.
    pub result: T,
    /// Every decision, in order.
    pub decisions: Vec<HookDecision>,
}

/// What `match_user` hooks decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserResult {
    /// No hook decided: the daemon's own matching applies.
    Default,
    /// This target account.
    Account(String),
    /// No user (the value is left empty).
    None(String),
}

/// The selected hooks of one restore, with its context (by default: none).
#[derive(Debug, Clone, Default)]
pub struct ActiveHooks {
    hooks: Vec<Arc<RegisteredHook>>,
    context: HookContext,
}

/// What a transform hook's decision does to its subject.
enum Turn<T> {
    /// The hook's replacement.
    Replace(T),
    /// Left out, for this reason.
    Skip(String),
}

/// What one call came to, after `on_error`.
enum Step {
    /// The hook answered.
    Reply(HookReply),
    /// It failed; `on_error` is skip or ignore; the record says so.
    Tolerated(OnError, HookDecision),
}

impl ActiveHooks {
    pub(super) fn new(hooks: Vec<Arc<RegisteredHook>>, context: HookContext) -> ActiveHooks {
        ActiveHooks { hooks, context }
    }

    /// No hooks at all.
    pub fn none(context: HookContext) -> ActiveHooks {
        ActiveHooks::new(Vec::new(), context)
    }

    /// The restore's context.
    pub fn context(&self) -> &HookContext {
        &self.context
    }

    /// The same hooks for another context (the plan's dry run, then the restore).
    pub fn with_context(&self, context: HookContext) -> ActiveHooks {
        ActiveHooks::new(self.hooks.clone(), context)
    }

    /// Whether any selected hook runs at `point` (callers skip building inputs otherwise).
    pub fn has(&self, point: HookPoint) -> bool {
        self.hooks.iter().any(|h| h.point() == point)
    }

    /// The selected hooks' names, in config order.
    pub fn names(&self) -> Vec<String> {
        self.hooks.iter().map(|h| h.spec.name.clone()).collect()
    }

    /// The selected hooks' names and points, in config order.
    pub fn points(&self) -> Vec<(String, HookPoint)> {
        self.hooks
            .iter()
            .map(|h| (h.spec.name.clone(), h.point()))
            .collect()
    }

    fn at(&self, point: HookPoint) -> impl Iterator<Item = &Arc<RegisteredHook>> {
        self.hooks.iter().filter(move |h| h.point() == point)
    }

    async fn call(
        &self,
        hook: &RegisteredHook,
        input: HookInput,
        subject: &str,
    ) -> Result<Step, HookFailed> {
        let point = input.point();
        let call = HookCall {
            context: self.context.clone(),
            input,
        };
        let answer = hook
            .hook
            .call(&call)
            .await
            .and_then(|reply| check_shape(point, reply));
        match answer {
            Ok(reply) => Ok(Step::Reply(reply)),
            Err(source) => {
                tracing::debug!(hook = hook.name(), %point, error = %source, "HookFailed.");
                match hook.on_error() {
                    OnError::Fail => Err(HookFailed::Failed {
                        hook: hook.spec.name.clone(),
                        point,
                        source,
                    }),
                    on_error => Ok(Step::Tolerated(
                        on_error,
                        record(
                            hook,
                            subject,
                            DecisionOutcome::Failed {
                                error: source.to_string(),
                                on_error,
                            },
                            None,
                        ),
                    )),
                }
            }
        }
    }

    /// `before_stage` / `after_stage`.
    ///
    /// # Errors
    ///
    /// [`HookFailed::Aborted`] when a hook aborts; [`HookFailed::Failed`] per `on_error`.
    pub async fn stage(
        &self,
        point: HookPoint,
        input: StageInput,
    ) -> Result<Vec<HookDecision>, HookFailed> {
        let mut decisions = Vec::new();
        let subject = format!("stage {}", input.stage);
        for hook in self.at(point) {
            let message = match point {
                HookPoint::AfterStage => HookInput::AfterStage(input.clone()),
                _ => HookInput::BeforeStage(input.clone()),
            };
            match self.call(hook, message, &subject).await? {
                Step::Tolerated(_, d) => decisions.push(d),
                Step::Reply(reply) => match reply.decision {
                    Some(Decision::Stage(StageDecision { abort })) => {
                        return Err(HookFailed::Aborted {
                            hook: hook.spec.name.clone(),
                            point,
                            reason: abort,
                        });
                    }
                    _ => decisions.extend(noted(hook, &subject, reply.note)),
                },
            }
        }
        Ok(decisions)
    }

    /// The chain of the transform points: each hook at `point` sees the subject as the
    /// previous one left it (`input` builds its message) and may replace it or skip it
    /// (`turn` reads its decision); a skip, or a failure with `on_error = "skip"`, ends the
    /// chain with `None`. `change` describes a replacement for the record (in words, and
    /// value by value for objects).
    async fn chain<T: Clone>(
        &self,
        point: HookPoint,
        subject: &str,
        mut current: T,
        input: impl Fn(&T) -> HookInput,
        turn: impl Fn(Decision) -> Option<Turn<T>>,
        change: impl Fn(&T, &T) -> (String, Vec<ValueChange>),
    ) -> Result<Applied<Option<T>>, HookFailed> {
        let mut decisions = Vec::new();
        for hook in self.at(point) {
            let skipped = |decisions| {
                Ok(Applied {
                    result: None,
                    decisions,
                })
            };
            match self.call(hook, input(&current), subject).await? {
                Step::Tolerated(on_error, d) => {
                    decisions.push(d);
                    if on_error == OnError::Skip {
                        return skipped(decisions);
                    }
                }
                Step::Reply(reply) => match reply.decision.and_then(&turn) {
                    Some(Turn::Replace(new)) => {
                        let (change, values) = change(&current, &new);
                        let outcome = DecisionOutcome::Changed { change, values };
                        decisions.push(record(hook, subject, outcome, reply.note));
                        current = new;
                    }
                    Some(Turn::Skip(reason)) => {
                        let outcome = DecisionOutcome::Skipped { reason };
                        decisions.push(record(hook, subject, outcome, reply.note));
                        return skipped(decisions);
                    }
                    None => decisions.extend(noted(hook, subject, reply.note)),
                },
            }
        }
        Ok(Applied {
            result: Some(current),
            decisions,
        })
    }

    /// `transform_attribute`: the attribute to create, or `None` when a hook skipped it.
    ///
    /// # Errors
    ///
    /// [`HookFailed::Failed`] per `on_error`.
    pub async fn transform_attribute(
        &self,
        object_type: &TypeRef,
        attribute: ObjectTypeAttribute,
        stats: AttributeStats,
    ) -> Result<Applied<Option<ObjectTypeAttribute>>, HookFailed> {
        let subject = format!(
            "{}.{}",
            object_type.name,
            attribute.name.get().map_or("", String::as_str)
        );
        let input = |current: &ObjectTypeAttribute| {
            HookInput::TransformAttribute(AttributeInput {
                object_type: object_type.clone(),
                attribute: current.clone(),
                stats,
            })
        };
        let turn = |decision| match decision {
            Decision::Attribute(AttributeDecision::Attribute(new)) => Some(Turn::Replace(*new)),
            Decision::Attribute(AttributeDecision::Skip(reason)) => Some(Turn::Skip(reason)),
            _ => None,
        };
        let point = HookPoint::TransformAttribute;
        self.chain(point, &subject, attribute, input, turn, attribute_change)
            .await
    }

    /// `transform_object`: the object to create, or `None` when a hook skipped it.
    ///
    /// # Errors
    ///
    /// [`HookFailed::Failed`] per `on_error`.
    pub async fn transform_object(
        &self,
        object_type: &TypeRef,
        object: Object,
    ) -> Result<Applied<Option<Object>>, HookFailed> {
        let subject = object_subject(&object);
        let input = |current: &Object| {
            HookInput::TransformObject(ObjectInput {
                object_type: object_type.clone(),
                object: current.clone(),
            })
        };
        let turn = |decision| match decision {
            Decision::Object(ObjectDecision::Object(new)) => Some(Turn::Replace(*new)),
            Decision::Object(ObjectDecision::Skip(reason)) => Some(Turn::Skip(reason)),
            _ => None,
        };
        let point = HookPoint::TransformObject;
        self.chain(point, &subject, object, input, turn, object_change)
            .await
    }

    /// `match_user`: the first hook that decides wins.
    ///
    /// # Errors
    ///
    /// [`HookFailed::Failed`] per `on_error`.
    pub async fn match_user(&self, input: UserInput) -> Result<Applied<UserResult>, HookFailed> {
        self.match_user_with(input.into()).await
    }

    /// [`ActiveHooks::match_user`] with the backup's accounts under the user's display name.
    ///
    /// # Errors
    ///
    /// [`HookFailed::Failed`] per `on_error`.
    pub async fn match_user_with(
        &self,
        input: MatchUserInput,
    ) -> Result<Applied<UserResult>, HookFailed> {
        let subject = user_subject(&input.user.user);
        let mut decisions = Vec::new();
        for hook in self.at(HookPoint::MatchUser) {
            match self
                .call(hook, HookInput::MatchUser(input.clone()), &subject)
                .await?
            {
                Step::Tolerated(on_error, d) => {
                    let reason = format!("hook {} failed", hook.spec.name);
                    decisions.push(d);
                    if on_error == OnError::Skip {
                        return Ok(Applied {
                            result: UserResult::None(reason),
                            decisions,
                        });
                    }
                }
                Step::Reply(reply) => match reply.decision {
                    Some(Decision::User(UserDecision::AccountId(account_id))) => {
                        decisions.push(record(
                            hook,
                            &subject,
                            DecisionOutcome::Matched {
                                account_id: account_id.clone(),
                            },
                            reply.note,
                        ));
                        return Ok(Applied {
                            result: UserResult::Account(account_id),
                            decisions,
                        });
                    }
                    Some(Decision::User(UserDecision::None(reason))) => {
                        decisions.push(record(
                            hook,
                            &subject,
                            DecisionOutcome::Unmatched {
                                reason: reason.clone(),
                            },
                            reply.note,
                        ));
                        return Ok(Applied {
                            result: UserResult::None(reason),
                            decisions,
                        });
                    }
                    _ => decisions.extend(noted(hook, &subject, reply.note)),
                },
            }
        }
        Ok(Applied {
            result: UserResult::Default,
            decisions,
        })
    }

    /// `after_object_restored`: notes only (the object exists; skip acts as ignore).
    ///
    /// # Errors
    ///
    /// [`HookFailed::Failed`] per `on_error`.
    pub async fn after_object_restored(
        &self,
        input: RestoredInput,
    ) -> Result<Vec<HookDecision>, HookFailed> {
        let subject = object_subject(&input.old);
        let mut decisions = Vec::new();
        for hook in self.at(HookPoint::AfterObjectRestored) {
            let message = HookInput::AfterObjectRestored(input.clone());
            match self.call(hook, message, &subject).await? {
                Step::Tolerated(_, d) => decisions.push(d),
                Step::Reply(reply) => decisions.extend(noted(hook, &subject, reply.note)),
            }
        }
        Ok(decisions)
    }
}

/// A Rust hook can build any [`Decision`]; one of another point's shape is an output error,
/// as it is for Rhai and WASM hooks (whose JSON is read per point).
fn check_shape(point: HookPoint, reply: HookReply) -> Result<HookReply, HookError> {
    let fits = matches!(
        (&reply.decision, point),
        (None, _)
            | (
                Some(Decision::Stage(_)),
                HookPoint::BeforeStage | HookPoint::AfterStage
            )
            | (Some(Decision::Attribute(_)), HookPoint::TransformAttribute)
            | (Some(Decision::Object(_)), HookPoint::TransformObject)
            | (Some(Decision::User(_)), HookPoint::MatchUser)
    );
    if fits {
        Ok(reply)
    } else {
        Err(HookError::Output {
            message: format!("a decision of another shape than {point} takes"),
        })
    }
}

fn record(
    hook: &RegisteredHook,
    subject: &str,
    outcome: DecisionOutcome,
    note: Option<String>,
) -> HookDecision {
    HookDecision {
        hook: hook.spec.name.clone(),
        point: hook.point(),
        subject: subject.to_owned(),
        outcome,
        note,
    }
}

/// A record for a default answer that carries a note; nothing for a plain default.
fn noted(hook: &RegisteredHook, subject: &str, note: Option<String>) -> Option<HookDecision> {
    note.map(|n| record(hook, subject, DecisionOutcome::Noted, Some(n)))
}

fn object_subject(object: &Object) -> String {
    object
        .object_key
        .get()
        .or(object.label.get())
        .cloned()
        .unwrap_or_else(|| format!("object {}", object.id.as_str()))
}

fn user_subject(u: &UserToMatch) -> String {
    u.display_name
        .clone()
        .or_else(|| u.account_id.clone())
        .or_else(|| u.key.clone())
        .unwrap_or_else(|| "a user".to_owned())
}

/// "Text -> Textarea" when the default type changed, else a generic description.
fn attribute_change(
    old: &ObjectTypeAttribute,
    new: &ObjectTypeAttribute,
) -> (String, Vec<ValueChange>) {
    let type_of = |a: &ObjectTypeAttribute| a.default_type.get().map(|d| d.id);
    let words = match (type_of(old), type_of(new)) {
        (Some(a), Some(b)) if a != b => {
            format!("{} -> {}", default_type_name(a), default_type_name(b))
        }
        _ if old == new => "unchanged".to_owned(),
        _ => "definition replaced".to_owned(),
    };
    (words, Vec::new())
}

/// How many of the object's attributes the hook changed (or whether other fields did), and
/// each attribute's values from and to.
fn object_change(old: &Object, new: &Object) -> (String, Vec<ValueChange>) {
    (object_change_words(old, new), value_changes(old, new))
}

fn object_change_words(old: &Object, new: &Object) -> String {
    let attrs = |o: &Object| o.attributes.get().cloned().unwrap_or_default();
    let (a, b) = (attrs(old), attrs(new));
    let changed = b
        .iter()
        .filter(|nb| {
            !a.iter().any(|na| {
                na.object_type_attribute_id == nb.object_type_attribute_id
                    && na.object_attribute_values == nb.object_attribute_values
            })
        })
        .count();
    let removed = a
        .iter()
        .filter(|na| {
            !b.iter()
                .any(|nb| nb.object_type_attribute_id == na.object_type_attribute_id)
        })
        .count();
    match (changed, removed) {
        (0, 0) if old == new => "unchanged".to_owned(),
        (0, 0) => "fields changed".to_owned(),
        (c, 0) => format!("{c} attribute(s) changed"),
        (0, r) => format!("{r} attribute(s) removed"),
        (c, r) => format!("{c} attribute(s) changed, {r} removed"),
    }
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
