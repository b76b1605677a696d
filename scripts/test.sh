#!/usr/bin/env bash
# Installs what is missing, builds everything and runs all tests (unit tests
# and CLI smoke tests) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
