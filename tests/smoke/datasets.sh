#!/usr/bin/env bash
# Every dataset reader through the CLI on generated files in the exact
# formats: `data info`, a one-epoch self-supervised run, and a linear
# evaluation; plus a cross-domain evaluation (a backbone trained on one
# dataset evaluated on another with a different image side).
source "$(dirname "$0")/common.bash"
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_datasets.py" "$SCRATCH/data" >/dev/null
data="$SCRATCH/data"

train() {  # train NAME DATASET ROOT [--set ...]
  local name=$1 dataset=$2 root=$3; shift 3
  "$RELNET_BIN" --quiet train --config "$RELNET_SOURCE_DIR/configs/smoke.json" \
    --set data.dataset="$dataset" --set data.root="$root" --set data.subset=32 \
    --set augment.K=2 --set train.batch_size=16 --set train.epochs=1 \
    --out-dir "$SCRATCH/runs/$name" "$@"
  [ -s "$SCRATCH/runs/$name/backbone.pt" ] || fail "$name: no backbone.pt"
}

evaluate() {  # evaluate NAME [linear-eval flags]; checks the results file
  local name=$1; shift
  "$RELNET_BIN" --quiet linear-eval --checkpoint "$SCRATCH/runs/$name/backbone.pt" --epochs 2 \
    --train-subset 60 --test-subset 30 --device cpu --out "$SCRATCH/runs/$name/eval.json" "$@"
  [ -s "$SCRATCH/runs/$name/eval.json" ] || fail "$name: no results"
}

for d in cifar100 supercifar100; do
  "$RELNET_BIN" data info --dataset $d --root "$data" | tee "$SCRATCH/info"
  grep -qF "files intact: yes" "$SCRATCH/info" || fail "$d info"
done
grep -qF "20 classes" "$SCRATCH/info" || fail "supercifar100 has 20 classes"
train cifar100 cifar100 "$data"
evaluate cifar100
evaluate cifar100 --dataset supercifar100   # coarse-grained, as in the paper

"$RELNET_BIN" data info --dataset stl10 --root "$data" --json > "$SCRATCH/info.json"
/usr/bin/python3 - "$SCRATCH/info.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["intact"] and r["splits"]["unlabeled"]["images"] == 300, r
assert r["splits"]["train"]["side"] == 96 and r["splits"]["test"]["images"] == 100, r
PY
train stl10 stl10 "$data"
grep -qF '"split":"auto"' "$SCRATCH/runs/stl10/config.json" || grep -qF '"split": "auto"' "$SCRATCH/runs/stl10/config.json" \
  || fail "stl10 config"
evaluate stl10
# Cross-domain: the 96x96 STL-10 backbone evaluated on 32x32 CIFAR-100,
# whose images are resized to the backbone's side.
evaluate stl10 --dataset cifar100 --data-root "$data"

if has_image_io; then
  "$RELNET_BIN" data info --dataset image_folder --root "$data/tiny-imagenet" | tee "$SCRATCH/info"
  grep -qF "test            40 images, 64x64, 5 classes" "$SCRATCH/info" || fail "tiny-imagenet info"
  train tiny image_folder "$data/tiny-imagenet" --set model.backbone=resnet8
  evaluate tiny
fi

train mnist mnist "$data"
evaluate mnist
# Fashion-MNIST has MNIST's file format, in its own folder.
cp -r "$data/mnist" "$data/fashion-mnist"
train fashion fashion_mnist "$data"
evaluate fashion

# A broken dataset: info names the problem and exits 1.
rm "$data/mnist/t10k-labels-idx1-ubyte.gz"
expect_fail 1 "IDX file missing" -- "$RELNET_BIN" data info --dataset mnist --root "$data"
echo "ok"
