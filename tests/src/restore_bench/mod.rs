//! Support of the `restore-bench` binary (`src/bin/restore_bench.rs`): release simulator child
//! processes ([`sim`]), a reference-cycle-free dataset built through the Assets API
//! ([`dataset`]), timed backups and restores through `assetark` with per-stage client
//! counters ([`run`]), restores in a child process for peak-RSS measurements ([`child`]),
//! and the shipped hooks as the daemon loads them, with their calls per second ([`hooks`]).

pub mod child;
pub mod dataset;
pub mod hooks;
pub mod run;
pub mod sim;
