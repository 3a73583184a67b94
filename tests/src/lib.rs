//! Support code for the end-to-end tests and benchmarks of assetark and its simulator, over real HTTP.

pub mod kit;
pub mod openapi;
pub mod openapi_check;
pub mod restore_bench;
