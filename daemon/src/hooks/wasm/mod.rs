//! The WASM hook host (issue #12, DESIGN §6, STYLE §8): plugins are wasmtime core modules
//! speaking a small JSON-in/JSON-out ABI (version 1, documented for authors in
//! `plugins/sdk/README.md`).
//!
//! - [`engine`]: one engine per daemon, epoch interruption driven by a ticker thread, and the
//!   [`WasmLimits`] every call runs within;
//! - [`module`]: a plugin compiled at config load, checked (imports, exports, manifest, ABI
//!   version, capabilities) and kept as an `InstancePre`; a fresh store per call;
//! - [`host`]: the imports (`log`, and `attachments` where granted) and the per-call state;
//! - [`WasmHook`] / [`load`]: a module as a [`crate::hooks::Hook`], loaded from a `[[hooks]]`
//!   entry;
//! - [`attachments`]: the `attachments` capability and the site interface it runs against.

pub mod attachments;
pub mod engine;
mod hook;
pub mod host;
pub mod module;
#[cfg(test)]
mod tests;

pub use attachments::{
    ApiSite, AttachmentError, AttachmentInfo, AttachmentSite, NewAttachment, SiteLookup,
    SitesByName,
};
pub use engine::{EPOCH_TICK, EngineError, WasmEngine, WasmLimits};
pub use hook::{WasmHook, load};
pub use host::{CAP_ATTACHMENTS, LogLevel, LogLine, RawLogs};
pub use module::{ABI_VERSION, CallError, LoadError, Manifest, RawOutput, WasmModule};
