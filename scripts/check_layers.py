#!/usr/bin/python3
"""Checks that relnet's includes point only down its layers
(docs/ARCHITECTURE.md, "Layers"): a file under include/relnet/<layer>/ or
src/<layer>/ (src/kernels/: the kernels' private helpers) may include relnet headers of its own layer and of layers below
it, never of a layer above it or beside it. Prints every offending include
and exits 1 if there is one.

    /usr/bin/python3 scripts/check_layers.py [SOURCE_DIR]
"""
import os
import re
import sys

# Lower first; layers on one line are beside each other.
ORDER = [["util"], ["kernels"], ["data"], ["augment"], ["models", "relation"], ["config"], ["methods"],
         ["train"], ["eval"], ["bench", "compare"], ["cli"]]
RANK = {layer: i for i, group in enumerate(ORDER) for layer in group}
# "relnet/<layer>/...", "relnet/config.h", and the private "kernels/..." (src/kernels/).
INCLUDE = re.compile(r'^\s*#\s*include\s+"(?:relnet/)?([A-Za-z_]+)(/|\.h")', re.M)


def layer_of(rel):
    """The layer of a path relative to include/relnet or src."""
    head = rel.split("/")[0]
    return "config" if head in ("config.h", "config.cpp") else head


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad = []
    for base in ("include/relnet", "src"):
        for folder, _, files in os.walk(os.path.join(root, base)):
            for name in files:
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.join(root, base))
                own = layer_of(rel)
                if own not in RANK:
                    bad.append(f"{base}/{rel}: folder '{own}' is not a known layer")
                    continue
                for m in INCLUDE.finditer(open(path, encoding="utf-8").read()):
                    target = m.group(1)
                    if m.group(2) != "/" and target != "config":
                        continue  # a header beside this file ("commands.h")
                    if target == own:
                        continue
                    if target not in RANK or RANK[target] >= RANK[own]:
                        bad.append(f"{base}/{rel} ({own}) includes relnet/{m.group(1)}"
                                   f"{m.group(2).rstrip(chr(34))} ({target})")
    for line in bad:
        print("layers:", line, file=sys.stderr)
    if bad:
        print(f"layers: {len(bad)} include(s) point up or across (order: "
              + " < ".join("/".join(g) for g in ORDER) + ")", file=sys.stderr)
        return 1
    print("layers: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
