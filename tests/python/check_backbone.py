"""Checks that relnet backbone.pt files open in PyTorch: reference key names
and shapes (in order), strict load into the PyTorch definition of the backbone
named in the file's meta, and equal eval-mode features on a fixed input.

usage: check_backbone.py BACKBONE_PT [IO_PT] [BACKBONE_PT IO_PT ...]
IO_PT holds {"x": input, "features": relnet's eval-mode features}; with more
than two arguments they are (BACKBONE_PT, IO_PT) pairs (one torch import).
"""
import json
import sys

import torch

import reference_models


def check(backbone_pt, io_pt):
    ckpt = torch.load(backbone_pt, map_location="cpu")
    assert isinstance(ckpt, dict), type(ckpt)
    assert "backbone" in ckpt, list(ckpt)
    meta = json.loads(ckpt["meta"])
    name = meta["backbone"]
    net = reference_models.build(name)
    expected = net.state_dict()
    got = ckpt["backbone"]
    assert list(got) == list(expected), (name, list(got), list(expected))
    for k in expected:
        assert got[k].shape == expected[k].shape, (name, k, got[k].shape, expected[k].shape)
    net.load_state_dict(got, strict=True)
    msg = "%s: %s loads in PyTorch: %d keys" % (backbone_pt, name, len(got))
    if io_pt is not None:
        io = torch.load(io_pt)
        net.eval()
        with torch.no_grad():
            ours = net(io["x"])
        diff = (ours - io["features"]).abs().max().item()
        assert diff < 1e-4, (name, diff)
        msg += ", eval features max abs diff %.3g (max |feature| %.3g)" % (
            diff, io["features"].abs().max().item())
    print(msg)


def main():
    args = sys.argv[1:]
    if len(args) <= 2:
        check(args[0], args[1] if len(args) == 2 else None)
        return
    assert len(args) % 2 == 0, "expected BACKBONE_PT IO_PT pairs, got %d arguments" % len(args)
    for i in range(0, len(args), 2):
        check(args[i], args[i + 1])


if __name__ == "__main__":
    main()
