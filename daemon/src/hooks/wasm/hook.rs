//! [`WasmHook`]: a loaded module as a [`Hook`] of the registry, and [`load`], which the config
//! loader calls for every `kind = "wasm"` entry. A call serialises the ABI envelope, runs the
//! module on a blocking thread (`spawn_blocking`: a spinning plugin holds a blocking-pool
//! thread until its deadline, never a runtime worker), and reads the answer with the shared
//! message types, so WASM and Rhai hooks decide through the same strict parser.

use std::sync::Arc;

use serde::Deserialize;

use super::attachments::Sites;
use super::engine::WasmEngine;
use super::host::{CAP_ATTACHMENTS, LogLevel, RawLogs};
use super::module::{ABI_VERSION, CallError, LoadError, WasmModule};
use crate::hooks::{
    Hook, HookCall, HookError, HookLoadError, HookPoint, HookReply, HookSpec, Settings, SharedHook,
};

/// A WASM plugin configured as a hook.
#[derive(Debug)]
pub struct WasmHook {
    name: String,
    point: HookPoint,
    settings: Settings,
    module: Arc<WasmModule>,
    engine: Arc<WasmEngine>,
    uses_attachments: bool,
}

/// Compiles and checks the module of `spec` (see [`WasmModule::load`]).
///
/// # Errors
/// [`HookLoadError`] naming the file: unreadable, not WASM, or not usable as configured.
pub fn load(engine: &Arc<WasmEngine>, spec: &HookSpec) -> Result<SharedHook, HookLoadError> {
    let bytes = std::fs::read(&spec.path).map_err(|source| HookLoadError::Read {
        path: spec.path.clone(),
        source,
    })?;
    let module = WasmModule::load(
        engine,
        &spec.name,
        spec.point.as_str(),
        &spec.capabilities,
        &bytes,
    )
    .map_err(|e| match e {
        LoadError::Compile { message } => HookLoadError::Compile {
            path: spec.path.clone(),
            line: None,
            message,
        },
        LoadError::Invalid { message } => HookLoadError::Invalid {
            path: spec.path.clone(),
            message,
        },
    })?;
    let uses_attachments = module
        .manifest()
        .capabilities
        .iter()
        .any(|c| c == CAP_ATTACHMENTS);
    tracing::debug!(hook = %spec.name, plugin = %module.manifest().name,
        version = %module.manifest().version, "WASM hook loaded.");
    Ok(Arc::new(WasmHook {
        name: spec.name.clone(),
        point: spec.point,
        settings: spec.settings.clone(),
        module: Arc::new(module),
        engine: Arc::clone(engine),
        uses_attachments,
    }))
}

/// A plugin's own failure: `{"abi": 1, "error": "..."}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginFailure {
    abi: u32,
    error: String,
}

impl From<CallError> for HookError {
    fn from(e: CallError) -> HookError {
        match e {
            CallError::Timeout { limit_ms } => HookError::Timeout { limit_ms },
            CallError::Memory { limit_bytes } => HookError::Limit {
                what: format!("memory ({} MiB)", limit_bytes >> 20),
            },
            CallError::Stack { limit_bytes } => HookError::Limit {
                what: format!("WASM stack ({} KiB; recursion too deep)", limit_bytes >> 10),
            },
            CallError::Trap { message } => HookError::Script {
                line: None,
                message: format!("the plugin trapped: {message}"),
            },
            CallError::Abi { message } => HookError::Abi { message },
            CallError::Output { message } => HookError::Output { message },
        }
    }
}

#[async_trait::async_trait]
impl Hook for WasmHook {
    fn name(&self) -> &str {
        &self.name
    }

    async fn call(&self, call: &HookCall) -> Result<HookReply, HookError> {
        let point = call.point();
        if point != self.point {
            return Err(HookError::Abi {
                message: format!(
                    "{} is configured for {}, called at {point}",
                    self.name, self.point
                ),
            });
        }
        let input =
            serde_json::to_vec(&call.envelope(&self.name, &self.settings)).map_err(|e| {
                HookError::Abi {
                    message: format!("the request cannot be encoded: {e}"),
                }
            })?;
        // Only a plugin granted the capability reaches the sites.
        let sites = self.uses_attachments.then(|| Sites {
            lookup: self.engine.sites.read().clone(),
            source: call.context.source_site.clone(),
            target: call.context.target_site.clone(),
            runtime: tokio::runtime::Handle::try_current().ok(),
        });
        let module = Arc::clone(&self.module);
        let out = tokio::task::spawn_blocking(move || module.call_raw(&input, sites))
            .await
            .map_err(|e| HookError::Script {
                line: None,
                message: format!("the host thread of the call failed: {e}"),
            })??;
        let logs = RawLogs {
            lines: out.logs,
            dropped: out.logs_dropped,
        };
        if let Ok(failure) = serde_json::from_slice::<PluginFailure>(&out.bytes)
            && failure.abi == ABI_VERSION
        {
            return Err(HookError::Script {
                line: None,
                message: with_logs(failure.error, &logs),
            });
        }
        let mut reply = HookReply::parse_output(point, &out.bytes)?;
        if !logs.lines.is_empty() || logs.dropped > 0 {
            reply.note = Some(with_logs(reply.note.unwrap_or_default(), &logs));
        }
        Ok(reply)
    }
}

/// The plugin's log lines go with its note (or error) into the plan and the restore log, one
/// per line after the text, as `[level] message`.
fn with_logs(text: String, logs: &RawLogs) -> String {
    let mut out = text;
    for l in &logs.lines {
        let level = match l.level {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{level}] {}", l.message));
    }
    if logs.dropped > 0 {
        out.push_str(&format!("\n({} more log lines dropped)", logs.dropped));
    }
    out
}
