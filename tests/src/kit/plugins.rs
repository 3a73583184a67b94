//! The WASM plugins of `plugins/` as tests use them: [`plugin_wasm`] builds the plugins
//! workspace once per test process (`plugins/build`, release, wasm32; a no-op when nothing
//! changed) and returns the module's fixed path,
//! `plugins/target/wasm32-unknown-unknown/release/<crate_name>.wasm`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The repository's `plugins/` folder.
pub fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join("plugins"))
        .unwrap_or_else(|| PathBuf::from("plugins"))
}

/// Where `plugins/build` leaves the module of the crate `crate_name` (underscores:
/// `text_to_textarea`, `fixture_endless_loop`).
pub fn plugin_wasm_path(crate_name: &str) -> PathBuf {
    plugins_dir()
        .join("target/wasm32-unknown-unknown/release")
        .join(format!("{crate_name}.wasm"))
}

/// The module of `crate_name`, built if needed.
///
/// # Panics
/// When `plugins/build` fails (its output is in the message) or the module is not there
/// after it.
pub fn plugin_wasm(crate_name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let out = Command::new(plugins_dir().join("build"))
            .output()
            .map_err(|e| format!("cannot run plugins/build: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "plugins/build failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let path = plugin_wasm_path(crate_name);
    assert!(
        path.is_file(),
        "{} is missing after plugins/build",
        path.display()
    );
    path
}
