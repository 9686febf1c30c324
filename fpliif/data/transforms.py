"""Resizing and the paper's training augmentations, applied to an image and its label map together.

Resizing: bicubic (antialiased) for images, as the paper resizes them (section 4.2); nearest for
label maps, our reading (docs/paper.md, "Readings": the paper says bicubic for masks too).

Augmentations (section 4.2; docs/paper.md, "Training recipe"): a random affine (rotation up to 30 degrees,
shear 0..20, scale 0.5..3) followed by a random crop, then colour jitter (brightness [0.5, 1.5],
contrast [0, 2], saturation [0.5, 1.5], hue [-0.3, 0.3]). They run as torchvision transforms v2
on a ``tv_tensors.Image`` and a ``tv_tensors.Mask``, so one sampled geometry moves both; label
pixels that the affine brings in from outside the image are 255 (ignored by losses and metrics),
image pixels there are black. The paper mentions no flip; ``hflip`` (off by default) flips and
swaps the left/right ids of the dataset's ``flip_pairs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from ..sizes import Size
from .info import IGNORE_INDEX, DatasetInfo


def resize_image(image: torch.Tensor, size: Size) -> torch.Tensor:
    """[3,H,W] -> [3,*size], bicubic with antialiasing, as the paper resizes its inputs.

    uint8 images stay uint8; float images in [0, 1] stay float and are clamped to [0, 1].
    """
    if tuple(image.shape[-2:]) == size:
        return image
    out = TF.resize(image, list(size), interpolation=v2.InterpolationMode.BICUBIC, antialias=True)
    return out.clamp_(0, 1) if out.is_floating_point() else out


def resize_label(label: torch.Tensor, size: Size) -> torch.Tensor:
    """uint8 [H,W] -> uint8 [*size], nearest (pixel centres aligned, so it stays on its image)."""
    if tuple(label.shape[-2:]) == size:
        return label
    return TF.resize(label[None], list(size), interpolation=v2.InterpolationMode.NEAREST_EXACT)[0]


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentations; the defaults are the paper's (section 4.2). Each stage can be switched off."""

    affine: bool = True
    degrees: float = 30.0  # rotation drawn from [-degrees, degrees]
    shear: tuple[float, float] = (0.0, 20.0)  # x-shear in degrees, as printed ("between 0 to 20")
    scale: tuple[float, float] = (0.5, 3.0)
    translate: tuple[float, float] = (0.0, 0.0)  # fraction of width, height; the paper gives none
    crop: bool = True
    # The random crop after the affine: the fraction of the image area it keeps (the paper gives no
    # value); the crop is resized back to the input size.
    crop_area: tuple[float, float] = (0.64, 1.0)
    color_jitter: bool = True
    brightness: tuple[float, float] = (0.5, 1.5)
    contrast: tuple[float, float] = (0.0, 2.0)
    saturation: tuple[float, float] = (0.5, 1.5)
    hue: tuple[float, float] = (-0.3, 0.3)
    hflip: bool = False  # not in the paper; swaps left/right ids when it flips

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AugmentConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown augmentation options {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def as_augment_config(augment: bool | AugmentConfig | Mapping[str, Any] | None) -> AugmentConfig | None:
    """``augment`` of ``build_dataset``: False/None (none), True (the paper's), a config or a dict."""
    if augment is None or augment is False:
        return None
    if augment is True:
        return AugmentConfig()
    if isinstance(augment, AugmentConfig):
        return augment
    if isinstance(augment, Mapping):
        return AugmentConfig.from_dict(augment)
    raise TypeError(f"augment must be a bool, an AugmentConfig or a dict, got {type(augment).__name__}")


class Augment:
    """Random augmentation of one sample: uint8 image [3,H,W] and uint8 label [H,W] -> same shapes.

    Draws from torch's global generator (seeded per DataLoader worker by PyTorch).
    """

    def __init__(self, config: AugmentConfig, info: DatasetInfo) -> None:
        self.config = config
        self.flip_lut = torch.from_numpy(info.flip_lut())
        geometric: list[v2.Transform] = []
        if config.affine:
            geometric.append(
                v2.RandomAffine(
                    degrees=config.degrees,
                    translate=config.translate if any(config.translate) else None,
                    scale=config.scale,
                    shear=config.shear,
                    interpolation=v2.InterpolationMode.BILINEAR,
                    fill={tv_tensors.Image: 0, tv_tensors.Mask: IGNORE_INDEX},
                )
            )
        self.geometric = v2.Compose(geometric) if geometric else None
        self.jitter = (
            v2.ColorJitter(
                brightness=config.brightness,
                contrast=config.contrast,
                saturation=config.saturation,
                hue=config.hue,
            )
            if config.color_jitter
            else None
        )

    def __call__(self, image: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img, mask = tv_tensors.Image(image), tv_tensors.Mask(label)
        if self.geometric is not None:
            img, mask = self.geometric(img, mask)
        if self.config.crop:
            size = tuple(image.shape[-2:])
            crop = v2.RandomResizedCrop(
                size,
                scale=self.config.crop_area,
                ratio=(size[1] / size[0], size[1] / size[0]),
                interpolation=v2.InterpolationMode.BICUBIC,
                antialias=True,
            )
            img, mask = crop(img, mask)
        if self.config.hflip and torch.rand(()) < 0.5:
            img, mask = TF.horizontal_flip(img), self.flip_lut[TF.horizontal_flip(mask).long()]
        if self.jitter is not None:
            img = self.jitter(img)
        return img.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)


def to_sample_tensors(image: np.ndarray, label: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 [H,W,3] and uint8 [H,W] arrays -> uint8 tensors [3,H,W] and [H,W]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))), torch.from_numpy(label)
