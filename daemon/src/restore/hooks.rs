//! The restore's side of the hook points (`crate::hooks`): what the plan asks the hooks
//! (`transform_attribute` with the backup's value statistics, `match_user`, and
//! `transform_object` in `hook_objects`) and records in [`HookPlan`], and what execution asks
//! them around stages and objects.
//!
//! The plan holds the hook selection, so a resumed restore (crash, STOP, retry) runs with the
//! same hooks, and every plan-time decision; execution writes those decisions to the restore
//! log when it first starts, and its own decisions (stages, objects) as it goes.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::ctx::Ctx;
use super::hook_objects::{DecisionRecord, ExecuteEffect, ExecuteInput, ExecuteTimeHook};
use super::plan::{AttrAction, AttrPlan, RestorePlan, UserMatch};
use super::source::Source;
use super::{Error, Stage, StageCount};
use crate::hooks::{
    ActiveHooks, AttributeStats, CreatedObject, HookContext, HookDecision, HookPoint, HookRegistry,
    HookSelection, MatchUserInput, RestoredInput, SourceAccount, StageInput, TypeRef,
    UserCandidate, UserInput, UserResult, UserToMatch,
};
use crate::model::{AttributeKind, AttributeValue, Id, JiraUser, Object, ObjectTypeAttribute};
use crate::store::{LogLevel, RestoreId};

/// What the hooks decided while planning, stored in the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookPlan {
    /// The restore's hooks, by name in config order.
    pub selection: HookSelection,
    /// Every decision made while planning, in order.
    #[serde(default)]
    pub decisions: Vec<HookDecision>,
    /// Attribute definitions replaced by `transform_attribute` hooks.
    #[serde(default)]
    pub attributes: Vec<AttributeOverride>,
    /// The selected hooks whose decisions only execution can make (stage and
    /// `after_object_restored` hooks): they show in the restore log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_execute: Vec<ExecuteTimeHook>,
    /// Backup accounts that share a display name with other accounts of the backup, each
    /// decided on its own by `match_user` hooks (the name's row in `users` holds the rule for
    /// the rest of its values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountDecision>,
    /// Whether `transform_object` hooks were asked about every object while planning (their
    /// decisions are in `decisions`; execution compares its own with them). False in plans
    /// written before the plan asked them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub objects_planned: bool,
}

impl HookPlan {
    /// Whether no hook takes part (then the plan does not show the section).
    pub fn is_empty(&self) -> bool {
        self.selection.names.is_empty()
            && self.decisions.is_empty()
            && self.attributes.is_empty()
            && self.at_execute.is_empty()
    }

    /// The section of a text dry run: one line per decision, then one per execute-time hook.
    pub fn text_lines(&self) -> Vec<String> {
        let decisions = self.decisions.iter().map(|d| d.message());
        let later = self.at_execute.iter().map(|h| {
            let needs = match h.needs {
                ExecuteInput::StageProgress => "a stage's progress",
                ExecuteInput::CreatedObject => "the created object",
            };
            let effect = match h.effect {
                ExecuteEffect::MayAbort => "it may abort the restore",
                ExecuteEffect::NotesOnly => "notes only",
            };
            let place = match h.decisions_in {
                DecisionRecord::RestoreLog => "the restore log",
            };
            format!(
                "Hook {} at {} runs while the restore executes (it needs {needs}; {effect}): \
                 its decisions appear in {place}",
                h.hook, h.point
            )
        });
        decisions
            .chain(later)
            .map(|l| format!("{:<12} {l}", "hook"))
            .collect()
    }
}

/// An attribute created with another definition than the backup's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeOverride {
    /// Backup id of the attribute.
    pub old_id: String,
    /// The definition to create, as the hook returned it.
    pub attribute: ObjectTypeAttribute,
}

/// The hooks of a restore and where they run: a dry run (no restore yet) or restore `id`.
#[derive(Debug, Clone, Copy)]
pub struct HookSetup<'a> {
    /// The configured hooks.
    pub registry: &'a HookRegistry,
    /// The restore, `None` for a dry run.
    pub restore_id: Option<RestoreId>,
}

/// The selected hooks of a restore from `source_site` to `api`'s site.
///
/// # Errors
///
/// [`Error::Hooks`] when the selection names a hook the config does not have.
pub(super) fn activate(
    setup: HookSetup<'_>,
    selection: &HookSelection,
    source_site: &str,
    api: &dyn crate::assets::AssetsApi,
) -> Result<ActiveHooks, Error> {
    let context = HookContext {
        restore_id: setup.restore_id,
        source_site: source_site.to_owned(),
        target_site: api.site_name().to_owned(),
        target_flavor: api.flavor().as_str().to_owned(),
        dry_run: setup.restore_id.is_none(),
    };
    Ok(setup.registry.activate(selection, context)?)
}

