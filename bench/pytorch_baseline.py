"""The yardstick for relnet's speed: self-supervised training written the
straightforward PyTorch way, as the paper's public code does it, and
deliberately not optimised.

- data: CIFAR-shaped uint8 images held in memory (generated, or CIFAR-10's
  binary files), turned into PIL images per item like torchvision's CIFAR10,
  augmented with torchvision transforms in a DataLoader;
- Conv4 or a CIFAR ResNet backbone;
- --method picks the training method, each written as the reference
  (mpatacchiola/self-supervised-relational-reasoning, methods/*.py) writes it:
  relational  K views (RandomResizedCrop, RandomHorizontalFlip,
              RandomApply(ColorJitter, p=0.8), RandomGrayscale, ToTensor,
              Normalize); relation pairs built by concatenation with
              torch.cat and torch.roll, pair by pair; the MLP relation head;
              BCE with logits; Adam 1e-3.
  simclr      2 views with relational's augmentations, interleaved; head
              Linear(D,256)-BN-LeakyReLU-Linear(256,64); the reference's
              contrastive loss (temperature 0.5); Adam 1e-3.
  deepcluster one view (RandomCrop with padding 4, flip); head
              Linear(D,256)-BN-LeakyReLU-Linear(256,k); cross-entropy with
              per-cluster weights on pseudo-labels (drawn at random for the
              timed steps); Adam 1e-3. --cluster-images N also times the
              per-epoch clustering of N images (features in eval mode, PCA
              whitening, L2, k-means: sklearn's if installed, else torch).
  infomax     one view (flip only); y and the first conv-BN-ReLU map M; the
              local (1x1 convolutions) and prior discriminators, beta 1,
              gamma 0.1, no global term; one Adam 1e-4 over everything.
  rotation    one view (crop + flip); the batch and its rot90 by 1, 2, 3
              quarter turns (4B backbone inputs), labels 0-3; Linear(D,4);
              cross-entropy; Adam 1e-3.
  supervised  one view (crop + flip); Linear(D,10); cross-entropy on the
              labels; SGD 0.1, momentum 0.9.

Run with Debian's /usr/bin/python3 (torch + torchvision). Prints one JSON
object: backbone inputs per second ("images_per_s": K*B per step for
relational, 2B simclr, 4B rotation, B the others), median seconds per step,
the split of a step (data wait, backbone forward, pairs (relational only, 0
otherwise), head forward (head + loss), backward, optimizer) and peak
resident memory.

usage:
  pytorch_baseline.py --backbone conv4 --K 32 --batch 64 --steps 5
  pytorch_baseline.py --method simclr --batch 128 --steps 5
  pytorch_baseline.py --method deepcluster --batch 128 --steps 5 [--clusters 100] [--cluster-images 50000]
  pytorch_baseline.py --method infomax --batch 128 --steps 2
  pytorch_baseline.py --method rotation --batch 128 --steps 5
  pytorch_baseline.py --method supervised --batch 128 --steps 5
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
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

MEAN = (0.491, 0.482, 0.447)
STD = (0.247, 0.243, 0.262)
METHODS = ["relational", "simclr", "deepcluster", "infomax", "rotation", "supervised"]
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
    holds them (as many of data_batch_1..5 as `count` needs), else random
    images of the same shape."""
    path = os.path.join(root or "", "cifar-10-batches-bin", "data_batch_%d.bin")
    if root and os.path.exists(path % 1):
        parts = []
        for i in range(1, 6):
            if sum(len(p) for p in parts) >= count or not os.path.exists(path % i):
                break
            parts.append(np.fromfile(path % i, dtype=np.uint8).reshape(-1, 3073))
        raw = np.concatenate(parts)[:count]
        return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), raw[:, 0].astype(np.int64)
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, count)


def relational_transform():
    """Relational reasoning's (and SimCLR's) augmentations."""
    color_jitter = T.ColorJitter(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
    return T.Compose([
        T.RandomResizedCrop(size=32, scale=(0.08, 1.0)),
        T.RandomHorizontalFlip(),
        T.RandomApply([color_jitter], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.ToTensor(),
        T.Normalize(MEAN, STD),
    ])


def crop_flip_transform():
    """DeepCluster's, rotation's and the supervised model's augmentations."""
    return T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                      T.Normalize(MEAN, STD)])


def flip_transform():
    """Deep InfoMax's augmentation."""
    return T.Compose([T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])


