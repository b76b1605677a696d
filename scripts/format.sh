#!/usr/bin/env bash
# Formats relnet's C++ sources (include/, src/, tests/, fuzz/) with the checked-in
# .clang-format, using Debian 12's clang-format (14).
#
# usage: scripts/format.sh           rewrite every file that differs
#        scripts/format.sh --check   list the files that differ and exit 1
#                                    if any does (the test suite runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format: $CLANG_FORMAT not found (apt-get install clang-format; scripts/setup.sh does it)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files 'include/*.h' 'src/*.h' 'src/*.cpp' 'tests/*.h' 'tests/*.cpp' 'fuzz/*.h' 'fuzz/*.cpp')
if [ "${1:-}" = "--check" ]; then
  differ=()
  for f in "${files[@]}"; do
    "$CLANG_FORMAT" --style=file "$f" | cmp -s - "$f" || differ+=("$f")
  done
  if [ ${#differ[@]} -gt 0 ]; then
    printf 'format: %s differs from .clang-format\n' "${differ[@]}" >&2
    echo "format: ${#differ[@]} of ${#files[@]} files differ; run scripts/format.sh to fix them" >&2
    exit 1
  fi
  echo "format: all ${#files[@]} files follow .clang-format"
  exit 0
fi
"$CLANG_FORMAT" --style=file -i "${files[@]}"
echo "format: ${#files[@]} files formatted"
