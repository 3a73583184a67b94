//! assets-sim: a simulator of the Jira Service Management Assets Cloud REST API (and the Jira
//! endpoints an Assets backup tool needs), faithful enough that a client that works against it
//! works against Atlassian's cloud unchanged; sites may instead simulate Data Center (`config::
//! Flavor::Dc`). Request barriers (`barrier`) let tests hold chosen requests. See sim/README.md.

pub mod aql;
pub mod barrier;
pub mod clock;
pub mod config;
pub mod dataset;
pub mod error;
pub mod faults;
pub mod http;
pub mod icons;
pub mod model;
pub mod ratelimit;
pub mod render;
pub mod server;
pub mod ws;
