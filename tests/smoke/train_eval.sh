#!/usr/bin/env bash
# End to end on a generated CIFAR-10 (exact binary format): train with
# configs/smoke.json, check the run files, open backbone.pt in PyTorch,
# linear-evaluate it, and resume a finished run.
source "$(dirname "$0")/common.bash"
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_cifar10.py" "$SCRATCH/data" >/dev/null
run="$SCRATCH/run"
"$RELNET_BIN" train --config "$RELNET_SOURCE_DIR/configs/smoke.json" \
  --set data.root="$SCRATCH/data" --out-dir "$run"
for f in config.json metrics.jsonl checkpoint.pt backbone.pt; do
  [ -s "$run/$f" ] || fail "missing $run/$f"
done
grep -q '"kind":"epoch"' "$run/metrics.jsonl" || fail "no epoch record in metrics.jsonl"
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/python/check_backbone.py" "$run/backbone.pt"

"$RELNET_BIN" linear-eval --checkpoint "$run/backbone.pt" --epochs 3 \
  --train-subset 500 --test-subset 200 --device cpu
/usr/bin/python3 - "$run/linear_eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dataset"] == "cifar10" and r["train_images"] == 500 and r["test_images"] == 200, r
assert 0.0 <= r["test_accuracy"] <= 1.0, r
print("linear_eval.json ok: test accuracy", r["test_accuracy"])
PY

# A finished run resumed with the same epochs has nothing to do.
out=$("$RELNET_BIN" train --config "$RELNET_SOURCE_DIR/configs/smoke.json" \
  --set data.root="$SCRATCH/data" --out-dir "$run" --resume 2>&1)
grep -qF "nothing to do: the checkpoint has completed 2 of 2 epochs" <<<"$out" \
  || fail "resume of a finished run: $out"
echo "ok"
