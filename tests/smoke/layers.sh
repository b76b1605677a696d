#!/usr/bin/env bash
# relnet's includes point only down its layers (scripts/check_layers.py,
# docs/ARCHITECTURE.md "Layers").
set -euo pipefail
: "${RELNET_SOURCE_DIR:?RELNET_SOURCE_DIR must point at the source tree}"
/usr/bin/python3 "$RELNET_SOURCE_DIR/scripts/check_layers.py" "$RELNET_SOURCE_DIR"
