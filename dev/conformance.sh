#!/usr/bin/env bash
# Conformance runner: a third-party client (atlassian-python-api, via peer_python.py, unchanged) against assets-sim.
#
# Usage: dev/conformance.sh
#
# Looks for the conformance kit at $REPO/../shared/conformance (CI clones the repo next to shared/),
# falling back to the verbatim copy in tests/conformance/ (override with CONFORMANCE_DIR).
# Keeps a virtualenv at $REPO/target/conformance-venv, rebuilt only when requirements.txt changes.
# Uses ${ASSETS_SIM_BIN:-$REPO/target/debug/assets-sim}, building it first (a no-op when fresh) unless
# ASSETS_SIM_BIN is set. Starts the simulator on an ephemeral port with one site ("peer", cmdb dataset, rate limits
# on), runs peer_python.py against it and exits with peer_python's status (0 pass, 1 mismatch,
# 2 setup problem); this script's own setup failures exit 2 as well.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

say() { printf 'conformance: %s\n' "$*" >&2; }
fail() {
    say "$*"
    exit 2
}

command -v python3 >/dev/null || fail "python3 not found"

# 1. The conformance kit.
if [[ -n "${CONFORMANCE_DIR:-}" ]]; then
    CONF="$CONFORMANCE_DIR"
elif [[ -f "$REPO/../shared/conformance/peer_python.py" ]]; then
    CONF="$(cd "$REPO/../shared/conformance" && pwd)"
else
    CONF="$REPO/tests/conformance"
fi
[[ -f "$CONF/peer_python.py" && -f "$CONF/requirements.txt" ]] ||
    fail "no peer_python.py/requirements.txt in $CONF"
say "kit: $CONF"

# 2. The virtualenv, reused while requirements.txt is unchanged.
VENV="$TARGET_DIR/conformance-venv"
STAMP="$VENV/.requirements.sha256"
want_hash="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' \
    "$CONF/requirements.txt")"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_hash" ]]; then
    say "venv: reusing $VENV"
else
    say "venv: creating $VENV"
    mkdir -p "$TARGET_DIR"
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$CONF/requirements.txt"
    printf '%s\n' "$want_hash" >"$STAMP"
fi

# 3. The simulator binary.
# Built every time (a no-op when fresh) so a stale binary is never what gets checked.
SIM_BIN="${ASSETS_SIM_BIN:-$TARGET_DIR/debug/assets-sim}"
if [[ -z "${ASSETS_SIM_BIN:-}" ]]; then
    say "building assets-sim"
    cargo build --manifest-path "$REPO/Cargo.toml" -p assets-sim
fi
[[ -x "$SIM_BIN" ]] || fail "$SIM_BIN is not an executable"
say "simulator: $SIM_BIN"

# 4. Configuration and start.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX")"
SIM_PID=""
cleanup() {
    local status=$?
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -s "$WORK/sim.err" ]]; then
        say "simulator stderr (last 20 lines):"
        tail -n 20 "$WORK/sim.err" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$WORK/sim.toml" <<'EOF'
listen = "127.0.0.1:0"
admin_api = false

[rate_limits]
enabled = true

[[sites]]
name = "peer"
email = "peer@example.com"
token = "peer-token"

[sites.dataset]
kind = "cmdb"
objects = 300
seed = 1
EOF

"$SIM_BIN" --config "$WORK/sim.toml" >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!

# 5. Wait (up to 60 s) for the ready line: {"url": .., "sites": [{..}]}.
ready=""
for _ in $(seq 1 300); do
    if [[ -s "$WORK/sim.out" ]]; then
        ready="$(head -n 1 "$WORK/sim.out")"
        [[ "$ready" == *"}" ]] && break # the whole line has been written
        ready=""
    fi
    kill -0 "$SIM_PID" 2>/dev/null || fail "the simulator exited before it was ready"
    sleep 0.2
done
[[ -n "$ready" ]] || fail "no ready line from the simulator within 60 s"

IFS=$'\t' read -r BASE_URL SITE_URL EMAIL TOKEN WORKSPACE_ID < <(
    python3 -c '
import json, sys
ready = json.loads(sys.argv[1])
sites = ready["sites"]
site = next((s for s in sites if s.get("name") == "peer"), sites[0])
print("\t".join([ready["url"], site["site_url"], site["email"], site["token"], site["workspace_id"]]))
' "$ready"
) || fail "cannot parse the ready line: $ready"
say "simulator at $BASE_URL, site $SITE_URL, workspace $WORKSPACE_ID"

# 6. The third-party client.
status=0
ASSETS_BASE_URL="$BASE_URL" \
    ASSETS_SITE_URL="$SITE_URL" \
    ASSETS_EMAIL="$EMAIL" \
    ASSETS_TOKEN="$TOKEN" \
    ASSETS_WORKSPACE_ID="$WORKSPACE_ID" \
    "$VENV/bin/python" "$CONF/peer_python.py" || status=$?
if [[ $status -eq 0 ]]; then
    say "PASS"
else
    say "FAIL (peer_python exit status $status)"
fi
exit "$status"
