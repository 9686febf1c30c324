"""Per-dataset class names, label ids, colour palettes, left/right swap tables and composites.

Label ids follow docs/paper.md ("Datasets"); 255 marks pixels to ignore. Label maps are drawn
in these colours by ``fpliif.viz.colorize``.

Left and right. The readers never change the ids a dataset ships with, so for LaPa, Helen and
CelebAMask-HQ "left" means whatever their annotators meant. SynthFaces (``synth-*``) uses the
anatomical convention: "left" is the subject's own left, which lies on the image's right in a
frontal view (``l_eye`` has the larger x). Either way a horizontal flip turns every left part
into a right part, so ``flip_pairs`` lists the pairs whose ids a flip swaps; ``flip_lut`` turns
them into a lookup table for label maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..metrics import HELEN_COMPOSITES

IGNORE_INDEX = 255


@dataclass(frozen=True)
class DatasetInfo:
    """What a label id means in one dataset: ``class_names[i]`` and ``palette[i]`` describe id ``i``."""

    name: str
    num_classes: int
    class_names: list[str]
    palette: list[tuple[int, int, int]]
    flip_pairs: tuple[tuple[int, int], ...]
    composites: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not len(self.class_names) == len(self.palette) == self.num_classes:
            raise ValueError(
                f"{self.name}: {self.num_classes} classes, {len(self.class_names)} names, "
                f"{len(self.palette)} colours"
            )

    def flip_lut(self) -> np.ndarray:
        """uint8 [256] lookup table that swaps the ids of ``flip_pairs`` (255 stays 255)."""
        lut = np.arange(256, dtype=np.uint8)
        for a, b in self.flip_pairs:
            lut[a], lut[b] = b, a
        return lut


# The 11 classes shared by LaPa and Helen (docs/paper.md, "Datasets").
ELEVEN_CLASSES = [
    "background",
    "skin",
    "left_brow",
    "right_brow",
    "left_eye",
    "right_eye",
    "nose",
    "upper_lip",
    "inner_mouth",
    "lower_lip",
    "hair",
]
ELEVEN_PALETTE = [
    (0, 0, 0),
    (204, 0, 0),
    (0, 255, 255),
    (0, 160, 160),
    (51, 51, 255),
    (204, 0, 204),
    (76, 153, 0),
    (255, 255, 0),
    (102, 51, 0),
    (255, 153, 51),
    (0, 0, 153),
]
ELEVEN_FLIP_PAIRS = ((2, 3), (4, 5))

# CelebAMask-HQ's parts in the official merge order: part i (0-based) becomes id i + 1.
CELEBAMASK_PARTS = (
    "skin",
    "nose",
    "eye_g",
    "l_eye",
    "r_eye",
    "l_brow",
    "r_brow",
    "l_ear",
    "r_ear",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "ear_r",
    "neck_l",
    "neck",
    "cloth",
)
# The colours of the CelebAMask-HQ repository's visualisations, in id order.
CELEBAMASK_PALETTE = [
    (0, 0, 0),
    (204, 0, 0),
    (76, 153, 0),
    (204, 204, 0),
    (51, 51, 255),
    (204, 0, 204),
    (0, 255, 255),
    (255, 204, 204),
    (102, 51, 0),
    (255, 0, 0),
    (102, 204, 0),
    (255, 255, 0),
    (0, 0, 153),
    (0, 0, 204),
    (255, 51, 153),
    (0, 204, 204),
    (0, 51, 0),
    (255, 153, 51),
    (0, 204, 0),
]
CELEBAMASK_FLIP_PAIRS = ((4, 5), (6, 7), (8, 9))


def _eleven(name: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        num_classes=len(ELEVEN_CLASSES),
        class_names=list(ELEVEN_CLASSES),
        palette=list(ELEVEN_PALETTE),
        flip_pairs=ELEVEN_FLIP_PAIRS,
        composites=dict(HELEN_COMPOSITES),
    )


def _celebamask(name: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        num_classes=len(CELEBAMASK_PARTS) + 1,
        class_names=["background", *CELEBAMASK_PARTS],
        palette=list(CELEBAMASK_PALETTE),
        flip_pairs=CELEBAMASK_FLIP_PAIRS,
    )


DATASET_INFOS: dict[str, DatasetInfo] = {
    "lapa": _eleven("lapa"),
    "helen": _eleven("helen"),
    "celebamask-hq": _celebamask("celebamask-hq"),
    "synth-lapa": _eleven("synth-lapa"),
    "synth-celebamask-hq": _celebamask("synth-celebamask-hq"),
}


def dataset_info(name: str, format: str = "lapa") -> DatasetInfo:
    """The ``DatasetInfo`` of a dataset; for ``"synth"``, of its ``format`` (lapa or celebamask-hq)."""
    key = f"synth-{format}" if name == "synth" else name
    if key not in DATASET_INFOS:
        known = ", ".join(["synth", *DATASET_INFOS])
        raise KeyError(f"unknown dataset {name!r} (format {format!r}); known: {known}")
    return DATASET_INFOS[key]
