#!/usr/bin/env bash
# relnet's fused CPU kernels (model.fused, the default) against LibTorch's
# modules (`relnet bench --unfused`) for conv4, batch 64, on generated
# CIFAR-shaped images: A B A B for BENCH_PAIRS rounds (default 3), medians.
# Prints a Markdown table for docs/PERFORMANCE.md.
#
# usage: scripts/bench_fused.sh      (about 3 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target relnet >/dev/null
RELNET=${RELNET_BIN:-build/relnet}
PAIRS=${BENCH_PAIRS:-3}

field() {  # field JSON KEY.SUB -> value
  /usr/bin/python3 -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"
}
median() { /usr/bin/python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "| K | fused img/s | unfused img/s | speed-up | fused s/step (backbone fwd + bwd, head fwd + bwd) | unfused s/step (same split) | fused peak MB | unfused peak MB |"
echo "|---|---|---|---|---|---|---|---|"
for K in 4 16 32; do
  steps=$([ "$K" -ge 32 ] && echo 6 || { [ "$K" -ge 16 ] && echo 10 || echo 40; })
  declare -A v=()
  for _ in $(seq "$PAIRS"); do
    for mode in fused unfused; do
      flag=$([ $mode = unfused ] && echo --unfused || true)
      r=$("$RELNET" --quiet bench --json --K "$K" --batch 64 --steps "$steps" --warmup 1 $flag)
      v[$mode.ips]+=" $(field "$r" images_per_s)"
      v[$mode.step]+=" $(field "$r" seconds_per_step)"
      v[$mode.mem]+=" $(field "$r" peak_rss_mb)"
      for part in backbone_forward backbone_backward head_forward head_backward; do
        v[$mode.$part]+=" $(field "$r" split_s.$part)"
      done
    done
  done
  m() { median ${v[$1]}; }
  split() {
    printf '%.3f (%.3f + %.3f, %.3f + %.3f)' "$(m "$1.step")" "$(m "$1.backbone_forward")" \
      "$(m "$1.backbone_backward")" "$(m "$1.head_forward")" "$(m "$1.head_backward")"
  }
  printf '| %s | %.0f | %.0f | %.2fx | %s | %s | %.0f | %.0f |\n' "$K" "$(m fused.ips)" \
    "$(m unfused.ips)" "$(awk "BEGIN{print $(m fused.ips)/$(m unfused.ips)}")" "$(split fused)" \
    "$(split unfused)" "$(m fused.mem)" "$(m unfused.mem)"
  unset v
done
