//! placeholder

pub mod assets;
pub mod backup;
pub mod store;
