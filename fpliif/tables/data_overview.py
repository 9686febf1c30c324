"""The data overview: samples of every dataset a profile uses and the share of pixels per class."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import DataError
from ..report import Table
from ..runs.datasets import dataset_info_at
from ..runs.paths import rel
from .common import caption

if TYPE_CHECKING:
    from ..runs.data_refs import DataRef


def info(ref: DataRef):
    """The ``DatasetInfo`` (class names, palette) of a dataset."""
    return dataset_info_at(ref.name, ref.root)


def samples(ref: DataRef, n: int, split: str = "train") -> list[dict[str, Any]]:
    """The first ``n`` items of ``split`` at their native size."""
    from ..data import build_dataset

    ds = build_dataset(ref.name, ref.root, split, image_size=None)
    return [ds[i] for i in range(min(n, len(ds)))]


def class_frequencies(
    name: str, root: str | Path, splits: Sequence[str] = ("train", "val", "test")
) -> pd.DataFrame:
    """Pixels per class and split (native label maps): class, split, images, pixels, share."""
    import numpy as np

    from ..data import build_dataset

    rows = []
    for split in splits:
        try:
            ds = build_dataset(name, root, split, image_size=None)
        except DataError:
            continue
        counts = np.zeros(ds.info.num_classes, dtype=np.int64)
        for sample in ds.samples:
            label = np.asarray(ds.label_reader(sample))
            counts += np.bincount(label[label < ds.info.num_classes].ravel(), minlength=ds.info.num_classes)
        total = max(1, int(counts.sum()))
        for cls, n in zip(ds.info.class_names, counts, strict=True):
            rows.append(
                {"class": cls, "split": split, "images": len(ds), "pixels": int(n), "share": n / total}
            )
    return pd.DataFrame(rows)


def frequency_table(kind: str, ref: DataRef, freq: pd.DataFrame, *, profile: str) -> Table:
    """``class_frequencies`` as a table: one row per class, one column per split (% of labelled pixels)."""
    wide = freq.pivot_table(index="class", columns="split", values="share", sort=False) * 100
    wide = wide.reset_index()
    counts = freq.groupby("split", sort=False)["images"].first().to_dict()
    wide.columns = ["class", *[f"{s} (% px, {counts[s]} images)" for s in wide.columns[1:]]]
    cap = caption(
        f"{ref.label} at {rel(ref.root)}; share of labelled pixels per class and split", profile=profile
    )
    return Table(f"class_frequencies_{kind}", f"Class frequencies: {kind}", cap, wide, decimals=3)
