#!/usr/bin/env bash
# The paper's comparison on real data, on one machine: every method trains a
# Conv4 on Fashion-MNIST (Debian's dataset-fashion-mnist) for the same
# wall-clock budget, then the paper's linear evaluation measures its backbone;
# random weights and the supervised run are the two bounds. A run is stopped
# by SIGINT when its budget is spent (it saves backbone.pt as Ctrl-C does),
# so every method gets the same time, whatever its speed per epoch.
#
# usage: scripts/methods_fashion_mnist.sh                 (2 minutes per method)
#        BUDGET_S=60 METHODS="relational simclr" scripts/methods_fashion_mnist.sh
# Writes runs/methods-fashion-mnist/<method>/ and prints a Markdown table
# (also saved as runs/methods-fashion-mnist/table.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
bash scripts/build.sh --target relnet >/dev/null
relnet=${BUILD_DIR:-build}/relnet
budget=${BUDGET_S:-120}
methods=${METHODS:-relational simclr deepcluster infomax rotation supervised}
out=${OUT_DIR:-runs/methods-fashion-mnist}
mkdir -p "$out"

for m in $methods; do
  run="$out/$m"
  rm -rf "$run"
  echo "== $m: training for ${budget} s"
  # Enough epochs that the budget, not the epoch count, ends the run.
  timeout -s INT "$budget" "$relnet" --progress lines train \
    --config "configs/fashion_mnist_conv4_$m.json" --set train.epochs=1000 --set train.log_interval=10 \
    --out-dir "$run" >"$run.train.log" 2>&1 || true
  [ -f "$run/backbone.pt" ] || { echo "$m saved no backbone.pt: see $run.train.log" >&2; exit 1; }
  "$relnet" --quiet linear-eval --checkpoint "$run/backbone.pt"
done
first=$(echo "$methods" | awk '{print $1}')
"$relnet" --quiet linear-eval --checkpoint "$out/$first/backbone.pt" --random-init

/usr/bin/python3 - "$out" "$budget" $methods <<'PY' | tee "$out/table.md"
import json, os, statistics, sys
out, budget, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = ["| method | linear test accuracy | epochs reached in %s s | images/s (median of logged steps) |" % budget,
        "|---|---|---|---|"]
for m in methods:
    run = os.path.join(out, m)
    acc = json.load(open(os.path.join(run, "linear_eval.json")))["test_accuracy"]
    records = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()]
    steps = [r for r in records if r["kind"] == "step"]
    reached = max((r["epoch_progress"] for r in steps), default=0.0)
    speed = statistics.median(r["images_per_s"] for r in steps) if steps else 0.0
    rows.append("| %s | %.2f%% | %.2f | %.0f |" % (m, 100 * acc, reached, speed))
rand = json.load(open(os.path.join(out, methods[0], "linear_eval_random_init.json")))["test_accuracy"]
rows.append("| random weights (lower bound) | %.2f%% | 0 | |" % (100 * rand))
print("\n".join(rows))
PY
