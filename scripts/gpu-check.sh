#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU and PyTorch installed, but
# with no internet and no package manager, builds relnet against that
# PyTorch's LibTorch (the header-only dependencies come from the folder
# scripts/pack-gpu-deps.sh prepared on a normal machine), runs the unit tests
# with CUDA, a short train + linear-eval on generated CIFAR-10 files with
# --device cuda, and prints a throughput table (augmented images/s of the
# training step, conv4 and resnet32, K=4 and K=32, fp32 and bf16). Every stage
# has a time limit; the whole script stays under 8 minutes.
#
# usage: scripts/gpu-check.sh [DEPS_DIR]     (default: gpu-deps)
#        PYTHON=/path/to/python3 scripts/gpu-check.sh   (the python with torch)
#        BUILD_TIMEOUT=900 scripts/gpu-check.sh         (seconds for the build; default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
deps=$(realpath "${1:-gpu-deps}")
PY=${PYTHON:-python3}
BUILD=${BUILD_DIR:-build-gpu}
OUT=${OUT:-$BUILD/gpu-check}
stage() { echo; echo "== $* ($(( $(date +%s) - start )) s)"; }

[ -f "$deps/include/CLI/CLI.hpp" ] || { echo "gpu-check: no deps folder at $deps (run scripts/pack-gpu-deps.sh on a Debian machine and copy it here)" >&2; exit 1; }
stage "environment"
command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "nvidia-smi not found"
prefix=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'

stage "configure and build (LibTorch from $prefix)"
timeout 300 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DRELNET_DEPS_DIR="$deps" -DRELNET_WITH_IMAGE_IO=OFF -DRELNET_WITH_DOWNLOAD=OFF \
  -DRELNET_PYTHON="$(command -v "$PY")" >"$BUILD.configure.log" 2>&1 \
  || { tail -30 "$BUILD.configure.log"; exit 1; }
timeout "${BUILD_TIMEOUT:-300}" cmake --build "$BUILD" -j"$(nproc)" >"$BUILD.build.log" 2>&1 \
  || { grep -m 20 -E "error|Error" "$BUILD.build.log"; exit 1; }
relnet="$BUILD/relnet"
"$relnet" info --data-root /nonexistent | head -7

stage "unit tests (CUDA tests run, the others as on CPU)"
timeout 180 "$BUILD/relnet_tests" --gtest_brief=1 2>&1 | tail -25

stage "train + linear-eval on generated CIFAR-10 with --device cuda"
mkdir -p "$OUT"
"$PY" tests/smoke/make_cifar10.py "$OUT/data" >/dev/null
timeout 120 "$relnet" train --config configs/smoke.json --set data.root="$OUT/data" \
  --set data.subset=2048 --set train.epochs=2 --set train.log_interval=16 --device cuda \
  --out-dir "$OUT/run"
timeout 60 "$relnet" linear-eval --checkpoint "$OUT/run/backbone.pt" --epochs 10 \
  --train-subset 2000 --test-subset 500 --device cuda

stage "throughput: relnet bench --device cuda (augmented images/s of the training step)"
echo "| backbone | K | fp32 img/s | bf16 img/s |"
echo "|---|---|---|---|"
for backbone in conv4 resnet32; do
  for K in 4 32; do
    row="| $backbone | $K |"
    for precision in fp32 bf16; do
      ips=$(timeout 60 "$relnet" bench --backbone "$backbone" --K "$K" --batch 64 --steps 10 \
              --warmup 3 --device cuda --precision "$precision" --json \
            | "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["images_per_s"]))' || echo "failed")
      row="$row $ips |"
    done
    echo "$row"
  done
done
stage "done"
