//! [`WasmEngine`]: the one wasmtime `Engine` of the daemon, configured for hooks (cranelift,
//! epoch interruption, a bounded WASM stack, no WASI), and the ticker thread that advances its
//! epoch, which is how a call's deadline is enforced without fuel accounting (STYLE §8: fuel
//! only where results must be deterministic).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use parking_lot::RwLock;

use super::attachments::SiteLookup;

/// How often the epoch advances: the granularity of deadlines (wasmtime's own default tick).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The bounds every call of a WASM hook runs within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WasmLimits {
    /// Linear memory of one instance, in bytes (growth past it traps).
    pub memory_bytes: usize,
    /// Wall-clock time the guest may compute in one call (time spent in host calls, such as
    /// attachment transfers, does not count).
    pub deadline: Duration,
    /// WASM stack, in bytes (deeper recursion traps).
    pub stack_bytes: usize,
    /// Largest answer, in bytes.
    pub output_bytes: usize,
    /// Log lines kept per call (more are counted and dropped).
    pub log_lines: usize,
    /// Bytes kept of one log line.
    pub log_line_bytes: usize,
    /// Capability calls per hook call.
    pub capability_calls: u32,
    /// Largest capability request or reply (an attachment's content, base64), in bytes.
    pub capability_bytes: usize,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            memory_bytes: 64 << 20,
            deadline: Duration::from_secs(2),
            stack_bytes: 512 << 10,
            output_bytes: 1 << 20,
            log_lines: 100,
            log_line_bytes: 2 << 10,
            capability_calls: 1_000,
            capability_bytes: 24 << 20,
        }
    }
}

/// The hooks' wasmtime engine. Cheap to share (`Arc`); its ticker thread stops when the last
/// reference is dropped.
pub struct WasmEngine {
    pub(super) engine: wasmtime::Engine,
    pub(super) limits: WasmLimits,
    /// The epoch as the ticker counts it (wasmtime does not expose its own): lets a host call
    /// give the guest back the deadline it had left before the call.
    pub(super) epoch: Arc<AtomicU64>,
    /// Sites the `attachments` capability reaches, connected when the daemon has its site
    /// registry (after the config is loaded).
    pub(super) sites: RwLock<Option<Arc<dyn SiteLookup>>>,
    _ticker: Ticker,
}

impl std::fmt::Debug for WasmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Why the engine could not be made.
#[derive(Debug, thiserror::Error)]
#[error("the WASM engine cannot start: {message}")]
pub struct EngineError {
    /// wasmtime's explanation.
    pub message: String,
}

impl WasmEngine {
    /// An engine with these limits, and its ticker thread.
    ///
    /// # Errors
    /// When wasmtime refuses the configuration or the thread cannot be spawned.
    pub fn new(limits: WasmLimits) -> Result<WasmEngine, EngineError> {
        let mut config = wasmtime::Config::new();
        config
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack_bytes)
            .cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = wasmtime::Engine::new(&config).map_err(|e| EngineError {
            message: format!("{e:#}"),
        })?;
        let epoch = Arc::new(AtomicU64::new(0));
        let ticker = Ticker::spawn(engine.clone(), Arc::clone(&epoch))?;
        Ok(WasmEngine {
            engine,
            limits,
            epoch,
            sites: RwLock::new(None),
            _ticker: ticker,
        })
    }

    /// The limits calls run within.
    pub fn limits(&self) -> &WasmLimits {
        &self.limits
    }

    /// Connects the sites the `attachments` capability reaches (the daemon's site registry).
    /// Until then a capability call answers "no such site".
    pub fn connect_sites(&self, sites: Arc<dyn SiteLookup>) {
        *self.sites.write() = Some(sites);
    }

    /// The deadline in epoch ticks (rounded up, plus one: the current tick is partly spent).
    pub(super) fn deadline_ticks(&self) -> u64 {
        let tick = EPOCH_TICK.as_micros().max(1);
        let ticks = self.limits.deadline.as_micros().div_ceil(tick);
        u64::try_from(ticks).unwrap_or(u64::MAX / 2) + 1
    }
}

/// The thread that advances the epoch every [`EPOCH_TICK`]; it ends when its channel's sender
/// (held here) is dropped.
struct Ticker {
    _stop: mpsc::Sender<()>,
}

impl Ticker {
    fn spawn(engine: wasmtime::Engine, epoch: Arc<AtomicU64>) -> Result<Ticker, EngineError> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                // Waiting on the channel is the tick: it times out every EPOCH_TICK and
                // disconnects when the engine is dropped.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(EPOCH_TICK) {
                    epoch.fetch_add(1, Ordering::AcqRel);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| EngineError {
                message: format!("cannot spawn the epoch ticker: {e}"),
            })?;
        Ok(Ticker { _stop: stop })
    }
}
