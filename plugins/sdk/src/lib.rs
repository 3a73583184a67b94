//! `assetark-sdk`: write an assetark WASM hook in a few lines.
//!
//! A plugin is a `cdylib` built for `wasm32-unknown-unknown` that calls [`plugin!`] once with
//! its manifest and a handler `fn(&Request) -> Result<Response, PluginError>`. The macro emits
//! the ABI v1 exports (`assetark_alloc`, `assetark_manifest`, `assetark_call`); the handler sees
//! typed messages ([`Request`], [`Input`], [`Decision`]) and never touches raw memory. The ABI
//! itself is described in this crate's README.md, for authors of plugins in other languages.
//!
//! On a native target (`cargo test`) the exports are not emitted and the host imports are
//! replaced by [`testing`]'s in-process stand-ins, so a plugin's logic is unit-testable.

pub mod abi;
pub mod attachments;
mod envelope;
pub mod log;
pub mod model;
pub mod testing;

pub use envelope::{
    ABI_VERSION, Capability, Context, Decision, Input, Manifest, PluginError, Point, Request,
    Response,
};

/// Declares the plugin: its manifest and its handler, and emits the ABI v1 exports.
///
/// ```ignore
/// assetark_sdk::plugin! {
///     name: "text-to-textarea",
///     points: [TransformAttribute],
///     capabilities: [],
///     handler: handle,
/// }
/// ```
/// The version is the plugin crate's own (`CARGO_PKG_VERSION`); `abi` is [`ABI_VERSION`].
#[macro_export]
macro_rules! plugin {
    (
        name: $name:expr,
        points: [$($point:ident),* $(,)?],
        capabilities: [$($cap:ident),* $(,)?],
        handler: $handler:path $(,)?
    ) => {
        /// This plugin's manifest (what `assetark_manifest` returns).
        pub fn manifest() -> $crate::Manifest {
            $crate::Manifest {
                abi: $crate::ABI_VERSION,
                name: ::std::string::String::from($name),
                version: ::std::string::String::from(env!("CARGO_PKG_VERSION")),
                points: vec![$($crate::Point::$point),*],
                capabilities: vec![$($crate::Capability::$cap),*],
            }
        }

        /// The handler, named where the exports below can see it.
        #[allow(dead_code)]
        const __ASSETARK_HANDLER: fn(
            &$crate::Request,
        ) -> ::std::result::Result<$crate::Response, $crate::PluginError> = $handler;

        #[cfg(target_arch = "wasm32")]
        mod __assetark_exports {
            #[unsafe(no_mangle)]
            pub extern "C" fn assetark_alloc(len: i32) -> i32 {
                $crate::abi::alloc(len)
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn assetark_manifest() -> i64 {
                $crate::abi::manifest(&super::manifest())
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn assetark_call(ptr: i32, len: i32) -> i64 {
                $crate::abi::call(ptr, len, super::__ASSETARK_HANDLER)
            }
        }
    };
}
