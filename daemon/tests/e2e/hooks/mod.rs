//! End-to-end tests of hooks (issues #7 and #12) over real HTTP to the simulator:
//!
//! - `points`: a Rust hook at each of the six points changes a restore as expected;
//! - `plugins`: through the daemon: text-to-textarea (a shared case, [`plugins::text_to_textarea_case`],
//!   taking the hook's config so each host runs it), hostile scripts stopped by their limits;
//! - `wasm`: the same text-to-textarea case with the WASM plugin;
//! - `hostile_wasm`: the hostile WASM fixtures as hooks of restores the daemon runs, with each
//!   `on_error`, the daemon serving meanwhile and after;
//! - `user_match`: user matching on a migration to a site whose users differ, with the WASM
//!   plugin and the Rhai script (mapping table, display-name fallback, none), in the plan, the
//!   log and the target's values;
//! - `attachments`: the attachments plugin on a Data Center backup restored to Cloud;
//! - `object_plan`: `transform_object` decisions (the `normalise` example, Rhai and WASM) in the
//!   typed and the text dry run, exactly what the restore then writes; execute-time hooks
//!   listed as such.

mod attachments;
mod hostile_wasm;
mod object_plan;
pub mod plugins;
mod points;
mod user_match;
mod wasm;
