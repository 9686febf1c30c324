"""Conventional dense segmentation nets, wrapped to train and evaluate exactly like FP-LIIF.

A dense net predicts logits on a fixed grid (for BiSeNet, the input grid); the wrapper resizes
them bilinearly to any requested output size, or samples them at query coordinates, so the same
trainer, losses, evaluation protocols and checkpoints serve both. Used for the paper's Table 9
(a lightweight segmentation model beside ours): BiSeNet with a ResNet-18 backbone stands in for
SFNet, which has no maintained CPU-friendly implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .peers import BiSeNet
from .registry import register
from .segmenter import ModelConfig, Segmenter


@dataclass
class DenseConfig(ModelConfig):
    num_classes: int = 11  # LaPa/Helen label set; 19 for CelebAMask-HQ
    net: str = "bisenet"  # the dense net: BiSeNet V1 with a ResNet-18 backbone
    temperature: float = 1.0  # softmax temperature, as for FP-LIIF

    def __post_init__(self) -> None:
        if self.net != "bisenet":
            raise ValueError(f"net must be 'bisenet', got {self.net!r}")


class DenseSegmenter(Segmenter):
    """Images [B,3,H,W] in [0,1] -> logits [B,K,H_out,W_out], or with coords [B,Q,2] -> [B,K,Q].

    In training mode BiSeNet also returns auxiliary heads; only the main head is used.
    """

    def __init__(self, config: DenseConfig | None = None, **options: Any) -> None:
        super().__init__()
        self.config = config or DenseConfig(**options)
        self.net = BiSeNet(self.config.num_classes)

    def dense_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The net's main head, [B,K,H,W]."""
        out = self.net(images)
        return out[0] if isinstance(out, tuple) else out


@register("bisenet-r18")
def bisenet_r18(num_classes: int = 11, **options: Any) -> DenseSegmenter:
    """BiSeNet (ResNet-18) trained and evaluated like FP-LIIF: Table 9's light peer."""
    return DenseSegmenter(DenseConfig(num_classes=num_classes, **options))
