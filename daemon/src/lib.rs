//! placeholder

pub mod assets;
pub mod store;
