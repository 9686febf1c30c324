"""Face-parsing datasets: the real ones as distributed, and SynthFaces, the built-in default.

    from fpliif.data import build_dataset
    ds = build_dataset("lapa", "/data/LaPa", "train", image_size=256, augment=True)
    item = ds[0]   # {"image": float32 [3,256,256] in [0,1], "label": int64 [256,256], "name": str}

Names and layouts (docs/paper.md, "Datasets"):
  lapa            ``{train,val,test}/images/*.jpg`` + ``labels/*.png``                 11 classes
  helen           ``images/``, ``labels/{name}/{name}_lbl00..10.png``, split lists   11 classes
  celebamask-hq   the output of ``fpliif prepare celebamask-hq`` (not the raw folder), 19 classes
                  or a subset in the flat layout ``{split}/images/`` + ``{split}/masks/``
                  (one folder only: split reproducibly with ``split_seed``, see ``flat``)
  synth           a ``fpliif synth`` tree; LaPa format as is, CelebAMask-HQ format prepared

Bad data raises ``DataError`` naming the file and the problem; see ``fpliif.data.base`` for what
is checked when, and for ``skip_bad`` / ``report`` / ``cache``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DataError
from . import celebamask, flat, helen, lapa
from .base import SPLITS, FaceParsingDataset, Sample
from .info import DATASET_INFOS, IGNORE_INDEX, DatasetInfo, dataset_info
from .synth import META_FILE, read_meta
from .transforms import AugmentConfig

DATASETS = ("celebamask-hq", "lapa", "helen", "synth")


def build_dataset(
    name: str,
    root: str | Path,
    split: str,
    image_size: int | tuple[int, int] | None = 256,
    augment: bool | AugmentConfig | Mapping[str, Any] = False,
    *,
    skip_bad: bool = False,
    report: str | Path | None = None,
    cache: bool = False,
    workers: int = 2,
    split_seed: int = 0,
) -> FaceParsingDataset:
    """The ``split`` ("train", "val" or "test") of dataset ``name`` stored at ``root``.

    ``image_size``: an int (square), an (H, W) pair, or None for the label maps' native size.
    ``augment``: False, True (the paper's augmentations), an ``AugmentConfig`` or a dict of its fields.
    ``skip_bad``: skip bad samples (listed in ``.skipped``) instead of raising; ``report``: a JSON
    file to list them in. ``cache``: decode and resize every sample once, at construction, and keep
    it in memory (uint8). ``workers``: threads for that decoding. ``split_seed``: the seed that
    splits a flat CelebAMask-HQ subset that comes as a single folder (``.record`` says how).
    """
    root = Path(root)
    common = dict(
        root=root,
        split=split,
        image_size=image_size,
        augment=augment,
        skip_bad=skip_bad,
        report=report,
        cache=cache,
        workers=workers,
    )
    if name == "lapa":
        samples, problems = lapa.scan(root, split)
        return FaceParsingDataset(samples, info=dataset_info("lapa"), problems=problems, **common)
    if name == "helen":
        samples, problems = helen.scan(root, split)
        return FaceParsingDataset(
            samples, info=dataset_info("helen"), problems=problems, label_reader=helen.merge_labels, **common
        )
    if name == "celebamask-hq" and not (root / celebamask.PREPARED).is_file() and flat.is_flat(root):
        samples, problems = flat.scan(root, split, split_seed=split_seed)
        return FaceParsingDataset(
            samples,
            info=dataset_info("celebamask-hq"),
            problems=problems,
            record=flat.split_record(root, split_seed),
            **common,
        )
    if name == "celebamask-hq":
        samples, problems = celebamask.scan(root, split)
        return FaceParsingDataset(
            samples, info=dataset_info("celebamask-hq"), problems=problems, image_per_label=None, **common
        )
    if name == "synth":
        return _build_synth(root, split, common)
    raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")


def _build_synth(root: Path, split: str, common: dict[str, Any]) -> FaceParsingDataset:
    if (root / celebamask.PREPARED).is_file():  # a prepared CelebAMask-HQ-format tree
        if "synthfaces" not in celebamask.read_prepared(root):
            raise DataError(
                root, "a prepared CelebAMask-HQ folder, but not of a SynthFaces tree; use 'celebamask-hq'"
            )
        samples, problems = celebamask.scan(root, split)
        info = dataset_info("synth", format="celebamask-hq")
        return FaceParsingDataset(samples, info=info, problems=problems, image_per_label=None, **common)
    meta = read_meta(root)
    if meta.get("format") == "lapa":
        samples, problems = lapa.scan(root, split)
        return FaceParsingDataset(
            samples, info=dataset_info("synth", format="lapa"), problems=problems, **common
        )
    if meta.get("format") == "celebamask-hq":
        celebamask.read_prepared(root, dataset="SynthFaces CelebAMask-HQ-format")  # raises: says what to run
    raise DataError(root / META_FILE, f"unknown SynthFaces format {meta.get('format')!r}")


__all__ = [
    "DATASETS",
    "DATASET_INFOS",
    "IGNORE_INDEX",
    "SPLITS",
    "AugmentConfig",
    "DataError",
    "DatasetInfo",
    "FaceParsingDataset",
    "Sample",
    "build_dataset",
    "dataset_info",
]
