"""Reference values for the losses of SimCLR, DeepCluster, Deep InfoMax,
RotationNet and the supervised baseline, computed the way the reference
implementation (methods/*.py) computes them in PyTorch, on fixed tensors:

- simclr: views interleaved as the reference stacks them (rows 2i, 2i+1 are
  the two views of image i), its head nn.Sequential(linear1, bn1, relu,
  linear2) in train mode, cosine similarities with norm products clamped at
  1e-8, exp(s / 0.5), positives moved onto the diagonal by swapping row
  pairs, r = diag / (column sums - e^(1/0.5)); -log(mean r) and mean(-log r);
- deepcluster: the same head shape to k outputs, cross-entropy weighted by
  1 - n_c / N of the pseudo-labels;
- infomax: y expanded over M's positions and joined after M, 1x1 Conv2d
  local discriminator, M' = cat(M[1:], M[0]), Ej = -softplus(-T(M, y)).mean(),
  Em = softplus(T(M', y)).mean(), prior discriminator with a sigmoid and
  torch.log as written, beta 1, gamma 0.1;
- rotation: torch.rot90 by 0..3 quarter turns over dims (2, 3), concatenated,
  Linear(D, 4), cross-entropy;
- supervised: Linear(D, classes), cross-entropy.

The gradients are taken w.r.t. the features in relnet's view-major order.

usage: method_parity.py OUT_PT
"""
import collections
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

B, D, HIDDEN, PROJ, K_CLUSTERS, C_M, SIDE = 6, 8, 16, 5, 4, 3, 5
D_CONV4 = 64  # rotation and supervised go through relnet's methods over a Conv4
TEMPERATURE = 0.5


def mlp_head(out):
    return nn.Sequential(collections.OrderedDict([
        ("linear1", nn.Linear(D, HIDDEN)),
        ("bn1", nn.BatchNorm1d(HIDDEN)),
        ("relu", nn.LeakyReLU()),
        ("linear2", nn.Linear(HIDDEN, out)),
    ]))


def simclr_reference(x, t=TEMPERATURE, eps=1e-8, ntxent=False):
    n = torch.norm(x, p=2, dim=1, keepdim=True)
    x = (x @ x.t()) / (n * n.t()).clamp(min=eps)
    x = torch.exp(x / t)
    idx = torch.arange(x.size()[0])
    idx[::2] += 1
    idx[1::2] -= 1
    x = x[idx]
    x = x.diag() / (x.sum(0) - torch.exp(torch.tensor(1 / t)))
    return torch.mean(-torch.log(x)) if ntxent else -torch.log(x.mean())


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def simclr(out):
    head = mlp_head(PROJ)
    head.train()
    features = torch.randn(2 * B, D)  # view-major: view 0 of all images, then view 1
    out["simclr_features"] = features
    out["simclr_head"] = state(head)
    for name, ntxent in (("reference", False), ("ntxent", True)):
        f = features.clone().requires_grad_(True)
        interleaved = torch.stack([f[:B], f[B:]], dim=1).reshape(2 * B, D)
        loss = simclr_reference(head(interleaved), ntxent=ntxent)
        loss.backward()
        out["simclr_%s_loss" % name] = loss.detach()
        out["simclr_%s_grad" % name] = f.grad.detach()


def deepcluster(out):
    head = mlp_head(K_CLUSTERS)
    head.train()
    features = torch.randn(B, D, requires_grad=True)
    labels = torch.tensor([0, 1, 1, 2, 2, 2])  # cluster 3 empty
    weight = torch.zeros(K_CLUSTERS)
    for value in labels:
        weight[value] += 1.0
    weight = 1.0 - weight / len(labels)
    loss = nn.CrossEntropyLoss(weight)(head(features), labels)
    loss.backward()
    out.update(deepcluster_features=features.detach(), deepcluster_labels=labels,
               deepcluster_head=state(head), deepcluster_weight=weight,
               deepcluster_loss=loss.detach(), deepcluster_grad=features.grad.detach())


class Local(nn.Module):
    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(D + C_M, 256, kernel_size=1)
        self.c1 = nn.Conv2d(256, 256, kernel_size=1)
        self.c2 = nn.Conv2d(256, 1, kernel_size=1)

    def forward(self, x):
        return self.c2(F.relu(self.c1(F.relu(self.c0(x)))))


class Prior(nn.Module):
    def __init__(self):
        super().__init__()
        self.l0 = nn.Linear(D, 512)
        self.l1 = nn.Linear(512, 128)
        self.l2 = nn.Linear(128, 1)

    def forward(self, x):
        return torch.sigmoid(self.l2(F.relu(self.l1(F.relu(self.l0(x))))))


def infomax(out, beta=1.0, gamma=0.1):
    loss_fn = nn.Module()
    loss_fn.local_d = Local()
    loss_fn.prior_d = Prior()
    y = torch.randn(B, D, requires_grad=True)
    M = torch.randn(B, C_M, SIDE, SIDE).relu().requires_grad_(True)
    u = torch.rand(B, D)
    M_prime = torch.cat([M[1:], M[0].unsqueeze(0)], dim=0)
    y_exp = y.unsqueeze(-1).unsqueeze(-1).expand(-1, -1, SIDE, SIDE)
    Ej = -F.softplus(-loss_fn.local_d(torch.cat((M, y_exp), dim=1))).mean()
    Em = F.softplus(loss_fn.local_d(torch.cat((M_prime, y_exp), dim=1))).mean()
    local = (Em - Ej) * beta
    prior = -(torch.log(loss_fn.prior_d(u)).mean() + torch.log(1.0 - loss_fn.prior_d(y)).mean()) * gamma
    loss = local + prior
    loss.backward()
    out.update(infomax_y=y.detach(), infomax_M=M.detach(), infomax_u=u,
               infomax_loss_fn=state(loss_fn), infomax_loss=loss.detach(),
               infomax_local=(Em - Ej).detach(), infomax_prior=(prior / gamma).detach(),
               infomax_grad_y=y.grad.detach(), infomax_grad_M=M.grad.detach())


def rotation(out):
    images = torch.randn(B, 3, SIDE, SIDE)
    rotated = torch.cat([images] + [torch.rot90(images, k, dims=(2, 3)) for k in (1, 2, 3)], 0)
    classifier = nn.Linear(D_CONV4, 4)
    features = torch.randn(4 * B, D_CONV4, requires_grad=True)
    targets = torch.arange(4).repeat_interleave(B)
    loss = F.cross_entropy(classifier(features), targets)
    loss.backward()
    out.update(rotation_images=images, rotation_rotated=rotated, rotation_features=features.detach(),
               rotation_classifier=state(classifier), rotation_loss=loss.detach(),
               rotation_grad=features.grad.detach())


def supervised(out, classes=3):
    classifier = nn.Linear(D_CONV4, classes)
    features = torch.randn(B, D_CONV4, requires_grad=True)
    labels = torch.tensor([0, 2, 1, 1, 0, 2])
    loss = F.cross_entropy(classifier(features), labels)
    loss.backward()
    out.update(supervised_features=features.detach(), supervised_labels=labels,
               supervised_classifier=state(classifier), supervised_loss=loss.detach(),
               supervised_grad=features.grad.detach())


def main():
    torch.manual_seed(7)
    out = {}
    for method in (simclr, deepcluster, infomax, rotation, supervised):
        method(out)
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
