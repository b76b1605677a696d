"""Checks that a relnet backbone.pt opens in PyTorch: reference key names and
shapes, strict load into a PyTorch Conv4, and equal features on a fixed input.

usage: check_backbone.py BACKBONE_PT [IO_PT]
IO_PT (optional) holds {"x": input, "features": relnet's eval-mode features}.
"""
import json
import sys
from collections import OrderedDict

import torch
import torch.nn as nn


def conv4():
    """The reference Conv4 definition (channels 8, 16, 32, 64)."""
    def block(cin, cout, last):
        pool = ("glbpool", nn.AdaptiveAvgPool2d(1)) if last else ("avgpool", nn.AvgPool2d(2))
        return nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(cin, cout, 3, 1, padding=1, bias=False)),
            ("bn", nn.BatchNorm2d(cout)),
            ("relu", nn.ReLU()),
            pool]))

    class Conv4(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = block(3, 8, False)
            self.layer2 = block(8, 16, False)
            self.layer3 = block(16, 32, False)
            self.layer4 = block(32, 64, True)

        def forward(self, x):
            return self.layer4(self.layer3(self.layer2(self.layer1(x)))).flatten(1)

    return Conv4()


def main():
    ckpt = torch.load(sys.argv[1], map_location="cpu")
    assert isinstance(ckpt, dict), type(ckpt)
    assert "backbone" in ckpt, list(ckpt)
    meta = json.loads(ckpt["meta"])
    assert meta["backbone"] == "conv4", meta
    net = conv4()
    expected = net.state_dict()
    got = ckpt["backbone"]
    assert list(got) == list(expected), (list(got), list(expected))
    for k in expected:
        assert got[k].shape == expected[k].shape, (k, got[k].shape, expected[k].shape)
    net.load_state_dict(got, strict=True)
    if len(sys.argv) > 2:
        io = torch.load(sys.argv[2])
        net.eval()
        with torch.no_grad():
            ours = net(io["x"])
        diff = (ours - io["features"]).abs().max().item()
        assert diff < 1e-4, diff
    print("backbone.pt loads in PyTorch:", len(got), "keys")


if __name__ == "__main__":
    main()
