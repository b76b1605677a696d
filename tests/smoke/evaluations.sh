#!/usr/bin/env bash
# The evaluation commands on a generated CIFAR-10 whose classes differ in
# colour: a trained Conv4 and even a random one must score far above chance
# (10%) with kNN, retrieval and the linear classifier; each writes its JSON
# with per-class numbers; bad flags and files fail with one clear message.
source "$(dirname "$0")/common.bash"
data="$SCRATCH/data"
/usr/bin/python3 - "$data/cifar-10-batches-bin" <<'PY'
import os, sys
import numpy as np
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
palette = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 0], [0, 0, 128]])
for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    labels = rng.integers(0, 10, 10000)
    pixels = palette[labels][:, :, None] + rng.integers(-40, 41, (10000, 3, 1024))
    records = np.concatenate([labels[:, None], np.clip(pixels, 0, 255).reshape(10000, 3072)], 1)
    records.astype(np.uint8).tofile(os.path.join(out, name))
PY
run="$SCRATCH/run"
"$RELNET_BIN" --quiet train --config "$RELNET_SOURCE_DIR/configs/smoke.json" \
  --set data.root="$data" --set train.epochs=1 --out-dir "$run"
subsets=(--train-subset 1000 --test-subset 300 --device cpu)

"$RELNET_BIN" knn --checkpoint "$run/backbone.pt" "${subsets[@]}" --k 20
"$RELNET_BIN" knn --checkpoint "$run/backbone.pt" "${subsets[@]}" --k 20 --random-init
"$RELNET_BIN" retrieval --checkpoint "$run/backbone.pt" "${subsets[@]}" --k 1,5,10
"$RELNET_BIN" linear-eval --checkpoint "$run/backbone.pt" "${subsets[@]}" --epochs 20
/usr/bin/python3 - "$run" <<'PY'
import json, sys
run = sys.argv[1]
def load(name):
    return json.load(open("%s/%s" % (run, name)))
for name in ["knn.json", "knn_random_init.json", "linear_eval.json"]:
    r = load(name)
    assert r["test_accuracy"] > 0.6, (name, r["test_accuracy"])
    assert r["test_images"] == 300 and r["train_images"] == 1000, r
    assert len(r["per_class_accuracy"]) == 10, r
    assert sum(map(sum, r["confusion_matrix"])) == 300, r
    assert sum(r["confusion_matrix"][i][i] for i in range(10)) == round(r["test_accuracy"] * 300), r
assert load("knn.json")["k"] == 20 and not load("knn.json")["random_init"]
assert load("knn_random_init.json")["random_init"]
r = load("retrieval.json")
assert set(r["precision_at_k"]) == {"1", "5", "10"}, r
assert r["precision_at_k"]["1"] > 0.6 and r["mAP"] > 0.3, r
assert 0 <= r["mAP"] <= 1, r
PY

# relnet test re-evaluates linear.pt and agrees with linear-eval; finetune
# trains the backbone too and its file goes through test as well.
"$RELNET_BIN" test --checkpoint "$run/linear.pt" --test-subset 300 --device cpu
"$RELNET_BIN" finetune --checkpoint "$run/backbone.pt" "${subsets[@]}" --epochs 2
"$RELNET_BIN" test --checkpoint "$run/finetune.pt" --test-subset 300 --device cpu --out "$run/test_ft.json"
"$RELNET_BIN" inspect "$run/linear.pt" | tee "$SCRATCH/inspect"
grep -qF "linear classifier (linear.pt)" "$SCRATCH/inspect" || fail "inspect linear.pt"
grep -qF "weights load: yes" "$SCRATCH/inspect" || fail "inspect backbone check"
"$RELNET_BIN" inspect "$run/checkpoint.pt" --json > "$SCRATCH/inspect.json"
/usr/bin/python3 - "$run" "$SCRATCH/inspect.json" <<'PY'
import json, sys
run = sys.argv[1]
lin, test = json.load(open(run + "/linear_eval.json")), json.load(open(run + "/test.json"))
assert abs(lin["test_accuracy"] - test["test_accuracy"]) < 1e-12, (lin["test_accuracy"], test["test_accuracy"])
assert test["confusion_matrix"] == lin["confusion_matrix"]
ft, ft_test = json.load(open(run + "/finetune.json")), json.load(open(run + "/test_ft.json"))
assert abs(ft["test_accuracy"] - ft_test["test_accuracy"]) < 1e-12, (ft, ft_test)
assert ft["test_accuracy"] > 0.3, ft["test_accuracy"]
info = json.load(open(sys.argv[2]))
assert info["kind"] == "training checkpoint (resumable)", info["kind"]
assert info["meta"]["relnet_version"] and "git_commit" in info["meta"], info["meta"]
assert info["backbone"]["loads"] and info["optimizer_step"] > 0, info
PY

