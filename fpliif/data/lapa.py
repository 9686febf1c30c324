"""LaPa as distributed: ``{train,val,test}/images/*.jpg`` with ``labels/*.png`` (ids 0..10).

The ``landmarks/`` folders are not used.
"""

from __future__ import annotations

from pathlib import Path

from .base import Problem, Sample, check_split, pair_folder, require_dir

LAYOUT = "LaPa's train/, val/ and test/ folders, each with images/ and labels/"


def scan(root: str | Path, split: str) -> tuple[list[Sample], list[Problem]]:
    """The samples of one split, paired by file stem, and the files that lack a partner."""
    check_split(split)
    root = Path(root)
    require_dir(root, f"the LaPa folder holding {LAYOUT}")
    require_dir(root / split, f"the {split!r} split of {LAYOUT}")
    require_dir(root / split / "images", f"the {split} images (*.jpg)")
    require_dir(root / split / "labels", f"the {split} label maps (*.png, one id per pixel)")
    return pair_folder(root / split / "images", root / split / "labels")
