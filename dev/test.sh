#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: formatting, lints, every Rust test (unit and
# end-to-end over real HTTP), the third-party client conformance check, then schemathesis
# against the daemon's own OpenAPI document.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo test"
cargo test --workspace

echo "== conformance: atlassian-python-api against the simulator"
dev/conformance.sh

echo "== schemathesis: the control API against its own openapi.json"
dev/schemathesis.sh
