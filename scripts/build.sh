#!/usr/bin/env bash
# Configures (once) and builds relnet in build/ (Release). Extra arguments are
# passed to `cmake --build`, e.g. `--target relnet`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" "$@"
