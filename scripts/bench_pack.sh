#!/usr/bin/env bash
# Packed datasets against image folders (bench/pack_bench.py): time to the
# first training step from 100,000 generated JPEGs of 96 px against from
# their pack, and an epoch on a pack 1.5x the memory the run may use (a
# memory cgroup; needs root) against an in-memory run of a subset. Prints
# Markdown tables for docs/PERFORMANCE.md. Needs about 4 GB of disk under
# BENCH_OUT (default build/bench_pack), which later runs reuse.
#
# usage: scripts/bench_pack.sh        (about 15 minutes on 2 cores)
#        BENCH_PACK_IMAGES=20000 scripts/bench_pack.sh   (a quick look)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target relnet >/dev/null
OUT=${BENCH_OUT:-build/bench_pack}
mkdir -p "$OUT"
/usr/bin/python3 bench/pack_bench.py --relnet "${RELNET_BIN:-build/relnet}" --work "$OUT" \
  --images "${BENCH_PACK_IMAGES:-100000}" --pairs "${BENCH_PAIRS:-2}" "$@"
