//! What the host gives a guest during one call: the store's data ([`CallState`]: memory cap,
//! log sink, the capability context), and the imports of module `assetark` (`log` always,
//! `attachments` only where the config grants it). Host functions never trust a pointer or a
//! length from the guest: every access is bounds-checked, and sizes are capped before copying.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::{AsContextMut, Caller, Extern, Linker, Memory};

use super::attachments::{self, ErrorKind, Reply};
use super::engine::WasmLimits;

/// The import module's name.
pub(super) const IMPORT_MODULE: &str = "assetark";
/// The `attachments` capability's name (manifest, config and import).
pub const CAP_ATTACHMENTS: &str = "attachments";

/// A log line's level, as the guest numbers it (0 error, 1 warn, 2 info, 3 debug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// 0.
    Error,
    /// 1.
    Warn,
    /// 2.
    Info,
    /// 3 (and anything unknown).
    Debug,
}

impl LogLevel {
    fn from_guest(n: i32) -> LogLevel {
        match n {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }
}

/// One line a plugin logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// The text (cut at the line limit).
    pub message: String,
}

/// What a call logged: the lines kept and how many were dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawLogs {
    /// Kept lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Lines past the limit.
    pub dropped: u64,
}

/// Why the host stopped a call from inside a host function (the guest traps with it).
#[derive(Debug, thiserror::Error)]
pub(super) enum HostTrap {
    /// The guest handed the host a pointer/length outside its memory, or lacks an export the
    /// ABI requires.
    #[error("{0}")]
    Abi(String),
    /// Memory growth past the cap.
    #[error("memory past the cap of {0} bytes")]
    Memory(usize),
}

/// Store data of one call.
pub(super) struct CallState {
    pub hook: String,
    pub limits: WasmLimits,
    pub memory_hit: bool,
    pub logs: Vec<LogLine>,
    pub logs_dropped: u64,
    pub capability_calls: u32,
    pub sites: Option<attachments::Sites>,
    pub epoch: Arc<AtomicU64>,
    /// The epoch at which the guest's time is up (kept in step with the store's deadline).
    pub deadline_epoch: u64,
}

impl CallState {
    pub(super) fn new(
        hook: &str,
        limits: WasmLimits,
        epoch: Arc<AtomicU64>,
        deadline_ticks: u64,
        sites: Option<attachments::Sites>,
    ) -> CallState {
        let now = epoch.load(Ordering::Acquire);
        CallState {
            hook: hook.to_owned(),
            limits,
            memory_hit: false,
            logs: Vec::new(),
            logs_dropped: 0,
            capability_calls: 0,
            sites,
            epoch,
            deadline_epoch: now + deadline_ticks,
        }
    }

    fn log(&mut self, level: LogLevel, bytes: &[u8]) {
        if self.logs.len() >= self.limits.log_lines {
            self.logs_dropped += 1;
            return;
        }
        let message = truncate(&String::from_utf8_lossy(bytes), self.limits.log_line_bytes);
        let hook = self.hook.as_str();
        match level {
            LogLevel::Error | LogLevel::Warn => {
                tracing::warn!(hook, message = %message, "Plugin logged a warning.");
            }
            LogLevel::Info => tracing::info!(hook, message = %message, "Plugin logged."),
            LogLevel::Debug => tracing::debug!(hook, message = %message, "Plugin logged."),
        }
        self.logs.push(LogLine { level, message });
    }
}

/// The longest prefix of `s` within `max` bytes, on a character boundary.
pub(super) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl wasmtime::ResourceLimiter for CallState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            self.memory_hit = true;
            // An error (not `false`) traps right away: a guest allocator that ignores a failed
            // grow must not go on.
            return Err(HostTrap::Memory(self.limits.memory_bytes).into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }
}

