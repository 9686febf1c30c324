"""The canvas a face is painted on: the image, its 19-class label map and each part's extent."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from skimage.draw import polygon as fill_polygon

from .shading import Colour, Shader


@dataclass
class Canvas:
    """The image being painted (float32 [S,S,3]), its 19-class labels and each part's painted extent."""

    size: int
    image: np.ndarray
    label: np.ndarray
    extents: dict[int, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    under_glasses: np.ndarray | None = None

    def fill(self, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return fill_polygon(poly[:, 1], poly[:, 0], (self.size, self.size))

    def paint(
        self,
        part: int,
        poly: np.ndarray,
        shader: Shader | Colour | None,
        *,
        only: int | tuple[int, ...] | None = None,
        label: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Paint a polygon (pixel coordinates) as ``part`` (0 = background); ``only`` restricts it to
        pixels already labelled so, ``label=False`` changes the image alone, ``shader=None`` the
        label alone."""
        rr, cc = self.fill(poly)
        if only is not None and rr.size:
            keep = np.isin(self.label[rr, cc], only)
            rr, cc = rr[keep], cc[keep]
        if rr.size == 0:
            return rr, cc
        if shader is not None:
            self.image[rr, cc] = shader(rr, cc) if callable(shader) else shader
        if label:
            self.label[rr, cc] = part
            if part:
                self.extents.setdefault(part, []).append((rr, cc))
        return rr, cc

    def part_masks(self) -> dict[int, np.ndarray]:
        """For each painted part p, bool [S,S]: where it was painted and is still p or covered by a
        part that comes later in the official order (ids > p). Merging them reproduces ``label``."""
        masks = {}
        for part, extents in self.extents.items():
            full = np.zeros(self.label.shape, dtype=bool)
            for rr, cc in extents:
                full[rr, cc] = True
            mask = full & (self.label >= part)
            if mask.any():
                masks[part] = mask
        return masks
