#!/usr/bin/env bash
# Measures relnet against the PyTorch baseline (bench/pytorch_baseline.py,
# Debian's /usr/bin/python3) side by side on this machine and writes the
# tables of docs/PERFORMANCE.md (between the generated-section markers).
#
# Every comparison runs relnet and the baseline alternately, A B A B, for
# BENCH_PAIRS rounds (default 3) and takes medians. The baseline runs both
# with glibc's default allocator settings and with
#   MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=268435456
# and with those plus OMP_WAIT_POLICY=passive, or plus relnet's own thread
# settings (GOMP_SPINCOUNT=10000 OPENBLAS_NUM_THREADS=1), and counts the best
# of the four; relnet sets the same allocator behaviour and thread settings
# itself.
# Then relnet alone: step time and memory against K and batch size.
#
# usage: scripts/bench.sh            (about 2 hours on 2 cores)
#        BENCH_QUICK=1 scripts/bench.sh   (fewer steps: a quick look, not for the docs)
#        BENCH_ONLY="conv4 scaling" scripts/bench.sh
#            re-measures some sections (conv4, resnet32, linear, scaling,
#            methods: every training method at batch 128) and
#            keeps the others' results from the last run's results.jsonl; the
#            tables say when each group was measured.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh --target relnet >/dev/null
RELNET=${RELNET_BIN:-build/relnet}
PY=/usr/bin/python3
OUT=${BENCH_OUT:-build/bench}
PAIRS=${BENCH_PAIRS:-3}
mkdir -p "$OUT"
ONLY=${BENCH_ONLY:-conv4 resnet32 linear scaling methods}
for section in $ONLY; do
  case $section in conv4|resnet32|linear|scaling|methods) ;;
    *) echo "bench: unknown section '$section' in BENCH_ONLY (conv4 resnet32 linear scaling methods)" >&2; exit 2;;
  esac
done
runs() { [[ " $ONLY " == *" $1 "* ]]; }
# The groups each section writes; a partial run keeps every other group's
# records, stamped with when they were measured (the file's time, where a
# record has no stamp of its own).
$PY - "$OUT/results.jsonl" $ONLY <<'PYEOF'
import datetime, json, os, sys
path, only = sys.argv[1], set(sys.argv[2:])
prefix = {"conv4": "train/conv4/", "resnet32": "train/resnet32/", "linear": "linear_eval",
          "scaling": "scale_", "methods": "method/"}
kept = []
if len(only) < len(prefix) and os.path.exists(path):
    stamp = datetime.datetime.fromtimestamp(os.path.getmtime(path)).strftime("%Y-%m-%d %H:%M")
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        if not any(r["group"].startswith(prefix[s]) for s in only):
            r.setdefault("measured", stamp)
            kept.append(json.dumps(r))
with open(path, "w") as f:
    f.write("".join(l + "\n" for l in kept))
PYEOF
THREADS=$(nproc)

steps_for() {  # steps_for K backbone -> measured steps
  if [ -n "${BENCH_QUICK:-}" ]; then echo 2; return; fi
  if [ "$2" != conv4 ] && [ "$1" -ge 32 ]; then echo 3; return; fi
  if [ "$1" -ge 32 ]; then echo 5; elif [ "$1" -ge 16 ]; then echo 8; else echo 30; fi
}

record() {  # record GROUP IMPL ENV JSON
  $PY -c 'import json,sys; r=json.loads(sys.argv[4]); r.update(group=sys.argv[1], impl=sys.argv[2], env=sys.argv[3], measured=sys.argv[5]); print(json.dumps(r))' \
    "$1" "$2" "$3" "$4" "$(date '+%Y-%m-%d %H:%M')" >> "$OUT/results.jsonl"
}

MALLOC_VARS=(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=268435456)

