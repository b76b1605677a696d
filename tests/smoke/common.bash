# Shared by the CLI smoke tests: the binary, a scratch folder, assertions.
set -euo pipefail
: "${RELNET_BIN:?RELNET_BIN must point at the relnet executable}"
: "${RELNET_SOURCE_DIR:?RELNET_SOURCE_DIR must point at the source tree}"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/relnet_smoke.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_fail CODE PATTERN -- command...: the command must exit with CODE and
# print PATTERN (a fixed string) on stdout or stderr.
expect_fail() {
  local code=$1 pattern=$2; shift 3
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq "$code" ] || fail "expected exit $code, got $rc: $*"
  grep -qF -- "$pattern" <<<"$out" || fail "expected '$pattern' in the output of: $*"
}

# True when the binary was built with image I/O (OpenCV): pictures, image folders.
has_image_io() {
  "$RELNET_BIN" info --json --data-root /nonexistent | /usr/bin/python3 -c \
    'import json, sys; sys.exit(0 if not json.load(sys.stdin)["opencv"].startswith("none") else 1)'
}
