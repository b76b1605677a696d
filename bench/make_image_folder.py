#!/usr/bin/python3
"""Writes a generated image folder for the packed-dataset benchmark:
<out>/train/<class>/<index>.jpg, `--images` JPEGs of `--side` px spread over
`--classes` classes (each class a colour and stripe frequency, plus noise, so
JPEG sizes and decode times resemble photos more than flat images do).

    /usr/bin/python3 bench/make_image_folder.py OUT --images 100000 --side 96
"""
import argparse
import os
from multiprocessing import Pool

import numpy as np
from PIL import Image


def write_range(args):
    out, side, classes, begin, end, seed = args
    rng = np.random.default_rng(seed + begin)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    for i in range(begin, end):
        c = i % classes
        freq = 0.05 + 0.03 * (c % 7)
        base = np.array([(c * 37) % 256, (c * 91) % 256, (c * 53) % 256], np.float32)
        stripes = 60 * np.sin(freq * (x + y * (c % 3)) + rng.uniform(0, 6.28))
        img = base[None, None, :] + stripes[..., None] + rng.normal(0, 25, (side, side, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            os.path.join(out, "train", f"class{c:03d}", f"{i:07d}.jpg"), quality=90)
    return end - begin


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--images", type=int, default=100000)
    p.add_argument("--side", type=int, default=96)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=os.cpu_count())
    a = p.parse_args()
    for c in range(a.classes):
        os.makedirs(os.path.join(a.out, "train", f"class{c:03d}"), exist_ok=True)
    chunk = 1000
    tasks = [(a.out, a.side, a.classes, b, min(b + chunk, a.images), a.seed)
             for b in range(0, a.images, chunk)]
    done = 0
    with Pool(a.jobs) as pool:
        for n in pool.imap_unordered(write_range, tasks):
            done += n
            if done % 10000 < chunk:
                print(f"{done}/{a.images} images written", flush=True)


if __name__ == "__main__":
    main()
