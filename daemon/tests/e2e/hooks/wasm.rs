//! Issue #12 with WASM plugins through the daemon: the text-to-textarea case of `plugins`, run
//! with the WASM module built from `plugins/text-to-textarea` (the test kit builds it).

use assetark_tests::kit;

use super::plugins::{HookConfig, text_to_textarea_case};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_to_textarea_as_wasm_restores_every_long_text_whole() {
    text_to_textarea_case(HookConfig {
        name: "t2t",
        point: "transform_attribute",
        kind: "wasm",
        path: kit::plugin_wasm("text_to_textarea"),
        on_error: "fail",
        extra: String::new(),
    })
    .await;
}
