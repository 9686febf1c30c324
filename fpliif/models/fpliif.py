"""FP-LIIF: the full model, an EDSR-style encoder and a LIIF decoder (paper section 3).

    model = build_model("fpliif", num_classes=11)
    logits = model(images)                       # [B,3,H,W] in [0,1] -> [B,11,H,W]
    logits = model(images, out_size=512)         # any output size, independent of the input
    logits = model(images, coords=coords)        # coords [B,Q,2] in [-1,1] -> [B,11,Q]

The model returns raw logits; ``probabilities`` applies the softmax temperature.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..sizes import as_size
from .decoder import LIIFDecoder
from .encoder import EDSREncoder
from .registry import register
from .unet import UNetDecoder


@dataclass
class FPLIIFConfig:
    num_classes: int = 11  # LaPa and Helen label sets; CelebAMask-HQ needs 19
    channels: int = 64  # encoder width and latent depth (section 3.2)
    blocks: tuple[int, int, int] = (2, 6, 16)  # resblocks per group, 24 in all (section 3.2, Fig. 2)
    norm: str = "instance"  # the paper's change to EDSR; "batch" and "none" are the 5.1 ablations
    decoder: str = "liif"  # "unet" is the conv U-Net decoder of the 5.1 ablation (9.31 M params)
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

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FPLIIFConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model options {unknown}; known: {sorted(known)}")
        return cls(**d)


def resample_logits(
    logits: torch.Tensor, size: tuple[int, int], coords: torch.Tensor | None = None
) -> torch.Tensor:
    """Dense logits [B,K,h,w] at another size (bilinear) -> [B,K,H,W], or at coords [B,Q,2] -> [B,K,Q]."""
    if coords is not None:
        grid = coords.flip(-1).unsqueeze(1).to(logits.dtype)  # (y, x) -> grid_sample's (x, y); [B,1,Q,2]
        return F.grid_sample(logits, grid, mode="bilinear", align_corners=False).squeeze(2)
    if size != tuple(logits.shape[-2:]):
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    return logits


class FPLIIF(nn.Module):
    """Images [B,3,H,W] (float, [0,1]) -> logits [B,K,H_out,W_out] or, with coords, [B,K,Q]."""

    def __init__(self, config: FPLIIFConfig | None = None, **options: Any) -> None:
        super().__init__()
        if config is None:
            config = FPLIIFConfig(**options)
        elif options:
            config = FPLIIFConfig.from_dict({**config.to_dict(), **options})
        self.config = config
        self.encoder = EDSREncoder(channels=config.channels, blocks=config.blocks, norm=config.norm)  # type: ignore[arg-type]
        self.decoder: nn.Module
        if config.decoder == "liif":
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

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def forward(
        self,
        images: torch.Tensor,
        out_size: int | tuple[int, int] | None = None,
        *,
        coords: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be [B,3,H,W], got {tuple(images.shape)}")
        size = as_size(out_size) if out_size is not None else (images.shape[-2], images.shape[-1])
        if self.config.decoder == "liif":
            latent = self.encoder(images)
            if coords is not None:
                return self.decoder(latent, coords=coords)
            return self.decoder(latent, out_size=size)
        return resample_logits(self.decoder(*self.encoder.forward_features(images)), size, coords)

    def forward_sizes(
        self, images: torch.Tensor, sizes: list[int | tuple[int, int]]
    ) -> dict[tuple[int, int], torch.Tensor]:
        """Logits at several output sizes from one encoder pass: {(H, W): [B,K,H,W]}."""
        out: dict[tuple[int, int], torch.Tensor] = {}
        if self.config.decoder == "liif":
            latent = self.encoder(images)
            for size in sizes:
                hw = as_size(size)
                out[hw] = self.decoder(latent, out_size=hw)
            return out
        logits = self.decoder(*self.encoder.forward_features(images))
        return {as_size(size): resample_logits(logits, as_size(size)) for size in sizes}

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over classes (dim 1) with the configured temperature."""
        return torch.softmax(logits / self.config.temperature, dim=1)

    @torch.inference_mode()
    def predict(self, images: torch.Tensor, out_size: int | tuple[int, int] | None = None) -> torch.Tensor:
        """Label maps [B,H_out,W_out] (long)."""
        return self(images, out_size).argmax(dim=1)


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
