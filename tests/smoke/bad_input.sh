#!/usr/bin/env bash
# Bad input: one clear message naming the culprit, exit 1 (2 for usage).
source "$(dirname "$0")/common.bash"
cfg="$SCRATCH/bad.json"
echo '{"train": {"learnig_rate": 0.1}}' >"$cfg"
expect_fail 1 "unknown key 'learnig_rate' in train" -- "$RELNET_BIN" train --config "$cfg"

echo '{"train": {"batch_size": -4}}' >"$cfg"
expect_fail 1 "train.batch_size must be >= 2, got -4" -- "$RELNET_BIN" train --config "$cfg"

expect_fail 1 "cannot open config file '$SCRATCH/none.json'" -- \
  "$RELNET_BIN" train --config "$SCRATCH/none.json"

expect_fail 1 "$SCRATCH/no-such-dir" -- "$RELNET_BIN" train \
  --config "$RELNET_SOURCE_DIR/configs/smoke.json" --set data.root="$SCRATCH/no-such-dir" \
  --out-dir "$SCRATCH/run"

expect_fail 1 "unknown key 'epoch' in train" -- "$RELNET_BIN" train \
  --config "$RELNET_SOURCE_DIR/configs/smoke.json" --set train.epoch=3

expect_fail 1 "checkpoint '$SCRATCH/missing.pt' does not exist" -- \
  "$RELNET_BIN" linear-eval --checkpoint "$SCRATCH/missing.pt"

# Nested tens of thousands of levels deep: refused while parsed (it used to
# overflow the stack while the message printed it).
/usr/bin/python3 -c 'print("[" * 100000 + "]" * 100000)' >"$SCRATCH/deep.json"
expect_fail 1 "config file '$SCRATCH/deep.json' is nested deeper than 64 levels" -- \
  "$RELNET_BIN" train --config "$SCRATCH/deep.json"
deep=$(/usr/bin/python3 -c 'print("[" * 60000 + "]" * 60000)')
expect_fail 1 "override of data.mean: the value is nested deeper than 64 levels" -- \
  "$RELNET_BIN" config show "$RELNET_SOURCE_DIR/configs/smoke.json" --set "data.mean=$deep"

head -c 1000 /dev/urandom >"$SCRATCH/garbage.pt"
expect_fail 1 "is not a readable PyTorch file" -- \
  "$RELNET_BIN" linear-eval --checkpoint "$SCRATCH/garbage.pt"
expect_fail 1 "augmentation workers must be >= 0 (0 = automatic), got -1" -- \
  "$RELNET_BIN" bench --K 2 --batch 4 --steps 1 --workers -1
echo "ok"