baseline() {  # baseline GROUP ARGS... : 0 and 2 DataLoader workers x BASELINE_ENVS
  local w envs
  for w in 0 2; do
    # relnet runs its OpenMP threads with a short spin and OpenBLAS on one
    # thread; the baseline gets the same settings, and the passive wait
    # policy, which its DataLoader workers gain from.
    for envs in ${BASELINE_ENVS:-default malloc malloc+passive malloc+spin}; do
      local vars=()
      [ "$envs" = default ] || vars=("${MALLOC_VARS[@]}")
      [ "$envs" = malloc+passive ] && vars+=(OMP_WAIT_POLICY=passive)
      [ "$envs" = malloc+spin ] && vars+=(GOMP_SPINCOUNT=10000 OPENBLAS_NUM_THREADS=1)
      record "$1" pytorch "w$w/$envs" \
        "$(env "${vars[@]}" $PY bench/pytorch_baseline.py --threads "$THREADS" --workers $w "${@:2}")"
    done
  done
}

compare_train() {  # compare_train BACKBONE K
  local b=$1 k=$2 s r; s=$(steps_for "$k" "$b")
  # relnet's conv4 steps take a fraction of a second: more of them give a
  # steadier median on a VM whose speed drifts (both report the median step).
  r=$s; [ "$b" = conv4 ] && [ -z "${BENCH_QUICK:-}" ] && r=30
  for _ in $(seq "$PAIRS"); do
    echo "bench: $b K=$k relnet" >&2
    record "train/$b/K$k" relnet own "$($RELNET --quiet bench --json --backbone "$b" --K "$k" --batch 64 --steps "$r" --warmup 1)"
    echo "bench: $b K=$k pytorch" >&2
    baseline "train/$b/K$k" --backbone "$b" --K "$k" --batch 64 --steps "$s" --warmup 1
  done
}

if runs conv4; then
  compare_train conv4 4
  compare_train conv4 16
  compare_train conv4 32
fi
if runs resnet32; then
  compare_train resnet32 4
  compare_train resnet32 32
fi

# Linear evaluation: relnet runs the whole protocol (100 epochs + test);
# the baseline recomputes the frozen features every epoch as the reference
# does, so a few of its epochs are timed and scaled to 100.
LE_EPOCHS=${BENCH_QUICK:+2}; LE_EPOCHS=${LE_EPOCHS:-3}
if runs linear; then
  for _ in $(seq "$PAIRS"); do
    echo "bench: linear evaluation" >&2
    record linear_eval relnet own "$($RELNET --quiet bench --json --linear-eval --epochs 100)"
    baseline linear_eval --linear-eval --epochs "$LE_EPOCHS"
  done
fi

# The other methods at the reference's batch of 128, conv4. Deep InfoMax's
# baseline takes ~15 s a step, so the baseline runs with and without the
# allocator settings only (the two variants the rules require).
if runs methods; then
  for m in relational simclr deepcluster infomax rotation supervised; do
    bs=10; [ "$m" = infomax ] && bs=2; [ -n "${BENCH_QUICK:-}" ] && bs=2
    rs=20; [ "$m" = infomax ] && rs=5; [ -n "${BENCH_QUICK:-}" ] && rs=3
    for _ in $(seq "$PAIRS"); do
      echo "bench: method $m relnet" >&2
      record "method/$m" relnet own "$($RELNET --quiet bench --json --method "$m" --K 4 --batch 128 --steps "$rs" --warmup 3)"
      echo "bench: method $m pytorch" >&2
      BASELINE_ENVS="default malloc" baseline "method/$m" --method "$m" --K 4 --batch 128 --steps "$bs" --warmup 1
    done
  done
fi

# relnet alone: how step time and memory grow with K and with the batch.
if runs scaling; then
  for k in 4 8 16 32 64; do
    echo "bench: scaling K=$k" >&2
    record "scale_K" relnet own "$($RELNET --quiet bench --json --K "$k" --batch 64 --steps "$(steps_for "$k" conv4)" --warmup 1)"
  done
  for b in 16 32 64 128; do
    echo "bench: scaling batch=$b" >&2
    record "scale_batch" relnet own "$($RELNET --quiet bench --json --K 32 --batch "$b" --steps 3 --warmup 1)"
  done
fi

$PY bench/report.py "$OUT/results.jsonl" docs/PERFORMANCE.md \
  "$(uname -m), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME")"
echo "bench: results in $OUT/results.jsonl, tables in docs/PERFORMANCE.md"