/// Per-attribute statistics and the backup's users as hooks see them, collected in the
/// plan's one pass over the objects — only when a hook will use them.
#[derive(Debug, Default)]
pub(super) struct HookScan {
    attrs: Option<HashMap<String, AttrAcc>>,
    /// Per display name: the user as first seen, and every account under that name.
    users: Option<HashMap<String, (UserToMatch, Vec<SourceAccount>)>>,
}

#[derive(Debug, Default)]
struct AttrAcc {
    count: u64,
    longest_text: u64,
    /// Hashes of the distinct values (8 bytes each, not the values).
    distinct: HashSet<u64>,
}

impl HookScan {
    /// A scan collecting what `hooks` need.
    pub(super) fn new(hooks: &ActiveHooks) -> HookScan {
        HookScan {
            attrs: hooks.has(HookPoint::TransformAttribute).then(HashMap::new),
            users: hooks.has(HookPoint::MatchUser).then(HashMap::new),
        }
    }

    /// One value of attribute `id` (of `kind`).
    pub(super) fn visit(&mut self, id: &str, kind: &AttributeKind, v: &AttributeValue) {
        if let Some(attrs) = &mut self.attrs {
            let acc = attrs.entry(id.to_owned()).or_default();
            acc.count += 1;
            if let Some(scalar) = v.value.get() {
                if let Some(s) = scalar.as_str() {
                    acc.longest_text = acc.longest_text.max(s.chars().count() as u64);
                }
                let mut h = DefaultHasher::new();
                scalar.to_text().hash(&mut h);
                acc.distinct.insert(h.finish());
            }
        }
        if let (Some(users), AttributeKind::User) = (&mut self.users, kind)
            && let Some(name) = v.user_name()
        {
            let u = v.user.get();
            let account = SourceAccount {
                account_id: v.value.get().and_then(|s| s.as_str()).map(str::to_owned),
                email: u.and_then(|u| u.email_address.get().cloned()),
                key: u.and_then(|u| u.key.get().cloned()),
                name: u.and_then(|u| u.name.get().cloned()),
                values: 0,
            };
            let (_, accounts) = users.entry(name.to_owned()).or_insert_with(|| {
                let first = UserToMatch {
                    account_id: account.account_id.clone(),
                    display_name: Some(name.to_owned()),
                    email: account.email.clone(),
                    key: account.key.clone(),
                };
                (first, Vec::new())
            });
            // One account per id (the account id, else the key; values with neither make one
            // account); the first value with an e-mail or a username gives them.
            let id = |a: &SourceAccount| a.account_id.clone().or_else(|| a.key.clone());
            let own = id(&account);
            match accounts.iter_mut().find(|a| id(a) == own) {
                Some(a) => {
                    a.values += 1;
                    if a.email.is_none() {
                        a.email = account.email;
                    }
                    if a.name.is_none() {
                        a.name = account.name;
                    }
                }
                None => accounts.push(SourceAccount {
                    values: 1,
                    ..account
                }),
            }
        }
    }

    fn stats(&self, id: &str) -> AttributeStats {
        self.attrs
            .as_ref()
            .and_then(|a| a.get(id))
            .map(|a| AttributeStats {
                count: a.count,
                longest_text: a.longest_text,
                distinct: a.distinct.len() as u64,
            })
            .unwrap_or_default()
    }
}

/// Asks `transform_attribute` hooks about every attribute the restore creates; a skipped
/// one is dropped, a replaced one recorded in `out.attributes`.
pub(super) async fn transform_attributes(
    hooks: &ActiveHooks,
    source: &Source,
    scan: &HookScan,
    attrs: &mut [AttrPlan],
    out: &mut HookPlan,
) -> Result<(), Error> {
    if !hooks.has(HookPoint::TransformAttribute) {
        return Ok(());
    }
    for p in attrs
        .iter_mut()
        .filter(|p| matches!(p.action, AttrAction::Create | AttrAction::UpdateName))
    {
        let Some(def) = p.old_id.as_deref().and_then(|id| source.attr(id)) else {
            continue;
        };
        let object_type = TypeRef {
            id: Id::new(p.object_type.clone()),
            name: p.object_type_name.clone(),
        };
        let applied = hooks
            .transform_attribute(&object_type, def.def.clone(), scan.stats(&def.id))
            .await?;
        match applied.result {
            None => {
                let by = applied.decisions.last().map_or("", |d| d.hook.as_str());
                p.action = AttrAction::Drop;
                p.reason = Some(format!("left out by hook {by}"));
            }
            Some(new) if new != def.def => {
                p.type_name = new.kind().name();
                if new.kind() == AttributeKind::Default(crate::model::attribute::TEXTAREA) {
                    // Textarea takes any length: these values are no longer too long.
                    p.long_text_values = 0;
                }
                out.attributes.push(AttributeOverride {
                    old_id: def.id.clone(),
                    attribute: new,
                });
            }
            Some(_) => {}
        }
        out.decisions.extend(applied.decisions);
    }
    Ok(())
}

