//! The one integration-test binary of the daemon package (STYLE §11): every end-to-end test
//! of `assetark` over real HTTP to the simulator and a real SQLite file, built on the test kit
//! (`assetark_tests::kit`). Add a module here rather than a new binary: one binary links once.
//!
//! Modules:
//! - `backup`: the rate governor (paused time), the client's retry contract, and the backup
//!   pipeline against the simulator (fidelity, faults, dedup, cancellation, `ORIGINAL_ID`);
//! - `cli`: the daemon as a process driven through the CLI: the backup lifecycle, bad input,
//!   SIGKILL / SIGTERM mid-backup, retries of temporary failures;
//! - `dc`: Data Center sites through the daemon and the CLI: config, `sites add --flavor dc`,
//!   `sites test`, backups;
//! - `demo`: `assetark demo` exits 0, leaves nothing behind, and `--keep DIR` keeps what it
//!   says;
//! - `faults`: issue 8's hostile probe: backups in use, sites with restores, corrupt blobs,
//!   oversized and hostile requests, file modes, token sources, a lost key file;
//! - `hooks`: Rust hooks at every point of a restore; Rhai hooks through the daemon
//!   (text-to-textarea, user matching, hostile scripts);
//! - `proc`: the daemon as a child process with its own directory and CLI (used by `tasks`
//!   and `dc`);
//! - `restore`: the restore pipeline in-process: round trips, migrations and user matching,
//!   interruptions cut exactly at a held request of every stage, faults, stored plans;
//! - `restore_daemon`: restores and run-time sites through the daemon process and the CLI;
//! - `schedules`: schedules on a manual clock with a barrier-held backup (no overlap, skips,
//!   a missed run once at start, failures visible), retention, `/metrics` parsed and moving;
//! - `service`: the daemon as systemd runs it: `READY=1`/`STOPPING=1`, a schedule fired by
//!   the wall-clock trigger, SIGTERM draining a held scheduled backup;
//! - `store_v3`: the store written before the seams rework, opened by today's code;
//! - `tasks`: post-restore tasks through the daemon process and the CLI (object type ids,
//!   objects in issues, cross-schema references), SIGKILL mid-task, second runs.
//!
//! Process tests pass the binary path ([`BIN`]) to the kit; only this package's tests know it.

mod backup;
mod cli;
mod dc;
mod demo;
mod faults;
mod hooks;
mod proc;
mod restore;
mod restore_daemon;
mod schedules;
mod service;
mod store_v3;
mod tasks;

/// The `assetark` binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_assetark");
