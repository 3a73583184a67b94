//! assetark: back up Jira Service Management Assets schemas and restore or migrate them.
//!
//! The library holds everything; the `assetark` binary (`main.rs`) only hands the process to
//! [`cli::main`]. The parts, bottom up: [`clock`] and [`error`] (shared helpers), [`model`] (the
//! Assets and Jira entities, typed), [`assets`] (the Assets API client), [`store`] (SQLite blobs, jobs, restores), [`backup`] and
//! [`restore`] (the pipelines), [`jobs`] (queue and runner), [`daemon`] (wiring, sites), [`api`]
//! (the control API), [`cli`] (its client and the commands), [`config`].

pub mod clock;
pub mod error;

pub mod model;

pub mod assets;
pub mod backup;
pub mod restore;
pub mod store;

pub mod api;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod jobs;
pub mod schedules;