/// The target users a backup user may become, for `match_user` hooks.
pub(super) fn candidates<'a>(hits: impl Iterator<Item = &'a JiraUser>) -> Vec<UserCandidate> {
    hits.filter_map(|u| {
        Some(UserCandidate {
            account_id: u.id()?.to_owned(),
            display_name: u.display_name().to_owned(),
            email: u.email_address.get().cloned(),
        })
    })
    .collect()
}

/// Asks `match_user` hooks about every user matched by display name; a decision replaces
/// the display-name rule's.
pub(super) async fn match_users(
    hooks: &ActiveHooks,
    scan: &HookScan,
    users: &mut [(UserMatch, Vec<UserCandidate>)],
    out: &mut HookPlan,
) -> Result<(), Error> {
    if !hooks.has(HookPoint::MatchUser) {
        return Ok(());
    }
    for (m, candidates) in users.iter_mut() {
        let (user, accounts) = scan
            .users
            .as_ref()
            .and_then(|u| u.get(&m.display_name))
            .cloned()
            .unwrap_or_else(|| {
                let user = UserToMatch {
                    account_id: None,
                    display_name: Some(m.display_name.clone()),
                    email: None,
                    key: None,
                };
                (user, Vec::new())
            });
        if accounts.len() > 1 {
            match_accounts(hooks, m, std::mem::take(candidates), accounts, out).await?;
            continue;
        }
        let input = UserInput {
            user,
            candidates: std::mem::take(candidates),
        };
        let applied = hooks
            .match_user_with(MatchUserInput::new(input, accounts))
            .await?;
        let by = applied.decisions.last().map(|d| d.hook.clone());
        match applied.result {
            UserResult::Default => {}
            UserResult::Account(account) => {
                m.account_id = Some(account);
                m.reason = format!("matched by hook {}", by.unwrap_or_default());
            }
            UserResult::None(reason) => {
                m.account_id = None;
                m.reason = format!("left empty by hook {}: {reason}", by.unwrap_or_default());
            }
        }
        out.decisions.extend(applied.decisions);
    }
    Ok(())
}

/// A `match_user` decision about one backup account (see [`HookPlan::accounts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDecision {
    /// The account as the values hold it (account id, else user key).
    pub account: String,
    /// Its display name in the backup.
    pub display_name: String,
    /// The target account its values become; `None`: left empty.
    pub account_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// Asks the hooks about each account of a display name several backup accounts share, so
/// that each may become a different target account. When every account got the same answer,
/// the name's row takes it too (it reads as one decision); otherwise the row says so.
async fn match_accounts(
    hooks: &ActiveHooks,
    m: &mut UserMatch,
    candidates: Vec<UserCandidate>,
    accounts: Vec<SourceAccount>,
    out: &mut HookPlan,
) -> Result<(), Error> {
    let mut decided: Vec<AccountDecision> = Vec::new();
    for a in &accounts {
        let Some(account) = a.account_id.clone().or_else(|| a.key.clone()) else {
            continue;
        };
        let user = UserToMatch {
            account_id: a.account_id.clone(),
            display_name: Some(m.display_name.clone()),
            email: a.email.clone(),
            key: a.key.clone(),
        };
        let input = UserInput {
            user,
            candidates: candidates.clone(),
        };
        let applied = hooks
            .match_user_with(MatchUserInput::new(input, accounts.clone()))
            .await?;
        let by = applied.decisions.last().map(|d| d.hook.clone());
        let (account_id, reason) = match applied.result {
            UserResult::Default => (m.account_id.clone(), m.reason.clone()),
            UserResult::Account(target) => (
                Some(target),
                format!("matched by hook {}", by.unwrap_or_default()),
            ),
            UserResult::None(reason) => (
                None,
                format!("left empty by hook {}: {reason}", by.unwrap_or_default()),
            ),
        };
        decided.push(AccountDecision {
            account,
            display_name: m.display_name.clone(),
            account_id,
            reason,
        });
        out.decisions.extend(applied.decisions);
    }
    match decided.as_slice() {
        [first, rest @ ..] if rest.iter().all(|d| d.account_id == first.account_id) => {
            m.account_id.clone_from(&first.account_id);
            m.reason.clone_from(&first.reason);
        }
        [] => {}
        many => {
            m.account_id = None;
            m.reason = format!(
                "{} backup accounts share this display name: decided per account by hook",
                many.len()
            );
            out.accounts.extend(decided);
        }
    }
    Ok(())
}

