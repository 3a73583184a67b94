//! The typed messages of ABI v1: the manifest, the request envelope the host sends, the input
//! of each hook point, and the response (decision + note, or an error).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{
    AttributeStats, BackupUser, Candidate, ObjectEntry, ObjectTypeAttribute, ObjectTypeRef,
    RestoredObject, StageProgress,
};

/// The ABI version this SDK speaks; the host refuses a module whose manifest says otherwise.
pub const ABI_VERSION: u32 = 1;

/// The six hook points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Point {
    /// Before a restore stage runs.
    BeforeStage,
    /// After a restore stage ran.
    AfterStage,
    /// Per attribute definition, before it is created on the target.
    TransformAttribute,
    /// Per object, before it is created.
    TransformObject,
    /// Per backup user: pick the target's account.
    MatchUser,
    /// Per object, after it was created on the target.
    AfterObjectRestored,
}

/// Host capabilities a plugin may ask for (the config must grant them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// List, fetch and upload object attachments on the restore's source and target sites.
    Attachments,
}

/// What `assetark_manifest` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// ABI version ([`ABI_VERSION`]).
    pub abi: u32,
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// The points the plugin handles (a `[[hooks]]` entry must use one of them).
    pub points: Vec<Point>,
    /// Capabilities it needs.
    pub capabilities: Vec<Capability>,
}

/// Facts about the restore the call belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The restore's id (absent in a plan made outside a restore).
    #[serde(default)]
    pub restore_id: Option<i64>,
    /// The site the backup came from.
    #[serde(default)]
    pub source_site: Option<String>,
    /// The site restored to.
    #[serde(default)]
    pub target_site: Option<String>,
    /// `"cloud"` or `"data_center"`.
    #[serde(default)]
    pub target_flavor: Option<String>,
    /// A plan (`--dry-run`): nothing is written.
    #[serde(default)]
    pub dry_run: bool,
    /// Fields a later host adds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The input of one call, by point.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `before_stage`.
    BeforeStage(StageProgress),
    /// `after_stage`.
    AfterStage(StageProgress),
    /// `transform_attribute`.
    TransformAttribute {
        /// The attribute's object type.
        object_type: ObjectTypeRef,
        /// The definition, as the Assets API spells it.
        attribute: ObjectTypeAttribute,
        /// Statistics of the backup's values of it.
        stats: AttributeStats,
    },
    /// `transform_object`.
    TransformObject {
        /// The object's type.
        object_type: ObjectTypeRef,
        /// The object, as the API spells it.
        object: ObjectEntry,
    },
    /// `match_user`.
    MatchUser {
        /// The user of the backup.
        user: BackupUser,
        /// The target's candidate accounts.
        candidates: Vec<Candidate>,
    },
    /// `after_object_restored`.
    AfterObjectRestored {
        /// The object's type.
        object_type: ObjectTypeRef,
        /// The object of the backup.
        old: ObjectEntry,
        /// The object created on the target.
        new: RestoredObject,
    },
}

#[derive(Deserialize)]
struct RawRequest {
    abi: u32,
    point: Point,
    hook: String,
    #[serde(default)]
    settings: Map<String, Value>,
    #[serde(default)]
    context: Context,
    input: Value,
}

#[derive(Deserialize)]
struct AttributeIn {
    object_type: ObjectTypeRef,
    attribute: ObjectTypeAttribute,
    stats: AttributeStats,
}

#[derive(Deserialize)]
struct ObjectIn {
    object_type: ObjectTypeRef,
    object: ObjectEntry,
}

#[derive(Deserialize)]
struct UserIn {
    user: BackupUser,
    #[serde(default)]
    candidates: Vec<Candidate>,
}

#[derive(Deserialize)]
struct RestoredIn {
    object_type: ObjectTypeRef,
    old: ObjectEntry,
    new: RestoredObject,
}

/// One call's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The host's ABI version.
    pub abi: u32,
    /// The point called.
    pub point: Point,
    /// The `[[hooks]]` entry's name.
    pub hook: String,
    /// The `[hooks.settings]` table (empty when none); see [`Request::settings`].
    pub settings: Map<String, Value>,
    /// The restore.
    pub context: Context,
    /// The point's input.
    pub input: Input,
}

