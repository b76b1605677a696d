#!/usr/bin/python3
"""Packed datasets against image folders, measured with the relnet binary:

1. time to the first training step, from a generated folder of JPEGs
   against from its pack (A B A B, medians), and the one-time cost of
   packing;
2. a whole epoch on a pack larger than the memory the run may use (a
   memory cgroup limited to the pack's size / 1.5, the pack dropped from
   the page cache first), against an in-memory run on a subset decoded from
   the folder, and the same pack with no limit (in the page cache).

Prints Markdown tables for docs/PERFORMANCE.md. Needs root (the memory
cgroup, v1 or v2) for part 2.

    /usr/bin/python3 bench/pack_bench.py --relnet build/relnet --work build/bench_pack
"""
import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def train_cmd(a, dataset, root, out, extra=()):
    return [a.relnet, "--quiet", "train", "--config", os.path.join(HERE, "..", "configs", "smoke.json"),
            "--set", f"data.dataset={dataset}", "--set", f"data.root={root}",
            "--set", f"data.image_size={a.side}", "--set", "data.subset=0",
            "--set", f"augment.K={a.K}", "--set", f"train.batch_size={a.batch}",
            "--set", "train.epochs=1", "--set", "train.log_interval=1",
            "--set", "train.threads=0", "--out-dir", out, *extra]


def records(out):
    path = os.path.join(out, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path):
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass  # a line being written
    return rows


def load_seconds(out):
    """The dataset's loading time from the run's train.log ("loaded in X s")."""
    for line in open(os.path.join(out, "train.log")):
        if " loaded in " in line:
            return float(line.split(" loaded in ")[1].split()[0])
    return float("nan")


def time_to_first_step(a, dataset, root, out):
    """Seconds from starting `relnet train` to its first step record, and
    the dataset's loading time within them."""
    subprocess.run(["rm", "-rf", out], check=True)
    t0 = time.monotonic()
    p = subprocess.Popen(train_cmd(a, dataset, root, out))
    while not any(r.get("kind") == "step" for r in records(out)):
        if p.poll() is not None:
            sys.exit(f"relnet train on {root} ended before its first step")
        time.sleep(0.02)
    seconds = time.monotonic() - t0
    p.send_signal(signal.SIGINT)
    p.wait()
    return seconds, load_seconds(out)


def drop_from_page_cache(folder):
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


class MemoryCgroup:
    """A memory cgroup (v2 if mounted as the unified hierarchy, else v1)."""

    def __init__(self, limit):
        name = f"relnet_pack_bench_{os.getpid()}"
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        self.dir = os.path.join("/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/memory", name)
        os.mkdir(self.dir)
        self.v2 = v2
        self.write("memory.max" if v2 else "memory.limit_in_bytes", str(limit))

    def write(self, name, value):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(value)

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def peak(self):
        return int(self.read("memory.peak" if self.v2 else "memory.max_usage_in_bytes"))

    def enter(self):
        self.write("cgroup.procs", str(os.getpid()))

    def remove(self):
        os.rmdir(self.dir)


def epoch(a, dataset, root, out, extra=(), cgroup=None):
    """One epoch; returns (images/s of the epoch, seconds, major page faults)."""
    subprocess.run(["rm", "-rf", out], check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_majflt
    t0 = time.monotonic()
    subprocess.run(train_cmd(a, dataset, root, out, extra), check=True,
                   preexec_fn=cgroup.enter if cgroup else None)
    seconds = time.monotonic() - t0
    faults = resource.getrusage(resource.RUSAGE_CHILDREN).ru_majflt - before
    e = [r for r in records(out) if r.get("kind") == "epoch"][-1]
    return e["images_per_s"] / a.K, seconds, faults


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--relnet", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--images", type=int, default=100000)
    p.add_argument("--side", type=int, default=96)
    p.add_argument("--K", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--subset", type=int, default=20000)
    p.add_argument("--only", default="start epoch")
    a = p.parse_args()
    folder = os.path.join(a.work, f"folder{a.side}")
    pack = os.path.join(a.work, f"pack{a.side}")
    if not os.path.isdir(folder):
        subprocess.run([sys.executable, os.path.join(HERE, "make_image_folder.py"), folder,
                        "--images", str(a.images), "--side", str(a.side)], check=True)
    if not os.path.exists(os.path.join(pack, "pack.json")):
        t0 = time.monotonic()
        subprocess.run([a.relnet, "--quiet", "data", "pack", "--dataset", "image_folder",
                        "--root", folder, "--out", pack, "--image-size", str(a.side)], check=True)
        print(f"packing {a.images} JPEGs of {a.side} px took {time.monotonic() - t0:.1f} s "
              f"(both cores)\n")
    pack_bytes = sum(os.path.getsize(os.path.join(pack, f)) for f in os.listdir(pack))
    print(f"pack: {pack_bytes / 1e9:.2f} GB, {a.images} images of {a.side}x{a.side}\n")

    if "start" in a.only:
        starts = {"folder": [], "pack": []}
        for _ in range(a.pairs):
            starts["folder"].append(time_to_first_step(a, "image_folder", folder, os.path.join(a.work, "run")))
            starts["pack"].append(time_to_first_step(a, "packed", pack, os.path.join(a.work, "run")))
        print("| source | time to first step, median s | of which loading the dataset, s | runs (first step, loading) |")
        print("|---|---|---|---|")
        for k, v in starts.items():
            first, load = zip(*v)
            runs = ", ".join(f"{x:.2f} ({y:.3f})" for x, y in v)
            print(f"| {k} | {statistics.median(first):.2f} | {statistics.median(load):.3f} | {runs} |")
        print()

    if "epoch" in a.only:
        limit = int(pack_bytes / 1.5)
        rows = []
        ips, s, f = epoch(a, "image_folder", folder, os.path.join(a.work, "mem"),
                          ["--set", f"data.subset={a.subset}"])
        rows.append((f"folder, {a.subset} images decoded into memory", "none", ips, s, f, "-"))
        drop_from_page_cache(pack)
        cg = MemoryCgroup(limit)
        try:
            ips, s, f = epoch(a, "packed", pack, os.path.join(a.work, "limited"), cgroup=cg)
            peak = cg.peak()
        finally:
            cg.remove()
        rows.append((f"pack, all {a.images} images, page cache cold", f"{limit / 1e9:.2f} GB",
                     ips, s, f, f"{peak / 1e9:.2f} GB"))
        ips, s, f = epoch(a, "packed", pack, os.path.join(a.work, "warm"))
        rows.append((f"pack, all {a.images} images, in the page cache", "none", ips, s, f, "-"))
        print(f"| run (conv4, K={a.K}, batch {a.batch}, {a.side} px, one epoch) | memory limit | "
              "images/s | wall s | major page faults | peak memory of the cgroup |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.0f} | {r[3]:.1f} | {r[4]} | {r[5]} |")


if __name__ == "__main__":
    main()
