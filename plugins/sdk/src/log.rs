//! The host log (`assetark.log`): lines go to the daemon's tracing output and the restore log.
//! The host bounds them (README.md, "Limits"): keep them few and short.

/// Log levels, as the import numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// 0.
    Error = 0,
    /// 1.
    Warn = 1,
    /// 2.
    Info = 2,
    /// 3.
    Debug = 3,
}

/// Logs a line at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::abi::host_log(level as i32, message);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::record_log(level, message);
}

/// Logs an error line.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs a warning.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs an info line.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs a debug line.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}
