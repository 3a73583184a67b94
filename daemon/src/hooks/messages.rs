//! The typed messages of the hook ABI (version [`ABI_VERSION`], `HOOKS_ABI.md`), shared by the
//! Rhai host, the WASM host and the Rust hooks of tests: what a hook receives ([`HookCall`],
//! serialised as an [`Envelope`]) and what it answers ([`HookReply`] with a [`Decision`]).
//!
//! Entities are the daemon's model types ([`ObjectTypeAttribute`], [`Object`]), so a hook sees
//! exactly the Assets API's spelling and its replacement is read back losslessly. Decisions are
//! strict: an unknown field, or a decision of the wrong shape for the point, is
//! [`HookError::Output`], never silently dropped.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{HookError, HookPoint};
use crate::model::{Id, Object, ObjectTypeAttribute};
use crate::store::RestoreId;

/// The version of the message contract; a hook answering with another is refused
/// ([`HookError::Abi`]).
pub const ABI_VERSION: u32 = 1;

/// The `[hooks.settings]` table of a hook, as JSON (`{}` when absent).
pub type Settings = serde_json::Map<String, Value>;

/// The restore a call belongs to (the envelope's `context`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookContext {
    /// The restore; `None` while planning a dry run (no restore exists yet).
    pub restore_id: Option<RestoreId>,
    /// Site the backup was taken from.
    pub source_site: String,
    /// Site the restore writes to.
    pub target_site: String,
    /// Flavor of the target site (`cloud`, `data_center`).
    pub target_flavor: String,
    /// Whether this is a dry run (nothing is written).
    pub dry_run: bool,
}

/// An object type as a hook sees it: id and name (in the backup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRef {
    /// Its id in the backup.
    pub id: Id,
    /// Its name.
    pub name: String,
}

/// `before_stage` / `after_stage` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInput {
    /// The stage's key (`object_entries`).
    pub stage: String,
    /// Items done so far.
    pub done: u64,
    /// Items in the stage.
    pub total: u64,
}

/// Statistics of the backup's values of one attribute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeStats {
    /// Values of the attribute over all objects of the type.
    pub count: u64,
    /// Characters of the longest Text value (0 when none).
    pub longest_text: u64,
    /// Distinct values.
    pub distinct: u64,
}

/// `transform_attribute` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeInput {
    /// The object type the attribute belongs to.
    pub object_type: TypeRef,
    /// The attribute exactly as the backup holds it.
    pub attribute: ObjectTypeAttribute,
    /// Statistics of its values in the backup.
    pub stats: AttributeStats,
}

/// `transform_object` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectInput {
    /// The object's type.
    pub object_type: TypeRef,
    /// The object as the backup holds it (after earlier hooks' changes).
    pub object: Object,
}

/// A backup user to match (`match_user` input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserToMatch {
    /// Account id on the source site (Cloud); a Data Center user may have none.
    pub account_id: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// E-mail address, when the backup has one.
    pub email: Option<String>,
    /// User key (Data Center).
    pub key: Option<String>,
}

/// One account of the backup under a display name (`match_user`): several when people of
/// the backup share the name, each with its own ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceAccount {
    /// Account id on the source site (the values' `value`).
    pub account_id: Option<String>,
    /// E-mail address, when the backup has one.
    pub email: Option<String>,
    /// The user's `key` (Cloud: the account id; Data Center: the user key).
    pub key: Option<String>,
    /// The user's `name` (Data Center: the username; Cloud: the display name again).
    pub name: Option<String>,
    /// Values in the backup holding this account.
    pub values: u64,
}

/// The backup's user as a `match_user` hook receives it: the fields of [`UserToMatch`] (from
/// the first value seen under the display name) and every account of the backup under that
/// name, so a hook sees all their ids and e-mails, not only the first one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupUser {
    /// The user (flattened: `account_id`, `display_name`, `email`, `key`).
    #[serde(flatten)]
    pub user: UserToMatch,
    /// Every account under the display name, in the order the backup's values name them
    /// (empty when the caller did not collect them).
    #[serde(default)]
    pub accounts: Vec<SourceAccount>,
}

