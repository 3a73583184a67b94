//! End-to-end tests of hooks (issues #7 and #12) over real HTTP to the simulator:
//!
//! - `points`: a Rust hook at each of the six points changes a restore as expected;
//! - `plugins`: through the daemon: text-to-textarea (a shared case, [`plugins::text_to_textarea_case`],
//!   taking the hook's config so each host runs it), hostile scripts stopped by their limits;
//! - `wasm`: the same text-to-textarea case with the WASM plugin.

pub mod plugins;
mod points;
mod wasm;
