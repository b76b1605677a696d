"""Checks relnet's memory estimate (train/memory.h) against the measured
peak: for conv4 and resnet32 at two K each, runs one step of `relnet
train` on generated MNIST-format images resized to 32x32 and compares the
"expected peak RSS" the trainer logs before its first step with the
process's measured peak resident memory (/usr/bin/time's maximum RSS). Prints a Markdown
table for docs/PERFORMANCE.md and exits 1 when a prediction is off by more
than 25%.

usage: memory_check.py RELNET_BIN [BATCH]
"""
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "smoke"))
import make_datasets  # noqa: E402

CASES = [("conv4", 4), ("conv4", 16), ("resnet32", 4), ("resnet32", 8)]
EXPECTED = re.compile(r"expected peak RSS (\d+) MiB")


def run(relnet, data, out, backbone, K, batch):
    """Peak RSS (MiB) measured and predicted for one run of one step."""
    cmd = ["/usr/bin/time", "-f", "MAXRSS %M", relnet, "train",
           "--config", os.path.join(HERE, "..", "configs", "smoke.json"),
           "--set", "data.dataset=mnist", "--set", "data.root=" + data,
           "--set", "data.image_size=32", "--set", "data.subset=%d" % batch,
           "--set", "model.backbone=" + backbone, "--set", "augment.K=%d" % K,
           "--set", "train.batch_size=%d" % batch, "--set", "train.epochs=1",
           "--set", "train.threads=0", "--out-dir", out]
    log = subprocess.run(cmd, check=True, capture_output=True, text=True)
    text = log.stdout + log.stderr
    measured = re.search(r"MAXRSS (\d+)", text)
    found = EXPECTED.search(text)
    if not found or not measured:
        raise SystemExit("no 'expected peak RSS' or MAXRSS line in the output of: " + " ".join(cmd))
    return int(measured.group(1)) / 1024.0, float(found.group(1))


def main():
    relnet = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 256
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        make_datasets.mnist(data, random.Random(0))
        rows, worst = [], 0.0
        for backbone, K in CASES:
            measured, predicted = run(relnet, data, os.path.join(tmp, "%s_%d" % (backbone, K)),
                                      backbone, K, batch)
            error = (predicted - measured) / measured
            worst = max(worst, abs(error))
            rows.append("| %s | %d | %d | %.0f | %.0f | %+.1f%% |" %
                        (backbone, K, batch, predicted, measured, 100 * error))
    print("| backbone | K | B | predicted peak RSS (MiB) | measured (MiB) | error |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if worst > 0.25:
        print("FAIL: a prediction is off by %.0f%% (> 25%%)" % (100 * worst))
        sys.exit(1)


if __name__ == "__main__":
    main()
