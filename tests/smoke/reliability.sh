#!/usr/bin/env bash
# The reliability promises through the CLI (docs/RELIABILITY.md): a number
# that overflows names its file and key, a damaged or misplaced data file is
# named as what it is, a step that cannot fit in memory is refused before it
# starts (naming the knobs and --force), and no evaluation reads a backbone
# holding NaN.
source "$(dirname "$0")/common.bash"
PY=/usr/bin/python3
data="$SCRATCH/data"
PYTHONPATH="$RELNET_SOURCE_DIR/tests/smoke" $PY -c \
  'import random, sys, make_datasets; make_datasets.mnist(sys.argv[1], random.Random(0))' "$data"
smoke=(--config "$RELNET_SOURCE_DIR/configs/smoke.json" --set data.dataset=mnist
       --set data.root="$data" --out-dir "$SCRATCH/run")

# Numbers too large for a double.
cfg="$SCRATCH/big.json"
echo '{"train": {"lr": 1e999}}' >"$cfg"
expect_fail 1 "config file '$cfg': train.lr: 1e999 is out of range (larger than any double)" -- \
  "$RELNET_BIN" train --config "$cfg"
expect_fail 1 "--set train.lr: 1e999 is out of range (larger than any double)" -- \
  "$RELNET_BIN" train "${smoke[@]}" --set train.lr=1e999

# A step that cannot fit: refused before the first step, nothing written.
expect_fail 1 "or pass --force to start anyway" -- \
  "$RELNET_BIN" train "${smoke[@]}" --set augment.K=256 --set model.head_hidden=65536 \
  --set model.fused=false
[ ! -e "$SCRATCH/run/checkpoint.pt" ] || fail "a refused run wrote a checkpoint"
"$RELNET_BIN" train --help | grep -q -- "--force" || fail "train has no --force"

# A gzip stream cut before its trailer is truncated, for data info too.
cp -r "$data/mnist" "$SCRATCH/cut"
images="$SCRATCH/cut/t10k-images-idx3-ubyte.gz"
truncate -s -8 "$images"
expect_fail 1 "IDX file '$images' is truncated: the gzip stream ends before its trailer" -- \
  "$RELNET_BIN" data info --dataset mnist --root "$SCRATCH/cut"

# A directory where a data file should be is named as one.
rm "$images" && mkdir "$images"
expect_fail 1 "IDX file '$images' is a directory" -- \
  "$RELNET_BIN" data info --dataset mnist --root "$SCRATCH/cut"

# A backbone holding NaN is refused by every evaluation.
$PY - "$SCRATCH/nan.pt" <<'PY'
import sys
import torch
sys.path.insert(0, __import__("os").environ["RELNET_SOURCE_DIR"] + "/tests/python")
import reference_models
state = dict(reference_models.build("conv4").state_dict())
first = next(iter(state))
state[first] = state[first].clone().fill_(float("nan"))
torch.save({"backbone": state, "meta": '{"backbone": "conv4", "dataset": "mnist"}'}, sys.argv[1])
PY
for command in knn linear-eval retrieval; do
  expect_fail 1 "checkpoint '$SCRATCH/nan.pt' holds non-finite values (backbone." -- \
    "$RELNET_BIN" $command --checkpoint "$SCRATCH/nan.pt" --data-root "$data"
done
echo "ok"
