"""Writes small datasets in the exact on-disk formats relnet reads, for the
CLI smoke tests: CIFAR-100 (cifar-100-binary/, full-size files as the format
requires), STL-10 (stl10_binary/, column-major planes), a tiny-ImageNet-like
image folder (train/<wnid>/images/*.JPEG, val/images + val_annotations.txt)
and MNIST (mnist/, gzip IDX). Every image holds noise plus a class-dependent
bright bar, so a backbone has something to find.

usage: make_datasets.py ROOT
"""
import gzip
import os
import random
import struct
import sys

from PIL import Image


def bar_image(rng, label, side, classes):
    """Channel planes (3 x side x side bytes) of a noisy image with a bar."""
    row = 1 + label * (side - 3) // classes
    planes = bytearray(b // 4 for b in rng.randbytes(3 * side * side))
    for c in range(3):
        for y in (row, row + 1):
            for x in range(1, side - 1):
                planes[c * side * side + y * side + x] = 200 + (label * 5 + c * 7) % 56
    return planes


def cifar100(root, rng):
    d = os.path.join(root, "cifar-100-binary")
    os.makedirs(d, exist_ok=True)
    # 20 distinct records per fine class would be 2,000; 200 suffice: fine
    # label i % 100, coarse label (i % 100) // 5.
    pool = b"".join(bytes([(i % 100) // 5, i % 100]) + bytes(bar_image(rng, i % 100, 32, 100))
                    for i in range(200))
    for name, n in [("train.bin", 50000), ("test.bin", 10000)]:
        with open(os.path.join(d, name), "wb") as f:
            f.write(pool * (n // 200))


def stl10(root, rng):
    d = os.path.join(root, "stl10_binary")
    os.makedirs(d, exist_ok=True)

    def column_major(planes):
        out = bytearray(len(planes))
        for c in range(3):
            base = c * 96 * 96
            for y in range(96):
                for x in range(96):
                    out[base + x * 96 + y] = planes[base + y * 96 + x]
        return out

    pool = [(i % 10, column_major(bar_image(rng, i % 10, 96, 10))) for i in range(20)]
    for split, n in [("train", 200), ("test", 100), ("unlabeled", 300)]:
        with open(os.path.join(d, split + "_X.bin"), "wb") as f:
            for i in range(n):
                f.write(pool[i % 20][1])
        if split != "unlabeled":
            with open(os.path.join(d, split + "_y.bin"), "wb") as f:
                f.write(bytes(1 + pool[i % 20][0] for i in range(n)))


def image_folder(root, rng):
    d = os.path.join(root, "tiny-imagenet")
    wnids = ["n0%07d" % (1000 + k) for k in range(5)]

    def save(path, label):
        planes = bar_image(rng, label, 64, 5)
        rgb = bytes(planes[c * 4096 + p] for p in range(4096) for c in range(3))
        Image.frombytes("RGB", (64, 64), rgb).save(path, quality=95)

    for k, w in enumerate(wnids):
        folder = os.path.join(d, "train", w, "images")
        os.makedirs(folder, exist_ok=True)
        for i in range(24):
            save(os.path.join(folder, "%s_%d.JPEG" % (w, i)), k)
        with open(os.path.join(d, "train", w, w + "_boxes.txt"), "w") as f:
            f.write("%s_0.JPEG\t0\t0\t63\t63\n" % w)
    os.makedirs(os.path.join(d, "val", "images"), exist_ok=True)
    with open(os.path.join(d, "val", "val_annotations.txt"), "w") as f:
        for i in range(40):
            k = (i * 3) % 5
            save(os.path.join(d, "val", "images", "val_%d.JPEG" % i), k)
            f.write("val_%d.JPEG\t%s\t0\t0\t63\t63\n" % (i, wnids[k]))


def mnist(root, rng):
    d = os.path.join(root, "mnist")
    os.makedirs(d, exist_ok=True)
    for prefix, n in [("train", 300), ("t10k", 100)]:
        pixels = bytearray()
        for i in range(n):
            pixels += bar_image(rng, i % 10, 28, 10)[: 28 * 28]
        with gzip.open(os.path.join(d, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(pixels))
        with gzip.open(os.path.join(d, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))


def main():
    root = sys.argv[1]
    rng = random.Random(0)
    cifar100(root, rng)
    stl10(root, rng)
    image_folder(root, rng)
    mnist(root, rng)
    print("wrote", root)


if __name__ == "__main__":
    main()
