//! Testing a plugin natively (`cargo test` in `plugins/`, no WASM involved): run the handler
//! on a request JSON exactly as `assetark_call` would, read back the log lines it wrote, and
//! answer its capability calls with a stand-in host.
//!
//! ```ignore
//! let out = assetark_sdk::testing::run(handle, r#"{"abi":1,"point":"match_user", ...}"#);
//! assert_eq!(out["decision"]["account_id"], "acc-2");
//! ```
//! On wasm32 these stand-ins are never used (the real host imports are).

use std::cell::RefCell;

use crate::attachments::{Error, ErrorKind, Reply, Request as AttachmentsRequest};
use crate::envelope::{PluginError, Request, Response};
use crate::log::Level;

type AttachmentsHost = Box<dyn FnMut(AttachmentsRequest) -> Reply>;

thread_local! {
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    static ATTACHMENTS: RefCell<Option<AttachmentsHost>> = const { RefCell::new(None) };
}

/// Runs `handler` on `request_json` as the host would, and returns the response envelope
/// (`{"abi": 1, "decision": ..., "note": ...}` or `{"abi": 1, "error": ...}`) as JSON.
pub fn run(
    handler: fn(&Request) -> Result<Response, PluginError>,
    request_json: &str,
) -> serde_json::Value {
    let out = crate::abi::handle_bytes(request_json.as_bytes(), handler);
    serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null)
}

/// The log lines written on this thread since the last call, oldest first.
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

/// Answers this thread's `attachments` calls with `host` (without one, every call answers
/// `not_offered`, as an Assets Cloud site does).
pub fn set_attachments_host(host: impl FnMut(AttachmentsRequest) -> Reply + 'static) {
    ATTACHMENTS.with(|a| *a.borrow_mut() = Some(Box::new(host)));
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn record_log(level: Level, message: &str) {
    LOGS.with(|l| l.borrow_mut().push((level, message.to_owned())));
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn attachments_exchange(request: &[u8]) -> Vec<u8> {
    let reply = match serde_json::from_slice::<AttachmentsRequest>(request) {
        Ok(req) => ATTACHMENTS.with(|a| match a.borrow_mut().as_mut() {
            Some(host) => host(req),
            None => Reply::Error(Error {
                kind: ErrorKind::NotOffered,
                message: "the test host offers no attachments".to_owned(),
            }),
        }),
        Err(e) => Reply::Error(Error {
            kind: ErrorKind::Invalid,
            message: e.to_string(),
        }),
    };
    serde_json::to_vec(&reply).unwrap_or_default()
}
