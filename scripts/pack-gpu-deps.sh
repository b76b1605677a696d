#!/usr/bin/env bash
# Prepares, on a normal Debian 12 machine, the folder scripts/gpu-check.sh
# needs on a GPU machine that has PyTorch but no package manager and no
# internet: the header-only libraries relnet builds with (CLI11,
# nlohmann_json, spdlog, fmt), zlib's two headers (its library is on every
# Linux system), and GoogleTest's sources. Copy the folder (or the .tar.gz)
# next to the relnet checkout on the GPU machine.
#
# usage: scripts/pack-gpu-deps.sh [OUT_DIR]      (default: gpu-deps, and gpu-deps.tar.gz)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-deps}
need=(libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev zlib1g-dev googletest)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "pack-gpu-deps: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
rm -rf "$out"
mkdir -p "$out/include"
cp -r /usr/include/CLI /usr/include/nlohmann /usr/include/spdlog /usr/include/fmt "$out/include/"
cp /usr/include/zlib.h /usr/include/zconf.h "$out/include/"
[ -e /usr/include/x86_64-linux-gnu/zconf.h ] && cp /usr/include/x86_64-linux-gnu/zconf.h "$out/include/"
cp -r /usr/src/googletest "$out/googletest"
cat > "$out/VERSIONS" <<INFO
packed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")
$(dpkg-query -W -f='${Package} ${Version}\n' "${need[@]}")
INFO
tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
echo "pack-gpu-deps: $out/ and $out.tar.gz ($(du -sh "$out.tar.gz" | cut -f1))"