/// The imports for a module granted `capabilities`.
pub(super) fn linker(
    engine: &wasmtime::Engine,
    attachments_granted: bool,
) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap(
        IMPORT_MODULE,
        "log",
        |mut caller: Caller<'_, CallState>, level: i32, ptr: i32, len: i32| {
            let max = caller.data().limits.log_line_bytes;
            // Only what can be kept is copied; a longer line is cut anyway.
            let len = usize::try_from(len).unwrap_or(0);
            let bytes = read_guest(&mut caller, ptr, len.min(max + 4))?;
            caller.data_mut().log(LogLevel::from_guest(level), &bytes);
            Ok(())
        },
    )?;
    if attachments_granted {
        linker.func_wrap(IMPORT_MODULE, CAP_ATTACHMENTS, attachments_import)?;
    }
    Ok(linker)
}

fn attachments_import(
    mut caller: Caller<'_, CallState>,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<i64> {
    let limits = caller.data().limits;
    caller.data_mut().capability_calls += 1;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let reply = if caller.data().capability_calls > limits.capability_calls {
        Reply::error(
            ErrorKind::Limit,
            format!(
                "more than {} capability calls in one hook call",
                limits.capability_calls
            ),
        )
    } else if len > limits.capability_bytes {
        Reply::error(
            ErrorKind::Limit,
            format!(
                "a request of {len} bytes is over the limit of {}",
                limits.capability_bytes
            ),
        )
    } else {
        let request = read_guest(&mut caller, ptr, len)?;
        // The transfer's own time is not the guest's: take the guest's remaining ticks out
        // of the store's deadline and give them back afterwards.
        let state = caller.data_mut();
        let remaining = state
            .deadline_epoch
            .saturating_sub(state.epoch.load(Ordering::Acquire));
        let reply = match &state.sites {
            Some(sites) => sites.serve(&request, limits.capability_bytes),
            None => Reply::error(ErrorKind::NoSite, "no sites are connected to this call"),
        };
        let now = state.epoch.load(Ordering::Acquire);
        state.deadline_epoch = now + remaining.max(1);
        caller.as_context_mut().set_epoch_deadline(remaining.max(1));
        reply
    };
    let bytes = serde_json::to_vec(&reply)?;
    write_guest_owned(&mut caller, &bytes)
}

fn memory(caller: &mut Caller<'_, CallState>) -> Result<Memory, HostTrap> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| HostTrap::Abi("the module exports no memory named \"memory\"".into()))
}

/// Copies `len` bytes at `ptr` out of the guest.
fn read_guest(
    caller: &mut Caller<'_, CallState>,
    ptr: i32,
    len: usize,
) -> Result<Vec<u8>, HostTrap> {
    let mem = memory(caller)?;
    let data = mem.data(&*caller);
    let start = ptr as u32 as usize;
    data.get(start..start.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| {
            HostTrap::Abi(format!(
                "the guest passed {len} bytes at {start}, outside its {} bytes of memory",
                data.len()
            ))
        })
}

/// Writes `bytes` into a buffer the guest allocates (`assetark_alloc`); returns it packed.
fn write_guest_owned(caller: &mut Caller<'_, CallState>, bytes: &[u8]) -> wasmtime::Result<i64> {
    let alloc = caller
        .get_export(super::module::EXPORT_ALLOC)
        .and_then(Extern::into_func)
        .ok_or_else(|| HostTrap::Abi("the module exports no assetark_alloc".into()))?
        .typed::<i32, i32>(&*caller)?;
    let len = i32::try_from(bytes.len())
        .map_err(|_| HostTrap::Abi("a reply too large for a 32-bit guest".into()))?;
    let ptr = alloc.call(&mut *caller, len)?;
    let mem = memory(caller)?;
    mem.write(&mut *caller, ptr as u32 as usize, bytes)
        .map_err(|_| {
            HostTrap::Abi(format!(
                "assetark_alloc({len}) returned {ptr}, outside memory"
            ))
        })?;
    Ok(super::module::pack(ptr as u32, len as u32))
}
