//! The `assetark` binary. All logic lives in the library (`assetark::cli`), so tests and the
//! demo use the same code; this file only hands over the process.

// mimalloc rather than glibc malloc: a restore builds its large ordering arrays after the plan
// freed its own, and glibc then serves them from the shared heap, where the holes they leave
// are never returned (peak RSS of a 200,000-object restore reached 2x a 10,000-object one).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    assetark::cli::main()
}
