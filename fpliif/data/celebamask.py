"""CelebAMask-HQ: ``prepare`` merges the distributed part masks into label maps; ``scan`` reads the result.

The distribution (docs/paper.md, "Datasets"): ``CelebA-HQ-img/{k}.jpg``, part masks
``CelebAMask-HQ-mask-anno/{k // 2000}/{k:05d}_{part}.png`` (white = part) and
``CelebA-HQ-to-CelebA-mapping.txt`` (``idx orig_idx orig_file``). ``prepare`` paints the parts in
the official order (later over earlier) as ids 1..18 and splits by the original CelebA index
(< 162771 train, < 182638 val, the rest test). It writes into ``--out``:

    labels/{k}.png          the merged label map, at the part masks' size (512 for the real set)
    train.txt val.txt test.txt   the image indices of each split, one a line
    fpliif-prepared.json    where the raw images are, the counts; written last, marks completion
    prepare-report.json     the skipped images and why (with --skip-bad)

Images are not copied: the reader takes them from the raw folder recorded in the JSON file.
A run skips label maps that already exist (files are written atomically), so an interrupted run
resumes and a repeated one changes nothing; after moving the raw folder, run it again with the
new ``--root`` to update the recorded location.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..errors import DataError
from .base import SPLITS, Problem, Sample, check_split, require_dir
from .info import CELEBAMASK_PARTS
from .io import SampleError, image_size, read_grey, read_json, write_json, write_label, write_report

IMAGES = "CelebA-HQ-img"
MASKS = "CelebAMask-HQ-mask-anno"
MAPPING = "CelebA-HQ-to-CelebA-mapping.txt"
PREPARED = "fpliif-prepared.json"
REPORT = "prepare-report.json"
SYNTH_META = "synthfaces.json"  # the manifest fpliif.data.synth writes at the root of a generated tree
TRAIN_END, VAL_END = 162771, 182638  # CelebA's official partition by original index
FORMAT_VERSION = 1

_MASK_NAME = re.compile(r"^(\d+)_(.+)\.png$")
_PART_ID = {part: i + 1 for i, part in enumerate(CELEBAMASK_PARTS)}


def split_of(orig_index: int) -> str:
    """The official split of an image from its original CelebA index."""
    return "train" if orig_index < TRAIN_END else "val" if orig_index < VAL_END else "test"


def read_mapping(path: Path) -> dict[int, int]:
    """``CelebA-HQ-to-CelebA-mapping.txt`` -> {CelebA-HQ index: original CelebA index}."""
    if not path.is_file():
        raise DataError(path, "mapping file not found (it gives each image's split)")
    mapping: dict[int, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields_ = line.split()
        if not fields_ or (number == 1 and not fields_[0].isdigit()):  # header: idx orig_idx orig_file
            continue
        try:
            idx, orig = int(fields_[0]), int(fields_[1])
        except (IndexError, ValueError):
            raise DataError(path, f"line {number}: expected 'idx orig_idx orig_file', got {line!r}") from None
        if idx in mapping:
            raise DataError(path, f"line {number}: image {idx} is listed twice")
        mapping[idx] = orig
    if not mapping:
        raise DataError(path, "mapping file lists no images")
    return mapping


def merge_parts(masks: dict[str, np.ndarray]) -> np.ndarray:
    """Part name -> bool mask [H,W] (all one size) to uint8 ids [H,W], painted in the official order."""
    label: np.ndarray | None = None
    for part in CELEBAMASK_PARTS:
        if part in masks:
            if label is None:
                label = np.zeros(masks[part].shape, dtype=np.uint8)
            label[masks[part]] = _PART_ID[part]
    if label is None:
        raise ValueError("no part masks to merge")
    return label


def prepare_command(root: str | Path) -> str:
    """The command that prepares the raw folder ``root`` (into ``<root>-prepared``)."""
    root = Path(root)
    out = shlex.quote(f"{root}-prepared")
    return f"fpliif prepare celebamask-hq --root {shlex.quote(str(root))} --out {out}"


def is_raw(root: Path) -> bool:
    return (root / IMAGES).is_dir() and (root / MASKS).is_dir()


@dataclass
class _Task:
    index: int
    image: Path
    masks: dict[str, Path]
    out: Path


@dataclass
class PrepareResult:
    """What ``prepare`` did: images per split, how many label maps it wrote now, what it skipped."""

    out: Path
    counts: dict[str, int]
    written: int  # label maps written by this run
    kept: int  # label maps already there from an earlier run
    skipped: list[Problem] = field(default_factory=list)
    report: Path | None = None


def _merge_one(task: _Task) -> Problem | None:
    """Merge and write one label map; a problem (file, reason) instead if the sample is bad."""
    try:
        masks = {part: read_grey(path) >= 128 for part, path in task.masks.items()}
        shapes = [m.shape for m in masks.values()]
        common = max(set(shapes), key=shapes.count)
        odd = [part for part, m in masks.items() if m.shape != common]
        if odd:
            h, w = masks[odd[0]].shape
            raise SampleError(
                task.masks[odd[0]],
                f"part masks differ in size: this one is {w}x{h}, the others {common[1]}x{common[0]}",
            )
        mh, mw = common
        w, h = image_size(task.image)
        ratio = h // mh if h % mh == 0 else 0
        if ratio < 1 or w != ratio * mw:
            raise SampleError(task.image, f"image is {w}x{h} but its part masks are {mw}x{mh}")
        write_label(task.out, merge_parts(masks))
    except SampleError as exc:
        return exc.path, exc.problem
    return None


def _scan_masks(folder: Path) -> tuple[dict[int, dict[str, Path]], list[Problem]]:
    """All part masks under ``CelebAMask-HQ-mask-anno``: {image index: {part: path}}."""
    found: dict[int, dict[str, Path]] = {}
    problems: list[Problem] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for entry in os.scandir(sub):
            m = _MASK_NAME.match(entry.name)
            if not m:
                continue
            if m.group(2) not in _PART_ID:
                problems.append(
                    (entry.path, f"unknown part {m.group(2)!r}; known: {', '.join(CELEBAMASK_PARTS)}")
                )
                continue
            found.setdefault(int(m.group(1)), {})[m.group(2)] = Path(entry.path)
    return found, problems


def prepare(
    root: str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    skip_bad: bool = False,
    progress: bool = True,
) -> PrepareResult:
    """Merge the part masks of the CelebAMask-HQ distribution at ``root`` into label maps under ``out``.

    Runs ``workers`` processes (default: all cores). Bad samples (a missing image, no or unknown
    part masks, masks of different sizes, an image whose size is no multiple of its masks')
    raise a ``DataError`` naming the file, or with ``skip_bad`` are left out of the split lists
    and reported in ``out/prepare-report.json``.
    """
    root, out = Path(root), Path(out)
    require_dir(root, f"the CelebAMask-HQ folder holding {IMAGES}/, {MASKS}/ and {MAPPING}")
    require_dir(root / IMAGES, "the CelebA-HQ images {k}.jpg")
    require_dir(root / MASKS, "the part masks {k // 2000}/{k:05d}_{part}.png")
    mapping = read_mapping(root / MAPPING)
    masks, problems = _scan_masks(root / MASKS)
    bad = {int(m.group(1)) for f, _ in problems if (m := _MASK_NAME.match(Path(f).name))}
    for k in sorted(set(masks) - set(mapping)):
        problems.append(
            (str(next(iter(masks[k].values()))), f"part masks of image {k}, which {MAPPING} lacks")
        )
    images = {
        int(p.stem): p for p in (root / IMAGES).iterdir() if p.suffix.lower() == ".jpg" and p.stem.isdigit()
    }
    for k in sorted(set(images) - set(mapping)):
        problems.append((str(images[k]), f"image not listed in {MAPPING}, so its split is unknown"))

    tasks: list[_Task] = []
    done: list[int] = []
    for k in sorted(mapping):
        image = root / IMAGES / f"{k}.jpg"
        target = out / "labels" / f"{k}.png"
        if k not in images:
            problems.append((str(image), f"image listed in {MAPPING} not found"))
        elif k not in masks:
            problems.append((str(image), f"no part masks for this image in {MASKS}/{k // 2000}/"))
        elif k in bad:
            continue
        elif target.is_file():
            done.append(k)
        else:
            tasks.append(_Task(k, image, masks[k], target))
    if problems and not skip_bad:
        file, reason = problems[0]
        more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise DataError(file, f"{reason}{more}; --skip-bad leaves such images out and reports them")

    (out / "labels").mkdir(parents=True, exist_ok=True)
    ok = set(done)

    def collect(results: Iterator[Problem | None]) -> None:
        bar = tqdm(results, total=len(tasks), desc="prepare celebamask-hq", unit="img", disable=not progress)
        for task, problem in zip(tasks, bar, strict=True):
            if problem is None:
                ok.add(task.index)
            elif skip_bad:
                problems.append(problem)
            else:
                raise DataError(*problem)

    workers = min(max(1, workers or os.cpu_count() or 1), len(tasks))
    if workers > 1:
        with get_context().Pool(workers) as pool:
            collect(pool.imap(_merge_one, tasks, chunksize=max(1, min(64, len(tasks) // (8 * workers)))))
    else:
        collect(map(_merge_one, tasks))

    counts = {}
    for split in SPLITS:
        members = [k for k in sorted(ok) if split_of(mapping[k]) == split]
        counts[split] = len(members)
        (out / f"{split}.txt").write_text("".join(f"{k}\n" for k in members))
    meta = {
        "dataset": "celebamask-hq",
        "version": FORMAT_VERSION,
        "raw_root": str(root.resolve()),
        "counts": counts,
        "skipped": len(problems),
    }
    if (root / SYNTH_META).is_file():
        meta["synthfaces"] = read_json(root / SYNTH_META)
    report = write_report(out / REPORT, problems, raw_root=str(root.resolve())) if skip_bad else None
    write_json(out / PREPARED, meta)
    return PrepareResult(
        out, counts, written=len(ok) - len(done), kept=len(done), skipped=problems, report=report
    )


def read_prepared(root: Path, dataset: str = "celebamask-hq") -> dict:
    """The metadata of a prepared folder; if ``root`` is the raw distribution, the command to run."""
    require_dir(root, "a folder written by `fpliif prepare celebamask-hq`")
    if not (root / PREPARED).is_file():
        if is_raw(root) or (root / SYNTH_META).is_file():
            raise DataError(
                root,
                f"this is the raw {dataset} distribution; merge its part masks first with "
                f"`{prepare_command(root)}` and read the --out folder",
            )
        raise DataError(
            root / PREPARED,
            "not found: not a prepared CelebAMask-HQ folder (or its preparation did not finish); "
            "run `fpliif prepare celebamask-hq --root RAW --out DIR` and read DIR",
        )
    return read_json(root / PREPARED)


def scan(root: str | Path, split: str) -> tuple[list[Sample], list[Problem]]:
    """The samples of a split of a prepared folder; images come from the recorded raw folder."""
    check_split(split)
    root = Path(root)
    meta = read_prepared(root)
    raw_root = meta.get("raw_root") if isinstance(meta, dict) else None
    if not isinstance(raw_root, str) or not raw_root:
        raise DataError(
            root / PREPARED,
            "no 'raw_root' (where the raw images are) in this file; run `fpliif prepare celebamask-hq` again",
        )
    raw = Path(raw_root)
    require_dir(
        raw / IMAGES,
        f"the raw images recorded by `fpliif prepare` in {root / PREPARED}; if the raw folder moved, "
        "run `fpliif prepare celebamask-hq --root NEW_RAW --out` this folder again",
    )
    split_file = root / f"{split}.txt"
    if not split_file.is_file():
        raise DataError(
            split_file, f"split list not found; run `fpliif prepare celebamask-hq --out {root}` again"
        )
    try:
        lines = split_file.read_text().splitlines()
    except UnicodeDecodeError:
        raise DataError(split_file, "not a text file (it does not decode as UTF-8)") from None
    samples, problems = [], []
    first: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not line.strip().isdigit():
            raise DataError(split_file, f"line {number}: expected an image index, got {line.strip()[:80]!r}")
        k = line.strip()
        if k in first:
            raise DataError(split_file, f"line {number}: image {k} listed twice (first on line {first[k]})")
        first[k] = number
        image, label = raw / IMAGES / f"{k}.jpg", root / "labels" / f"{k}.png"
        if not image.is_file():
            problems.append((str(image), "image not found"))
        elif not label.is_file():
            problems.append((str(label), "label map not found (re-run `fpliif prepare`)"))
        else:
            samples.append(Sample(k, image, (label,)))
    return samples, problems
