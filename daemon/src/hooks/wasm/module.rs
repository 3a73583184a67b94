//! [`WasmModule`]: one plugin, compiled once at config load and kept as an `InstancePre`
//! (imports resolved, exports checked, manifest read and validated), then run in a fresh
//! `Store` per call, within the engine's [`WasmLimits`]. Every way a call can end badly comes
//! back as a typed [`CallError`].

use std::sync::Arc;

use serde::Deserialize;
use wasmtime::{ExternType, InstancePre, Module, Store, Trap, ValType};

use super::attachments;
use super::engine::{WasmEngine, WasmLimits};
use super::host::{self, CAP_ATTACHMENTS, CallState, HostTrap, IMPORT_MODULE, LogLine};

/// The ABI version of this host.
pub const ABI_VERSION: u32 = 1;
/// `assetark_alloc(len: i32) -> i32`.
pub(super) const EXPORT_ALLOC: &str = "assetark_alloc";
/// `assetark_manifest() -> i64`.
const EXPORT_MANIFEST: &str = "assetark_manifest";
/// `assetark_call(ptr: i32, len: i32) -> i64`.
const EXPORT_CALL: &str = "assetark_call";
/// The linear memory.
const EXPORT_MEMORY: &str = "memory";
/// The largest manifest read.
const MANIFEST_BYTES: usize = 64 << 10;
/// Capabilities this host knows.
pub const CAPABILITIES: [&str; 1] = [CAP_ATTACHMENTS];

/// Packs a guest pointer and length (`(ptr << 32) | len`).
pub(super) fn pack(ptr: u32, len: u32) -> i64 {
    ((u64::from(ptr) << 32) | u64::from(len)) as i64
}

fn unpack(packed: i64) -> (usize, usize) {
    let v = packed as u64;
    ((v >> 32) as usize, (v & 0xffff_ffff) as usize)
}

/// A plugin's manifest (`assetark_manifest`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Manifest {
    /// ABI version.
    pub abi: u32,
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Points it handles (snake_case).
    pub points: Vec<String>,
    /// Capabilities it needs.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// Just the version, read first: a module of another ABI may spell the rest differently.
#[derive(Deserialize)]
struct AbiOnly {
    abi: u32,
}

/// Why a module cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a valid WASM module.
    #[error("not a WASM module wasmtime accepts: {message}")]
    Compile {
        /// wasmtime's explanation.
        message: String,
    },
    /// A valid module that does not fit the ABI or the configuration.
    #[error("{message}")]
    Invalid {
        /// What does not fit.
        message: String,
    },
}

fn invalid(message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        message: message.into(),
    }
}

/// How a call ended badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The guest computed past its deadline (epoch interruption).
    #[error("ran past its deadline of {limit_ms} ms")]
    Timeout {
        /// The deadline.
        limit_ms: u64,
    },
    /// Memory growth past the cap.
    #[error("grew its memory past the cap of {limit_bytes} bytes")]
    Memory {
        /// The cap.
        limit_bytes: usize,
    },
    /// The WASM stack ran out (recursion too deep).
    #[error("exhausted its WASM stack of {limit_bytes} bytes (recursion too deep)")]
    Stack {
        /// The stack limit.
        limit_bytes: usize,
    },
    /// Any other trap (a guest panic is an `unreachable` trap; its message is logged first).
    #[error("trapped: {message}")]
    Trap {
        /// The trap and, when the guest logged one, its last error line.
        message: String,
    },
    /// The guest broke the memory contract.
    #[error("{message}")]
    Abi {
        /// How.
        message: String,
    },
    /// The answer is unusable (too large, out of bounds).
    #[error("{message}")]
    Output {
        /// Why.
        message: String,
    },
}

/// A successful call: the answer's bytes and what the plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOutput {
    /// The answer JSON.
    pub bytes: Vec<u8>,
    /// Lines kept.
    pub logs: Vec<LogLine>,
    /// Lines dropped past the limit.
    pub logs_dropped: u64,
}

/// A compiled, checked plugin.
pub struct WasmModule {
    engine: Arc<WasmEngine>,
    pre: InstancePre<CallState>,
    manifest: Manifest,
    hook: String,
}

