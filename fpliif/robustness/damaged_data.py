"""Family ``data``: damaged LaPa, Helen and CelebAMask-HQ trees, read in both modes.

Each case damages a copy of a small hand-made tree. In the default mode it must end in a
``DataError`` naming the damaged file (at construction, on reading, or from a DataLoader worker);
with ``skip_bad`` exactly that sample is skipped, listed and reported; and every other sample must
keep exactly its true label.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .common import Family, is_root, short
from .data_case import DataCase, Truth
from .data_trees import BUILDERS, celeb_meta
from .face_cases import CELEBAMASK, CELEBAMASK_RAW, HELEN
from .lapa_cases import LAPA

TITLE = "Corrupted data (LaPa, Helen, CelebAMask-HQ layouts)"
PASS_MEANS = (
    "default mode: a `DataError` whose path is the damaged file (or folder) and whose message "
    "says what is "
    "wrong, at construction, on reading, or from a DataLoader worker; `skip_bad=True`: exactly "
    "that sample is "
    "skipped, listed in `.skipped` and in the report file, and every other sample keeps exactly "
    "its original "
    "label (compared pixel by pixel). Acceptable variants (a PNG named .jpg, 16-bit, "
    "palette...) must read "
    "with the exact label. Broken folders/lists: an error naming them in both modes"
)
CATALOGUES = (LAPA, HELEN, CELEBAMASK, CELEBAMASK_RAW)


def data_cases(truths: dict[str, Truth]) -> list[DataCase]:
    """Every case of every layout, in the report's order; ``truths``: layout -> {sample: label}."""
    return [case for catalogue in CATALOGUES for case in catalogue.cases(truths)]


def _names_path(exc: Any, root: Path, paths: tuple[str, ...]) -> bool:
    got = Path(str(getattr(exc, "path", "")))
    return any(got == (root / p if p else root) for p in paths)


def _problem_ok(exc: Any, words: str) -> bool:
    problem = str(getattr(exc, "problem", "") or "")
    return bool(problem.strip()) and (not words or re.search(words, problem, re.IGNORECASE) is not None)


def _read_all(
    ds: Any, truth: Truth, images: dict[str, np.ndarray] | None
) -> tuple[dict[str, Any], list[str]]:
    """Read every sample: ({name: DataError}, [names whose label/image is wrong])."""
    from ..errors import DataError

    errors, wrong = {}, []
    for i, name in enumerate(ds.names):
        try:
            item = ds[i]
        except DataError as exc:
            errors[name] = exc
            continue
        label = item["label"].numpy()
        if name not in truth or label.shape != truth[name].shape or not (label == truth[name]).all():
            wrong.append(f"{name}: label differs from the original")
        if images and name in images:
            got = (item["image"].numpy().transpose(1, 2, 0) * 255).round().astype(np.uint8)
            if got.shape != images[name].shape or np.abs(got.astype(int) - images[name]).max() > 0:
                wrong.append(f"{name}: image differs from the original")
    return errors, wrong


