"""The yardstick for relnet's speed: the self-supervised relational reasoning
pipeline written the straightforward PyTorch way, as the paper's public code
does it, and deliberately not optimised.

- data: CIFAR-shaped uint8 images held in memory (generated, or CIFAR-10's
  binary files), turned into PIL images per item like torchvision's CIFAR10;
- K views per image with torchvision transforms (RandomResizedCrop,
  RandomHorizontalFlip, RandomApply(ColorJitter, p=0.8), RandomGrayscale,
  ToTensor, Normalize) in a DataLoader;
- Conv4 or a CIFAR ResNet backbone; relation pairs built by concatenation
  with torch.cat and torch.roll, pair by pair; the MLP relation head; BCE
  with logits; Adam 1e-3.

Run with Debian's /usr/bin/python3 (torch + torchvision). Prints one JSON
object: augmented images/s, median seconds per step, the split of a step
(data wait, backbone forward, pairs, head forward, backward, optimizer) and
peak resident memory.

usage:
  pytorch_baseline.py --backbone conv4 --K 32 --batch 64 --steps 5
  pytorch_baseline.py --linear-eval --epochs 3
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision.transforms as T
from PIL import Image

MEAN = (0.491, 0.482, 0.447)
STD = (0.247, 0.243, 0.262)


# ---------------------------------------------------------------- backbones
class Conv4(nn.Module):
    def __init__(self):
        super().__init__()
        chans = [3, 8, 16, 32, 64]
        for i in range(4):
            block = nn.Sequential()
            block.add_module("conv", nn.Conv2d(chans[i], chans[i + 1], 3, 1, 1, bias=False))
            block.add_module("bn", nn.BatchNorm2d(chans[i + 1]))
            block.add_module("relu", nn.ReLU())
            block.add_module("avgpool", nn.AvgPool2d(2) if i < 3 else nn.AdaptiveAvgPool2d(1))
            setattr(self, "layer%d" % (i + 1), block)
        self.feature_size = 64

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.flatten(1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class CifarResNet(nn.Module):
    def __init__(self, depth):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, (cout, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(cin, cout, stride if b == 0 else 1))
                cin = cout
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
        self.feature_size = 64

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def make_backbone(name):
    if name == "conv4":
        return Conv4()
    if name in ("resnet8", "resnet32", "resnet56"):
        return CifarResNet(int(name[6:]))
    raise SystemExit("unknown backbone " + name)


# ---------------------------------------------------------------- data
def load_images(root, count, seed):
    """(N, 32, 32, 3) uint8 and labels: CIFAR-10 binary batches when `root`
    holds them, else random images of the same shape."""
    path = os.path.join(root or "", "cifar-10-batches-bin", "data_batch_1.bin")
    if root and os.path.exists(path):
        raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)[:count]
        return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), raw[:, 0].astype(np.int64)
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, count)


class MultiViewDataset(torch.utils.data.Dataset):
    """Item i: K independently augmented views of image i (as in the paper)."""

    def __init__(self, images, K):
        self.images = images
        color_jitter = T.ColorJitter(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
        self.transform = T.Compose([
            T.RandomResizedCrop(size=32, scale=(0.08, 1.0)),
            T.RandomHorizontalFlip(),
            T.RandomApply([color_jitter], p=0.8),
            T.RandomGrayscale(p=0.2),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ])
        self.K = K

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i])
        return [self.transform(img) for _ in range(self.K)], 0


class PlainDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels
        self.transform = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


# ---------------------------------------------------------------- the method
def aggregate(features, K):
    """Pairs by concatenation, block by block, as the paper's code does."""
    pairs, targets = [], []
    size = features.shape[0] // K
    shift = 1
    for i1 in range(0, size * K, size):
        for i2 in range(i1 + size, size * K, size):
            pos = torch.cat([features[i1:i1 + size], features[i2:i2 + size]], 1)
            neg = torch.cat([features[i1:i1 + size],
                             torch.roll(features[i2:i2 + size], shifts=shift, dims=0)], 1)
            pairs += [pos, neg]
            targets += [torch.ones(size), torch.zeros(size)]
            shift += 1
            if shift >= size:
                shift = 1
    return torch.cat(pairs, 0), torch.cat(targets, 0)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_bench(args):
    images, _ = load_images(args.data_root, max(args.batch * (args.steps + args.warmup), 1024), 0)
    loader = torch.utils.data.DataLoader(MultiViewDataset(images, args.K), batch_size=args.batch,
                                         shuffle=True, num_workers=args.workers, drop_last=True)
    backbone = make_backbone(args.backbone)
    head = nn.Sequential(nn.Linear(backbone.feature_size * 2, 256), nn.BatchNorm1d(256),
                         nn.LeakyReLU(), nn.Linear(256, 1))
    optimizer = torch.optim.Adam([{"params": backbone.parameters()},
                                  {"params": head.parameters()}], lr=1e-3)
    bce = nn.BCEWithLogitsLoss()
    backbone.train()
    head.train()
    parts = {k: [] for k in ["data_wait", "backbone_forward", "pairs", "head_forward", "backward",
                             "optimizer", "step"]}
    it = iter(loader)
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        views, _ = next(it)
        t1 = time.perf_counter()
        x = torch.cat(views, 0)
        optimizer.zero_grad()
        features = backbone(x)
        t2 = time.perf_counter()
        pairs, targets = aggregate(features, args.K)
        t3 = time.perf_counter()
        score = head(pairs).squeeze()
        loss = bce(score, targets)
        t4 = time.perf_counter()
        loss.backward()
        t5 = time.perf_counter()
        optimizer.step()
        t6 = time.perf_counter()
        if step >= args.warmup:
            for k, v in zip(parts, [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t6 - t0]):
                parts[k].append(v)
    med = {k: statistics.median(v) for k, v in parts.items()}
    return {
        "mode": "train", "backbone": args.backbone, "K": args.K, "batch": args.batch,
        "steps": args.steps, "threads": torch.get_num_threads(), "workers": args.workers,
        "images_per_s": args.K * args.batch / med["step"], "seconds_per_step": med["step"],
        "split_s": {k: v for k, v in med.items() if k != "step"},
        "loss": float(loss), "peak_rss_mb": peak_rss_mb(),
    }


