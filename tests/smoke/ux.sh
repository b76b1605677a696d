#!/usr/bin/env bash
# The tool's everyday surface: config show/schema and --set validation,
# `info`, progress output (plain lines when not a terminal, a bar when
# asked), train.log and curves.png, `plot`, `preview-augment`, the retrieval
# grid and bash completion. Every PNG must decode, have the expected size and
# not be blank.
source "$(dirname "$0")/common.bash"
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_cifar10.py" "$SCRATCH/data" >/dev/null
cfg="$RELNET_SOURCE_DIR/configs/smoke.json"

# config show: defaults filled in, overrides applied and validated.
"$RELNET_BIN" config show "$cfg" --set train.epochs=5 --set augment.K=8 >"$SCRATCH/shown.json"
/usr/bin/python3 - "$SCRATCH/shown.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["train"]["epochs"] == 5 and c["augment"]["K"] == 8, c
assert c["name"] == "smoke" and c["augment"]["flip_p"] == 0.5 and c["model"]["head_hidden"] == 256, c
PY
expect_fail 1 "unknown key 'epoch' in train" -- "$RELNET_BIN" config show "$cfg" --set train.epoch=5
expect_fail 1 "augment.K must be an integer" -- "$RELNET_BIN" config show "$cfg" --set augment.K=eight
expect_fail 1 "cannot open config file" -- "$RELNET_BIN" config show "$SCRATCH/none.json"
# (captured first: grep -q would close the pipe early, and pipefail would count that)
schema=$("$RELNET_BIN" config schema)
grep -q "^train.epochs  (int >= 1; default 200)" <<<"$schema" || fail "config schema"
"$RELNET_BIN" config schema --json | /usr/bin/python3 -c '
import json, sys
keys = {k["key"]: k for k in json.load(sys.stdin)}
assert keys["augment.K"]["default"] == 4 and "views" in keys["augment.K"]["meaning"], keys["augment.K"]'
cmp <("$RELNET_BIN" config schema --markdown) "$RELNET_SOURCE_DIR/docs/CONFIG.md" \
  || fail "docs/CONFIG.md differs from: relnet config schema --markdown"

# info: versions, BLAS, datasets under a root.
out=$("$RELNET_BIN" info --data-root "$SCRATCH/data" 2>&1)
echo "$out"
for word in relnet libtorch opencv threads devices blas "cifar10 (train, test)"; do
  grep -qF "$word" <<<"$out" || fail "info lacks '$word'"
done
"$RELNET_BIN" info --json --data-root "$SCRATCH/data" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["blas"]["sgemm_gflops"] > 0 and r["devices"][0]["type"] == "cpu", r'

# Thread settings: relnet restarts itself with a short OpenMP spin and one
# OpenBLAS thread unless the user chose.
info=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OPENBLAS_NUM_THREADS "$RELNET_BIN" info)
grep -qF "OpenMP wait policy spin count 10000" <<<"$info" \
  || fail "info does not run with the short OpenMP spin: $info"
grep -qF "sgemm, 1 thread(s)" <<<"$info" || fail "info does not run with one OpenBLAS thread: $info"
info=$(env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active OPENBLAS_NUM_THREADS=2 "$RELNET_BIN" info)
grep -qF "OpenMP wait policy active" <<<"$info" || fail "info overrode the user's OMP_WAIT_POLICY"
grep -qF "sgemm, 2 thread(s)" <<<"$info" || fail "info overrode the user's OPENBLAS_NUM_THREADS"

# Training with output to a pipe: plain lines, no carriage returns.
run="$SCRATCH/run"
"$RELNET_BIN" train --config "$cfg" --set data.root="$SCRATCH/data" --out-dir "$run" \
  >"$SCRATCH/train.out" 2>&1
if grep -q $'\r' "$SCRATCH/train.out"; then fail "non-terminal output has carriage returns"; fi
grep -qE "epoch 1/2 step 2/4 \| loss [0-9.]+ acc" "$SCRATCH/train.out" || fail "no periodic line"
grep -qF "epoch 2/2 done" "$SCRATCH/train.out" || fail "no epoch line"
grep -qF "epoch 1/2 step 2/4" "$run/train.log" || fail "train.log lacks the periodic lines"
grep -qF "effective config" "$run/train.log" || fail "train.log lacks the start line"

