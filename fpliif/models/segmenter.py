"""The calling convention every segmentation model here shares, written once.

    logits = model(images)                       # [B,3,H,W] in [0,1] -> [B,K,H,W]
    logits = model(images, out_size=512)         # any output size, independent of the input
    logits = model(images, coords=coords)        # coords [B,Q,2] in [-1,1], (y, x) -> [B,K,Q]
    maps = model.forward_sizes(images, [64, 256])  # several sizes from one encoder pass

An *implicit* model (FP-LIIF with its LIIF decoder) decodes exactly the pixels asked for:
``decoder(encoder(images), coords=...)`` or ``decoder(..., out_size=...)``. A *dense* one (the
U-Net ablation, BiSeNet) predicts logits on a fixed grid (``dense_logits``), which
``resample_logits`` resizes bilinearly or samples at the coordinates. The paper-faithful
``FPLIIF``, its fast inference path ``FastFPLIIF`` and ``DenseSegmenter`` all subclass
``Segmenter``, so they answer the same calls the same way; their configs are ``ModelConfig``s.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from ..sizes import as_size

C = TypeVar("C", bound="ModelConfig")


def resample_logits(
    logits: torch.Tensor, size: tuple[int, int], coords: torch.Tensor | None = None
) -> torch.Tensor:
    """Dense logits [B,K,h,w] at another size (bilinear) -> [B,K,H,W], or at coords [B,Q,2] -> [B,K,Q].

    Resized logits come back contiguous whatever the input's memory format (the fast path's
    U-Net logits are channels_last)."""
    if coords is not None:
        grid = coords.flip(-1).unsqueeze(1).to(logits.dtype)  # (y, x) -> grid_sample's (x, y); [B,1,Q,2]
        return F.grid_sample(logits, grid, mode="bilinear", align_corners=False).squeeze(2)
    if size != tuple(logits.shape[-2:]):
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    return logits.contiguous()


class ModelConfig:
    """What a model's config dataclass shares: a plain dict for checkpoints and YAML (tuples as
    lists), and the way back, which refuses options the model does not have."""

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model options {unknown}; known: {sorted(known)}")
        return cls(**d)


class Segmenter(nn.Module):
    """Images [B,3,H,W] (float, [0,1]) -> logits [B,K,H_out,W_out] or, with coords, [B,K,Q].

    A subclass sets ``config`` (with ``num_classes`` and ``temperature``) and either
    ``implicit = True`` with an ``encoder`` and a LIIF-style ``decoder``, or ``dense_logits``.
    """

    config: Any
    implicit: bool = False

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def dense_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits [B,K,h,w] on the model's own grid (dense models only)."""
        raise NotImplementedError(f"{type(self).__name__} is implicit: it has no dense logits")

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
        if not self.implicit:
            return resample_logits(self.dense_logits(images), size, coords)
        latent = self.encoder(images)
        if coords is not None:
            return self.decoder(latent, coords=coords)
        return self.decoder(latent, out_size=size)

    def forward_sizes(
        self, images: torch.Tensor, sizes: list[int | tuple[int, int]]
    ) -> dict[tuple[int, int], torch.Tensor]:
        """Logits at several output sizes from one encoder pass: {(H, W): [B,K,H,W]}."""
        if not self.implicit:
            logits = self.dense_logits(images)
            return {as_size(s): resample_logits(logits, as_size(s)) for s in sizes}
        latent = self.encoder(images)
        return {as_size(s): self.decoder(latent, out_size=as_size(s)) for s in sizes}

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over classes (dim 1) with the configured temperature."""
        return torch.softmax(logits / self.config.temperature, dim=1)

    @torch.inference_mode()
    def predict(self, images: torch.Tensor, out_size: int | tuple[int, int] | None = None) -> torch.Tensor:
        """Label maps [B,H_out,W_out] (long)."""
        return self(images, out_size).argmax(dim=1)


__all__ = ["ModelConfig", "Segmenter", "resample_logits"]
