"""Peer networks for speed comparisons (random weights: only their cost matters here).

Registered models:

  bisenet         BiSeNet (V1) with a ResNet-18 backbone, the common open face parser
                  (zllrunning/face-parsing.PyTorch): the spatial path replaced by ResNet-18's
                  1/8 features, an attention-refined context path and a feature-fusion module.
                  13.29 M parameters with 19 classes (13.3 M quoted for it, docs/paper.md
                  "Peers"), counting the two auxiliary heads used only in training; in eval mode
                  only the main head runs.
                  That repository evaluates at 512x512 (``BISENET_INPUT``).
  resnet101       torchvision's ResNet-101 (``weights=None``), features only (no pooling or fc),
                  output stride 32: 42.5 M parameters.
  resnet101-os8   the same network with the last two stages dilated instead of strided (output
                  stride 8), as the peers' backbones are (DML-CSR: strides 1,2,1,1 with dilation
                  in the last stage; EAGR/AGRNet likewise).

DML-CSR, EAGR and AGRNet all train and test at 473x473 (``PEER_INPUT``; DML-CSR's README runs
``--input-size 473,473``, EAGRNet's training script defaults to ``INPUT_SIZE = '473,473'``).
Their full networks add a deep stem, graph/context heads and edge branches on top of a
ResNet-101, so a ResNet-101 at 473x473 is a lower bound on their cost: the plain one (OS 32) a
loose bound, the dilated one (OS 8, the same multiply-accumulates as their backbones up to the
stem) a tight one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from .registry import register

PEER_INPUT = 473  # DML-CSR, EAGR, AGRNet
BISENET_INPUT = 512  # zllrunning/face-parsing.PyTorch's test resolution


class ConvBNReLU(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class AttentionRefinement(nn.Module):
    """conv-BN-ReLU, then a channel attention from the global average (1x1 conv, BN, sigmoid)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_out)
        self.attention = nn.Sequential(
            nn.Conv2d(c_out, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x)
        return feat * self.attention(F.adaptive_avg_pool2d(feat, 1))


class FeatureFusion(nn.Module):
    """Concatenate, 1x1 conv-BN-ReLU, then a squeeze-excitation style residual attention."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = ConvBNReLU(c_in, c_out, kernel=1)
        self.attention = nn.Sequential(
            nn.Conv2d(c_out, c_out // 4, 1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out // 4, c_out, 1, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feat = self.conv(torch.cat([spatial, context], dim=1))
        return feat + feat * self.attention(F.adaptive_avg_pool2d(feat, 1))


class SegHead(nn.Sequential):
    def __init__(self, c_in: int, c_mid: int, num_classes: int) -> None:
        super().__init__(ConvBNReLU(c_in, c_mid), nn.Conv2d(c_mid, num_classes, 1, bias=False))


class BiSeNet(nn.Module):
    """BiSeNet V1, ResNet-18 backbone. Images [B,3,H,W] -> logits [B,K,H,W] (eval: main head only).

    Training mode returns (main, aux16, aux32) like the original.
    """

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__()
        r = torchvision.models.resnet18(weights=None)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1)
        self.layer2, self.layer3, self.layer4 = r.layer2, r.layer3, r.layer4
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.head32 = ConvBNReLU(128, 128)
        self.head16 = ConvBNReLU(128, 128)
        self.global_context = ConvBNReLU(512, 128, kernel=1)
        self.ffm = FeatureFusion(256, 256)
        self.out = SegHead(256, 256, num_classes)
        self.out16 = SegHead(128, 64, num_classes)  # auxiliary heads (training only)
        self.out32 = SegHead(128, 64, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        size = images.shape[-2:]
        feat8 = self.layer2(self.stem(images))
        feat16 = self.layer3(feat8)
        feat32 = self.layer4(feat16)
        glob = self.global_context(F.adaptive_avg_pool2d(feat32, 1))
        up32 = self.arm32(feat32) + glob  # broadcast == nearest upsampling of the 1x1 map
        up32 = self.head32(F.interpolate(up32, size=feat16.shape[-2:], mode="nearest"))
        up16 = self.arm16(feat16) + up32
        up16 = self.head16(F.interpolate(up16, size=feat8.shape[-2:], mode="nearest"))
        logits = self.out(self.ffm(feat8, up16))
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=True)
        if not self.training:
            return logits
        aux = [
            F.interpolate(head(x), size=size, mode="bilinear", align_corners=True)
            for head, x in ((self.out16, up16), (self.out32, up32))
        ]
        return logits, *aux


class ResNetFeatures(nn.Module):
    """torchvision ResNet-101 (random weights) without pooling and fc: [B,3,H,W] -> [B,2048,H/s,W/s]."""

    def __init__(self, *, output_stride: int = 32) -> None:
        super().__init__()
        dilate = {32: [False, False, False], 16: [False, False, True], 8: [False, True, True]}
        if output_stride not in dilate:
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        r = torchvision.models.resnet101(weights=None, replace_stride_with_dilation=dilate[output_stride])
        self.output_stride = output_stride
        self.body = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)


@register("bisenet")
def _bisenet(num_classes: int = 19, **_: object) -> nn.Module:
    return BiSeNet(num_classes)


@register("resnet101")
def _resnet101(num_classes: int = 19, **_: object) -> nn.Module:
    return ResNetFeatures(output_stride=32)


@register("resnet101-os8")
def _resnet101_os8(num_classes: int = 19, **_: object) -> nn.Module:
    return ResNetFeatures(output_stride=8)


__all__ = ["BISENET_INPUT", "PEER_INPUT", "BiSeNet", "ResNetFeatures"]
