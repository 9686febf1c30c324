"""FP-LIIF: the full model, an EDSR-style encoder and a LIIF decoder (paper section 3).

    model = build_model("fpliif", num_classes=11)
    logits = model(images)                       # [B,3,H,W] in [0,1] -> [B,11,H,W]
    logits = model(images, out_size=512)         # any output size, independent of the input
    logits = model(images, coords=coords)        # coords [B,Q,2] in [-1,1] -> [B,11,Q]

The model returns raw logits; ``probabilities`` applies the softmax temperature. The calls and
the choice between the LIIF decoder and the U-Net ablation's dense logits are ``Segmenter``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .decoder import LIIFDecoder
from .encoder import EDSREncoder
from .registry import register
from .segmenter import ModelConfig, Segmenter
from .unet import UNetDecoder


@dataclass
class FPLIIFConfig(ModelConfig):
    num_classes: int = 11  # LaPa and Helen label sets; CelebAMask-HQ needs 19
    channels: int = 64  # encoder width and latent depth (section 3.2)
    blocks: tuple[int, int, int] = (2, 6, 16)  # resblocks per group, 24 in all (section 3.2, Fig. 2)
    norm: str = "instance"  # the paper's change to EDSR; "batch" and "none" are the 5.1 ablations
    decoder: str = "liif"  # "unet" is the conv U-Net decoder of the 5.1 ablation (paper: 9.31 M params)
    unfold: int = 3  # 3x3 feature unfolding: 64 -> 576 channels (section 3.3)
    reduce_channels: tuple[int, ...] = (256, 64)  # the two-layer channel-reducing MLP (RCMLP)
    hidden: tuple[int, ...] = (256, 256, 256, 256)  # the 4-layer, 256-wide pixel MLP
    ensemble: bool = True  # LIIF's local ensemble over the four nearest latent cells
    temperature: float = 1.0  # softmax temperature; the paper's value was lost, so 1.0 (no scaling)
    unet_widths: tuple[int, int, int] = (512, 384, 240)  # U-Net ablation widths: 9.36 M params in all
    max_queries: int = 2**17  # query points decoded at once (batch x points): bounds decoder memory

    def __post_init__(self) -> None:
        for name in ("blocks", "reduce_channels", "hidden", "unet_widths"):
            setattr(self, name, tuple(int(v) for v in getattr(self, name)))
        if self.norm not in ("instance", "batch", "none"):
            raise ValueError(f"norm must be 'instance', 'batch' or 'none', got {self.norm!r}")
        if self.decoder not in ("liif", "unet"):
            raise ValueError(f"decoder must be 'liif' or 'unet', got {self.decoder!r}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")


class FPLIIF(Segmenter):
    """Images [B,3,H,W] (float, [0,1]) -> logits [B,K,H_out,W_out] or, with coords, [B,K,Q]."""

    def __init__(self, config: FPLIIFConfig | None = None, **options: Any) -> None:
        super().__init__()
        if config is None:
            config = FPLIIFConfig(**options)
        elif options:
            config = FPLIIFConfig.from_dict({**config.to_dict(), **options})
        self.config = config
        self.implicit = config.decoder == "liif"
        self.encoder = EDSREncoder(channels=config.channels, blocks=config.blocks, norm=config.norm)  # type: ignore[arg-type]
        self.decoder: nn.Module
        if self.implicit:
            self.decoder = LIIFDecoder(
                in_channels=config.channels,
                num_classes=config.num_classes,
                unfold=config.unfold,
                reduce_channels=config.reduce_channels,
                hidden=config.hidden,
                ensemble=config.ensemble,
                max_queries=config.max_queries,
            )
        else:
            self.decoder = UNetDecoder(
                in_channels=config.channels,
                num_classes=config.num_classes,
                widths=config.unet_widths,
                norm=config.norm,  # type: ignore[arg-type]
            )

    def dense_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The U-Net ablation's logits at the input size, [B,K,H,W]."""
        return self.decoder(*self.encoder.forward_features(images))


# The paper's model and its ablations (section 5.1): name -> the FPLIIFConfig fields that differ.
VARIANTS: dict[str, dict[str, Any]] = {
    "fpliif": {},
    "fpliif-bn": {"norm": "batch"},
    "fpliif-nonorm": {"norm": "none"},
    "fpliif-noens": {"ensemble": False},
    "fpliif-unet": {"decoder": "unet"},
    # NOT the paper's model: the same structure, narrow and shallow, for smoke runs and tests
    "fpliif-tiny": {"channels": 16, "blocks": (1, 1, 1), "reduce_channels": (32, 16), "hidden": (32, 32)},
}


def variant_name(options: dict[str, Any]) -> str | None:
    """The registered ablation whose settings are exactly ``options`` (``{"norm": "batch"}`` ->
    ``fpliif-bn``), or None when no variant matches (the tiny model never does)."""
    for name, defaults in VARIANTS.items():
        if name not in ("fpliif", "fpliif-tiny") and defaults == dict(options):
            return name
    return None


def _register_variant(name: str, defaults: dict[str, Any]) -> None:
    @register(name)
    def build(num_classes: int = 11, **options: Any) -> FPLIIF:
        return FPLIIF(FPLIIFConfig(**{**defaults, "num_classes": num_classes, **options}))


for _name, _defaults in VARIANTS.items():
    _register_variant(_name, _defaults)


__all__ = ["FPLIIF", "FPLIIFConfig", "VARIANTS", "variant_name"]