/// `match_user` input as hooks receive it: [`UserInput`] with the backup's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchUserInput {
    /// The backup's user, with its accounts.
    pub user: BackupUser,
    /// Target users found for it.
    pub candidates: Vec<UserCandidate>,
}

impl MatchUserInput {
    /// `input` with the backup's `accounts` under the user's display name.
    pub fn new(input: UserInput, accounts: Vec<SourceAccount>) -> MatchUserInput {
        MatchUserInput {
            user: BackupUser {
                user: input.user,
                accounts,
            },
            candidates: input.candidates,
        }
    }
}

impl From<UserInput> for MatchUserInput {
    fn from(input: UserInput) -> MatchUserInput {
        MatchUserInput::new(input, Vec::new())
    }
}

/// A user of the target site a backup user may become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCandidate {
    /// Account id on the target.
    pub account_id: String,
    /// Display name.
    pub display_name: String,
    /// E-mail address, when the site shows it.
    pub email: Option<String>,
}

/// `match_user` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInput {
    /// The backup's user.
    pub user: UserToMatch,
    /// Target users found for it (by the daemon's own search; may be empty).
    pub candidates: Vec<UserCandidate>,
}

/// The object a restore created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedObject {
    /// Its id on the target.
    pub id: Id,
    /// Its key on the target.
    #[serde(rename = "objectKey")]
    pub object_key: String,
}

/// `after_object_restored` input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoredInput {
    /// The object's type.
    pub object_type: TypeRef,
    /// The object as the backup holds it.
    pub old: Object,
    /// The object created on the target.
    pub new: CreatedObject,
}

/// What a hook is called with: the point, tagged, with its input. Serialised as the
/// envelope's `"point"` and `"input"` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "point", content = "input", rename_all = "snake_case")]
pub enum HookInput {
    /// Before a stage runs.
    BeforeStage(StageInput),
    /// After a stage finished.
    AfterStage(StageInput),
    /// An attribute definition, while planning.
    TransformAttribute(AttributeInput),
    /// An object, before it is created.
    TransformObject(ObjectInput),
    /// A backup user, while planning.
    MatchUser(MatchUserInput),
    /// An object, after it was created.
    AfterObjectRestored(RestoredInput),
}

impl HookInput {
    /// The point this input is for.
    pub fn point(&self) -> HookPoint {
        match self {
            HookInput::BeforeStage(_) => HookPoint::BeforeStage,
            HookInput::AfterStage(_) => HookPoint::AfterStage,
            HookInput::TransformAttribute(_) => HookPoint::TransformAttribute,
            HookInput::TransformObject(_) => HookPoint::TransformObject,
            HookInput::MatchUser(_) => HookPoint::MatchUser,
            HookInput::AfterObjectRestored(_) => HookPoint::AfterObjectRestored,
        }
    }
}

/// One call of one hook: the restore's context and the input.
#[derive(Debug, Clone, PartialEq)]
pub struct HookCall {
    /// The restore.
    pub context: HookContext,
    /// Point and input.
    pub input: HookInput,
}

impl HookCall {
    /// The point called.
    pub fn point(&self) -> HookPoint {
        self.input.point()
    }

    /// The JSON envelope a hook named `hook` with `settings` receives.
    pub fn envelope<'a>(&'a self, hook: &'a str, settings: &'a Settings) -> Envelope<'a> {
        Envelope {
            abi: ABI_VERSION,
            hook,
            settings,
            context: &self.context,
            input: &self.input,
        }
    }
}

/// The JSON a hook receives: `{"abi", "point", "hook", "settings", "context", "input"}`.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    /// [`ABI_VERSION`].
    pub abi: u32,
    /// The hook's configured name.
    pub hook: &'a str,
    /// Its `[hooks.settings]`.
    pub settings: &'a Settings,
    /// The restore.
    pub context: &'a HookContext,
    /// `point` and `input`.
    #[serde(flatten)]
    pub input: &'a HookInput,
}

