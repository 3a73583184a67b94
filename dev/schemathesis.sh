#!/usr/bin/env bash
# schemathesis (from PyPI, pinned) against the daemon's own OpenAPI document, over its TCP
# listener: every operation of /v1/openapi.json with generated input; fails on any 5xx and on
# any answer that breaks the document (status code, content type, response schema).
#
# Usage: dev/schemathesis.sh [extra schemathesis arguments]
#
# Keeps a virtualenv at $REPO/target/schemathesis-venv, rebuilt only when the pinned version
# changes. The daemon and the simulator run inside `api-conformance` (tests/src/bin), which
# starts them, prepares a synced schema and a backup, runs schemathesis and exits with its
# status (0 pass, 1 failures, 2 setup problem).
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
say() { printf 'schemathesis: %s\n' "$*" >&2; }

command -v python3 >/dev/null || {
    say "python3 not found"
    exit 2
}
VENV="$TARGET_DIR/schemathesis-venv"
STAMP="$VENV/.version"
# Reused only if it still runs: a venv's scripts name their interpreter by absolute path, so a
# target directory moved or copied elsewhere leaves one that exists but cannot start.
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$SCHEMATHESIS_VERSION" ]] \
    && "$VENV/bin/schemathesis" --version >/dev/null 2>&1; then
    say "venv: reusing $VENV"
else
    say "venv: creating $VENV (schemathesis $SCHEMATHESIS_VERSION)"
    mkdir -p "$TARGET_DIR"
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    printf '%s\n' "$SCHEMATHESIS_VERSION" >"$STAMP"
fi

say "building api-conformance"
cargo build --manifest-path "$REPO/Cargo.toml" -p assetark-tests --bin api-conformance
exec "$TARGET_DIR/debug/api-conformance" "$VENV/bin/schemathesis" "$@"
