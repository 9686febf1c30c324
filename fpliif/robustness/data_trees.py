"""Small LaPa, Helen and CelebAMask-HQ trees (hand-made arrays) that the data family damages.

Each builder writes a tree and returns the train labels by sample name: what every undamaged
sample must read back, pixel for pixel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .images import encode

H, W = 24, 32
LAPA_TRAIN = ("lapa_0", "lapa_1", "lapa_2", "lapa_3")
HELEN_TRAIN = ("h_0", "h_1", "h_2")
CELEB_TRAIN = ("0", "1", "2")


def tiny_labels(seed: int, num_classes: int, h: int = 24, w: int = 32) -> np.ndarray:
    """Blocks of 4x4 random ids (seeded): not square, so a swapped axis shows."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, num_classes, (h // 4, w // 4))
    return np.kron(ids, np.ones((4, 4), dtype=np.int64)).astype(np.uint8)


LUT = np.random.default_rng(1).integers(0, 256, (256, 3), dtype=np.uint8)


def image_for(label: np.ndarray, scale: int = 1) -> np.ndarray:
    return np.kron(LUT[label], np.ones((scale, scale, 1), dtype=np.uint8))


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_lapa(root: Path) -> dict[str, np.ndarray]:
    """A LaPa-layout tree (4 train, 1 val, 1 test samples); returns the train labels by name."""
    truth = {}
    for split, names in (("train", LAPA_TRAIN), ("val", ("val_0",)), ("test", ("test_0",))):
        for i, name in enumerate(names):
            label = tiny_labels(100 + 10 * len(split) + i, 11)
            write(root / split / "images" / f"{name}.jpg", encode(image_for(label), "JPEG", quality=95))
            write(root / split / "labels" / f"{name}.png", encode(label, "PNG"))
            if split == "train":
                truth[name] = label
    return truth


def helen_maps(label: np.ndarray, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.where(label == c, 200, rng.integers(0, 150, label.shape)).astype(np.uint8) for c in range(11)]


def build_helen(root: Path) -> dict[str, np.ndarray]:
    """A Helen-layout tree: images/, labels/{name}/{name}_lbl00..10.png, the three split lists."""
    truth = {}
    lists = {"exemplars.txt": HELEN_TRAIN, "tuning.txt": ("hv_0",), "testing.txt": ("ht_0",)}
    for s, (file, names) in enumerate(lists.items()):
        write(root / file, "".join(f"{i + 1} , {n}\n" for i, n in enumerate(names)).encode())
        for i, name in enumerate(names):
            label = tiny_labels(200 + 10 * s + i, 11)
            write(root / "images" / f"{name}.jpg", encode(image_for(label), "JPEG", quality=95))
            for c, grey in enumerate(helen_maps(label, 10 * s + i)):
                write(root / "labels" / name / f"{name}_lbl{c:02d}.png", encode(grey, "PNG"))
            if file == "exemplars.txt":
                truth[name] = label
    return truth


def build_celebamask(root: Path) -> dict[str, np.ndarray]:
    """A prepared CelebAMask-HQ tree ``root/prep`` whose images (2x the maps) are in ``root/raw``."""
    truth = {}
    splits = {"train": CELEB_TRAIN, "val": ("3",), "test": ("4",)}
    for split, ks in splits.items():
        write(root / "prep" / f"{split}.txt", "".join(f"{k}\n" for k in ks).encode())
        for k in ks:
            label = tiny_labels(300 + int(k), 19)
            write(
                root / "raw" / "CelebA-HQ-img" / f"{k}.jpg", encode(image_for(label, 2), "JPEG", quality=95)
            )
            write(root / "prep" / "labels" / f"{k}.png", encode(label, "PNG"))
            if split == "train":
                truth[k] = label
    celeb_meta(root)
    return truth


def celeb_meta(root: Path, **changes: Any) -> None:
    meta = {"dataset": "celebamask-hq", "version": 1, "raw_root": str(root / "raw"), "counts": {}}
    meta.update(changes)
    (root / "prep" / "fpliif-prepared.json").write_text(json.dumps(meta))


# Raw CelebAMask-HQ (for `prepare`): rectangles of parts whose merge order matters.
RAW_PARTS = {
    "skin": (slice(2, 22), slice(4, 28)),
    "l_eye": (slice(8, 12), slice(18, 24)),
    "r_eye": (slice(8, 12), slice(8, 14)),
    "hair": (slice(0, 8), slice(0, 32)),
    "hat": (slice(0, 4), slice(6, 26)),
    "neck": (slice(18, 24), slice(10, 22)),
}
RAW_ORIGS = {0: 5, 1: 100, 2: 170000, 3: 190000}  # train, train, val, test


def build_celebamask_raw(root: Path) -> dict[str, np.ndarray]:
    """The CelebAMask-HQ distribution layout; returns the merged label each image must get."""
    from ..data.info import CELEBAMASK_PARTS

    truth = {}
    for k, orig in RAW_ORIGS.items():
        expected = np.zeros((H, W), dtype=np.uint8)
        parts = dict(RAW_PARTS)
        parts["l_brow"] = (slice(6, 8), slice(4 + 2 * k, 10 + 2 * k))  # differs per image
        for part in CELEBAMASK_PARTS:
            if part in parts:
                mask = np.zeros((H, W), dtype=np.uint8)
                mask[parts[part]] = 255
                write(root / "CelebAMask-HQ-mask-anno" / "0" / f"{k:05d}_{part}.png", encode(mask, "PNG"))
                expected[parts[part]] = CELEBAMASK_PARTS.index(part) + 1
        write(root / "CelebA-HQ-img" / f"{k}.jpg", encode(image_for(expected, 2), "JPEG", quality=95))
        if orig < 162771:  # the train split: what build_dataset(..., "train") must read back
            truth[str(k)] = expected
    lines = ["idx orig_idx orig_file"] + [f"{k} {o} {o + 1:06d}.jpg" for k, o in RAW_ORIGS.items()]
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    return truth


BUILDERS: dict[str, tuple[Callable[[Path], dict[str, np.ndarray]], str, str]] = {
    # layout: (builder, dataset name for build_dataset, dataset folder inside the tree)
    "lapa": (build_lapa, "lapa", ""),
    "helen": (build_helen, "helen", ""),
    "celebamask-hq": (build_celebamask, "celebamask-hq", "prep"),
    "celebamask-raw": (build_celebamask_raw, "celebamask-hq", "out"),
}
