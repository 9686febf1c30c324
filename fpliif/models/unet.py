"""The conv U-Net-type decoder of the paper's ablation (section 5.1: "about 9.31 M parameters").

The paper gives only the total parameter count. We build a classic U-Net up-path on the
encoder's three scales:

    latent [B,64,H/4,W/4] -> DoubleConv(64 -> c3)                                 (bottleneck)
    up x2, concat skip2 [B,64,H/2,W/2] -> DoubleConv(c3 + 64 -> c2)
    up x2, concat skip1 [B,64,H,W]     -> DoubleConv(c2 + 64 -> c1) -> 1x1 conv -> K logits

with (c3, c2, c1) = (512, 384, 240) (``FPLIIFConfig.unet_widths``), which puts the whole
``fpliif-unet`` model at 9,358,779 parameters, 9.36 M (within 5% of the paper's, checked by
tests/test_fingerprint.py). Logits come out at the input resolution and are resized
bilinearly to any requested output size (the model is not an implicit function).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .encoder import Norm, conv3x3, make_norm


class DoubleConv(nn.Module):
    """(conv3x3-norm-ReLU) x 2. [B,c_in,H,W] -> [B,c_out,H,W]."""

    def __init__(self, *, c_in: int, c_out: int, norm: Norm) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(c_in, c_out),
            make_norm(norm, c_out),
            nn.ReLU(inplace=True),
            conv3x3(c_out, c_out),
            make_norm(norm, c_out),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UNetDecoder(nn.Module):
    """(skip1 [B,C,H,W], skip2 [B,C,H/2,W/2], latent [B,C,H/4,W/4]) -> logits [B,K,H,W]."""

    def __init__(
        self,
        *,
        in_channels: int = 64,
        num_classes: int = 11,
        widths: tuple[int, int, int] = (512, 384, 240),
        norm: Norm = "instance",
    ) -> None:
        super().__init__()
        c3, c2, c1 = widths
        self.bottleneck = DoubleConv(c_in=in_channels, c_out=c3, norm=norm)
        self.up2 = DoubleConv(c_in=c3 + in_channels, c_out=c2, norm=norm)
        self.up1 = DoubleConv(c_in=c2 + in_channels, c_out=c1, norm=norm)
        self.head = nn.Conv2d(c1, num_classes, kernel_size=1)

    def forward(self, skip1: torch.Tensor, skip2: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        x = self.bottleneck(latent)
        x = F.interpolate(x, size=skip2.shape[-2:], mode="bilinear", align_corners=False)
        x = self.up2(torch.cat([x, skip2], dim=1))
        x = F.interpolate(x, size=skip1.shape[-2:], mode="bilinear", align_corners=False)
        x = self.up1(torch.cat([x, skip1], dim=1))
        return self.head(x)
