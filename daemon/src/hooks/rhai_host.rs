//! The Rhai host: a hook is a script with a function named like its point
//! (`fn transform_attribute(event) { ... }`), compiled once when the config loads.
//!
//! The sandbox (STYLE §8, the Rhai book's safety chapter): a raw engine with the standard
//! packages only, no module resolver (the `no_module` feature: `import` does not exist), no
//! file or network functions (Rhai has none without modules), strict variables, and limits
//! on operations, call depth, expression depth and string / array / map sizes
//! ([`RhaiLimits`]). Each call has a wall-clock deadline checked by the progress callback.
//!
//! Calls run on the host's own threads, not the async runtime: a script runs synchronously
//! until it returns or a limit stops it, and Rhai's recursion needs a larger stack than the
//! runtime's blocking threads have (a stack overflow would abort the daemon, not the call).
//!
//! A script's function gets the call's envelope as a map (`event.input`, `event.settings`,
//! `event.context`; `call` is a Rhai keyword) and returns `()` for default behaviour or the decision as a map; a `note`
//! key in that map is taken out as the note (`#{note: "..."}` alone is a note without
//! decision).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Scope};
use serde_json::Value;

use super::messages::{Decision, HookCall, HookReply, Settings};
use super::{Hook, HookError, HookLoadError, HookPoint, HookSpec, SharedHook};

/// The limits of every script call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RhaiLimits {
    /// Operations per call (a backstop; the deadline usually comes first).
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Expression nesting at top level and inside functions (checked at compile time).
    pub max_expr_depth: usize,
    /// Bytes of one string.
    pub max_string_size: usize,
    /// Elements of one array.
    pub max_array_size: usize,
    /// Entries of one map.
    pub max_map_size: usize,
    /// Wall-clock time of one call.
    pub timeout: Duration,
    /// Bytes of the answer as JSON.
    pub max_output_bytes: usize,
}

impl Default for RhaiLimits {
    fn default() -> Self {
        RhaiLimits {
            // Far above what the deadline lets a script do, so an endless loop always ends
            // as a Timeout, the same on a slow debug build and a fast release one.
            max_operations: 1_000_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            // Rhai re-measures a whole array on every push, so growing one is quadratic: a
            // larger limit would let a hog spend its time there instead of hitting the limit.
            max_array_size: 8192,
            max_map_size: 8192,
            timeout: Duration::from_millis(1000),
            max_output_bytes: 256 << 10,
        }
    }
}

/// Stack of a script thread: room for [`RhaiLimits::max_call_levels`] nested calls even in
/// debug builds, whose frames are several times larger.
const THREAD_STACK: usize = 64 << 20;

thread_local! {
    /// The running call's deadline, read by the progress callback (one call per thread).
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How often (in operations) the progress callback reads the clock.
const CLOCK_EVERY: u64 = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// The configured engine and the threads that run calls; one per daemon, shared by every
/// Rhai hook.
pub struct RhaiEngine {
    engine: Arc<Engine>,
    limits: RhaiLimits,
    threads: usize,
    jobs: OnceLock<Mutex<Sender<Job>>>,
}

impl std::fmt::Debug for RhaiEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RhaiEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl RhaiEngine {
    /// An engine with `limits`.
    pub fn new(limits: RhaiLimits) -> RhaiEngine {
        let mut engine = Engine::new_raw();
        let std = rhai::packages::StandardPackage::new();
        rhai::packages::Package::register_into_engine(&std, &mut engine);
        engine
            .set_strict_variables(true)
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .on_print(|text| tracing::debug!(text, "Hook printed."))
            .on_debug(|text, _, pos| tracing::debug!(text, line = pos.line(), "Hook debug."))
            .on_progress(|ops| {
                if ops % CLOCK_EVERY != 0 {
                    return None;
                }
                let late = DEADLINE.with(|d| d.get().is_some_and(|d| Instant::now() >= d));
                late.then(|| Dynamic::from("deadline"))
            });
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        RhaiEngine {
            engine: Arc::new(engine),
            limits,
            threads,
            jobs: OnceLock::new(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> &RhaiLimits {
        &self.limits
    }

    /// The job queue, starting the threads on first use (a config parsed only to be checked
    /// starts none).
    fn queue(&self) -> Sender<Job> {
        let jobs = self.jobs.get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            for i in 0..self.threads {
                let rx = Arc::clone(&rx);
                let spawned = std::thread::Builder::new()
                    .name(format!("rhai-{i}"))
                    .stack_size(THREAD_STACK)
                    .spawn(move || worker(&rx));
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "Starting a Rhai thread failed.");
                }
            }
            Mutex::new(tx)
        });
        jobs.lock()
            .map_or_else(|p| p.into_inner().clone(), |tx| tx.clone())
    }
}

/// Runs jobs until the engine (and with it the sender) is dropped.
fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(p) => p.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// A Rhai hook: one compiled script, one point.
pub struct RhaiHook {
    name: String,
    point: HookPoint,
    path: PathBuf,
    settings: Arc<Settings>,
    engine: Arc<RhaiEngine>,
    ast: Arc<AST>,
    /// Whether the script defines the point's function (if not, every call is a default).
    defines: bool,
}

impl std::fmt::Debug for RhaiHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RhaiHook")
            .field("name", &self.name)
            .field("point", &self.point)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Compiles the script of `spec` (read with `read`) into a hook.
