#!/usr/bin/env bash
# `relnet compare` end to end on a tiny MNIST: two methods x two seeds plus
# the two bounds write compare.json/.md/.png with the right rows; a Ctrl-C
# mid-way exits 130 naming the command that continues, and running it again
# finishes only what was missing. Bad method and seed lists: one clear line.
source "$(dirname "$0")/common.bash"
data="$SCRATCH/data"
PYTHONPATH="$RELNET_SOURCE_DIR/tests/smoke" /usr/bin/python3 -c \
  'import random, sys, make_datasets; make_datasets.mnist(sys.argv[1], random.Random(0))' "$data"
cat >"$SCRATCH/base.json" <<JSON
{"data": {"dataset": "mnist", "root": "$data", "subset": 64},
 "augment": {"K": 2},
 "train": {"epochs": 3, "batch_size": 16, "threads": 1, "device": "cpu", "log_interval": 1,
           "monitor_neighbours": 100, "monitor_queries": 50, "monitor_k": 20}}
JSON
out="$SCRATCH/cmp"
args=(--config "$SCRATCH/base.json" --methods relational,rotation --seeds 1,2 --out "$out"
      --linear-epochs 2 --knn-k 20 --threads 1)

expect_fail 1 "--methods: unknown method 'simclrr' (known: relational, simclr" -- \
  "$RELNET_BIN" compare --config "$SCRATCH/base.json" --methods relational,simclrr
expect_fail 1 "--seeds: 'x' is not a seed (whole numbers >= 0, e.g. --seeds 1,2,3)" -- \
  "$RELNET_BIN" compare --config "$SCRATCH/base.json" --methods relational --seeds 1,x
[ ! -e "$out" ] || fail "a refused comparison wrote '$out'"

# Stop it while the second run trains.
"$RELNET_BIN" compare "${args[@]}" >"$SCRATCH/log1" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q '"kind":"step"' "$out/relational/seed2/metrics.jsonl" 2>/dev/null && break
  sleep 0.1
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
cat "$SCRATCH/log1"
[ "$rc" -eq 130 ] || fail "expected exit 130 after SIGINT, got $rc"
grep -qF "continue with: relnet compare --config '$SCRATCH/base.json'" "$SCRATCH/log1" ||
  fail "no continue hint"
[ -s "$out/relational/seed1/result.json" ] || fail "the first run has no result.json"
[ ! -e "$out/relational/seed2/result.json" ] || fail "the stopped run claims a result"
first_metrics=$(md5sum <"$out/relational/seed1/metrics.jsonl")

"$RELNET_BIN" compare "${args[@]}" >"$SCRATCH/log2" 2>&1 || { cat "$SCRATCH/log2"; fail "resume"; }
cat "$SCRATCH/log2"
grep -qF "relational seed 1 finished earlier" "$SCRATCH/log2" || fail "the finished run was redone"
[ "$(md5sum <"$out/relational/seed1/metrics.jsonl")" = "$first_metrics" ] ||
  fail "the finished run's metrics changed"
grep -qF "resuming from '$out/relational/seed2/checkpoint.pt'" "$SCRATCH/log2" ||
  grep -qF "nothing to do" "$SCRATCH/log2" || fail "the stopped run did not resume"

/usr/bin/python3 - "$out" <<'PY'
import json, math, sys
out = sys.argv[1]
c = json.load(open(f"{out}/compare.json"))
rows = [(r["method"], r["seed"]) for r in c["runs"]]
want = [(m, s) for m in ("relational", "rotation", "random", "supervised") for s in (1, 2)]
assert rows == want, rows
for r in c["runs"]:
    assert 0 <= r["linear_top1"] <= 1 and 0 <= r["knn_top1"] <= 1, r
    assert r["linear_top5"] >= r["linear_top1"], r
    trained = r["method"] != "random"
    assert (r["train_seconds"] is not None) == trained, r
    if trained:
        assert r["train_seconds"] > 0 and r["images_per_s"] > 0 and r["peak_memory_mb"] > 50, r
        assert r["feature_spread"] > 0, r
assert [s["method"] for s in c["summary"]] == ["relational", "rotation", "random", "supervised"]
md = open(f"{out}/compare.md").read()
for name in ("| relational | 2 |", "| rotation | 2 |", "| random weights (lower bound) | 2 |",
             "| supervised (upper bound) | 2 |"):
    assert name in md, (name, md)
print("compare.json ok:", len(rows), "runs")
PY
[ -s "$out/relational/seed1/knn.json" ] && [ -s "$out/random/seed2/linear_eval.json" ] ||
  fail "evaluation files missing"
if has_image_io; then
  [ -s "$out/compare.png" ] || fail "no compare.png"
  [ -s "$out/relational/seed1/curves.png" ] || fail "no curves.png"
fi
echo "ok"