class _Trial:
    """One case on a damaged copy of its layout's tree: builds the dataset and checks each mode."""

    def __init__(self, case: DataCase, tree: Path, work: Path, truth: Truth) -> None:
        self.case, self.work = case, work
        self.root = work / "tree"
        if self.root.exists():
            shutil.rmtree(self.root)
        shutil.copytree(tree, self.root, symlinks=True)
        if case.layout == "celebamask-hq":
            celeb_meta(self.root)
        case.mutate(self.root)
        self.truth = {**truth, **(case.truth or {})}

    def build(self, skip: bool, report: Path | None = None) -> Any:
        from ..data import build_dataset
        from ..data.celebamask import prepare

        _, dataset, sub = BUILDERS[self.case.layout]
        if self.case.layout != "celebamask-raw":
            return build_dataset(
                dataset, self.root / sub, "train", image_size=None, skip_bad=skip, report=report
            )
        out = self.root / "out"
        shutil.rmtree(out, ignore_errors=True)
        result = prepare(self.root, out, workers=1, skip_bad=skip, progress=False)
        ds = build_dataset(dataset, out, "train", image_size=None)
        if report is not None:
            shutil.copyfile(out / "prepare-report.json", report)
        ds.skipped = list(result.skipped)
        return ds

    def named(self, exc: Any) -> bool:
        """Does the error name one of the case's paths and say what is wrong?"""
        return _names_path(exc, self.root, self.case.paths) and _problem_ok(exc, self.case.words)

    def run(self) -> tuple[bool, str]:
        """(passed, what happened): the default mode, then the DataLoader worker and skip_bad."""
        from ..errors import DataError

        case = self.case
        errors: dict[str, Any] = {}
        try:  # default mode: an error naming the file, at construction or when the sample is read
            ds = self.build(False)
        except DataError as exc:
            default, first = "build-error", exc
        except Exception as exc:  # noqa: BLE001
            return False, f"default mode crashed: {type(exc).__name__}: {short(exc)}"
        else:
            default = "read"
            errors, wrong = _read_all(ds, self.truth, case.images)
            if wrong:
                return False, "SILENTLY WRONG: " + "; ".join(wrong)
            first = next(iter(errors.values()), None)

        if case.expect == "fatal":
            return self.check_fatal(default, first)
        if case.expect in ("ok", "either") and default == "read" and not errors:
            if set(ds.names) != set(self.truth):
                return False, f"read {sorted(ds.names)}, expected {sorted(self.truth)}"
            return True, "reads, every label exact" + (" (and the image)" if case.images else "")
        if case.expect == "ok":
            return False, f"expected to read: {default}: {short(first)}"

        ok, detail = self.check_sample(default, first, errors)
        if not ok:
            return False, detail
        notes = [detail]
        if case.loader and default == "read":
            ok, detail = self.check_loader(ds)
            if not ok:
                return False, detail
            notes.append(detail)
        ok, detail = self.check_skip_bad()
        if not ok:
            return False, detail
        notes.append(detail)
        return True, "; ".join(notes)

    def check_fatal(self, default: str, first: Any) -> tuple[bool, str]:
        """The dataset cannot be built, in either mode, and the error names the broken part."""
        from ..errors import DataError

        case = self.case
        if default != "build-error" or not self.named(first):
            return False, f"expected a DataError naming {case.paths}, got {default}: {short(first)}"
        try:
            self.build(True)
        except DataError as exc:
            if not self.named(exc):
                return False, f"skip_bad: error does not name {case.paths}: {short(exc)}"
        except Exception as exc:  # noqa: BLE001
            return False, f"skip_bad crashed: {type(exc).__name__}: {short(exc)}"
        else:
            return False, "skip_bad built a dataset from a broken tree"
        return True, f"both modes: {short(first)}"

    def check_sample(self, default: str, first: Any, errors: dict[str, Any]) -> tuple[bool, str]:
        """Default mode: exactly the bad samples fail, each with an error naming the file."""
        case = self.case
        if default == "build-error":
            return self.named(first), f"build: {short(first)}"
        if set(errors) != set(case.bad) or not case.bad:
            return False, f"errors for {sorted(errors)}, expected for {list(case.bad)}"
        bad = [e for e in errors.values() if not self.named(e)]
        if bad:
            return False, f"error does not name {case.paths} / match {case.words!r}: {short(bad[0])}"
        return True, f"read: {short(first)}"

    def check_loader(self, ds: Any) -> tuple[bool, str]:
        """The same error from inside a DataLoader worker process."""
        from torch.utils.data import DataLoader, Subset

        from ..errors import DataError

        index = ds.names.index(self.case.bad[0])
        batches = iter(DataLoader(Subset(ds, [index]), batch_size=None, num_workers=1))
        try:
            next(batches)
        except DataError as exc:
            if not self.named(exc) or "worker" not in exc.problem:
                return False, f"DataLoader worker: {short(exc)}"
            return True, "DataLoader worker: same error"
        except Exception as exc:  # noqa: BLE001
            return False, f"DataLoader worker crashed: {type(exc).__name__}: {short(exc)}"
        finally:
            batches._shutdown_workers()  # type: ignore[attr-defined]  # now, not in 5 s from __del__
        return False, "DataLoader worker read the bad sample"

    def check_skip_bad(self) -> tuple[bool, str]:
        """The bad sample is skipped, listed, reported; the others keep their exact labels."""
        case, root = self.case, self.root
        report = self.work / "report.json"
        report.unlink(missing_ok=True)
        try:
            ds = self.build(True, report)
        except Exception as exc:  # noqa: BLE001
            return False, f"skip_bad failed: {type(exc).__name__}: {short(exc)}"
        expected_names = set(self.truth) - set(case.bad)
        if set(ds.names) != expected_names:
            return False, f"skip_bad kept {sorted(ds.names)}, expected {sorted(expected_names)}"
        listed = {Path(f) for f, _ in ds.skipped}
        if not any((root / p if p else root) in listed for p in case.paths):
            return False, f"skip_bad: {case.paths} not in .skipped {sorted(map(str, listed))}"
        try:
            reported = json.loads(report.read_text())["skipped"]
        except (OSError, ValueError, KeyError) as exc:
            return False, f"skip_bad: no report: {exc}"
        if sorted((s["file"], s["reason"]) for s in reported) != sorted((str(f), r) for f, r in ds.skipped):
            return False, "skip_bad: the report differs from .skipped"
        errors, wrong = _read_all(ds, self.truth, None)
        if errors or wrong:
            return False, f"skip_bad: remaining samples: errors {sorted(errors)}, wrong {wrong}"
        return True, f"skip_bad: skipped {len(ds.skipped)}, reported, {len(ds)} others exact"


def run(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    trees, truths = {}, {}
    for layout, (builder, _, _) in BUILDERS.items():
        trees[layout] = work / "templates" / layout
        truths[layout] = builder(trees[layout])
    cases = data_cases(truths)
    per_layout: dict[str, int] = {}
    for i, case in enumerate(cases):
        per_layout[case.layout] = per_layout.get(case.layout, 0) + 1
        label = f"{case.layout}: {case.name}"
        if case.needs_non_root and is_root():
            fam.na(label, "running as root, for whom chmod 000 does not stop reading; not counted")
            continue
        case_dir = work / f"case{i:03d}"
        try:
            ok, detail = _Trial(case, trees[case.layout], case_dir, truths[case.layout]).run()
            detail = detail.replace(str(case_dir / "tree"), "<tree>")
        except Exception as exc:  # noqa: BLE001 - a crash of the harness is a failed case, not a crash
            ok, detail = False, f"harness error {type(exc).__name__}: {short(exc)}"
        fam.add(label, ok, detail)
        shutil.rmtree(case_dir, ignore_errors=True)
    fam.evidence.append(
        "cases per layout: "
        + ", ".join(f"{k} {v}" for k, v in per_layout.items())
        + f"; {sum(c.loader for c in cases)} also read through a DataLoader worker process"
    )
    fam.evidence.append(
        "every other sample of every case was read and compared with its original label map: "
        f"{sum('SILENTLY WRONG' in c.detail for c in fam.cases)} silently wrong labels"
    )
