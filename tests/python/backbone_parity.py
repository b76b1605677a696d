"""Writes PyTorch reference weights and features for relnet's parity test.

usage: backbone_parity.py OUT_DIR [NAME ...]   (default: every backbone)
For each NAME: OUT_DIR/NAME.pt = {"backbone": state dict (plain dict), "meta":
'{"backbone": NAME}'} and
OUT_DIR/NAME_io.pt = {"x": (4, 3, S, S) input, "eval": eval-mode features,
"train": train-mode features (batch statistics) of a deep copy}; S = 64 for
resnet18/34, else 32. BN affine parameters are randomised and the running
statistics are real averages over random batches, so eval mode is a test.
"""
import copy
import json
import os
import sys

import torch
import torch.nn as nn

import reference_models


def randomise_batch_norm(net, side):
    """BN weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2); running stats = the
    cumulative average over 3 random batches (momentum None), so eval-mode
    activations stay O(1) even in resnet56."""
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.momentum = None
        net.train()
        for _ in range(3):
            net(torch.randn(8, 3, side, side))
        for bn in bns:
            bn.momentum = 0.1


def main():
    out_dir = sys.argv[1]
    names = sys.argv[2:] or reference_models.NAMES
    os.makedirs(out_dir, exist_ok=True)
    for i, name in enumerate(names):
        torch.manual_seed(100 + i)
        side = reference_models.input_side(name)
        net = reference_models.build(name)
        randomise_batch_norm(net, side)
        x = torch.randn(4, 3, side, side)
        train_net = copy.deepcopy(net).train()
        net.eval()
        with torch.no_grad():
            eval_features = net(x)
            train_features = train_net(x)
        state = {k: v.clone() for k, v in net.state_dict().items()}
        # Two entries, as a real checkpoint: LibTorch's unpickler lacks the
        # SETITEM opcode Python emits for a one-entry dict.
        torch.save({"backbone": state, "meta": json.dumps({"backbone": name})},
                   os.path.join(out_dir, name + ".pt"))
        torch.save({"x": x, "eval": eval_features.clone(), "train": train_features.clone()},
                   os.path.join(out_dir, name + "_io.pt"))
        print("%s: %d keys, %d parameters, eval |f| max %.3g" % (
            name, len(state), sum(p.numel() for p in net.parameters()),
            eval_features.abs().max().item()))


if __name__ == "__main__":
    main()
