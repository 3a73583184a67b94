//! ABI v1 glue: the guest side of the memory contract (README.md, "ABI v1").
//!
//! The host asks the guest for a buffer (`assetark_alloc`), writes the request envelope there
//! and calls `assetark_call(ptr, len)`; the guest answers with a packed `(ptr << 32) | len`
//! pointing at its response JSON, which the host copies out. A fresh instance serves every
//! call and is dropped after it, so nothing is ever freed across the boundary: the guest owns
//! what it allocates and the host never frees guest memory.

use crate::envelope::{Manifest, PluginError, Request, Response, encode_error, encode_response};

/// Packs a pointer and a length into the i64 the ABI returns.
pub fn pack(ptr: u32, len: u32) -> i64 {
    ((u64::from(ptr) << 32) | u64::from(len)) as i64
}

/// Splits a packed i64 into pointer and length.
pub fn unpack(packed: i64) -> (u32, u32) {
    let v = packed as u64;
    ((v >> 32) as u32, v as u32)
}

/// The whole call, target independent: request bytes in, response bytes out. A request that
/// does not parse or a handler error becomes `{"abi": 1, "error": "..."}`.
pub fn handle_bytes(
    input: &[u8],
    handler: fn(&Request) -> Result<Response, PluginError>,
) -> Vec<u8> {
    match Request::parse(input).and_then(|req| handler(&req)) {
        Ok(resp) => encode_response(&resp),
        Err(e) => encode_error(&e),
    }
}

/// `assetark_alloc`: a buffer of `len` bytes the host may write into (0 when `len` is
/// negative).
pub fn alloc(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let buf: &'static mut [u8] = Vec::leak(vec![0u8; len.max(1)]);
    buf.as_mut_ptr() as usize as i32
}

/// Leaks `bytes` and returns them packed (the instance is dropped after the call).
pub fn leak_packed(bytes: Vec<u8>) -> i64 {
    let len = bytes.len() as u32;
    let buf: &'static mut [u8] = Vec::leak(bytes);
    pack(buf.as_mut_ptr() as usize as u32, len)
}

/// `assetark_manifest`: the manifest as JSON, packed.
pub fn manifest(m: &Manifest) -> i64 {
    leak_packed(serde_json::to_vec(m).unwrap_or_default())
}

/// `assetark_call`: reads the request the host wrote at `ptr`, runs `handler`, returns the
/// packed response.
#[cfg(target_arch = "wasm32")]
pub fn call(ptr: i32, len: i32, handler: fn(&Request) -> Result<Response, PluginError>) -> i64 {
    install_panic_hook();
    // SAFETY: the host wrote `len` bytes at `ptr`, into a buffer `assetark_alloc` returned
    // for exactly that length; nothing else touches it during the call.
    let input = unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) };
    leak_packed(handle_bytes(input, handler))
}

/// Sends a panic's message to the host log before the abort (an `unreachable` trap).
#[cfg(target_arch = "wasm32")]
fn install_panic_hook() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            crate::log::error(&format!("plugin panicked: {info}"));
        }))
    });
}

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "assetark")]
    unsafe extern "C" {
        pub fn log(level: i32, ptr: i32, len: i32);
        pub fn attachments(ptr: i32, len: i32) -> i64;
    }
}

/// Host import `assetark.log`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn host_log(level: i32, msg: &str) {
    // SAFETY: the host only reads `len` bytes at `ptr` during the call.
    unsafe { imports::log(level, msg.as_ptr() as usize as i32, msg.len() as i32) }
}

/// Host import `assetark.attachments`: request JSON in, response JSON out (written by the
/// host into a buffer it took from `assetark_alloc`).
#[cfg(target_arch = "wasm32")]
pub(crate) fn host_attachments(request: &[u8]) -> Vec<u8> {
    // SAFETY: the host reads `len` bytes at `ptr` and answers with a packed pointer to a
    // buffer of ours (from `assetark_alloc`) holding that many bytes.
    unsafe {
        let packed = imports::attachments(request.as_ptr() as usize as i32, request.len() as i32);
        let (ptr, len) = unpack(packed);
        core::slice::from_raw_parts(ptr as usize as *const u8, len as usize).to_vec()
    }
}