/// `before_stage` / `after_stage` decision: end the restore in error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDecision {
    /// Why; the restore's result names the hook and this reason.
    pub abort: String,
}

/// `transform_attribute` decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeDecision {
    /// Create this attribute instead (e.g. its `defaultType` changed).
    Attribute(Box<ObjectTypeAttribute>),
    /// Do not create the attribute; its values are left out. The reason.
    Skip(String),
}

/// `transform_object` decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectDecision {
    /// Create this object instead.
    Object(Box<Object>),
    /// Do not create the object. The reason.
    Skip(String),
}

/// `match_user` decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserDecision {
    /// The target user.
    AccountId(String),
    /// No target user: the value is left empty. The reason.
    None(String),
}

/// A decision, typed by point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Decision {
    /// `before_stage` / `after_stage`.
    Stage(StageDecision),
    /// `transform_attribute`.
    Attribute(AttributeDecision),
    /// `transform_object`.
    Object(ObjectDecision),
    /// `match_user`.
    User(UserDecision),
}

impl Decision {
    /// Reads the `decision` JSON of an answer to a call at `point` (`null` = none).
    ///
    /// # Errors
    ///
    /// [`HookError::Output`] for an unknown field or a shape the point does not take.
    pub fn parse(point: HookPoint, decision: Value) -> Result<Option<Decision>, HookError> {
        if decision.is_null() {
            return Ok(None);
        }
        Ok(Some(match point {
            HookPoint::BeforeStage | HookPoint::AfterStage => {
                Decision::Stage(strict(point, decision)?)
            }
            HookPoint::TransformAttribute => Decision::Attribute(strict(point, decision)?),
            HookPoint::TransformObject => Decision::Object(strict(point, decision)?),
            HookPoint::MatchUser => Decision::User(strict(point, decision)?),
            HookPoint::AfterObjectRestored => {
                return Err(HookError::Output {
                    message: "after_object_restored takes no decision (only a note); \
                              answer null"
                        .into(),
                });
            }
        }))
    }
}

fn strict<T: DeserializeOwned>(point: HookPoint, decision: Value) -> Result<T, HookError> {
    serde_json::from_value(decision).map_err(|e| HookError::Output {
        message: format!("not a {point} decision: {e}"),
    })
}

/// What a hook answered: a decision or none (default behaviour), and an optional note shown in
/// the plan and the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HookReply {
    /// The decision; `None` = default behaviour.
    pub decision: Option<Decision>,
    /// Free text for the plan / log.
    pub note: Option<String>,
}

impl HookReply {
    /// A reply with a decision and no note.
    pub fn decide(decision: Decision) -> HookReply {
        HookReply {
            decision: Some(decision),
            note: None,
        }
    }
}

/// The JSON a WASM hook returns: `{"abi": 1, "decision": ..., "note": ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    abi: u32,
    #[serde(default)]
    decision: Value,
    #[serde(default)]
    note: Option<String>,
}

