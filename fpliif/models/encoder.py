"""The FP-LIIF image encoder: a modified EDSR (paper section 3.2, Figures 2 and 5).

    image [B,3,H,W] -> head conv -> group1 (2 resblocks, full res) -> stride-2 conv
                    -> group2 (6 resblocks, 1/2) -> stride-2 conv
                    -> group3 (16 resblocks + closing conv, 1/4) -> latent [B,64,H/4,W/4]

Each group adds its input to its output (a residual around the group). Every resblock is
conv-norm-ReLU-conv-norm with an identity shortcut; the paper's change to EDSR is the
instance norm after every conv (``norm="instance"``), the ablations use batch norm or none.

The closing 3x3 conv of group3 is EDSR's "conv at the end of the body". The paper does not
draw it, but it is what makes the parameter count (2.29 M) and the encoder's share of the
multiply-accumulates (the ~23.6 G intercept of Table 6) come out right; see
``fpliif.models.complexity`` and tests/test_fingerprint.py.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Norm = Literal["instance", "batch", "none"]


def make_norm(norm: Norm, channels: int) -> nn.Module:
    """The normalisation after each resblock conv. Instance norm keeps its affine parameters."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'instance', 'batch' or 'none', got {norm!r}")


def conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """conv-norm-ReLU-conv-norm plus identity. [B,C,H,W] -> [B,C,H,W]."""

    def __init__(self, *, channels: int, norm: Norm) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(channels, channels),
            make_norm(norm, channels),
            nn.ReLU(inplace=True),
            conv3x3(channels, channels),
            make_norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResGroup(nn.Module):
    """``num_blocks`` resblocks (and optionally a closing conv) with a residual around them.

    [B,C,H,W] -> [B,C,H,W]
    """

    def __init__(self, *, channels: int, num_blocks: int, norm: Norm, closing_conv: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [ResBlock(channels=channels, norm=norm) for _ in range(num_blocks)]
        if closing_conv:
            layers.append(conv3x3(channels, channels))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class EDSREncoder(nn.Module):
    """Image [B,3,H,W] in [0,1] -> latent [B,C,ceil(H/4),ceil(W/4)].

    ``forward_features`` also returns the two skip tensors (full and 1/2 resolution) that the
    U-Net ablation decoder uses.
    """

    def __init__(
        self,
        *,
        channels: int = 64,
        blocks: tuple[int, int, int] = (2, 6, 16),
        norm: Norm = "instance",
    ) -> None:
        super().__init__()
        self.out_channels = channels
        # Inputs are scaled to [-1, 1] inside the model, so callers always pass [0, 1] images.
        self.register_buffer("mean", torch.full((1, 3, 1, 1), 0.5), persistent=False)
        self.register_buffer("std", torch.full((1, 3, 1, 1), 0.5), persistent=False)
        self.head = conv3x3(3, channels)
        self.group1 = ResGroup(channels=channels, num_blocks=blocks[0], norm=norm, closing_conv=False)
        self.down1 = conv3x3(channels, channels, stride=2)
        self.group2 = ResGroup(channels=channels, num_blocks=blocks[1], norm=norm, closing_conv=False)
        self.down2 = conv3x3(channels, channels, stride=2)
        self.group3 = ResGroup(channels=channels, num_blocks=blocks[2], norm=norm, closing_conv=True)

    def forward_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (skip1 [B,C,H,W], skip2 [B,C,H/2,W/2], latent [B,C,H/4,W/4])."""
        x = (images - self.mean) / self.std
        s1 = self.group1(self.head(x))
        s2 = self.group2(self.down1(s1))
        latent = self.group3(self.down2(s2))
        return s1, s2, latent

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_features(images)[2]
