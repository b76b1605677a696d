#!/usr/bin/env bash
# Packed datasets through the CLI: `data pack` of a generated dataset,
# `data info --verify`, a run and a linear evaluation on the pack (equal to
# those on the source), and one clear line with exit 1 for each damaged pack.
source "$(dirname "$0")/common.bash"
data="$SCRATCH/data"
PYTHONPATH="$RELNET_SOURCE_DIR/tests/smoke" /usr/bin/python3 -c \
  'import random, sys, make_datasets; make_datasets.mnist(sys.argv[1], random.Random(0))' "$data"
pack="$SCRATCH/mnist-pack"

"$RELNET_BIN" data pack --dataset mnist --root "$data" --out "$pack" | tee "$SCRATCH/pack.log"
grep -qF "train with --set data.dataset=packed" "$SCRATCH/pack.log" || fail "pack summary"
"$RELNET_BIN" data info --dataset packed --root "$pack" --verify | tee "$SCRATCH/info"
grep -qF "files intact: yes (CRC-32 of every file checked)" "$SCRATCH/info" || fail "pack info"
expect_fail 1 "already holds a pack (pack.json): remove it or choose another --out" -- \
  "$RELNET_BIN" data pack --dataset mnist --root "$data" --out "$pack"

run() {  # run NAME DATASET ROOT: one epoch, then a linear evaluation
  local name=$1 dataset=$2 root=$3
  "$RELNET_BIN" --quiet train --config "$RELNET_SOURCE_DIR/configs/smoke.json" \
    --set data.dataset="$dataset" --set data.root="$root" --set data.subset=32 \
    --set augment.K=2 --set train.batch_size=16 --set train.epochs=1 --set train.threads=1 \
    --out-dir "$SCRATCH/runs/$name"
  "$RELNET_BIN" --quiet linear-eval --checkpoint "$SCRATCH/runs/$name/backbone.pt" --epochs 2 \
    --train-subset 60 --test-subset 30 --device cpu --threads 1 --out "$SCRATCH/runs/$name/eval.json"
}
run source mnist "$data"
run packed packed "$pack"
/usr/bin/python3 - "$SCRATCH/runs" <<'PY'
import json, sys
d = sys.argv[1]
loss = lambda n: [json.loads(l)["loss"] for l in open(f"{d}/{n}/metrics.jsonl") if '"loss"' in l]
assert loss("source") == loss("packed") and loss("source"), (loss("source"), loss("packed"))
acc = lambda n: json.load(open(f"{d}/{n}/eval.json"))["test_accuracy"]
assert acc("source") == acc("packed"), (acc("source"), acc("packed"))
PY

# A pack of another side than asked for, a truncated file, a lost manifest.
expect_fail 1 "holds 28x28 images, and 32x32 are asked for" -- \
  "$RELNET_BIN" --quiet train --config "$RELNET_SOURCE_DIR/configs/smoke.json" \
  --set data.dataset=packed --set data.root="$pack" --set data.image_size=32 \
  --out-dir "$SCRATCH/runs/side"
[ ! -e "$SCRATCH/runs/side/checkpoint.pt" ] && [ ! -e "$SCRATCH/runs/side/backbone.pt" ] \
  || fail "a refused run wrote a checkpoint"
truncate -s -1000 "$pack/test_images.npy"
expect_fail 1 "test_images.npy is truncated" -- "$RELNET_BIN" data info --dataset packed --root "$pack"
expect_fail 1 "test_images.npy is truncated" -- \
  "$RELNET_BIN" --quiet linear-eval --checkpoint "$SCRATCH/runs/packed/backbone.pt" --epochs 1
rm "$pack/pack.json"
expect_fail 1 "no pack.json (not a pack, or an interrupted \`relnet data pack\`: run it again)" -- \
  "$RELNET_BIN" data info --dataset packed --root "$pack"
echo "packed: ok"
