"""Reference values for the relation objective, computed the way the
reference implementation does it in PyTorch: K views of B images as
view-major features, pairs built with torch.cat / torch.roll in the
reference's order, the relation head nn.Sequential(Linear, BatchNorm1d,
LeakyReLU, Linear) in train mode, BCE-with-logits or sigmoid focal loss.

usage: relation_parity.py OUT_PT
Writes a plain dict: features, head weights per aggregation, and for each
aggregation x loss the loss value and its gradient w.r.t. the features.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

K, B, D, HIDDEN = 4, 6, 8, 16
GAMMA, ALPHA = 2.0, 0.5


def aggregate(a, b, agg):
    if agg == "cat":
        return torch.cat([a, b], 1)
    if agg == "sum":
        return a + b
    if agg == "mean":
        return (a + b) / 2
    return torch.max(a, b)


def pairs(features, agg):
    views = torch.split(features, B, dim=0)
    inputs, targets = [], []
    shift = 1
    for i in range(K):
        for j in range(i + 1, K):
            inputs.append(aggregate(views[i], views[j], agg))
            targets.append(torch.ones(B))
            inputs.append(aggregate(views[i], torch.roll(views[j], shifts=shift, dims=0), agg))
            targets.append(torch.zeros(B))
            shift += 1
            if shift >= B:
                shift = 1
    return torch.cat(inputs, 0), torch.cat(targets, 0)


def focal(logits, t):
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    p = torch.sigmoid(logits)
    p_t = t * p + (1 - t) * (1 - p)
    alpha_t = t * ALPHA + (1 - t) * (1 - ALPHA)
    return (torch.abs(1 - p_t) ** GAMMA * alpha_t * bce).mean()


def main():
    torch.manual_seed(0)
    features = torch.randn(K * B, D)
    out = {"features": features.clone(), "K": torch.tensor(K)}
    for agg in ["cat", "sum", "mean", "max"]:
        width = 2 * D if agg == "cat" else D
        head = nn.Sequential(nn.Linear(width, HIDDEN), nn.BatchNorm1d(HIDDEN),
                             nn.LeakyReLU(), nn.Linear(HIDDEN, 1))
        out["head_" + agg] = {k: v.clone() for k, v in head.state_dict().items()}
        for loss_name in ["bce", "focal"]:
            head.load_state_dict(out["head_" + agg])
            head.train()
            f = features.clone().requires_grad_(True)
            x, t = pairs(f, agg)
            logits = head(x).squeeze(1)
            if loss_name == "bce":
                loss = F.binary_cross_entropy_with_logits(logits, t)
            else:
                loss = focal(logits, t)
            loss.backward()
            out[f"{agg}_{loss_name}_loss"] = loss.detach()
            out[f"{agg}_{loss_name}_grad"] = f.grad.clone()
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
