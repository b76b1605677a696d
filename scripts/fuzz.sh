#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/<target>_fuzz.cpp) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer in build-fuzz/, then runs
# each for SECONDS (default 60), one after the other, single process,
# starting from its seed corpus fuzz/corpus/<target>/. Inputs that reach new
# code are kept in build-fuzz/corpus/<target>/ (not in the repository); an
# input that crashes, trips a sanitizer, throws an unexpected exception,
# times out or runs out of memory is saved in fuzz/regressions/<target>/,
# where it stays: the normal build replays every file there (ctest -R
# fuzz_replay). Exits 1 when any target found something.
#
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 600 config idx
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz: SECONDS must be a whole number >= 1, got '$seconds'" >&2
  exit 2
fi
bash scripts/setup.sh --fuzz
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  # Without OpenMP: clang's libomp beside LibTorch's libgomp in one process
  # is asking for trouble, and the parsers do not need it (nor DeepCluster's
  # faiss, nor distributed training, which the fuzz build leaves out).
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DRELNET_FUZZ=ON -DRELNET_WITH_FAISS=OFF -DRELNET_WITH_DISTRIBUTED=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target relnet_fuzzers

if [ $# -eq 0 ]; then
  set -- $(ls fuzz/*_fuzz.cpp | sed 's|fuzz/||; s|_fuzz.cpp||')
fi
# LibTorch, libarchive and zlib are not instrumented. Leak checking is off:
# LibTorch's registries allocate at load time and never free, which
# LeakSanitizer would report on every run. Memory counts when it is used:
# -rss_limit_mb bounds what a run touches, while one large allocation alone
# (LibTorch reserving what a corrupt file's header claims, never touched
# before the short file is noticed) is not a finding; beyond what can be
# granted, malloc returns null as it does outside ASan and LibTorch throws.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found=0
for target in "$@"; do
  binary="$BUILD_DIR/${target}_fuzz"
  if [ ! -x "$binary" ]; then
    echo "fuzz: no target '$target' (fuzz/${target}_fuzz.cpp)" >&2
    exit 2
  fi
  mkdir -p "$BUILD_DIR/corpus/$target" "$BUILD_DIR/logs" "fuzz/regressions/$target"
  log="$BUILD_DIR/logs/$target.log"
  echo "fuzz: $target for ${seconds}s (log: $log)"
  status=0
  "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -malloc_limit_mb=1048576 \
    -print_final_stats=1 \
    -artifact_prefix="fuzz/regressions/$target/" "$BUILD_DIR/corpus/$target" \
    "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  summary=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz: $target: ${execs:-?} executions; last status: ${summary:-none}"
  if [ "$status" -ne 0 ]; then
    found=1
    echo "fuzz: $target FOUND something (exit $status); see $log and fuzz/regressions/$target/" >&2
  fi
done
rmdir fuzz/regressions/* 2>/dev/null || true  # keep only the folders with findings
exit "$found"
