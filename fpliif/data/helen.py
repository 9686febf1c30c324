"""Helen as distributed with the SmithCVPR2013 labels.

``images/{name}.jpg``; ``labels/{name}/{name}_lbl00.png .. _lbl10.png``, one grey map per class,
merged by argmax over the 11 maps (ties go to the lower id); the split lists ``exemplars.txt``
(train), ``tuning.txt`` (val) and ``testing.txt`` (test) hold one ``index , name`` pair a line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .base import Problem, Sample, check_split, require_dir
from .io import SampleError, read_grey

SPLIT_FILES = {"train": "exemplars.txt", "val": "tuning.txt", "test": "testing.txt"}
NUM_CLASSES = 11


def label_files(root: Path, name: str) -> tuple[Path, ...]:
    return tuple(root / "labels" / name / f"{name}_lbl{c:02d}.png" for c in range(NUM_CLASSES))


def read_split_list(path: Path) -> list[str]:
    """Image names of a split list (``index , name`` a line; blank lines are skipped)."""
    if not path.is_file():
        raise DataError(path, f"Helen split list not found; expected {', '.join(SPLIT_FILES.values())}")
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise DataError(path, "not a text file (it does not decode as UTF-8)") from None
    names: list[str] = []
    first: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2 or not parts[1]:
            raise DataError(path, f"line {number}: expected 'index , name', got {line.strip()[:80]!r}")
        name = parts[1]
        if name in first:
            raise DataError(path, f"line {number}: {name!r} listed twice (first on line {first[name]})")
        first[name] = number
        names.append(name)
    if not names:
        raise DataError(path, "split list is empty")
    return names


def scan(root: str | Path, split: str) -> tuple[list[Sample], list[Problem]]:
    check_split(split)
    root = Path(root)
    require_dir(root, "the Helen folder holding images/, labels/ and the split lists")
    require_dir(root / "images", "Helen's images/{name}.jpg")
    require_dir(root / "labels", "Helen's labels/{name}/{name}_lbl00.png .. _lbl10.png")
    samples, problems = [], []
    for name in read_split_list(root / SPLIT_FILES[split]):
        image = root / "images" / f"{name}.jpg"
        labels = label_files(root, name)
        missing = [p.name for p in labels if not p.is_file()]
        if not image.is_file():
            problems.append((str(image), f"image listed in {SPLIT_FILES[split]} not found"))
        elif missing:
            problems.append((str(labels[0].parent), f"label maps missing: {', '.join(missing)}"))
        else:
            samples.append(Sample(name, image, labels))
    return samples, problems


def merge_labels(sample: Sample) -> np.ndarray:
    """The per-class grey maps of one image -> uint8 ids [H,W] (argmax over classes)."""
    maps = [read_grey(p, "label map") for p in sample.label]
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        sizes = ", ".join(
            f"{p.name}: {m.shape[1]}x{m.shape[0]}" for p, m in zip(sample.label, maps, strict=True)
        )
        raise SampleError(sample.label[0].parent, f"per-class label maps differ in size ({sizes})")
    return np.argmax(np.stack(maps), axis=0).astype(np.uint8)
