#!/usr/bin/env bash
# Installs, with apt only, what relnet needs to build, test and run its
# quickstart on Debian 12. Idempotent: installs only what is missing and says
# what it did. Run as root (or with sudo). With --fuzz it also installs clang
# and its runtime libraries (libFuzzer, the sanitizers) for scripts/fuzz.sh.
set -euo pipefail

PACKAGES=(
  cmake g++ make ccache pkg-config
  libtorch-dev            # LibTorch 1.13 (CPU)
  libopenblas0-pthread    # optimized BLAS: the default reference BLAS is ~30x slower
  libopencv-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev zlib1g-dev
  libcurl4-openssl-dev libarchive-dev libssl-dev  # relnet download: HTTP, tar.gz, MD5
  libgloo-dev             # distributed training: the Gloo headers LibTorch's c10d needs
  libfaiss-dev            # DeepCluster: PCA and k-means
  python3-torch python3-torchvision  # /usr/bin/python3 with torch: parity and interop tests
  dataset-fashion-mnist   # real images for the quickstart
  clang-format            # the source format the test suite checks (scripts/format.sh)
)
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)  # scripts/fuzz.sh: clang, libFuzzer, ASan and UBSan
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: installing needs root; run: sudo bash scripts/setup.sh" >&2
    exit 1
  fi
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "setup: installed ${missing[*]}"
fi

# LibTorch calls BLAS through libblas.so.3: make sure it resolves to OpenBLAS.
alt=libblas.so.3-x86_64-linux-gnu
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if command -v update-alternatives >/dev/null && [ -e "$openblas" ]; then
  current=$(update-alternatives --query "$alt" 2>/dev/null | sed -n 's/^Value: //p')
  if [ "$current" != "$openblas" ]; then
    if [ "$(id -u)" -eq 0 ]; then
      update-alternatives --set "$alt" "$openblas" >/dev/null
      echo "setup: BLAS switched to OpenBLAS ($openblas)"
    else
      echo "setup: warning: BLAS is $current, not OpenBLAS; run: sudo update-alternatives --set $alt $openblas" >&2
    fi
  else
    echo "setup: BLAS is OpenBLAS"
  fi
fi