# Weights saved by PyTorch: a plain dict loads with --backbone (it has no
# relnet metadata); an OrderedDict and a legacy (pre-1.6) file are explained.
/usr/bin/python3 - "$SCRATCH" "$RELNET_SOURCE_DIR/tests/python" <<'PY'
import collections, sys
sys.path.insert(0, sys.argv[2])
import torch
import reference_models
torch.manual_seed(0)
net = reference_models.build("conv4")
state = dict(net.state_dict())
torch.save({"backbone": state, "meta": "{}"}, sys.argv[1] + "/py.pt")
torch.save({"backbone": state}, sys.argv[1] + "/one_entry.pt")
torch.save({"backbone": collections.OrderedDict(state), "meta": "{}"}, sys.argv[1] + "/ordered.pt")
torch.save({"backbone": state, "meta": "{}"}, sys.argv[1] + "/legacy.pt",
           _use_new_zipfile_serialization=False)
PY
expect_fail 1 "has no relnet metadata naming its backbone (saved by PyTorch?): pass --backbone NAME" -- \
  "$RELNET_BIN" knn --checkpoint "$SCRATCH/py.pt" --dataset cifar10 --data-root "$data"
"$RELNET_BIN" knn --checkpoint "$SCRATCH/py.pt" --backbone conv4 --dataset cifar10 --data-root "$data" \
  "${subsets[@]}" --k 20 --out "$SCRATCH/py_knn.json"
grep -q '"test_accuracy"' "$SCRATCH/py_knn.json" || fail "no kNN result for the PyTorch file"
# A one-entry dict (Python's SETITEM opcode, which LibTorch 1.13 lacks) is read.
"$RELNET_BIN" inspect "$SCRATCH/one_entry.pt" >/dev/null || fail "one-entry dict not read"
expect_fail 1 "was saved as a Python OrderedDict (what state_dict() returns), which LibTorch cannot read; save dict(model.state_dict()) instead" -- \
  "$RELNET_BIN" knn --checkpoint "$SCRATCH/ordered.pt" --backbone conv4 --dataset cifar10 --data-root "$data"
expect_fail 1 "is a legacy (pre-1.6, non-zip) torch.save file" -- \
  "$RELNET_BIN" inspect "$SCRATCH/legacy.pt"
expect_fail 1 "holds a conv4 backbone, not resnet8 (drop --backbone)" -- \
  "$RELNET_BIN" knn --checkpoint "$run/backbone.pt" --backbone resnet8

expect_fail 1 "checkpoint '$SCRATCH/missing.pt' does not exist" -- \
  "$RELNET_BIN" knn --checkpoint "$SCRATCH/missing.pt"
expect_fail 1 "retrieval: k must be in [1, 1000] (the gallery size), got 5000" -- \
  "$RELNET_BIN" retrieval --checkpoint "$run/backbone.pt" "${subsets[@]}" --k 5000
expect_fail 2 "--k" -- "$RELNET_BIN" knn --checkpoint "$run/backbone.pt" --k 0
echo "ok"