def linear_eval_bench(args):
    images, labels = load_images(args.data_root, args.train_images, 1)
    test_images, test_labels = load_images(None, args.test_images, 2)
    backbone = make_backbone(args.backbone)
    backbone.eval()
    classifier = nn.Linear(backbone.feature_size, 10)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=1e-3)
    ce = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(PlainDataset(images, labels), batch_size=128, shuffle=True,
                                         num_workers=args.workers)
    test_loader = torch.utils.data.DataLoader(PlainDataset(test_images, test_labels), batch_size=128,
                                              num_workers=args.workers)
    start = time.perf_counter()
    epoch_times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        for x, y in loader:
            with torch.no_grad():
                f = backbone(x)
            optimizer.zero_grad()
            loss = ce(classifier(f), y)
            loss.backward()
            optimizer.step()
        epoch_times.append(time.perf_counter() - t0)
    correct = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += int((classifier(backbone(x)).argmax(1) == y).sum())
    total = time.perf_counter() - start
    return {
        "mode": "linear_eval", "backbone": args.backbone, "epochs": args.epochs,
        "train_images": args.train_images, "test_images": args.test_images,
        "threads": torch.get_num_threads(), "workers": args.workers,
        "seconds_per_epoch": statistics.median(epoch_times), "seconds": total,
        "test_accuracy": correct / args.test_images, "peak_rss_mb": peak_rss_mb(),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", default="conv4")
    p.add_argument("--K", type=int, default=4)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads, 0 = all cores")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--data-root", default=None, help="folder with cifar-10-batches-bin/")
    p.add_argument("--linear-eval", action="store_true")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--train-images", type=int, default=50000)
    p.add_argument("--test-images", type=int, default=10000)
    args = p.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(args.threads or os.cpu_count())
    result = linear_eval_bench(args) if args.linear_eval else train_bench(args)
    result["malloc_env"] = bool(os.environ.get("MALLOC_MMAP_MAX_"))
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
