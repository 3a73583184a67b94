#!/usr/bin/env bash
# Conformance runner: a third-party client (atlassian-python-api, unchanged) against assets-sim, twice:
#   cloud  peer_python.py (AssetsCloud, cloud=True) against a Cloud site;
#   dc     tests/conformance/peer_python_dc.py (AssetsServer / Insight / Jira, cloud=False) against a
#          Data Center site.
#
# Usage: dev/conformance.sh [cloud|dc]   (both when no argument)
#
# Looks for the Cloud conformance kit at $REPO/../shared/conformance (CI clones the repo next to shared/),
# falling back to the verbatim copy in tests/conformance/ (override with CONFORMANCE_DIR); the Data Center
# script lives in tests/conformance/ (it imports the kit's helpers from the copy beside it).
# Keeps a virtualenv at $REPO/target/conformance-venv, rebuilt only when a requirements file changes.
# Uses ${ASSETS_SIM_BIN:-$REPO/target/debug/assets-sim}, building it first (a no-op when fresh) unless
# ASSETS_SIM_BIN is set. Each check starts its own simulator on an ephemeral port (cloud: site "peer", cmdb
# dataset, rate limits on; dc: site "peerdc", cmdb dataset) and this script exits with the first failing
# check's status (0 pass, 1 mismatch, 2 setup problem); its own setup failures exit 2 as well.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
WHICH="${1:-all}"
case "$WHICH" in
cloud | dc | all) ;;
*)
    printf 'usage: dev/conformance.sh [cloud|dc]\n' >&2
    exit 2
    ;;
esac

say() { printf 'conformance: %s\n' "$*" >&2; }
fail() {
    say "$*"
    exit 2
}

command -v python3 >/dev/null || fail "python3 not found"

# 1. The conformance kits.
if [[ -n "${CONFORMANCE_DIR:-}" ]]; then
    CONF="$CONFORMANCE_DIR"
elif [[ -f "$REPO/../shared/conformance/peer_python.py" ]]; then
    CONF="$(cd "$REPO/../shared/conformance" && pwd)"
else
    CONF="$REPO/tests/conformance"
fi
DC_CONF="$REPO/tests/conformance"
[[ -f "$CONF/peer_python.py" && -f "$CONF/requirements.txt" ]] ||
    fail "no peer_python.py/requirements.txt in $CONF"
[[ -f "$DC_CONF/peer_python_dc.py" && -f "$DC_CONF/requirements.txt" ]] ||
    fail "no peer_python_dc.py/requirements.txt in $DC_CONF"
say "kits: $CONF (cloud), $DC_CONF (dc)"

# 2. The virtualenv, reused while the requirements are unchanged.
VENV="$TARGET_DIR/conformance-venv"
STAMP="$VENV/.requirements.sha256"
want_hash="$(cat "$CONF/requirements.txt" "$DC_CONF/requirements.txt" | python3 -c \
    'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want_hash" ]]; then
    say "venv: reusing $VENV"
else
    say "venv: creating $VENV"
    mkdir -p "$TARGET_DIR"
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -r "$CONF/requirements.txt" -r "$DC_CONF/requirements.txt"
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

WORK="$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX")"
SIM_PID=""
stop_sim() {
    if [[ -n "$SIM_PID" ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    SIM_PID=""
}
cleanup() {
    local status=$?
    stop_sim
    if [[ $status -ne 0 && -s "$WORK/sim.err" ]]; then
        say "simulator stderr (last 20 lines):"
        tail -n 20 "$WORK/sim.err" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_sim TOML: starts the simulator and sets READY to its ready line.
start_sim() {
    printf '%s\n' "$1" >"$WORK/sim.toml"
    : >"$WORK/sim.out"
    "$SIM_BIN" --config "$WORK/sim.toml" >"$WORK/sim.out" 2>"$WORK/sim.err" &
    SIM_PID=$!
    # Wait (up to 60 s) for the ready line: {"url": .., "sites": [{..}]}.
    READY=""
    for _ in $(seq 1 300); do
        if [[ -s "$WORK/sim.out" ]]; then
            READY="$(head -n 1 "$WORK/sim.out")"
            [[ "$READY" == *"}" ]] && break # the whole line has been written
            READY=""
        fi
        kill -0 "$SIM_PID" 2>/dev/null || fail "the simulator exited before it was ready"
        sleep 0.2
    done
    [[ -n "$READY" ]] || fail "no ready line from the simulator within 60 s"
}

# site_field NAME FIELD...: the fields of a site of the ready line, tab-separated.
site_fields() {
    python3 -c '
import json, sys
ready = json.loads(sys.argv[1])
site = next(s for s in ready["sites"] if s.get("name") == sys.argv[2])
print("\t".join([ready["url"]] + [site[f] for f in sys.argv[3:]]))
' "$READY" "$@" || fail "cannot parse the ready line: $READY"
}

# 4. Cloud: peer_python.py against site "peer".
check_cloud() {
    start_sim '
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
seed = 1'
    local base_url site_url email token workspace_id
    IFS=$'\t' read -r base_url site_url email token workspace_id < <(
        site_fields peer site_url email token workspace_id
    )
    say "cloud: simulator at $base_url, site $site_url, workspace $workspace_id"
    local status=0
    ASSETS_BASE_URL="$base_url" \
        ASSETS_SITE_URL="$site_url" \
        ASSETS_EMAIL="$email" \
        ASSETS_TOKEN="$token" \
        ASSETS_WORKSPACE_ID="$workspace_id" \
        "$VENV/bin/python" "$CONF/peer_python.py" || status=$?
    stop_sim
    return "$status"
}

# 5. Data Center: peer_python_dc.py against site "peerdc".
check_dc() {
    start_sim '
listen = "127.0.0.1:0"
admin_api = false

[[sites]]
name = "peerdc"
flavor = "dc"
email = "peer@dc.example.com"
token = "peer-pat"
password = "peer-password"

[sites.dataset]
kind = "cmdb"
objects = 200
seed = 2'
    local url base_url email token
    IFS=$'\t' read -r url base_url email token < <(site_fields peerdc base_url email token)
    say "dc: simulator at $url, site $base_url"
    local status=0
    DC_BASE_URL="$base_url" \
        DC_EMAIL="$email" \
        DC_TOKEN="$token" \
        DC_PASSWORD="peer-password" \
        "$VENV/bin/python" "$DC_CONF/peer_python_dc.py" || status=$?
    stop_sim
    return "$status"
}

status=0
for check in cloud dc; do
    [[ "$WHICH" == all || "$WHICH" == "$check" ]] || continue
    result=0
    "check_$check" || result=$?
    if [[ $result -eq 0 ]]; then
        say "$check: PASS"
    else
        say "$check: FAIL (exit status $result)"
        [[ $status -ne 0 ]] || status=$result
    fi
done
exit "$status"
