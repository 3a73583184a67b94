//! The `assetark` binary. All logic lives in the library (`assetark::cli`), so tests and the
//! demo use the same code; this file only hands over the process.

fn main() -> std::process::ExitCode {
    assetark::cli::main()
}
