#!/usr/bin/env bash
# Training speed with 1 rank against 2 data-parallel ranks (relnet launch) on
# this machine, on real Fashion-MNIST images: the same images per epoch, the
# same per-rank batch, A B A B for BENCH_PAIRS rounds (default 3), medians of
# the epoch's augmented images/s. Prints a Markdown table for
# docs/PERFORMANCE.md. On a 2-core machine the two ranks share the cores
# (1 intra-op thread each), so this measures the engine's overhead more than
# a speed-up.
#
# usage: scripts/bench_ranks.sh      (about a minute on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target relnet >/dev/null
RELNET=${RELNET_BIN:-build/relnet}
PAIRS=${BENCH_PAIRS:-3}
OUT=${BENCH_OUT:-build/bench_ranks}
mkdir -p "$OUT"
cfg=configs/fashion_mnist_conv4.json

ips() {  # ips RUN_DIR -> images/s of the last epoch record
  /usr/bin/python3 -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1]+"/metrics.jsonl")]
print([x for x in r if x["kind"]=="epoch"][-1]["images_per_s"])' "$1"
}

median() { /usr/bin/python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "| K | images per epoch | 1 rank (2 threads) img/s | 2 ranks (1 thread each) img/s | ratio |"
echo "|---|---|---|---|---|"
for K in 4 32; do
  subset=$([ "$K" -ge 32 ] && echo 1280 || echo 6400)
  args=(--config "$cfg" --set augment.K=$K --set data.subset=$subset --set train.epochs=1
        --set train.log_interval=1000)
  one=(); two=()
  for _ in $(seq "$PAIRS"); do
    rm -rf "$OUT/one" "$OUT/two"
    "$RELNET" --quiet train "${args[@]}" --out-dir "$OUT/one"
    one+=("$(ips "$OUT/one")")
    "$RELNET" --quiet launch --nproc 2 -- --quiet train "${args[@]}" --out-dir "$OUT/two"
    two+=("$(ips "$OUT/two")")
  done
  a=$(median "${one[@]}"); b=$(median "${two[@]}")
  printf '| %s | %s | %.0f | %.0f | %.2f |\n' "$K" "$subset" "$a" "$b" "$(awk "BEGIN{print $b/$a}")"
done
