"""ResNet-18 and ResNet-50 (He et al. 2016) with torchvision's ``state_dict`` keys.

The paper prunes ResNet-50 on ImageNet (arXiv:2402.17902, Section 4). The modules and
parameter names follow torchvision's ``resnet18``/``resnet50`` exactly (``conv1``,
``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``, ``fc``...), so a torchvision
checkpoint loads with ``load_state_dict`` without torchvision installed. Two
options for small runs keep the keys: ``width`` scales every channel count (64 is
the standard), and ``small_input=True`` uses a 3x3 stride-1 stem without max
pooling, for 32 x 32 images.
"""

from __future__ import annotations

from torch import nn

from nonconvex_reg.validation import check_int

__all__ = ["ResNet", "resnet18", "resnet50"]


def _conv3x3(c_in, c_out, stride=1):
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


def _conv1x1(c_in, c_out, stride=1):
    return nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""

    expansion = 1

    def __init__(self, c_in, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv3x3(c_in, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        """``relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x))``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (stride here, as torchvision v1.5), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, c_in, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv1x1(c_in, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        """Three convolutions plus the shortcut."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class ResNet(nn.Module):
    """A ResNet with torchvision's layout and parameter names.

    Parameters
    ----------
    block : type
        ``BasicBlock`` or ``Bottleneck``.
    layers : sequence of int
        Blocks per stage, e.g. ``(2, 2, 2, 2)`` or ``(3, 4, 6, 3)``.
    num_classes : int, default=1000
    width : int, default=64
        Channels of the first stage; later stages double it.
    small_input : bool, default=False
        3x3 stride-1 stem without max pooling (32 x 32 inputs).
    """

    def __init__(self, block, layers, num_classes=1000, width=64, small_input=False):
        super().__init__()
        num_classes = check_int(num_classes, "num_classes", low=1)
        width = check_int(width, "width", low=1)
        self.c_in = width
        if small_input:
            self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._stage(block, width, layers[0], 1)
        self.layer2 = self._stage(block, 2 * width, layers[1], 2)
        self.layer3 = self._stage(block, 4 * width, layers[2], 2)
        self.layer4 = self._stage(block, 8 * width, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(
                    module.weight, mode="fan_out", nonlinearity="relu"
                )
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _stage(self, block, planes, n_blocks, stride):
        downsample = None
        if stride != 1 or self.c_in != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.c_in, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        blocks = [block(self.c_in, planes, stride, downsample)]
        self.c_in = planes * block.expansion
        blocks += [block(self.c_in, planes) for _ in range(1, n_blocks)]
        return nn.Sequential(*blocks)

    def forward(self, x):
        """Logits of shape ``(batch, num_classes)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes=1000, width=64, small_input=False) -> ResNet:
    """ResNet-18: basic blocks ``(2, 2, 2, 2)``, 11.7M parameters at width 64."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, width, small_input)


def resnet50(num_classes=1000, width=64, small_input=False) -> ResNet:
    """ResNet-50: bottlenecks ``(3, 4, 6, 3)``, 25.6M parameters at width 64."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, width, small_input)
