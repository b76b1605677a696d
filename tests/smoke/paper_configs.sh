#!/usr/bin/env bash
# Every paper config trains through the CLI (one short epoch on generated data
# in its dataset's exact format, pointed there with --set) and its backbone.pt
# is rebuilt by linear-eval from the file alone: the right network, dataset
# and feature size, with no flag naming them.
source "$(dirname "$0")/common.bash"
data="$SCRATCH/data"
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_datasets.py" "$data" >/dev/null
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_cifar10.py" "$data" >/dev/null

check() {  # check CONFIG ROOT BACKBONE DATASET FEATURE [--set KEY=VALUE ...]
  local config=$1 root=$2 backbone=$3 dataset=$4 feature=$5 run="$SCRATCH/runs/$1"
  shift 5
  echo "== $config"
  "$RELNET_BIN" --quiet train --config "$RELNET_SOURCE_DIR/configs/$config.json" \
    --set data.root="$root" --set data.subset=16 --set augment.K=2 \
    --set train.batch_size=8 --set train.epochs=1 --set train.threads=2 \
    --set train.device=cpu --out-dir "$run" "$@"
  "$RELNET_BIN" --quiet linear-eval --checkpoint "$run/backbone.pt" --epochs 1 \
    --train-subset 24 --test-subset 16 --device cpu --out "$run/eval.json"
  /usr/bin/python3 - "$run/eval.json" "$backbone" "$dataset" "$feature" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["backbone"] == sys.argv[2], r
assert r["dataset"] == sys.argv[3], r
assert r["feature_size"] == int(sys.argv[4]), r
assert 0.0 <= r["test_accuracy"] <= 1.0, r
PY
}

check cifar10_conv4 "$data" conv4 cifar10 64
check cifar10_resnet32 "$data" resnet32 cifar10 64
check cifar100_conv4 "$data" conv4 cifar100 64
check cifar100_resnet32 "$data" resnet32 cifar100 64
check stl10_resnet34 "$data" resnet34 stl10 512
check tiny_resnet32 "$data/tiny-imagenet" resnet32 image_folder 64
check slimagenet64_conv4 "$data/tiny-imagenet" conv4 image_folder 64
# The paper's CIFAR-10 Conv4 row, one config per method.
for method in relational simclr infomax rotation supervised; do
  check "cifar10_conv4_$method" "$data" conv4 cifar10 64
done
check cifar10_conv4_deepcluster "$data" conv4 cifar10 64 --set method.clusters=4
for method in relational simclr deepcluster infomax rotation supervised; do
  grep -qF "\"name\": \"$method\"" "$SCRATCH/runs/cifar10_conv4_$method/config.json" \
    || fail "cifar10_conv4_$method did not train with method $method"
done

# The unlabeled STL-10 run self-supervised on the unlabeled split.
grep -qF '"split":"unlabeled"' "$SCRATCH/runs/stl10_resnet34/config.json" \
  || grep -qF '"split": "unlabeled"' "$SCRATCH/runs/stl10_resnet34/config.json" \
  || fail "stl10_resnet34 did not train on the unlabeled split"
echo "ok"
