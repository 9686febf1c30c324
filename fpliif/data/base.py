"""The dataset every reader returns, and the checks it makes.

When problems are found:
- at construction, cheaply: missing folders and split files (always an error), and samples whose
  image or label file is missing (an error, or skipped with ``skip_bad``);
- at access (``__getitem__``), when a sample is decoded: unreadable, empty or truncated files,
  a label map whose size does not fit its image, ids outside the dataset's classes (255 is
  allowed: it means "ignore"). These raise ``SampleError`` naming the file, also from inside a
  DataLoader worker process;
- with ``skip_bad=True`` every sample is decoded and checked at construction (in threads), so the
  bad ones are known and dropped before training; ``.skipped`` lists them and ``report`` (a path)
  receives a JSON report. ``cache=True`` decodes everything at construction too and keeps the
  resized uint8 samples in memory; augmentation still runs on every access.
Ids are never clipped or remapped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from ..sizes import Size, as_size
from .info import IGNORE_INDEX, DatasetInfo
from .io import IMAGE_EXTENSIONS, SampleError, read_image, read_label, write_report
from .transforms import (
    Augment,
    AugmentConfig,
    as_augment_config,
    resize_image,
    resize_label,
    to_sample_tensors,
)

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Sample:
    """One image and the file(s) its label map is made from (Helen: one grey map per class)."""

    name: str
    image: Path
    label: tuple[Path, ...]


Problem = tuple[str, str]  # (file, reason)
LabelReader = Callable[[Sample], np.ndarray]


def read_single_label(sample: Sample) -> np.ndarray:
    return read_label(sample.label[0])


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")


def require_dir(path: Path, what: str) -> None:
    """A ``DataError`` naming ``path`` unless it is a folder; ``what`` says what was expected there."""
    if not path.is_dir():
        problem = "is a file, not a folder" if path.exists() else "folder not found"
        raise DataError(path, f"{problem}; expected {what}")


def pair_folder(images: Path, labels: Path, label_suffix: str = ".png") -> tuple[list[Sample], list[Problem]]:
    """Pair ``images/<stem>.<jpg|jpeg|png>`` with ``labels/<stem><label_suffix>`` by stem.

    Returns the pairs sorted by stem and a problem for every file without its partner, and for
    every name that two files share (``a.jpg`` and ``a.png``): which one is meant is unknown.
    """
    image_files, image_dups = _by_stem(p for p in images.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    label_files, label_dups = _by_stem(p for p in labels.iterdir() if p.suffix.lower() == label_suffix)
    dups = {**image_dups, **label_dups}
    samples = [
        Sample(stem, image_files[stem], (label_files[stem],))
        for stem in sorted(image_files)
        if stem in label_files and stem not in dups
    ]
    problems = [
        (str(files[0]), f"{len(files)} files share the name {stem!r} ({', '.join(p.name for p in files)})")
        for stem, files in sorted(dups.items())
    ]
    problems += [
        (str(image_files[s]), f"image without a label map (expected {labels / (s + label_suffix)})")
        for s in sorted(set(image_files) - set(label_files) - set(dups))
    ] + [
        (str(label_files[s]), f"label map without an image (expected {images / s}.jpg)")
        for s in sorted(set(label_files) - set(image_files) - set(dups))
    ]
    return samples, problems


def _by_stem(files: Iterable[Path]) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """({stem: file} of the names held by one file, {stem: files} of the names held by several)."""
    groups: dict[str, list[Path]] = {}
    for p in sorted(files):
        groups.setdefault(p.stem, []).append(p)
    single = {s: g[0] for s, g in groups.items() if len(g) == 1}
    return single, {s: g for s, g in groups.items() if len(g) > 1}


class FaceParsingDataset(Dataset):
    """Image/label pairs of one split. Item ``i`` is a dict:

    - ``image``: float32 [3,H,W] in [0,1]
    - ``label``: int64 [H,W], ids of ``info`` and 255 = ignore
    - ``name``: the file stem

    H, W is ``image_size``, or with ``image_size=None`` the label map's native size (an image
    larger than its label map, as CelebAMask-HQ's 1024 images for 512 maps, is resized to it).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        *,
        info: DatasetInfo,
        root: str | Path,
        split: str,
        image_size: int | tuple[int, int] | None = 256,
        augment: bool | AugmentConfig | dict[str, Any] | None = False,
        skip_bad: bool = False,
        report: str | Path | None = None,
        cache: bool = False,
        problems: Sequence[Problem] = (),
        label_reader: LabelReader = read_single_label,
        image_per_label: int | None = 1,
        workers: int = 2,
        record: dict[str, Any] | None = None,
    ) -> None:
        """``image_per_label``: the ratio of image side to label-map side that is allowed
        (1: equal sizes; None: any integer ratio, as in CelebAMask-HQ). ``record``: how the data
        were read where that is not obvious from the layout (a drawn split), kept with results."""
        self.info = info
        self.record = dict(record or {})
        self.root = Path(root)
        self.split = split
        self.image_size: Size | None = None if image_size is None else as_size(image_size)
        self.augment_config = as_augment_config(augment)
        self.augment = Augment(self.augment_config, info) if self.augment_config else None
        self.label_reader = label_reader
        self.image_per_label = image_per_label
        self.skipped: list[Problem] = []
        self._cache: list[tuple[torch.Tensor, torch.Tensor]] | None = None

        samples = list(samples)
        if problems and not skip_bad:
            file, reason = problems[0]
            more = f" ({len(problems) - 1} more like it)" if len(problems) > 1 else ""
            raise DataError(file, f"{reason}{more}; skip_bad=True (--skip-bad) skips such samples")
        self.skipped.extend(problems)
        if skip_bad or cache:
            samples, loaded = self._load_all(samples, skip_bad=skip_bad, workers=workers)
            if cache:
                self._cache = loaded
        if not samples:
            raise DataError(self.root, f"no usable samples in split {split!r}")
        self.samples = samples
        self.names = [s.name for s in samples]
        if self.skipped:
            where = f"report: {report}" if report else "pass report=PATH to list them"
            log.warning("%s %s: skipped %d bad samples (%s)", info.name, split, len(self.skipped), where)
        if report is not None:
            write_report(
                report,
                self.skipped,
                dataset=info.name,
                root=str(self.root),
                split=split,
                kept=len(samples),
            )

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode, check and resize sample ``index``: uint8 image [3,H,W] and uint8 label [H,W]."""
        sample = self.samples[index]
        image = read_image(sample.image)
        label = self.label_reader(sample)
        self._check(sample, image, label)
        image_t, label_t = to_sample_tensors(image, label)
        size = self.image_size or tuple(label.shape)
        return resize_image(image_t, size), resize_label(label_t, size)

    def _check(self, sample: Sample, image: np.ndarray, label: np.ndarray) -> None:
        (h, w), (lh, lw) = image.shape[:2], label.shape
        ratio = h // lh if lh and h % lh == 0 else 0
        fits = ratio >= 1 and w == ratio * lw and (self.image_per_label in (None, ratio))
        if not fits:
            raise SampleError(
                sample.label[0].parent if len(sample.label) > 1 else sample.label[0],
                f"label map is {lw}x{lh} but its image {sample.image.name} is {w}x{h}",
            )
        bad = (label >= self.info.num_classes) & (label != IGNORE_INDEX)
        if bad.any():
            ids = np.unique(label[bad]).tolist()
            raise SampleError(
                sample.label[0],
                f"label ids {ids} outside {self.info.name}'s 0..{self.info.num_classes - 1} (255 = ignore)",
            )

    def _load_all(
        self, samples: list[Sample], *, skip_bad: bool, workers: int
    ) -> tuple[list[Sample], list[tuple[torch.Tensor, torch.Tensor]]]:
        """Decode every sample (threads: decoding releases the GIL); drop bad ones if ``skip_bad``."""
        self.samples = samples

        def attempt(i: int) -> tuple[torch.Tensor, torch.Tensor] | SampleError:
            try:
                return self.load(i)
            except SampleError as exc:
                if not skip_bad:
                    raise
                return exc

        with ThreadPoolExecutor(max(1, workers)) as pool:
            results = list(pool.map(attempt, range(len(samples))))
        kept, loaded = [], []
        for sample, result in zip(samples, results, strict=True):
            if isinstance(result, SampleError):
                self.skipped.append((result.path, result.problem))
            else:
                kept.append(sample)
                loaded.append(result)
        return kept, loaded

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label = self._cache[index] if self._cache is not None else self.load(index)
        if self.augment is not None:
            image, label = self.augment(image, label)
        return {
            "image": image.float().div_(255),
            "label": label.long(),
            "name": self.samples[index].name,
        }

    def __repr__(self) -> str:
        size = "native" if self.image_size is None else f"{self.image_size[0]}x{self.image_size[1]}"
        return (
            f"{type(self).__name__}({self.info.name}, {self.split}, {len(self)} samples, {size}, "
            f"augment={'on' if self.augment else 'off'}, skipped={len(self.skipped)})"
        )