///
/// # Errors
///
/// [`HookLoadError::Read`], [`HookLoadError::Compile`] with the line,
/// [`HookLoadError::Invalid`] when the point's function takes other than one parameter.
pub fn load(
    engine: &Arc<RhaiEngine>,
    spec: &HookSpec,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<SharedHook, HookLoadError> {
    let text = read(&spec.path).map_err(|source| HookLoadError::Read {
        path: spec.path.clone(),
        source,
    })?;
    let ast = engine
        .engine
        .compile(&text)
        .map_err(|e| HookLoadError::Compile {
            path: spec.path.clone(),
            line: e.1.line().and_then(|l| u32::try_from(l).ok()),
            message: e.0.to_string(),
        })?;
    let function = spec.point.as_str();
    let mut defines = false;
    for f in ast.iter_functions().filter(|f| f.name == function) {
        if f.params.len() != 1 {
            return Err(HookLoadError::Invalid {
                path: spec.path.clone(),
                message: format!(
                    "fn {function} takes {} parameter(s); a hook function takes one (the call)",
                    f.params.len()
                ),
            });
        }
        defines = true;
    }
    Ok(Arc::new(RhaiHook {
        name: spec.name.clone(),
        point: spec.point,
        path: spec.path.clone(),
        settings: Arc::new(spec.settings.clone()),
        engine: Arc::clone(engine),
        ast: Arc::new(ast),
        defines,
    }))
}

#[async_trait::async_trait]
impl Hook for RhaiHook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn call(&self, call: &HookCall) -> Result<HookReply, HookError> {
        if !self.defines || call.point() != self.point {
            return Ok(HookReply::default());
        }
        let arg =
            rhai::serde::to_dynamic(call.envelope(&self.name, &self.settings)).map_err(|e| {
                HookError::Abi {
                    message: format!("the call cannot be handed to the script: {e}"),
                }
            })?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let engine = Arc::clone(&self.engine.engine);
        let ast = Arc::clone(&self.ast);
        let limits = self.engine.limits.clone();
        let point = self.point;
        self.engine
            .queue()
            .send(Box::new(move || {
                let _ = tx.send(run(&engine, &ast, &limits, point, arg));
            }))
            .map_err(|_| HookError::Script {
                line: None,
                message: "the Rhai threads are gone".into(),
            })?;
        rx.await.unwrap_or_else(|_| {
            Err(HookError::Script {
                line: None,
                message: "the Rhai thread ended without an answer".into(),
            })
        })
    }
}

/// One call on a script thread.
fn run(
    engine: &Engine,
    ast: &AST,
    limits: &RhaiLimits,
    point: HookPoint,
    arg: Dynamic,
) -> Result<HookReply, HookError> {
    DEADLINE.with(|d| d.set(Some(Instant::now() + limits.timeout)));
    let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
    let result = engine.call_fn_with_options::<Dynamic>(
        options,
        &mut Scope::new(),
        ast,
        point.as_str(),
        (arg,),
    );
    DEADLINE.with(|d| d.set(None));
    let answer = result.map_err(|e| eval_error(&e, limits))?;
    reply(point, answer, limits)
}

/// Reads what the function returned.
fn reply(point: HookPoint, answer: Dynamic, limits: &RhaiLimits) -> Result<HookReply, HookError> {
    if answer.is_unit() {
        return Ok(HookReply::default());
    }
    let Some(mut map) = answer.try_cast::<Map>() else {
        return Err(HookError::Output {
            message: "the function returned neither () nor a map".into(),
        });
    };
    let note = match map.remove("note") {
        None => None,
        Some(n) if n.is_string() => Some(n.to_string()),
        Some(_) => {
            return Err(HookError::Output {
                message: "`note` is not a string".into(),
            });
        }
    };
    if map.is_empty() {
        return Ok(HookReply {
            decision: None,
            note,
        });
    }
    let value: Value =
        rhai::serde::from_dynamic(&Dynamic::from_map(map)).map_err(|e| HookError::Output {
            message: format!("the decision is not JSON: {e}"),
        })?;
    let size = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
    if size > limits.max_output_bytes {
        return Err(HookError::Output {
            message: format!(
                "the answer is {size} bytes; at most {} are taken",
                limits.max_output_bytes
            ),
        });
    }
    Ok(HookReply {
        decision: Decision::parse(point, value)?,
        note,
    })
}

/// Maps Rhai's errors onto [`HookError`]: limits and the deadline by kind, everything else
/// as a script error with its line.
fn eval_error(e: &EvalAltResult, limits: &RhaiLimits) -> HookError {
    let limit = |what: &str| HookError::Limit { what: what.into() };
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => eval_error(inner, limits),
        EvalAltResult::ErrorTerminated(..) => HookError::Timeout {
            limit_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        },
        EvalAltResult::ErrorTooManyOperations(_) => {
            limit(&format!("operations ({})", limits.max_operations))
        }
        EvalAltResult::ErrorStackOverflow(_) => {
            limit(&format!("call depth ({})", limits.max_call_levels))
        }
        EvalAltResult::ErrorDataTooLarge(what, _) => limit(&format!("data size: {what}")),
        EvalAltResult::ErrorTooManyVariables(_) => limit("variables"),
        other => HookError::Script {
            line: other.position().line().and_then(|l| u32::try_from(l).ok()),
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
#[path = "rhai_tests.rs"]
mod tests;