impl HookReply {
    /// Reads a whole answer (`{"abi", "decision", "note"}`) to a call at `point`.
    ///
    /// # Errors
    ///
    /// [`HookError::Abi`] for another ABI version; [`HookError::Output`] for JSON of another
    /// shape.
    pub fn parse_output(point: HookPoint, bytes: &[u8]) -> Result<HookReply, HookError> {
        let raw: RawOutput = serde_json::from_slice(bytes).map_err(|e| HookError::Output {
            message: format!("the answer is not {{\"abi\", \"decision\", \"note\"}} JSON: {e}"),
        })?;
        if raw.abi != ABI_VERSION {
            return Err(HookError::Abi {
                message: format!(
                    "the hook answered with ABI version {}, this daemon speaks version \
                     {ABI_VERSION}",
                    raw.abi
                ),
            });
        }
        Ok(HookReply {
            decision: Decision::parse(point, raw.decision)?,
            note: raw.note,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> HookContext {
        HookContext {
            restore_id: Some(12),
            source_site: "dc".into(),
            target_site: "cloud".into(),
            target_flavor: "cloud".into(),
            dry_run: false,
        }
    }

    #[test]
    fn the_envelope_is_the_contract_json() {
        let call = HookCall {
            context: context(),
            input: HookInput::BeforeStage(StageInput {
                stage: "object_entries".into(),
                done: 0,
                total: 2905,
            }),
        };
        let settings = Settings::new();
        let json = serde_json::to_value(call.envelope("t2t", &settings)).unwrap();
        assert_eq!(
            json,
            json!({"abi": 1, "hook": "t2t", "settings": {}, "point": "before_stage",
                   "context": {"restore_id": 12, "source_site": "dc", "target_site": "cloud",
                               "target_flavor": "cloud", "dry_run": false},
                   "input": {"stage": "object_entries", "done": 0, "total": 2905}})
        );
    }

    #[test]
    fn a_match_user_input_carries_the_backups_accounts_in_user() {
        let input = UserInput {
            user: UserToMatch {
                account_id: Some("a1".into()),
                display_name: Some("Alex Morgan".into()),
                email: None,
                key: Some("a1".into()),
            },
            candidates: vec![],
        };
        let accounts = vec![SourceAccount {
            account_id: Some("a2".into()),
            email: Some("alex@two.example".into()),
            key: None,
            name: Some("alex".into()),
            values: 4,
        }];
        let call = HookCall {
            context: context(),
            input: HookInput::MatchUser(MatchUserInput::new(input, accounts)),
        };
        let settings = Settings::new();
        let json = serde_json::to_value(call.envelope("um", &settings)).unwrap();
        assert_eq!(
            json["input"],
            json!({"user": {"account_id": "a1", "display_name": "Alex Morgan", "email": null,
                            "key": "a1",
                            "accounts": [{"account_id": "a2", "email": "alex@two.example",
                                          "key": null, "name": "alex", "values": 4}]},
                   "candidates": []})
        );
        let back: HookInput = serde_json::from_value(json!({"point": "match_user",
                                                            "input": json["input"]}))
        .unwrap();
        assert_eq!(back, call.input);
    }

    #[test]
    fn decisions_are_strict_per_point() {
        let ok = Decision::parse(HookPoint::MatchUser, json!({"account_id": "a1"})).unwrap();
        assert_eq!(
            ok,
            Some(Decision::User(UserDecision::AccountId("a1".into())))
        );
        let none = Decision::parse(HookPoint::MatchUser, json!({"none": "gone"})).unwrap();
        assert_eq!(
            none,
            Some(Decision::User(UserDecision::None("gone".into())))
        );
        for (point, bad) in [
            (HookPoint::MatchUser, json!({"account_id": "a", "extra": 1})),
            (HookPoint::MatchUser, json!({"skip": "x"})),
            (HookPoint::BeforeStage, json!({"abort": "x", "why": 1})),
            (HookPoint::TransformAttribute, json!({"abort": "x"})),
            (HookPoint::AfterObjectRestored, json!({"skip": "x"})),
        ] {
            let e = Decision::parse(point, bad).unwrap_err();
            assert!(matches!(e, HookError::Output { .. }), "{point}: {e:?}");
        }
        assert_eq!(
            Decision::parse(HookPoint::TransformObject, Value::Null).unwrap(),
            None
        );
    }

    #[test]
    fn whole_answers_check_the_abi_version() {
        let reply = HookReply::parse_output(
            HookPoint::BeforeStage,
            br#"{"abi": 1, "decision": {"abort": "no"}, "note": "n"}"#,
        )
        .unwrap();
        assert_eq!(reply.note.as_deref(), Some("n"));
        let e = HookReply::parse_output(HookPoint::BeforeStage, br#"{"abi": 2}"#).unwrap_err();
        assert!(matches!(e, HookError::Abi { .. }));
        let e =
            HookReply::parse_output(HookPoint::BeforeStage, br#"{"abi": 1, "x": 0}"#).unwrap_err();
        assert!(matches!(e, HookError::Output { .. }));
    }
}