# With the bar forced (as on a terminal): carriage returns, the bar, no
# periodic lines on the console, but still in train.log.
"$RELNET_BIN" --progress bar train --config "$cfg" --set data.root="$SCRATCH/data" \
  --set train.epochs=1 --out-dir "$SCRATCH/run_bar" >"$SCRATCH/bar.out" 2>&1
grep -q $'\r' "$SCRATCH/bar.out" || fail "--progress bar drew no bar"
grep -qF "epoch 1/1 [" "$SCRATCH/bar.out" || fail "bar text missing"
if tr '\r' '\n' <"$SCRATCH/bar.out" | grep -q "step 2/4 | loss"; then fail "periodic line on the console with a bar"; fi
grep -qF "epoch 1/1 step 2/4" "$SCRATCH/run_bar/train.log" || fail "train.log lacks lines with a bar"
# --quiet: nothing but warnings on the console, train.log complete.
out=$("$RELNET_BIN" --quiet train --config "$cfg" --set data.root="$SCRATCH/data" \
  --set train.epochs=1 --out-dir "$SCRATCH/run_quiet" 2>&1)
[ -z "$out" ] || fail "--quiet printed: $out"
grep -qF "epoch 1/1 done" "$SCRATCH/run_quiet/train.log" || fail "--quiet train.log"

# Pictures.
if ! has_image_io; then
  expect_fail 1 "needs image I/O" -- "$RELNET_BIN" plot "$run" --out "$SCRATCH/compare.png"
  echo "ok (built without image I/O: pictures refused)"
  exit 0
fi
"$RELNET_BIN" plot "$run" "$SCRATCH/run_bar" --out "$SCRATCH/compare.png"
"$RELNET_BIN" preview-augment --config "$cfg" --set data.root="$SCRATCH/data" --images 3 \
  --views 5 --out "$SCRATCH/views.png"
"$RELNET_BIN" retrieval --checkpoint "$run/backbone.pt" --train-subset 200 --test-subset 50 \
  --device cpu --grid "$SCRATCH/neighbours.png" --grid-queries 4 --grid-k 6
/usr/bin/python3 - "$run/curves.png" "$SCRATCH/compare.png" "$SCRATCH/views.png" \
  "$SCRATCH/neighbours.png" <<'PY'
import sys
import numpy as np
from PIL import Image
def load(p):
    a = np.asarray(Image.open(p).convert("RGB"))
    assert a.std() > 10, f"{p} looks blank"
    return a
curves, compare, views, grid = (load(p) for p in sys.argv[1:])
assert curves.shape == (520, 2100, 3), curves.shape  # loss, accuracy, collapse monitor
assert compare.shape == (520, 2100, 3), compare.shape
# 3 rows and 6 columns (original + 5 views) of 96-pixel tiles with 4-pixel gaps.
assert 3 * 100 < views.shape[0] < 3 * 100 + 40 and 6 * 100 < views.shape[1] < 6 * 100 + 100, views.shape
# 4 rows, 7 columns (query + 6) of 64-pixel tiles framed by 3 pixels.
assert 4 * 74 < grid.shape[0] < 4 * 74 + 40 and 7 * 74 < grid.shape[1] < 7 * 74 + 120, grid.shape
print("pngs ok", curves.shape, views.shape, grid.shape)
PY
expect_fail 1 "no metrics at" -- "$RELNET_BIN" plot "$SCRATCH/data"

# Bash completion from the CLI definition.
"$RELNET_BIN" completion bash >"$SCRATCH/relnet.bash"
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _relnet; echo "${COMPREPLY[*]}"' \
    _ "$SCRATCH/relnet.bash" "$@"
}
[ "$(complete_words relnet tr)" = "train" ] || fail "completion of 'tr': $(complete_words relnet tr)"
grep -qw -- "--config" <<<"$(complete_words relnet train --c)" || fail "completion of train --c"
[ "$(complete_words relnet data i)" = "info" ] || fail "completion of data i"
grep -qw "resnet32" <<<"$(complete_words relnet bench --backbone res)" || fail "completion of --backbone"
echo "ok"
