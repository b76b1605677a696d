"""PyTorch definitions of relnet's backbones with the reference's module names:
Conv4, the CIFAR ResNets (8/32/56) and torchvision's ResNet-18/34 without fc.
Each maps (N, 3, H, W) to features (N, D). Shared by the parity scripts.
"""
from collections import OrderedDict

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


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is
    downsample = conv1x1(stride) + BN where the shape changes, else x."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class CifarResNet(nn.Module):
    """conv3x3(3->16) + BN + ReLU, 3 stages of BasicBlocks (16, 32, 64
    channels, stride 2 at stages 2 and 3), global average pool -> (N, 64)."""

    def __init__(self, blocks):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        cin = 16
        for stage, (n, cout) in enumerate(zip(blocks, (16, 32, 64))):
            layer = []
            for b in range(n):
                layer.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.avgpool(x).flatten(1)


class TorchvisionBackbone(nn.Module):
    """torchvision's ResNet without fc: same modules and state-dict keys
    (minus fc.*), forward ends at the flattened average pool -> (N, 512)."""

    def __init__(self, net):
        super().__init__()
        for name, module in net.named_children():
            if name != "fc":
                setattr(self, name, module)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)


CIFAR_BLOCKS = {"resnet8": (1, 1, 1), "resnet32": (5, 5, 5), "resnet56": (9, 9, 9)}
NAMES = ["conv4", "resnet8", "resnet32", "resnet56", "resnet18", "resnet34"]


def build(name):
    """A freshly initialised backbone by relnet registry name."""
    if name == "conv4":
        return conv4()
    if name in CIFAR_BLOCKS:
        return CifarResNet(CIFAR_BLOCKS[name])
    if name in ("resnet18", "resnet34"):
        import torchvision
        return TorchvisionBackbone(getattr(torchvision.models, name)(weights=None))
    raise ValueError("unknown backbone %r (known: %s)" % (name, ", ".join(NAMES)))


def input_side(name):
    """Side of the square test input: 64 for the ImageNet ResNets, else 32."""
    return 64 if name in ("resnet18", "resnet34") else 32
