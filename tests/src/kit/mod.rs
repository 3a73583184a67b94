//! The one test kit of assetark's end-to-end tests.
//!
//! - `sim`: the simulator in-process (configs, [`start_sim`]), typed clients of its sites
//!   (Cloud [`Api`], Data Center [`DcApi`]) that keep status, headers and JSON, its admin API
//!   ([`admin`]) and request barriers: in-process through `SimHandle::barrier`, over HTTP
//!   through [`RemoteBarrier`] (for a simulator running as a process);
//! - `daemon`: the daemon in-process ([`InProcessDaemon`], the default: its socket and
//!   `ControlClient`) or as a process ([`DaemonProcess`]: spawned `assetark serve`, waited for
//!   on its socket, SIGKILL / SIGTERM), for kill tests; the CLI as a process ([`Cli`], [`Out`]);
//! - `site`: an independent reader of a site (plain HTTP, not the code under test) that
//!   snapshots a schema and compares a restored schema with its source;
//! - `pipeline`: clients, a SQLite store and backups for tests of the pipelines without a
//!   daemon;
//! - `stages`: the request of each restore stage, for barriers that cut a stage exactly;
//! - `plugins`: the WASM plugins and fixtures of `plugins/`, built once per process
//!   ([`plugin_wasm`]);
//! - `wait`: [`wait_for`] a condition with a deadline, never a fixed sleep.
//!
//! Tests run the simulator and the daemon in-process unless they must kill the daemon: only a
//! process can be SIGKILLed without killing the test. The daemon package's tests pass in the
//! path of its binary (`env!("CARGO_BIN_EXE_assetark")`), which only they know.

mod daemon;
pub mod pipeline;
mod plugins;
mod sim;
mod site;
mod stages;
mod wait;

pub use daemon::{Cli, DaemonProcess, InProcessDaemon, Out};
pub use plugins::{plugin_wasm, plugin_wasm_path, plugins_dir};
pub use sim::*;
pub use site::{
    NamedObject, SiteReader, Snapshot, UserRule, assert_each_object_once, assert_restored, s,
    schema_id, user_rule,
};
pub use stages::{restore_stage_barrier, restore_stage_request, same_request};
pub use wait::{DEADLINE, wait_for, wait_for_within};