class MultiViewDataset(torch.utils.data.Dataset):
    """Item i: K independently augmented views of image i (as in the paper)."""

    def __init__(self, images, K, transform):
        self.images = images
        self.transform = transform
        self.K = K

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i])
        return [self.transform(img) for _ in range(self.K)], 0


class PlainDataset(torch.utils.data.Dataset):
    """Item i: image i through `transform` (default: no augmentation) and its label."""

    def __init__(self, images, labels, transform=None):
        self.images, self.labels = images, labels
        self.transform = transform or T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


# ---------------------------------------------------------------- the methods
class Method:
    """A training method as the timed loop sees it: its dataset, modules and
    optimizer, and a step in three timed parts: forward (the backbone, with
    whatever the method does to the batch first), pairs (relational reasoning
    only: has_pairs) and loss (heads + loss)."""
    views = 1  # backbone inputs per dataset image
    has_pairs = False  # whether the step has a (timed) pairs part

    def __init__(self, args):
        self.args = args
        self.backbone = make_backbone(args.backbone)

    def modules(self):
        return [self.backbone, self.head]

    def train(self):
        for m in self.modules():
            m.train()

    def dataset(self, images, labels):
        return PlainDataset(images, labels, crop_flip_transform())

    def forward(self, batch):
        x, target = batch
        return self.backbone(x), target


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


class Relational(Method):
    """Self-supervised relational reasoning (methods/relationnet.py)."""
    has_pairs = True

    def __init__(self, args):
        super().__init__(args)
        self.views = args.K
        self.head = nn.Sequential(nn.Linear(self.backbone.feature_size * 2, 256), nn.BatchNorm1d(256),
                                  nn.LeakyReLU(), nn.Linear(256, 1))
        self.optimizer = torch.optim.Adam([{"params": self.backbone.parameters()},
                                           {"params": self.head.parameters()}], lr=1e-3)
        self.bce = nn.BCEWithLogitsLoss()

    def dataset(self, images, labels):
        return MultiViewDataset(images, self.views, relational_transform())

    def forward(self, batch):
        views, _ = batch
        return self.backbone(torch.cat(views, 0))

    def pairs(self, features):
        return aggregate(features, self.views)

    def loss(self, state):
        pairs, targets = state
        score = self.head(pairs).squeeze()
        return self.bce(score, targets)


def simclr_loss(x, t=0.5, eps=1e-8):
    """The reference's contrastive loss (from pietz/simclr), as it writes it."""
    n = torch.norm(x, p=2, dim=1, keepdim=True)
    x = (x @ x.t()) / (n * n.t()).clamp(min=eps)
    x = torch.exp(x / t)
    # put the positive pairs (rows 2i and 2i+1: the two views of image i) on the diagonal
    idx = torch.arange(x.size()[0])
    idx[::2] += 1
    idx[1::2] -= 1
    x = x[idx]
    # remove each view's similarity with itself (exp(1/t)) from the denominator
    x = x.diag() / (x.sum(0) - torch.exp(torch.tensor(1 / t)))
    return -torch.log(x.mean())


class SimCLR(Method):
    """SimCLR (methods/simclr.py): two views, projection head, contrastive loss."""
    views = 2

    def __init__(self, args):
        super().__init__(args)
        self.head = nn.Sequential(nn.Linear(self.backbone.feature_size, 256), nn.BatchNorm1d(256),
                                  nn.LeakyReLU(), nn.Linear(256, 64))
        self.optimizer = torch.optim.Adam([{"params": self.backbone.parameters(), "lr": 0.001},
                                           {"params": self.head.parameters(), "lr": 0.001}])

    def dataset(self, images, labels):
        return MultiViewDataset(images, 2, relational_transform())

    def forward(self, batch):
        views, _ = batch
        data = torch.stack(views, dim=1)  # (B, 2, C, H, W): an image's two views side by side
        d = data.size()
        return self.backbone(data.view(d[0] * 2, d[2], d[3], d[4]))

    def loss(self, features):
        return simclr_loss(self.head(features))


def cluster_weights(pseudolabels, k):
    """w_c = 1 - n_c / N, counted as the reference counts them."""
    weight = torch.zeros(k, dtype=torch.float32)
    for value in pseudolabels:
        weight[value] += 1.0
    return 1.0 - (weight / len(pseudolabels))


