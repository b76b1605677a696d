#!/usr/bin/env bash
# What the live monitors (train.monitor_every) cost: trains Conv4 with
# relational reasoning on Debian's Fashion-MNIST (configs/fashion_mnist_conv4.json)
# with a monitor reading after every epoch, then prints, per epoch, the
# training seconds, the monitors' seconds and their share, and the median
# share (docs/PERFORMANCE.md quotes it).
#
# usage: scripts/bench_monitor.sh [EPOCHS]        (default 3)
#        CONFIG=configs/fashion_mnist_conv4.json SET="--set method.name=simclr" scripts/bench_monitor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
bash scripts/build.sh --target relnet >/dev/null
relnet=${BUILD_DIR:-build}/relnet
epochs=${1:-3}
out=${OUT_DIR:-runs/bench-monitor}
rm -rf "$out"
# shellcheck disable=SC2086
"$relnet" --progress lines train --config "${CONFIG:-configs/fashion_mnist_conv4.json}" \
  --set train.epochs="$epochs" --set train.monitor_every=1 ${SET:-} --out-dir "$out" >/dev/null
/usr/bin/python3 - "$out/metrics.jsonl" <<'PY'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in recs if r.get("kind") == "epoch" and "monitor_seconds" in r]
print("| epoch | training (s) | monitors (s) | share | kNN top-1 | feature spread |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['epoch']} | {r['seconds']:.1f} | {r['monitor_seconds']:.2f} | "
          f"{100 * r['monitor_seconds'] / r['seconds']:.1f}% | {r.get('knn_top1', float('nan')):.4f} | "
          f"{r['feature_spread']:.4f} |")
print(f"median share: {100 * statistics.median(r['monitor_seconds'] / r['seconds'] for r in rows):.1f}%")
PY