/// Puts the hooks' attribute definitions in place of the backup's, so that every stage (the
/// attribute bodies, the values) follows them.
pub(super) fn apply_overrides(source: &mut Source, plan: &RestorePlan) {
    for o in &plan.hooks.attributes {
        if let Some(a) = source.attrs.iter_mut().find(|a| a.id == o.old_id) {
            a.kind = o.attribute.kind();
            a.def = o.attribute.clone();
        }
    }
}

/// A decision as a restore log note: failures are warnings, the rest information.
fn note_level(d: &HookDecision) -> LogLevel {
    if d.is_failure() {
        LogLevel::Warn
    } else {
        LogLevel::Info
    }
}

/// Writes the plan's hook decisions to the restore log (once, when execution first starts);
/// `transform_object` decisions are logged with their objects, as execution makes them.
pub(super) async fn log_plan_decisions(ctx: &Ctx<'_>) -> Result<(), Error> {
    for d in ctx
        .plan
        .hooks
        .decisions
        .iter()
        .filter(|d| d.point != HookPoint::TransformObject)
    {
        ctx.note(note_level(d), "", d.message()).await?;
    }
    Ok(())
}

/// `before_stage` / `after_stage` around one stage (called by the stage runner with the
/// stage's count; before a first run the total is the plan's estimate); an abort (or a
/// failure with `on_error = "fail"`) ends the restore in error naming the hook.
pub(super) async fn around_stage(
    ctx: &Ctx<'_>,
    point: HookPoint,
    stage: Stage,
    count: StageCount,
) -> Result<(), Error> {
    if !ctx.hooks.has(point) {
        return Ok(());
    }
    let total = match (point, count.total) {
        (HookPoint::BeforeStage, 0) => ctx.plan.requests_of(stage),
        (_, total) => total,
    };
    let input = StageInput {
        stage: stage.key().to_owned(),
        done: count.done,
        total,
    };
    for d in ctx.hooks.stage(point, input).await? {
        ctx.note(note_level(&d), "", d.message()).await?;
    }
    Ok(())
}

/// The object type of a backup object, as hooks see it.
pub(super) fn type_ref(source: &Source, obj: &Object) -> TypeRef {
    let id = obj.type_id().unwrap_or_default().to_owned();
    let name = source
        .object_type(&id)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    TypeRef {
        id: Id::new(id),
        name,
    }
}

/// The input of `after_object_restored`.
pub(super) fn restored(object_type: TypeRef, old: Object, id: u64, key: String) -> RestoredInput {
    RestoredInput {
        object_type,
        old,
        new: CreatedObject {
            id: Id::new(id.to_string()),
            object_key: key,
        },
    }
}

/// Log entries for the decisions about one object.
pub(super) fn object_notes(
    key: &str,
    decisions: &[HookDecision],
) -> Vec<crate::store::NewLogEntry> {
    decisions
        .iter()
        .map(|d| super::log::note(note_level(d), key, d.message()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(account: Option<&str>, key: &str, name: &str, email: Option<&str>) -> AttributeValue {
        let mut v = json!({"user": {"displayName": "Alex Morgan", "key": key, "name": name,
                                    "emailAddress": email}});
        if let Some(a) = account {
            v["value"] = json!(a);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn users_sharing_a_display_name_reach_hooks_with_every_account() {
        let mut scan = HookScan {
            attrs: None,
            users: Some(HashMap::new()),
        };
        for v in [
            value(Some("a1"), "a1", "Alex Morgan", None),
            value(Some("a1"), "a1", "Alex Morgan", Some("alex@one.example")),
            value(Some("a2"), "a2", "Alex Morgan", Some("alex@two.example")),
            value(Some("a1"), "a1", "Alex Morgan", None),
            // Data Center: no account id, the user key and the username.
            value(None, "JIRAUSER10", "amorgan", Some("am@dc.example")),
        ] {
            scan.visit("7", &AttributeKind::User, &v);
        }
        let (user, accounts) = scan.users.unwrap().remove("Alex Morgan").unwrap();
        assert_eq!(user.account_id.as_deref(), Some("a1"), "the first value's");
        assert_eq!(user.email, None);
        let got: Vec<_> = accounts
            .iter()
            .map(|a| {
                (
                    a.account_id.as_deref(),
                    a.key.as_deref(),
                    a.email.as_deref(),
                    a.name.as_deref(),
                    a.values,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Some("a1"),
                    Some("a1"),
                    Some("alex@one.example"),
                    Some("Alex Morgan"),
                    3
                ),
                (
                    Some("a2"),
                    Some("a2"),
                    Some("alex@two.example"),
                    Some("Alex Morgan"),
                    1
                ),
                (
                    None,
                    Some("JIRAUSER10"),
                    Some("am@dc.example"),
                    Some("amorgan"),
                    1
                ),
            ]
        );
    }
}
