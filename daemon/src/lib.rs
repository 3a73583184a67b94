//! assetark: back up Jira Service Management Assets schemas and restore or migrate them.
//!
//! The library holds everything; the `assetark` binary (`main.rs`) only hands the process to
//! [`cli::main`]. The parts, bottom up; each uses only parts above it, so there are no import
//! cycles between them:
//!
//! - [`clock`] (the one injected clock) and [`error`] (the one error-chain formatter);
//! - [`model`]: the Assets and Jira entities, typed;
//! - [`hooks`]: hook points, the hook registry and the Rhai / WASM hosts;
//! - [`assets`]: the Assets API client (governor, retries, paging);
//! - [`store`]: SQLite: blobs and backups, the job queue, restores, sites added at run time;
//! - [`pipeline`]: the one stage runner; [`backup`] and [`restore`]: the pipelines on it;
//! - [`schedules`]: cron schedules, their retention policies and the scheduler, which enqueues
//!   through the job runner's [`schedules::BackupQueue`];
//! - [`config`]: the config file; [`sites`]: the site registry, one client per site;
//! - [`tasks`]: post-restore tasks (original object type ids, objects in Jira issues,
//!   cross-schema references), each run as a job;
//! - [`metrics`]: `/metrics` in the Prometheus text format, collected at scrape time;
//! - [`jobs`]: typed jobs, the persistent queue and its runner (and, for the scheduler, the
//!   queue of scheduled backups);
//! - [`api`]: the control API: its router, the wire types it shares with the CLI, its client;
//! - [`daemon`]: `assetark serve`, which wires the parts together;
//! - [`cli`]: the command line.

pub mod clock;
pub mod error;

pub mod model;

pub mod hooks;

pub mod assets;
pub mod backup;
pub mod pipeline;
pub mod restore;
pub mod store;
pub mod tasks;

pub mod schedules;

pub mod config;
pub mod sites;

pub mod metrics;

pub mod jobs;

pub mod api;
pub mod daemon;

pub mod cli;

#[cfg(test)]
mod layering;
