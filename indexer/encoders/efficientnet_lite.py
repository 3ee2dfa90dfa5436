"""EfficientNet-Lite in plain torch, and its evaluation transform in Pillow + numpy.

The offline model's classifier used to be built by timm, whose import pulls in torchvision and
torch._dynamo: 3-4 s of every ``scout index`` start-up before the first image is embedded, for a
network of seven stages of two block types. This module builds the same network with the same
parameter names and order as timm's ``efficientnet_lite0`` and ``tf_efficientnet_lite{0,1,2}``
(so checkpoints load unchanged), and ``tests/indexer/encoders/test_efficientnet_lite.py`` checks
its outputs and its transform against timm's on the same weights and images.

The ``tf_`` variants reproduce TensorFlow's originals: SAME padding (asymmetric for stride 2),
batch-norm epsilon 1e-3 and inputs scaled to [-1, 1]; ``efficientnet_lite0`` uses PyTorch's
symmetric padding, epsilon 1e-5 and ImageNet mean/std.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

# (block, repeats, kernel, stride, expansion, output channels) per stage, before scaling
STAGES = (("ds", 1, 3, 1, 1, 16), ("ir", 2, 3, 2, 6, 24), ("ir", 2, 5, 2, 6, 40), ("ir", 3, 3, 2, 6, 80),
          ("ir", 3, 5, 1, 6, 112), ("ir", 4, 5, 2, 6, 192), ("ir", 1, 3, 1, 6, 320))
STEM, HEAD, CLASSES = 32, 1280, 1000
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Arch:
    channels: float  # width multiplier
    depth: float  # repeats multiplier (first and last stage fixed)
    size: int  # input side
    crop_pct: float
    tf: bool  # TensorFlow SAME padding, eps 1e-3, [-1, 1] inputs

    @property
    def mean_std(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return ((0.5,) * 3, (0.5,) * 3) if self.tf else (IMAGENET_MEAN, IMAGENET_STD)


ARCHS = {
    "efficientnet_lite0": Arch(1.0, 1.0, 224, 0.875, tf=False),
    "tf_efficientnet_lite0": Arch(1.0, 1.0, 224, 0.875, tf=True),
    "tf_efficientnet_lite1": Arch(1.0, 1.1, 240, 0.882, tf=True),
    "tf_efficientnet_lite2": Arch(1.1, 1.2, 260, 0.890, tf=True),
}


def make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's SAME padding, computed from each input's size (stride-2
    layers pad one pixel more on the bottom/right than on the top/left)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:][::-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, tf: bool = True) -> nn.Conv2d:
    if tf and stride > 1:
        return SameConv2d(cin, cout, k, stride, padding=0, groups=groups, bias=False)
    return nn.Conv2d(cin, cout, k, stride, padding=((stride - 1) + (k - 1)) // 2, groups=groups, bias=False)


def _fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Make ``conv`` compute ``bn(conv(x))`` with running statistics (inference only)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    conv.weight = nn.Parameter((conv.weight * scale.reshape(-1, 1, 1, 1)).detach(), requires_grad=False)
    conv.bias = nn.Parameter(shift.detach(), requires_grad=False)


class DepthwiseSeparable(nn.Module):
    CONV_BN = (("conv_dw", "bn1"), ("conv_pw", "bn2"))

    def __init__(self, cin: int, cout: int, k: int, stride: int, eps: float, tf: bool):
        super().__init__()
        self.conv_dw = _conv(cin, cin, k, stride, groups=cin, tf=tf)
        self.bn1 = nn.BatchNorm2d(cin, eps=eps)
        self.conv_pw = _conv(cin, cout, 1, tf=tf)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv_pw(F.relu6(self.bn1(self.conv_dw(x)))))
        return x + y if self.skip else y


class InvertedResidual(nn.Module):
    CONV_BN = (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3"))

    def __init__(self, cin: int, cout: int, k: int, stride: int, expansion: int, eps: float, tf: bool):
        super().__init__()
        mid = make_divisible(cin * expansion)
        self.conv_pw = _conv(cin, mid, 1, tf=tf)
        self.bn1 = nn.BatchNorm2d(mid, eps=eps)
        self.conv_dw = _conv(mid, mid, k, stride, groups=mid, tf=tf)
        self.bn2 = nn.BatchNorm2d(mid, eps=eps)
        self.conv_pwl = _conv(mid, cout, 1, tf=tf)
        self.bn3 = nn.BatchNorm2d(cout, eps=eps)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.bn1(self.conv_pw(x)))
        y = F.relu6(self.bn2(self.conv_dw(y)))
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.skip else y


class EfficientNetLite(nn.Module):
    """ImageNet logits from a normalised NCHW batch; parameter names as timm's."""

    CONV_BN = (("conv_stem", "bn1"), ("conv_head", "bn2"))

    def __init__(self, arch: Arch):
        super().__init__()
        eps = 1e-3 if arch.tf else 1e-5
        self.conv_stem = _conv(3, STEM, 3, 2, tf=arch.tf)
        self.bn1 = nn.BatchNorm2d(STEM, eps=eps)
        stages, cin = [], STEM
        for index, (kind, repeats, k, stride, expansion, cout) in enumerate(STAGES):
            if 0 < index < len(STAGES) - 1:
                repeats = math.ceil(repeats * arch.depth)
            cout = make_divisible(cout * arch.channels)
            blocks = []
            for repeat in range(repeats):
                s = stride if repeat == 0 else 1
                blocks.append(DepthwiseSeparable(cin, cout, k, s, eps, arch.tf) if kind == "ds"
                              else InvertedResidual(cin, cout, k, s, expansion, eps, arch.tf))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = _conv(cin, HEAD, 1, tf=arch.tf)
        self.bn2 = nn.BatchNorm2d(HEAD, eps=eps)
        self.classifier = nn.Linear(HEAD, CLASSES)

    def fold_batchnorm(self) -> EfficientNetLite:
        """Fold every batch norm into the convolution before it, for inference after the weights
        are loaded (the parameter names change, so it comes after ``load_state_dict``). On the
        2-core CPU this and channels-last memory made the network 1.5-1.9x as fast as timm's at
        batches of 8-64 (BENCHMARKS.md "Indexing throughput"); logits move by under 1e-4."""
        for module in self.modules():
            for conv, bn in getattr(module, "CONV_BN", ()):
                if isinstance(getattr(module, bn), nn.BatchNorm2d):
                    _fold_into(getattr(module, conv), getattr(module, bn))
                    setattr(module, bn, nn.Identity())
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.bn1(self.conv_stem(x)))
        x = self.blocks(x)
        x = F.relu6(self.bn2(self.conv_head(x)))
        return self.classifier(x.mean(dim=(2, 3)))


class EvalTransform:
    """timm's evaluation transform for these models without torchvision: resize the short side
    to ``size / crop_pct`` (bicubic, as Pillow does it for torchvision), centre-crop ``size``,
    scale to [0, 1] and normalise. Picklable, so index engines copy it to their workers."""

    def __init__(self, arch: Arch):
        self.size = arch.size
        self.scale = math.floor(arch.size / arch.crop_pct)
        mean, std = arch.mean_std
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        w, h = image.size
        if w <= h:
            new_w, new_h = self.scale, int(self.scale * h / w)
        else:
            new_w, new_h = int(self.scale * w / h), self.scale
        resized = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
        top = int(round((new_h - self.size) / 2.0))
        left = int(round((new_w - self.size) / 2.0))
        cropped = resized.crop((left, top, left + self.size, top + self.size))
        pixels = np.asarray(cropped.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
        return torch.from_numpy((pixels - self.mean) / self.std)