impl Request {
    /// Parses a request envelope.
    ///
    /// # Errors
    /// When the JSON does not match the envelope or the point's input.
    pub fn parse(bytes: &[u8]) -> Result<Request, PluginError> {
        let raw: RawRequest = serde_json::from_slice(bytes)
            .map_err(|e| PluginError::new(format!("request envelope: {e}")))?;
        if raw.abi != ABI_VERSION {
            return Err(PluginError::new(format!(
                "host speaks ABI {}, this plugin ABI {ABI_VERSION}",
                raw.abi
            )));
        }
        let input = decode_input(raw.point, raw.input)
            .map_err(|e| PluginError::new(format!("input of {:?}: {e}", raw.point)))?;
        Ok(Request {
            abi: raw.abi,
            point: raw.point,
            hook: raw.hook,
            settings: raw.settings,
            context: raw.context,
            input,
        })
    }

    /// The settings table as the plugin's own typed struct.
    ///
    /// # Errors
    /// When the table does not match `T` (the message names the field).
    pub fn settings<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_value(Value::Object(self.settings.clone()))
            .map_err(|e| PluginError::new(format!("[hooks.settings] of {}: {e}", self.hook)))
    }
}

fn decode_input(point: Point, v: Value) -> Result<Input, serde_json::Error> {
    Ok(match point {
        Point::BeforeStage => Input::BeforeStage(serde_json::from_value(v)?),
        Point::AfterStage => Input::AfterStage(serde_json::from_value(v)?),
        Point::TransformAttribute => {
            let i: AttributeIn = serde_json::from_value(v)?;
            Input::TransformAttribute {
                object_type: i.object_type,
                attribute: i.attribute,
                stats: i.stats,
            }
        }
        Point::TransformObject => {
            let i: ObjectIn = serde_json::from_value(v)?;
            Input::TransformObject {
                object_type: i.object_type,
                object: i.object,
            }
        }
        Point::MatchUser => {
            let i: UserIn = serde_json::from_value(v)?;
            Input::MatchUser {
                user: i.user,
                candidates: i.candidates,
            }
        }
        Point::AfterObjectRestored => {
            let i: RestoredIn = serde_json::from_value(v)?;
            Input::AfterObjectRestored {
                object_type: i.object_type,
                old: i.old,
                new: i.new,
            }
        }
    })
}

/// A decision; which ones fit depends on the point (README.md, "Points").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// `before_stage` / `after_stage`: end the restore in error with this reason.
    Abort(String),
    /// `transform_attribute`: create this definition instead.
    Attribute(Box<ObjectTypeAttribute>),
    /// `transform_attribute` / `transform_object`: leave the subject out, for this reason.
    Skip(String),
    /// `transform_object`: create this object instead.
    Object(Box<ObjectEntry>),
    /// `match_user`: this target account.
    AccountId(String),
    /// `match_user`: no account, for this reason.
    #[serde(rename = "none")]
    NoUser(String),
}

/// What a handler returns: a decision (`None` = the default behaviour) and an optional note
/// shown in the plan and the restore log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// The decision; `None` leaves the default behaviour.
    pub decision: Option<Decision>,
    /// A line for the plan / log.
    pub note: Option<String>,
}

impl Response {
    /// The default behaviour, no note.
    pub fn default_behaviour() -> Response {
        Response::default()
    }

    /// A decision without a note.
    pub fn decide(decision: Decision) -> Response {
        Response {
            decision: Some(decision),
            note: None,
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Response {
        self.note = Some(note.into());
        self
    }
}

/// A plugin's own failure: the host applies the hook's `on_error` and logs the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What went wrong.
    pub message: String,
}

impl PluginError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> PluginError {
        PluginError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

impl From<serde_json::Error> for PluginError {
    fn from(e: serde_json::Error) -> PluginError {
        PluginError::new(e.to_string())
    }
}

#[derive(Serialize)]
struct Out<'a> {
    abi: u32,
    decision: Option<&'a Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

#[derive(Serialize)]
struct ErrOut<'a> {
    abi: u32,
    error: &'a str,
}

pub(crate) fn encode_response(r: &Response) -> Vec<u8> {
    let out = Out {
        abi: ABI_VERSION,
        decision: r.decision.as_ref(),
        note: r.note.as_deref(),
    };
    serde_json::to_vec(&out).unwrap_or_else(|e| {
        encode_error(&PluginError::new(format!(
            "response cannot be encoded: {e}"
        )))
    })
}

pub(crate) fn encode_error(e: &PluginError) -> Vec<u8> {
    serde_json::to_vec(&ErrOut {
        abi: ABI_VERSION,
        error: &e.message,
    })
    .unwrap_or_default()
}
