"""CelebAMask-HQ subsets in the common flat layout: ``{split}/images/NAME.jpg`` + ``{split}/masks/NAME.png``.

The masks are palette or grey PNGs, the same size as their images, whose pixel values are
CelebAMask-HQ's ids 0..18 (docs/paper.md, "Datasets"). Subsets often come with fewer folders than
the three splits: one ``train/`` folder, ``train/`` and ``val/``, or ``images/`` and ``masks/`` at
the top. With all three split folders each is read as is. With a single folder, its pairs are split
reproducibly: sorted by name, shuffled with ``split_seed``, then cut into ``FRACTIONS``;
``split_record`` says what was done, and training and evaluation store it with their results. With
two folders, those two are read as they are and the missing split is an error that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import SPLITS, Problem, Sample, check_split, pair_folder, require_dir

LAYOUT = "{split}/images/NAME.jpg with {split}/masks/NAME.png (ids 0..18)"
FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}  # of a single folder's pairs


@dataclass(frozen=True)
class Source:
    """A folder of image/mask pairs: ``images`` and ``masks`` side by side."""

    name: str  # the split folder's name, or "." for images/ and masks/ at the top
    images: Path
    masks: Path


def sources(root: Path) -> list[Source]:
    """The image/mask folder pairs of a flat subset (empty when ``root`` is not one)."""
    found = [Source(s, root / s / "images", root / s / "masks") for s in SPLITS]
    found.append(Source(".", root / "images", root / "masks"))
    return [s for s in found if s.images.is_dir() and s.masks.is_dir()]


def is_flat(root: str | Path) -> bool:
    return bool(sources(Path(root)))


def split_names(names: list[str], seed: int) -> dict[str, list[str]]:
    """A reproducible split of ``names``: sorted, shuffled with ``seed``, cut into ``FRACTIONS``.

    Every split gets at least one name when there are three or more; the counts are exact
    (1,000 names: 800 / 100 / 100)."""
    order = sorted(names)
    perm = np.random.default_rng(seed).permutation(len(order))
    n = len(order)
    n_val = max(1, round(FRACTIONS["val"] * n)) if n >= 3 else 0
    n_test = max(1, round(FRACTIONS["test"] * n)) if n >= 3 else 0
    cut = {"train": perm[: n - n_val - n_test], "val": perm[n - n_val - n_test : n - n_test]}
    cut["test"] = perm[n - n_test :]
    return {split: sorted(order[i] for i in idx) for split, idx in cut.items()}


def split_record(root: str | Path, split_seed: int = 0) -> dict:
    """How a flat subset's splits are made: read as they are, or drawn from one folder (with the seed)."""
    found = sources(Path(root))
    if len(found) == 1:
        samples, _ = pair_folder(found[0].images, found[0].masks)
        parts = split_names([s.name for s in samples], split_seed)
        return {
            "layout": "flat",
            "source": found[0].name,
            "split_seed": split_seed,
            "fractions": FRACTIONS,
            "counts": {k: len(v) for k, v in parts.items()},
        }
    return {"layout": "flat", "folders": [s.name for s in found]}


def scan(root: str | Path, split: str, *, split_seed: int = 0) -> tuple[list[Sample], list[Problem]]:
    """The samples of one split and the files that lack a partner."""
    check_split(split)
    root = Path(root)
    require_dir(root, f"the CelebAMask-HQ subset folder holding {LAYOUT}")
    found = sources(root)
    if not found:
        raise DataError(root, f"no images/ and masks/ folders; expected {LAYOUT}")
    if len(found) == 1:
        samples, problems = pair_folder(found[0].images, found[0].masks)
        keep = set(split_names([s.name for s in samples], split_seed)[split])
        return [s for s in samples if s.name in keep], problems
    by_name = {s.name: s for s in found}
    if split not in by_name:
        have = ", ".join(sorted(by_name))
        raise DataError(root / split, f"split folder not found (this subset has {have}); expected {LAYOUT}")
    return pair_folder(by_name[split].images, by_name[split].masks)


__all__ = ["FRACTIONS", "LAYOUT", "is_flat", "scan", "split_names", "split_record"]