def pca_whiten_l2(features):
    """PCA with whitening to D dimensions (D/2 when D >= 512), then rows to
    unit length: what the reference gets from sklearn's PCA(whiten=True),
    here from the covariance with torch.linalg.eigh."""
    x = torch.from_numpy(features).double()
    n_components = x.shape[1] // 2 if x.shape[1] >= 512 else x.shape[1]
    x = x - x.mean(0)
    eigval, eigvec = torch.linalg.eigh(x.t() @ x / (x.shape[0] - 1))  # ascending
    eigval, eigvec = eigval.flip(0)[:n_components], eigvec.flip(1)[:, :n_components]
    x = (x @ eigvec) / eigval.clamp(min=1e-12).sqrt()
    return (x / x.norm(dim=1, keepdim=True).clamp(min=1e-12)).float()


def kmeans_torch(x, k, iterations, restarts, seed=0):
    """Lloyd's k-means with k-means++ seeding, `restarts` times, keeping the
    lowest inertia (sklearn's KMeans(init="k-means++", n_init, max_iter)
    without its early stop)."""
    g = torch.Generator().manual_seed(seed)
    best_labels, best_inertia = None, float("inf")
    for _ in range(restarts):
        first = int(torch.randint(len(x), (1,), generator=g))
        centers = [x[first]]
        d2 = ((x - x[first]) ** 2).sum(1)
        for _ in range(1, k):
            c = x[int(torch.multinomial(d2, 1, generator=g))]
            centers.append(c)
            d2 = torch.minimum(d2, ((x - c) ** 2).sum(1))
        centers = torch.stack(centers)
        for _ in range(iterations):
            labels = torch.cdist(x, centers).argmin(1)
            counts = torch.bincount(labels, minlength=k)
            sums = torch.zeros_like(centers).index_add_(0, labels, x)
            filled = counts > 0
            centers[filled] = sums[filled] / counts[filled].unsqueeze(1)
        labels = torch.cdist(x, centers).argmin(1)
        inertia = float(((x - centers[labels]) ** 2).sum())
        if inertia < best_inertia:
            best_labels, best_inertia = labels, inertia
    return best_labels


def run_kmeans(x, k, iterations, restarts):
    """The reference's sklearn KMeans when sklearn is installed, else the torch one."""
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        return kmeans_torch(x, k, iterations, restarts), "torch"
    kmeans = KMeans(n_clusters=k, init="k-means++", n_init=restarts, max_iter=iterations,
                    random_state=0).fit(x.numpy())
    return torch.tensor(kmeans.labels_, dtype=torch.int64), "sklearn"


class DeepCluster(Method):
    """DeepCluster (methods/deepcluster.py): cross-entropy on k-means pseudo-labels.
    The timed steps use pseudo-labels drawn at random; clustering() times the
    per-epoch work that produces real ones."""

    def __init__(self, args):
        super().__init__(args)
        self.k = args.clusters
        self.head = nn.Sequential(nn.Linear(self.backbone.feature_size, 256), nn.BatchNorm1d(256),
                                  nn.LeakyReLU(), nn.Linear(256, self.k))
        self.optimizer = torch.optim.Adam([{"params": self.backbone.parameters(), "lr": 0.001},
                                           {"params": self.head.parameters(), "lr": 0.001}])

    def dataset(self, images, labels):
        pseudolabels = np.random.default_rng(3).integers(0, self.k, len(images))
        self.ce = nn.CrossEntropyLoss(cluster_weights(pseudolabels, self.k))
        return PlainDataset(images, pseudolabels, crop_flip_transform())

    def loss(self, state):
        features, target = state
        return self.ce(self.head(features), target)

    def clustering(self, images, restarts, iterations=30):
        """One epoch's clustering, timed by part: reset the last layer, the
        features of every image (eval mode, no augmentation), PCA whitening
        + L2, k-means, the class weights."""
        t0 = time.perf_counter()
        self.head[3].weight.data.normal_(0, 0.01)
        self.head[3].bias.data.zero_()
        loader = torch.utils.data.DataLoader(PlainDataset(images, np.zeros(len(images))),
                                             batch_size=self.args.batch, shuffle=False,
                                             num_workers=self.args.workers, drop_last=False)
        self.backbone.eval()
        features_list = []
        with torch.no_grad():
            for x, _ in loader:
                features_list.append(self.backbone(x).numpy())
        features = np.concatenate(features_list, 0)
        self.backbone.train()
        t1 = time.perf_counter()
        x = pca_whiten_l2(features)
        t2 = time.perf_counter()
        pseudolabels, implementation = run_kmeans(x, self.k, iterations, restarts)
        t3 = time.perf_counter()
        self.ce = nn.CrossEntropyLoss(cluster_weights(pseudolabels, self.k))
        t4 = time.perf_counter()
        return {
            "cluster_images": len(images), "kmeans": implementation, "kmeans_restarts": restarts,
            "kmeans_iterations": iterations, "clustering_s": t4 - t0,
            "clustering_split_s": {"features": t1 - t0, "pca": t2 - t1, "kmeans": t3 - t2,
                                   "weights": t4 - t3},
            "clusters_filled": int(torch.bincount(pseudolabels, minlength=self.k).gt(0).sum()),
        }


