#!/usr/bin/env bash
# The source tree follows .clang-format (scripts/format.sh --check); skipped
# (exit 77) where clang-format is not installed or the tree is not a git
# checkout.
set -euo pipefail
: "${RELNET_SOURCE_DIR:?RELNET_SOURCE_DIR must point at the source tree}"
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 77; }
git -C "$RELNET_SOURCE_DIR" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
  || { echo "not a git checkout: skipped"; exit 77; }
bash "$RELNET_SOURCE_DIR/scripts/format.sh" --check