impl std::fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmModule")
            .field("hook", &self.hook)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl WasmModule {
    /// Compiles `bytes` for the hook `hook` at `point` with the `granted` capabilities, and
    /// checks it: imports only what the host offers and the config grants, exports the ABI,
    /// and a manifest of this ABI that lists `point` and asks only for granted capabilities.
    ///
    /// # Errors
    /// [`LoadError`], saying what is wrong in words a config author can act on.
    pub fn load(
        engine: &Arc<WasmEngine>,
        hook: &str,
        point: &str,
        granted: &[String],
        bytes: &[u8],
    ) -> Result<WasmModule, LoadError> {
        if let Some(unknown) = granted.iter().find(|c| !CAPABILITIES.contains(&c.as_str())) {
            return Err(invalid(format!(
                "capabilities: {unknown:?} is not a capability (known: {CAPABILITIES:?})"
            )));
        }
        let attachments_granted = granted.iter().any(|c| c == CAP_ATTACHMENTS);
        let module = Module::new(&engine.engine, bytes).map_err(|e| LoadError::Compile {
            message: format!("{e:#}"),
        })?;
        check_imports(&module, attachments_granted)?;
        check_exports(&module)?;
        let linker = host::linker(&engine.engine, attachments_granted)
            .map_err(|e| invalid(format!("host imports: {e:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| invalid(format!("cannot link: {e:#}")))?;
        let mut loaded = WasmModule {
            engine: Arc::clone(engine),
            pre,
            manifest: Manifest {
                abi: 0,
                name: String::new(),
                version: String::new(),
                points: Vec::new(),
                capabilities: Vec::new(),
            },
            hook: hook.to_owned(),
        };
        loaded.manifest = loaded.read_manifest()?;
        let m = &loaded.manifest;
        if !m.points.iter().any(|p| p == point) {
            return Err(invalid(format!(
                "plugin {} handles {:?}, not {point}",
                m.name, m.points
            )));
        }
        if let Some(c) = m.capabilities.iter().find(|c| !granted.contains(c)) {
            return Err(invalid(format!(
                "plugin {} asks for the capability {c:?}, which this hook's config does not \
                 grant (capabilities = [{c:?}] grants it)",
                m.name
            )));
        }
        Ok(loaded)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn read_manifest(&self) -> Result<Manifest, LoadError> {
        let (mut store, instance) = self
            .instantiate(None)
            .map_err(|e| invalid(format!("instantiating to read the manifest: {e}")))?;
        let f = instance
            .get_typed_func::<(), i64>(&mut store, EXPORT_MANIFEST)
            .map_err(|e| invalid(format!("{EXPORT_MANIFEST}: {e:#}")))?;
        let packed = f
            .call(&mut store, ())
            .map_err(|e| invalid(format!("{EXPORT_MANIFEST}: {}", classify(&store, &e))))?;
        let bytes = read_out(&mut store, &instance, packed, MANIFEST_BYTES)
            .map_err(|e| invalid(format!("{EXPORT_MANIFEST}: {e}")))?;
        let abi: AbiOnly = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("the manifest is not ABI JSON: {e}")))?;
        if abi.abi != ABI_VERSION {
            return Err(invalid(format!(
                "the module speaks hook ABI version {}, this daemon speaks version \
                 {ABI_VERSION}: rebuild it against assetark-sdk {ABI_VERSION}",
                abi.abi
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| invalid(format!("the manifest: {e}")))
    }

    fn instantiate(
        &self,
        sites: Option<attachments::Sites>,
    ) -> Result<(Store<CallState>, wasmtime::Instance), CallError> {
        let limits: WasmLimits = self.engine.limits;
        let ticks = self.engine.deadline_ticks();
        let state = CallState::new(
            &self.hook,
            limits,
            Arc::clone(&self.engine.epoch),
            ticks,
            sites,
        );
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|s| s);
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        match self.pre.instantiate(&mut store) {
            Ok(instance) => Ok((store, instance)),
            Err(e) => Err(classify(&store, &e)),
        }
    }

    /// One call: writes `input` into a fresh instance, calls `assetark_call`, copies the answer
    /// out. Blocking (run it under `spawn_blocking`).
    ///
    /// # Errors
    /// [`CallError`] for every trap, limit and contract breach.
    pub fn call_raw(
        &self,
        input: &[u8],
        sites: Option<attachments::Sites>,
    ) -> Result<RawOutput, CallError> {
        let (mut store, instance) = self.instantiate(sites)?;
        let outcome = (|| {
            let alloc = instance
                .get_typed_func::<i32, i32>(&mut store, EXPORT_ALLOC)
                .map_err(|e| abi(format!("{EXPORT_ALLOC}: {e:#}")))?;
            let call = instance
                .get_typed_func::<(i32, i32), i64>(&mut store, EXPORT_CALL)
                .map_err(|e| abi(format!("{EXPORT_CALL}: {e:#}")))?;
            let len = i32::try_from(input.len())
                .map_err(|_| abi("the request is too large for a 32-bit guest".to_owned()))?;
            let ptr = alloc
                .call(&mut store, len)
                .map_err(|e| classify(&store, &e))?;
            let memory = instance
                .get_memory(&mut store, EXPORT_MEMORY)
                .ok_or_else(|| abi("no memory export".to_owned()))?;
            memory
                .write(&mut store, ptr as u32 as usize, input)
                .map_err(|_| {
                    abi(format!(
                        "{EXPORT_ALLOC}({len}) returned {ptr}, outside the guest's memory"
                    ))
                })?;
            let packed = call
                .call(&mut store, (ptr, len))
                .map_err(|e| classify(&store, &e))?;
            read_out(
                &mut store,
                &instance,
                packed,
                self.engine.limits.output_bytes,
            )
        })();
        let state = store.into_data();
        outcome.map(|bytes| RawOutput {
            bytes,
            logs: state.logs,
            logs_dropped: state.logs_dropped,
        })
    }
}

fn abi(message: String) -> CallError {
    CallError::Abi { message }
}

/// Copies a packed answer out of the guest, refusing one larger than `max`.
fn read_out(
    store: &mut Store<CallState>,
    instance: &wasmtime::Instance,
    packed: i64,
    max: usize,
) -> Result<Vec<u8>, CallError> {
    let (ptr, len) = unpack(packed);
    if len > max {
        return Err(CallError::Output {
            message: format!("the answer has {len} bytes, more than the limit of {max}"),
        });
    }
    let memory = instance
        .get_memory(&mut *store, EXPORT_MEMORY)
        .ok_or_else(|| abi("no memory export".to_owned()))?;
    let data = memory.data(&*store);
    data.get(ptr..ptr.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            abi(format!(
                "the answer ({len} bytes at {ptr}) lies outside the guest's {} bytes of memory",
                data.len()
            ))
        })
}

/// Maps a wasmtime error of a call onto [`CallError`].
fn classify(store: &Store<CallState>, e: &wasmtime::Error) -> CallError {
    let state = store.data();
    if state.memory_hit {
        return CallError::Memory {
            limit_bytes: state.limits.memory_bytes,
        };
    }
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => CallError::Timeout {
                limit_ms: u64::try_from(state.limits.deadline.as_millis()).unwrap_or(u64::MAX),
            },
            Trap::StackOverflow => CallError::Stack {
                limit_bytes: state.limits.stack_bytes,
            },
            other => {
                let said = state
                    .logs
                    .iter()
                    .rev()
                    .find(|l| l.level == host::LogLevel::Error)
                    .map(|l| format!(" ({})", l.message))
                    .unwrap_or_default();
                CallError::Trap {
                    message: format!("{other}{said}"),
                }
            }
        };
    }
    if let Some(h) = e.downcast_ref::<HostTrap>() {
        return match h {
            HostTrap::Abi(m) => abi(m.clone()),
            HostTrap::Memory(limit) => CallError::Memory {
                limit_bytes: *limit,
            },
        };
    }
    CallError::Trap {
        message: format!("{e:#}"),
    }
}

fn check_imports(module: &Module, attachments_granted: bool) -> Result<(), LoadError> {
    for import in module.imports() {
        let (m, name) = (import.module(), import.name());
        if m != IMPORT_MODULE || !matches!(import.ty(), ExternType::Func(_)) {
            return Err(invalid(format!(
                "imports {m}.{name}, which this host does not provide (only functions of module \
                 \"{IMPORT_MODULE}\"; no WASI)"
            )));
        }
        match name {
            "log" => {}
            CAP_ATTACHMENTS if !attachments_granted => {
                return Err(invalid(format!(
                    "uses the capability \"{CAP_ATTACHMENTS}\" (imports {m}.{name}), which this \
                     hook's config does not grant (capabilities = [\"{CAP_ATTACHMENTS}\"] \
                     grants it)"
                )));
            }
            CAP_ATTACHMENTS => {}
            other => {
                return Err(invalid(format!(
                    "imports {m}.{other}, which ABI version {ABI_VERSION} does not have"
                )));
            }
        }
    }
    Ok(())
}

fn check_exports(module: &Module) -> Result<(), LoadError> {
    use ValType::{I32, I64};
    let want: [(&str, &[ValType], &[ValType]); 3] = [
        (EXPORT_ALLOC, &[I32], &[I32]),
        (EXPORT_MANIFEST, &[], &[I64]),
        (EXPORT_CALL, &[I32, I32], &[I64]),
    ];
    for (name, params, results) in want {
        let Some(ExternType::Func(f)) = module.get_export(name) else {
            return Err(invalid(format!(
                "exports no function {name}: not an assetark hook module (ABI version \
                 {ABI_VERSION}, see plugins/sdk/README.md)"
            )));
        };
        let same = |a: &mut dyn ExactSizeIterator<Item = ValType>, b: &[ValType]| {
            a.len() == b.len() && a.zip(b).all(|(x, y)| ValType::eq(&x, y))
        };
        if !same(&mut f.params(), params) || !same(&mut f.results(), results) {
            return Err(invalid(format!(
                "{name} has the signature {f}, ABI version {ABI_VERSION} wants params \
                 {params:?} results {results:?}"
            )));
        }
    }
    if !matches!(
        module.get_export(EXPORT_MEMORY),
        Some(ExternType::Memory(_))
    ) {
        return Err(invalid("exports no memory named \"memory\""));
    }
    Ok(())
}
