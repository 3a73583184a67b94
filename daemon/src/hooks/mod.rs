//! Hooks: user code that changes what a restore does at fixed points (DESIGN §6, issue #12).
//!
//! - [`HookPoint`]: the six points; [`messages`]: what a hook receives and answers (the ABI of
//!   `HOOKS_ABI.md`, shared by every host).
//! - [`Hook`]: one callable hook, whatever runs it: a Rhai script ([`rhai_host`]), a WASM module
//!   ([`wasm`]), or Rust code (tests).
//! - [`HookRegistry`] (`registry`): the configured hooks in config order, and the selection of
//!   a restore (enabled hooks for its target site, plus `--hook`, minus `--no-hook`).
//! - [`ActiveHooks`] (`dispatch`): the selected hooks of one restore, called point by point
//!   with `on_error` applied; every decision is returned as a [`HookDecision`] record for the
//!   plan and the restore log, a changed object's with each attribute's values from and to
//!   ([`ValueChange`], `changes`).
//!
//! Hosts are compiled when the config loads (`crate::config`), so a broken script is a config
//! error naming the file and line, not a failed restore hours later.

mod changes;
mod dispatch;
pub mod messages;
mod registry;
pub mod rhai_host;
pub mod wasm;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use changes::{ValueChange, value_text};
pub use dispatch::{ActiveHooks, Applied, DecisionOutcome, HookDecision, HookFailed, UserResult};
pub use messages::{
    ABI_VERSION, AttributeDecision, AttributeInput, AttributeStats, BackupUser, CreatedObject,
    Decision, HookCall, HookContext, HookInput, HookReply, MatchUserInput, ObjectDecision,
    ObjectInput, RestoredInput, Settings, SourceAccount, StageDecision, StageInput, TypeRef,
    UserCandidate, UserDecision, UserInput, UserToMatch,
};
pub use registry::{HookRegistry, HookSelection, RegisterError, RegisteredHook, UnknownHook};

/// Where a hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookPoint {
    /// Before each stage of a restore; may abort it.
    BeforeStage,
    /// After each stage of a restore; may abort it.
    AfterStage,
    /// Per attribute definition while planning, with statistics of the backup's values.
    TransformAttribute,
    /// Per object before it is created: change its values or skip it.
    TransformObject,
    /// Per backup user while planning: a target account id, or none.
    MatchUser,
    /// Per object after it was created (old and new).
    AfterObjectRestored,
}

impl HookPoint {
    /// Every point.
    pub const ALL: [HookPoint; 6] = [
        HookPoint::BeforeStage,
        HookPoint::AfterStage,
        HookPoint::TransformAttribute,
        HookPoint::TransformObject,
        HookPoint::MatchUser,
        HookPoint::AfterObjectRestored,
    ];

    /// The snake_case name: the config's `point`, the Rhai function's name, the JSON `point`.
    pub fn as_str(self) -> &'static str {
        match self {
            HookPoint::BeforeStage => "before_stage",
            HookPoint::AfterStage => "after_stage",
            HookPoint::TransformAttribute => "transform_attribute",
            HookPoint::TransformObject => "transform_object",
            HookPoint::MatchUser => "match_user",
            HookPoint::AfterObjectRestored => "after_object_restored",
        }
    }
}

impl std::fmt::Display for HookPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens when a hook fails (any [`HookError`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The restore (or the plan) ends in error naming the hook.
    #[default]
    Fail,
    /// The subject (attribute, object, user) is skipped and logged; at a stage point the
    /// restore goes on as with `ignore`.
    Skip,
    /// Default behaviour, logged as a warning.
    Ignore,
}

/// What runs a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    /// A Rhai script (`.rhai`).
    Rhai,
    /// A WASM core module (`.wasm`).
    Wasm,
}

/// Why one call of a hook failed. Hosts map their own traps and errors onto these, so
/// `on_error` and the tests see the same kinds from Rhai, WASM and Rust hooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// The call ran past its wall-clock deadline.
    #[error("the hook ran past its deadline of {limit_ms} ms")]
    Timeout {
        /// The deadline, in milliseconds.
        limit_ms: u64,
    },
    /// The call hit a resource limit (operations, call depth, string size, memory ...).
    #[error("the hook hit its limit on {what}")]
    Limit {
        /// Which limit, in words.
        what: String,
    },
    /// The script or module failed at run time.
    #[error("{}", script_message(*line, message))]
    Script {
        /// Line in the script, when known.
        line: Option<u32>,
        /// What went wrong.
        message: String,
    },
    /// The module speaks another ABI (version, exports).
    #[error("ABI mismatch: {message}")]
    Abi {
        /// What does not match.
        message: String,
    },
    /// The hook used a capability the config does not grant.
    #[error("capability refused: {message}")]
    Capability {
        /// Which and why.
        message: String,
    },
    /// The answer is not a decision this point takes (shape, unknown field, size).
    #[error("invalid answer: {message}")]
    Output {
        /// What is wrong with it.
        message: String,
    },
}

fn script_message(line: Option<u32>, message: &str) -> String {
    match line {
        Some(line) => format!("script error at line {line}: {message}"),
        None => format!("script error: {message}"),
    }
}

impl HookError {
    /// Whether calling again may succeed. Always false: a script that loops, grows or answers
    /// wrongly does so again on a retry (the deadline is generous enough that load alone does
    /// not reach it), so retrying a restore for it would only repeat the failure.
    pub fn is_temporary(&self) -> bool {
        false
    }
}

/// Why a hook could not be loaded (at config load).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookLoadError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The script or module does not compile.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Compile {
        /// The file.
        path: PathBuf,
        /// Line, when the compiler names one.
        line: Option<u32>,
        /// The compiler's message.
        message: String,
    },
    /// The file compiled but cannot be used as configured (ABI version, exports,
    /// capabilities the config does not grant).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A configured hook, as `[[hooks]]` spells it (paths resolved against the config file).
#[derive(Debug, Clone, PartialEq)]
pub struct HookSpec {
    /// Unique name (`--hook` / `--no-hook`).
    pub name: String,
    /// Where it is called.
    pub point: HookPoint,
    /// What runs it.
    pub kind: HookKind,
    /// The script or module (absolute).
    pub path: PathBuf,
    /// What a failure does.
    pub on_error: OnError,
    /// Only restores whose target is one of these sites (`None`: every site).
    pub sites: Option<Vec<String>>,
    /// Whether restores select it without `--hook`.
    pub enabled: bool,
    /// What the config grants (WASM only), e.g. `attachments`.
    pub capabilities: Vec<String>,
    /// `[hooks.settings]`, handed to the hook.
    pub settings: Settings,
}

/// One callable hook. Hosts implement it; so do tests, with Rust code.
#[async_trait::async_trait]
pub trait Hook: Send + Sync + std::fmt::Debug {
    /// Its configured name.
    fn name(&self) -> &str;

    /// One call at one point. A reply without decision means default behaviour.
    ///
    /// # Errors
    ///
    /// [`HookError`] when the hook failed; `on_error` decides what follows.
    async fn call(&self, call: &HookCall) -> Result<HookReply, HookError>;
}

/// A shared hook.
pub type SharedHook = Arc<dyn Hook>;