class InfoMaxEncoder(nn.Module):
    """The backbone returning y, its pooled feature, and M, the map of its
    first convolution -> BatchNorm -> ReLU before any pooling."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.y_size = backbone.feature_size
        self.M_channels = 8 if isinstance(backbone, Conv4) else backbone.conv1.out_channels

    def forward(self, x):
        b = self.backbone
        if isinstance(b, Conv4):
            M = b.layer1.relu(b.layer1.bn(b.layer1.conv(x)))
            x = b.layer4(b.layer3(b.layer2(b.layer1.avgpool(M))))
            return x.flatten(1), M
        M = torch.relu(b.bn1(b.conv1(x)))
        x = b.layer3(b.layer2(b.layer1(M)))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1), M


class LocalDiscriminator(nn.Module):
    def __init__(self, y_size, M_channels):
        super().__init__()
        self.c0 = nn.Conv2d(y_size + M_channels, 256, kernel_size=1)
        self.c1 = nn.Conv2d(256, 256, kernel_size=1)
        self.c2 = nn.Conv2d(256, 1, kernel_size=1)

    def forward(self, x):
        h = F.relu(self.c0(x))
        h = F.relu(self.c1(h))
        return self.c2(h)


class PriorDiscriminator(nn.Module):
    def __init__(self, y_size):
        super().__init__()
        self.l0 = nn.Linear(y_size, 512)
        self.l1 = nn.Linear(512, 128)
        self.l2 = nn.Linear(128, 1)

    def forward(self, x):
        h = F.relu(self.l0(x))
        h = F.relu(self.l1(h))
        return torch.sigmoid(self.l2(h))


class InfoMaxLoss(nn.Module):
    """Deep InfoMax's loss as the reference trains it: alpha 0 (no global
    discriminator), beta 1 (local), gamma 0.1 (prior)."""

    def __init__(self, y_size, M_channels, beta=1.0, gamma=0.1):
        super().__init__()
        self.local_d = LocalDiscriminator(y_size, M_channels)
        self.prior_d = PriorDiscriminator(y_size)
        self.beta, self.gamma = beta, gamma

    def forward(self, y, M, M_prime):
        # y broadcast over every position of M, concatenated after M's channels
        y_expanded = y.unsqueeze(-1).unsqueeze(-1).expand(-1, -1, M.shape[2], M.shape[3])
        y_M = torch.cat((M, y_expanded), dim=1)
        y_M_prime = torch.cat((M_prime, y_expanded), dim=1)
        Ej = -F.softplus(-self.local_d(y_M)).mean()
        Em = F.softplus(self.local_d(y_M_prime)).mean()
        LOCAL = (Em - Ej) * self.beta
        prior = torch.rand_like(y)
        term_a = torch.log(self.prior_d(prior)).mean()
        term_b = torch.log(1.0 - self.prior_d(y)).mean()
        PRIOR = - (term_a + term_b) * self.gamma
        return LOCAL + PRIOR


class InfoMax(Method):
    """Deep InfoMax (methods/deepinfomax.py), local + prior terms."""

    def __init__(self, args):
        super().__init__(args)
        self.encoder = InfoMaxEncoder(self.backbone)
        self.loss_fn = InfoMaxLoss(self.encoder.y_size, self.encoder.M_channels)
        self.optimizer = torch.optim.Adam([{"params": self.encoder.parameters(), "lr": 1e-4},
                                           {"params": self.loss_fn.parameters(), "lr": 1e-4}])

    def modules(self):
        return [self.encoder, self.loss_fn]

    def dataset(self, images, labels):
        return PlainDataset(images, labels, flip_transform())

    def forward(self, batch):
        x, _ = batch
        return self.encoder(x)

    def loss(self, state):
        y, M = state
        M_prime = torch.cat([M[1:], M[0].unsqueeze(0)], dim=0)  # M rolled by one along the batch
        return self.loss_fn(y, M, M_prime)


def rotate_batch(images):
    """The batch and its rot90 by 1, 2 and 3 quarter turns, labels 0-3
    (the reference's _data_augmentation)."""
    output_list, target_list = [], []
    for quarter_turns in range(4):
        output_list.append(torch.rot90(images, quarter_turns, dims=(2, 3)) if quarter_turns else images)
        target_list.append(torch.from_numpy(np.full(images.shape[0], quarter_turns, dtype=np.int64)))
    return torch.cat(output_list, 0), torch.cat(target_list, 0)


class Rotation(Method):
    """RotNet (methods/rotationnet.py): predict which of 4 rotations was applied."""
    views = 4

    def __init__(self, args):
        super().__init__(args)
        self.head = nn.Linear(self.backbone.feature_size, 4)
        self.ce = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam([{"params": self.backbone.parameters(), "lr": 0.001},
                                           {"params": self.head.parameters(), "lr": 0.001}])

    def forward(self, batch):
        x, _ = batch
        x, target = rotate_batch(x)
        return self.backbone(x), target

    def loss(self, state):
        features, target = state
        return self.ce(self.head(features), target)


class Supervised(Method):
    """The supervised upper bound (methods/standard.py)."""

    def __init__(self, args):
        super().__init__(args)
        self.head = nn.Linear(self.backbone.feature_size, 10)
        self.ce = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD([{"params": self.backbone.parameters(), "lr": 0.1, "momentum": 0.9},
                                          {"params": self.head.parameters(), "lr": 0.1, "momentum": 0.9}])

    def loss(self, state):
        features, target = state
        return self.ce(self.head(features), target)


METHOD_CLASSES = dict(zip(METHODS, [Relational, SimCLR, DeepCluster, InfoMax, Rotation, Supervised]))


# ---------------------------------------------------------------- the benches
def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_bench(args):
    images, labels = load_images(args.data_root, max(args.batch * (args.steps + args.warmup), 1024), 0)
    method = METHOD_CLASSES[args.method](args)
    loader = torch.utils.data.DataLoader(method.dataset(images, labels), batch_size=args.batch,
                                         shuffle=True, num_workers=args.workers, drop_last=True)
    method.train()
    parts = {k: [] for k in ["data_wait", "backbone_forward", "pairs", "head_forward", "backward",
                             "optimizer", "step"]}
    it = iter(loader)
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        batch = next(it)
        t1 = time.perf_counter()
        method.optimizer.zero_grad()
        state = method.forward(batch)
        t2 = time.perf_counter()
        if method.has_pairs:
            state = method.pairs(state)
            t3 = time.perf_counter()
        else:
            t3 = t2
        loss = method.loss(state)
        t4 = time.perf_counter()
        loss.backward()
        t5 = time.perf_counter()
        method.optimizer.step()
        t6 = time.perf_counter()
        if step >= args.warmup:
            for k, v in zip(parts, [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t6 - t0]):
                parts[k].append(v)
    med = {k: statistics.median(v) for k, v in parts.items()}
    views_per_step = method.views * args.batch
    result = {"mode": "train", "method": args.method, "backbone": args.backbone}
    if args.method == "relational":
        result["K"] = args.K
    result.update({
        "batch": args.batch, "views_per_step": views_per_step, "images_per_step_dataset": args.batch,
        "steps": args.steps, "threads": torch.get_num_threads(), "workers": args.workers,
        "images_per_s": views_per_step / med["step"], "seconds_per_step": med["step"],
        "split_s": {k: v for k, v in med.items() if k != "step"},
        "loss": float(loss), "peak_rss_mb": peak_rss_mb(),
    })
    if args.method == "deepcluster":
        result["clusters"] = method.k
        if args.cluster_images > 0:
            cluster_images, _ = load_images(args.data_root, args.cluster_images, 3)
            result.update(method.clustering(cluster_images, args.kmeans_restarts))
            result["clustering_peak_rss_mb"] = peak_rss_mb()
    return result
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
    p.add_argument("--method", default="relational", choices=METHODS)
    p.add_argument("--backbone", default="conv4")
    p.add_argument("--K", type=int, default=4, help="relational reasoning's views per image")
    p.add_argument("--clusters", type=int, default=100, help="deepcluster's k")
    p.add_argument("--cluster-images", type=int, default=0,
                   help="deepcluster: also time one epoch's clustering of this many images")
    p.add_argument("--kmeans-restarts", type=int, default=5, help="deepcluster's k-means n_init")
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
