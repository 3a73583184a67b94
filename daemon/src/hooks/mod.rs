//! Hooks (issue #12). Placeholder module root on the wasm branch until the hook registry lands.

pub mod wasm;
