#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, the WASM plugins (their own
# tests, then built for wasm32), every Rust test (unit and end-to-end over real HTTP), the
# third-party client conformance check, then schemathesis against the daemon's own OpenAPI
# document.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

echo "== plugins: fmt, clippy and native tests of the WASM plugin workspace"
(cd plugins && cargo fmt --all --check && cargo clippy --workspace --all-targets -- -D warnings \
    && cargo test --workspace)

echo "== plugins/build: the WASM plugins and fixtures (wasm32, release) the tests load"
plugins/build

echo "== cargo test"
cargo test --workspace

echo "== conformance: atlassian-python-api against the simulator"
dev/conformance.sh

echo "== schemathesis: the control API against its own openapi.json"
dev/schemathesis.sh
