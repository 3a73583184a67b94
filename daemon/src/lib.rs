//! placeholder

pub mod assets;
pub mod backup;
pub mod restore;
pub mod store;

pub mod api;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod jobs;
