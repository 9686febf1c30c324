"""Per-sample randomness from (seed, epoch, index), and LIIF-style random output pixels.

Every random choice made for a training sample (its augmentation, its sampled pixels) is drawn
from a generator seeded by (seed, epoch, sample index). Nothing depends on the order in which
samples are drawn, the DataLoader worker that draws them or the rank that trains on them, so:
- a run resumed from an epoch checkpoint continues exactly as the uninterrupted run would;
- N DDP ranks see exactly what one process with the N-times larger batch sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..losses import IGNORE_INDEX, edge_mask


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A well-mixed 63-bit seed for one sample of one epoch."""
    return int(
        np.random.SeedSequence([seed, epoch, index]).generate_state(2, dtype=np.uint32).view(np.uint64)[0]
        >> 1
    )


def pixel_coords(flat_index: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pixel-centre coordinates in [-1, 1], (y, x), of flat pixel indices of an (H, W) map. [Q] -> [Q,2]."""
    h, w = size
    y = torch.div(flat_index, w, rounding_mode="floor")
    x = flat_index % w
    return torch.stack([-1 + (2 * y + 1) / h, -1 + (2 * x + 1) / w], dim=-1).float()


def balanced_points(label: torch.Tensor, q: int, balance: float) -> torch.Tensor:
    """Q flat pixel indices of an (H, W) label map, drawn with weight ``share(class)^-balance``.

    ``share`` is the fraction of the map's labelled pixels in the pixel's class, so ``balance=1``
    gives every class present the same expected number of points and ``0.5`` the square root of
    its share. Ignored pixels are never drawn unless nothing else is labelled. The loss is not
    re-weighted: rare classes (earrings, necklaces, hats) are meant to weigh more. Without
    replacement when the map has Q drawable pixels. [H,W] -> [Q].
    """
    flat_label = label.reshape(-1).long()
    valid = flat_label != IGNORE_INDEX
    if not bool(valid.any()):
        n = flat_label.numel()
        return torch.randperm(n)[:q] if q <= n else torch.randint(n, (q,))
    counts = torch.bincount(flat_label[valid]).double()
    share = counts / counts.sum()
    weight = torch.zeros_like(flat_label, dtype=torch.double)
    weight[valid] = share[flat_label[valid]].pow(-balance)
    return torch.multinomial(weight, q, replacement=q > int(valid.sum()))


class SeededView(Dataset):
    """Wraps a dataset of ``{"image", "label", "name"}`` dicts.

    Each item is produced under a torch RNG seeded by (seed, epoch, index). With
    ``sample_points=Q > 0`` it also returns Q random pixels (without replacement when the map has
    enough): ``coords`` [Q,2], ``point_label`` [Q] and ``point_edge`` [Q] (the edge mask of the
    full label map, so the edge-aware loss sees the same edges as on the full map).

    ``point_balance=b > 0`` draws the pixels with weight ``share(class)^-b``, the share of the
    pixel's class in this label map (see ``balanced_points``); 0 draws them uniformly, as LIIF does.
    """

    def __init__(
        self, base: Dataset, *, seed: int = 0, sample_points: int = 0, point_balance: float = 0.0
    ) -> None:
        self.base = base
        self.seed = seed
        self.sample_points = sample_points
        self.point_balance = point_balance
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sample_seed(self.seed, self.epoch, index))
            item = dict(self.base[index])
            if self.sample_points > 0:
                label = item["label"]
                h, w = label.shape
                n = h * w
                q = self.sample_points
                if self.point_balance > 0:
                    flat = balanced_points(label, q, self.point_balance)
                else:
                    flat = torch.randperm(n)[:q] if q <= n else torch.randint(n, (q,))
                item["coords"] = pixel_coords(flat, (h, w))
                item["point_label"] = label.reshape(-1)[flat]
                item["point_edge"] = edge_mask(label, ignore_index=IGNORE_INDEX).reshape(-1)[flat]
        return item
