"""Writes a CIFAR-10 binary dataset (cifar-10-batches-bin/) in the exact
format: 5 train files and 1 test file of 10,000 records, each 1 label byte +
3,072 pixel bytes. Pixels are noise plus a class-dependent bright bar, so a
trained backbone has something to find. Standard library only.

usage: make_cifar10.py ROOT
"""
import os
import random
import sys


def record(rng, label):
    row = 2 + label * 28 // 10
    planes = bytearray(rng.randbytes(3072))
    for c in range(3):
        base = c * 1024
        for i in range(base, base + 1024):
            planes[i] //= 4
        for y in (row, row + 1):
            for x in range(2, 30):
                planes[base + y * 32 + x] = 200 + (label * 5 + c * 7) % 56
    return bytes([label]) + bytes(planes)


def main():
    root = os.path.join(sys.argv[1], "cifar-10-batches-bin")
    os.makedirs(root, exist_ok=True)
    rng = random.Random(0)
    # 40 distinct records per class, tiled to 10,000 per file (fast to write).
    pool = [record(rng, i % 10) for i in range(400)]
    block = b"".join(pool)
    body = block * 25
    assert len(body) == 10000 * 3073
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        with open(os.path.join(root, name), "wb") as f:
            f.write(body)
    print("wrote", root)


if __name__ == "__main__":
    main()
