"""The datasets a profile names, made when missing and reused when present (idempotent).

``ensure_synth`` generates a SynthFaces set, ``ensure_prepared`` runs ``fpliif prepare
celebamask-hq``, ``ensure_subset`` links the first images of each split (the comparison group's
data). Each returns what is already there when it matches the request and says clearly when a
folder holds something else.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..errors import DataError
from .paths import Log, rel, resolve, say


def ensure_synth(
    root: str | Path,
    format: str = "lapa",
    n_train: int = 16,
    n_val: int = 8,
    n_test: int = 8,
    size: int = 64,
    seed: int = 0,
    *,
    image_scale: int = 1,
    workers: int = 2,
    log: Log = say,
) -> Path:
    """A SynthFaces set at ``root``: reused if its ``synthfaces.json`` has these settings, generated
    if the folder is new; a clear error if it holds a different set."""
    from ..data.io import read_json
    from ..data.synth import META_FILE, generate

    root = resolve(root)
    want = {
        "format": format,
        "counts": {"train": n_train, "val": n_val, "test": n_test},
        "size": size,
        "seed": seed,
        "image_scale": image_scale,
    }
    if (root / META_FILE).is_file():
        meta = read_json(root / META_FILE)
        diff = {k: (meta.get(k), v) for k, v in want.items() if meta.get(k) != v}
        if not diff:
            return root
        text = ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in diff.items())
        raise DataError(
            root, f"holds another SynthFaces set ({text}); delete it or point the profile elsewhere"
        )
    n = n_train + n_val + n_test
    log(f"generating SynthFaces ({format} layout, {n} images at {size} px) into {rel(root)} ...")
    start = time.perf_counter()
    generate(
        root,
        format=format,
        n_train=n_train,
        n_val=n_val,
        n_test=n_test,
        size=size,
        seed=seed,
        workers=workers,
        image_scale=image_scale,
    )
    log(f"  done in {time.perf_counter() - start:.0f} s")
    return root


def ensure_prepared(raw: str | Path, out: str | Path, *, workers: int = 2, log: Log = say) -> Path:
    """``fpliif prepare celebamask-hq --root raw --out out`` unless ``out`` already holds it."""
    from ..data.celebamask import PREPARED, SYNTH_META, prepare
    from ..data.io import read_json

    raw, out = resolve(raw), resolve(out)
    synth_meta = read_json(raw / SYNTH_META) if (raw / SYNTH_META).is_file() else None
    if (out / PREPARED).is_file():
        meta = read_json(out / PREPARED)
        same_raw = Path(meta.get("raw_root", "")) == raw.resolve()
        if meta.get("synthfaces") == synth_meta and same_raw:
            return out
        if meta.get("synthfaces") != synth_meta:  # another set: its label maps are stale
            shutil.rmtree(out / "labels", ignore_errors=True)
            (out / PREPARED).unlink()
    log(f"preparing CelebAMask-HQ layout {rel(raw)} -> {rel(out)} ...")
    start = time.perf_counter()
    prepare(raw, out, workers=workers, progress=False)
    log(f"  done in {time.perf_counter() - start:.0f} s")
    return out


SUBSET_FILE = "subset.json"


def ensure_subset(
    source: str | Path,
    dest: str | Path,
    *,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    log: Log = say,
) -> Path:
    """The first ``n`` images of each split of a LaPa-layout folder (real or SynthFaces), as links.

    Costs no disk and no time; SynthFaces images depend only on (seed, split, index), so the
    subset holds exactly the images a smaller generated set would. ``None`` keeps a whole split.
    """
    from ..data import lapa
    from ..data.io import read_json, write_json
    from ..data.synth import META_FILE

    source, dest = resolve(source), resolve(dest)
    counts = {"train": n_train, "val": n_val, "test": n_test}
    want = {"source": str(source), "counts": counts}
    if (dest / SUBSET_FILE).is_file() and read_json(dest / SUBSET_FILE) == want:
        return dest
    if dest.exists():
        if not (dest / SUBSET_FILE).is_file() and any(dest.iterdir()):
            raise DataError(dest, "exists and is not a subset folder made by fpliif; choose another path")
        shutil.rmtree(dest)
    made = {}
    for split, n in counts.items():
        samples, _ = lapa.scan(source, split)
        chosen = samples if n is None else samples[:n]
        if n is not None and len(chosen) < n:
            raise DataError(source / split, f"has {len(samples)} images, fewer than the {n} asked for")
        for kind in ("images", "labels"):
            (dest / split / kind).mkdir(parents=True, exist_ok=True)
        for s in chosen:
            (dest / split / "images" / s.image.name).symlink_to(s.image.resolve())
            (dest / split / "labels" / s.label[0].name).symlink_to(s.label[0].resolve())
        made[split] = len(chosen)
    if (source / META_FILE).is_file():
        meta = read_json(source / META_FILE)
        meta["counts"] = made
        meta["subset_of"] = str(source)
        write_json(dest / META_FILE, meta)
    write_json(dest / SUBSET_FILE, want)
    log(f"linked a subset of {rel(source)} ({made}) at {rel(dest)}")
    return dest


def dataset_info_at(name: str, root: str | Path):
    """The ``DatasetInfo`` (class names, palette) of dataset ``name`` at ``root`` (SynthFaces: its layout)."""
    from ..data import dataset_info

    if name != "synth":
        return dataset_info(name)
    from ..data.celebamask import PREPARED

    return dataset_info("synth", format="celebamask-hq" if (Path(root) / PREPARED).is_file() else "lapa")


__all__ = ["SUBSET_FILE", "dataset_info_at", "ensure_prepared", "ensure_subset", "ensure_synth"]
