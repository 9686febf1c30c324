"""Writing a SynthFaces set in a real dataset's on-disk layout (``format``).

- ``lapa``: LaPa's layout and 11 classes: ``{split}/images/{split}_{i:05d}.jpg`` and
  ``labels/*.png``. Ears count as skin; neck, clothes, hats and jewellery as background; glasses
  take the label of what they cover.
- ``celebamask-hq``: CelebAMask-HQ's distribution layout and 19 classes: ``CelebA-HQ-img/{k}.jpg``,
  one white-on-black mask per present part in ``CelebAMask-HQ-mask-anno/{k // 2000}/`` and
  ``CelebA-HQ-to-CelebA-mapping.txt`` whose original indices give the requested split sizes under
  the official rule; ``fpliif prepare celebamask-hq`` turns it into label maps as for the real
  set. Like the real masks, a part's mask may extend under parts painted after it in the official
  order (the skin under the eyes, the hair under a hat), so the merge reproduces the drawn map.
  ``image_scale=2`` writes images at twice the mask size, as the real set (1024 vs 512) does.

``synthfaces.json`` at the root records format, counts, size and seed (``build_dataset("synth")``
reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ...errors import DataError
from ..celebamask import IMAGES, MAPPING, MASKS, SYNTH_META, TRAIN_END, VAL_END
from ..info import CELEBAMASK_PARTS
from ..io import read_json, write_image, write_json, write_label
from .render import FORMATS, SPLITS, VERSION, draw_face, label_map

META_FILE = SYNTH_META  # one name, known to the CelebAMask-HQ reader too
CELEBA_SIZE = 202599  # images in CelebA: original indices run 0..202598


def celebamask_plan(n_train: int, n_val: int, n_test: int, seed: int) -> list[tuple[str, int, int]]:
    """For each CelebA-HQ index k: (split, index within the split, original CelebA index).

    The splits are interleaved over k, as in the real set, and the original indices fall in the
    official ranges so the mapping file yields the requested split sizes.
    """
    rng = np.random.default_rng([VERSION, seed, 7])
    ranges = {"train": (0, TRAIN_END), "val": (TRAIN_END, VAL_END), "test": (VAL_END, CELEBA_SIZE)}
    counts = {"train": n_train, "val": n_val, "test": n_test}
    for split, (lo, hi) in ranges.items():
        if counts[split] > hi - lo:
            raise ValueError(
                f"{split}: at most {hi - lo} images fit CelebA's index range, got {counts[split]}"
            )
    order = rng.permutation(np.repeat(np.arange(3), [n_train, n_val, n_test]))
    origs = {s: iter(np.sort(rng.choice(np.arange(*ranges[s]), counts[s], replace=False))) for s in SPLITS}
    seen = dict.fromkeys(SPLITS, 0)
    plan = []
    for code in order:
        split = SPLITS[code]
        plan.append((split, seen[split], int(next(origs[split]))))
        seen[split] += 1
    return plan


def lapa_name(split: str, index: int) -> str:
    return f"{split}_{index:05d}"


@dataclass(frozen=True)
class _Job:
    split: str
    index: int
    k: int  # CelebA-HQ index (celebamask-hq format), else -1


def _write_one(job: _Job, *, out: Path, format: str, size: int, seed: int, image_scale: int) -> None:
    image, canvas = draw_face(seed, job.split, job.index, size, image_scale)
    if format == "lapa":
        name = lapa_name(job.split, job.index)
        write_image(out / job.split / "images" / f"{name}.jpg", image)
        write_label(out / job.split / "labels" / f"{name}.png", label_map(canvas, format, image_scale))
        return
    write_image(out / IMAGES / f"{job.k}.jpg", image)
    folder = out / MASKS / str(job.k // 2000)
    for part, mask in canvas.part_masks().items():
        mask = mask[::image_scale, ::image_scale]
        if mask.any():
            write_label(folder / f"{job.k:05d}_{CELEBAMASK_PARTS[part - 1]}.png", mask.astype(np.uint8) * 255)


def generate(
    out: str | Path,
    *,
    format: str = "lapa",
    n_train: int,
    n_val: int,
    n_test: int,
    size: int = 256,
    seed: int = 0,
    workers: int = 2,
    image_scale: int = 1,
    progress: bool = False,
) -> Path:
    """Write a SynthFaces set to ``out`` (see the module docstring); returns ``out``.

    Refuses a folder that holds anything but a SynthFaces set of the same settings.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if min(n_train, n_val, n_test) < 0 or n_train + n_val + n_test == 0:
        raise ValueError("split sizes must be non-negative and not all zero")
    if size < 16 or image_scale not in (1, 2):
        raise ValueError(f"size must be at least 16 and image_scale 1 or 2, got {size}, {image_scale}")
    out = Path(out)
    meta = {
        "generator": "fpliif SynthFaces",
        "version": VERSION,
        "format": format,
        "counts": {"train": n_train, "val": n_val, "test": n_test},
        "size": size,
        "image_scale": image_scale,
        "seed": seed,
        "num_classes": 11 if format == "lapa" else 19,
    }
    _check_target(out, meta)
    if format == "lapa":
        jobs = [_Job(s, i, -1) for s, n in meta["counts"].items() for i in range(n)]
    else:
        plan = celebamask_plan(n_train, n_val, n_test, seed)
        jobs = [_Job(split, i, k) for k, (split, i, _) in enumerate(plan)]
        out.mkdir(parents=True, exist_ok=True)
        lines = ["idx orig_idx orig_file"] + [
            f"{k} {orig} {orig + 1:06d}.jpg" for k, (_, _, orig) in enumerate(plan)
        ]
        (out / MAPPING).write_text("\n".join(lines) + "\n")
    work = partial(_write_one, out=out, format=format, size=size, seed=seed, image_scale=image_scale)
    workers = max(1, min(workers, len(jobs)))
    bar = partial(tqdm, total=len(jobs), desc=f"synth {format}", unit="img", disable=not progress)
    if workers == 1:
        for _ in bar(map(work, jobs)):
            pass
    else:
        with get_context().Pool(workers) as pool:
            for _ in bar(pool.imap_unordered(work, jobs, chunksize=8)):
                pass
    write_json(out / META_FILE, meta)
    return out


def _check_target(out: Path, meta: dict) -> None:
    if (out / META_FILE).is_file():
        old = read_json(out / META_FILE)
        if old != meta:
            diff = ", ".join(f"{k}: {old.get(k)} -> {v}" for k, v in meta.items() if old.get(k) != v)
            raise DataError(out, f"holds another SynthFaces set ({diff}); choose another --out or delete it")
    elif out.exists():
        own = {"train", "val", "test"} if meta["format"] == "lapa" else {IMAGES, MASKS, MAPPING}
        foreign = sorted(p.name for p in out.iterdir() if p.name not in own)
        if foreign:
            raise DataError(
                out, f"not empty ({', '.join(foreign[:3])}); choose a new or empty folder for --out"
            )


def read_meta(root: str | Path) -> dict:
    """The ``synthfaces.json`` of a generated tree (a clear error if ``root`` is none)."""
    root = Path(root)
    if not (root / META_FILE).is_file():
        raise DataError(
            root, f"not a SynthFaces folder (no {META_FILE}); create one with `fpliif synth --out {root}`"
        )
    return read_json(root / META_FILE)
