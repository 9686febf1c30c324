"""The datasets a set of notebook parameters names, checked (dry run) or made (``ensure_*``).

``main`` is the data of the main run (SynthFaces or LaPa in the LaPa layout, or CelebAMask-HQ:
prepared, or a subset in the flat layout), ``celeb`` the CelebAMask-HQ-layout data of Table 2
(SynthFaces, prepared, or a real set), ``helen`` Helen, ``group`` the comparison group's data (the
main data, or its first images). In a dry run nothing is made: what would be done goes to
``plan_lines`` and what stands in the way to ``problems``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from .datasets import ensure_prepared, ensure_subset, ensure_synth
from .paths import Log, rel, say

SYNTH_KEYS = ("n_train", "n_val", "n_test", "size", "seed", "image_scale")


@dataclass(frozen=True)
class DataRef:
    name: str  # build_dataset name
    root: Path
    label: str  # for captions
    synthetic: bool
    subset: bool = False  # a real subset, far smaller than the set the paper trained on


def synth_kwargs(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The SynthFaces settings of a parameter (``synth``, ``celeb_synth``), checked."""
    bad = sorted(set(spec) - set(SYNTH_KEYS))
    if bad:
        raise ConfigError(f"{where}: unknown SynthFaces setting(s) {bad}; known: {list(SYNTH_KEYS)}")
    missing = [k for k in ("n_train", "n_val", "n_test") if k not in spec]
    if missing:
        raise ConfigError(f"{where}: missing {missing}")
    return dict(spec)


def counts_text(counts: Mapping[str, Any]) -> str:
    """``{"train": 600, "val": None}`` -> "600 train / all val"."""
    return " / ".join(f"{n if n is not None else 'all'} {s}" for s, n in counts.items())


def _split_counts(kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    return {s: kwargs[f"n_{s}"] for s in ("train", "val", "test")} if kwargs else {}


class DataRefs:
    """The datasets of one set of parameters, each resolved once.

    ``need(*keys)`` returns the parameters' values (or says which the notebook did not declare),
    ``path(value)`` resolves a path parameter, ``out`` is the results folder.
    """

    def __init__(
        self,
        need: Callable[..., list[Any]],
        path: Callable[[Any], Path],
        out: Path,
        *,
        dry: bool = False,
        log: Log = say,
    ) -> None:
        self.need, self.path, self.out = need, path, out
        self.dry = dry  # plan only: make nothing
        self.log = log
        self.plan_lines: list[str] = []
        self.problems: list[str] = []
        self._refs: dict[str, DataRef | None] = {}

    def all(self) -> dict[str, DataRef]:
        """Every dataset the parameters name (the main data; CelebAMask-HQ and Helen when set)."""
        main = self.main()
        refs = {"celebamask-hq" if main.name == "celebamask-hq" else "lapa": main}
        if (c := self.celeb()) is not None:
            refs["celebamask-hq"] = c
        if (h := self.helen()) is not None:
            refs["helen"] = h
        return refs

    def main(self) -> DataRef:
        """The main run's data: ``dataset`` synth or lapa (LaPa layout) or celebamask-hq."""
        if "main" not in self._refs:
            dataset, root, synth = self.need("dataset", "root", "synth")
            if dataset == "celebamask-hq":
                self._refs["main"] = self._celeb_real(self.path(root), None)
            else:
                self._refs["main"] = self._real_or_synth(dataset, self.path(root), synth, "lapa", "LaPa")
        return self._refs["main"]  # type: ignore[return-value]

    def _real_or_synth(self, dataset: str, root: Path, synth: Any, layout: str, real_name: str) -> DataRef:
        from ..data.synth import META_FILE, read_meta

        if dataset == "synth":
            kwargs = synth_kwargs(synth, "synth") if synth else None
            if self.dry:
                if (root / META_FILE).is_file():
                    meta = read_meta(root)
                    self.plan_lines.append(
                        f"data: reuse SynthFaces at {rel(root)} ({counts_text(meta['counts'])})"
                    )
                    if kwargs and meta["counts"] != _split_counts(kwargs):
                        self.problems.append(
                            f"{rel(root)} holds another SynthFaces set than `synth` asks for"
                        )
                elif kwargs:
                    self.plan_lines.append(
                        f"data: generate SynthFaces ({layout} layout, {kwargs}) into {rel(root)}"
                    )
                else:
                    self.problems.append(f"{rel(root)}: no SynthFaces set there and no `synth` settings")
                counts = _split_counts(kwargs)
                size, seed = (kwargs or {}).get("size", "?"), (kwargs or {}).get("seed", 0)
            else:
                if kwargs:
                    ensure_synth(root, layout, **kwargs, log=self.log)
                meta = read_meta(root)
                counts, size, seed = meta["counts"], meta["size"], meta["seed"]
            label = f"SynthFaces, LaPa layout ({counts_text(counts)} images, {size} px, seed {seed})"
            return DataRef("synth", root, label, True)
        if dataset == layout:
            self._check_real(layout, root)
            return DataRef(layout, root, f"{real_name} ({rel(root)})", False)
        raise ConfigError(f"dataset must be 'synth', '{layout}' or 'celebamask-hq', got {dataset!r}")

    def _check_real(self, name: str, root: Path) -> None:
        from ..data import helen, lapa

        scan = {"lapa": lapa.scan, "helen": helen.scan}[name]
        try:
            counts = {s: len(scan(root, s)[0]) for s in ("train", "val", "test")}
        except DataError as exc:
            if not self.dry:
                raise
            self.problems.append(f"{name}: {exc} (README: 'Datasets' says where it goes)")
            return
        if self.dry:
            self.plan_lines.append(f"data: {name} at {rel(root)} ({counts_text(counts)})")

    def celeb(self) -> DataRef | None:
        if "celeb" not in self._refs:
            dataset, root, raw, synth = self.need("celeb_dataset", "celeb_root", "celeb_raw", "celeb_synth")
            ref: DataRef | None = None
            if dataset is not None:
                root = self.path(root)
                raw = self.path(raw) if raw else None
                if dataset == "synth":
                    ref = self._celeb_synth(root, raw, synth)
                elif dataset == "celebamask-hq":
                    ref = self._celeb_real(root, raw)
                else:
                    raise ConfigError(f"celeb_dataset must be synth, celebamask-hq or null, got {dataset!r}")
            self._refs["celeb"] = ref
        return self._refs["celeb"]

    def _celeb_synth(self, root: Path, raw: Path | None, synth: Any) -> DataRef:
        from ..data.synth import META_FILE, read_meta

        if raw is None:
            raise ConfigError("celeb_dataset synth needs celeb_raw (where SynthFaces writes the raw set)")
        kwargs = synth_kwargs(synth, "celeb_synth") if synth else None
        if self.dry:
            state = "reuse" if (raw / META_FILE).is_file() else "generate"
            self.plan_lines.append(f"data: {state} SynthFaces (CelebAMask-HQ layout, {kwargs}) at {rel(raw)}")
            self.plan_lines.append(f"data: prepare it into {rel(root)} (fpliif prepare celebamask-hq)")
            counts = _split_counts(kwargs)
            size = (kwargs or {}).get("size", "?")
        else:
            if kwargs:
                ensure_synth(raw, "celebamask-hq", **kwargs, log=self.log)
            ensure_prepared(raw, root, log=self.log)
            meta = read_meta(raw)
            counts, size = meta["counts"], meta["size"]
        label = f"SynthFaces, CelebAMask-HQ layout ({counts_text(counts)} images, {size} px, 19 classes)"
        return DataRef("synth", root, label, True)

    def _celeb_real(self, root: Path, raw: Path | None) -> DataRef:
        from ..data import flat
        from ..data.celebamask import PREPARED, read_prepared

        if (root / PREPARED).is_file():
            if self.dry:
                self.plan_lines.append(f"data: CelebAMask-HQ prepared at {rel(root)}")
            return DataRef("celebamask-hq", root, f"CelebAMask-HQ ({rel(root)})", False)
        if flat.is_flat(root):
            record = flat.split_record(root)
            counts = record.get("counts")
            if self.dry:
                self.plan_lines.append(f"data: CelebAMask-HQ subset, flat layout, at {rel(root)}")
            how = f"{counts_text(counts)}, split with seed {record['split_seed']}" if counts else "flat"
            label = f"real CelebAMask-HQ subset ({rel(root)}: {how})"
            return DataRef("celebamask-hq", root, label, False, subset=True)
        if raw is not None and raw.is_dir():
            if self.dry:
                self.plan_lines.append(f"data: prepare CelebAMask-HQ {rel(raw)} -> {rel(root)}")
            else:
                ensure_prepared(raw, root, log=self.log)
        elif self.dry:
            self.problems.append(
                f"celebamask-hq: no prepared folder, no flat subset ({flat.LAYOUT}) at {rel(root)}, and no "
                f"distribution at {rel(raw) if raw else '(celeb_raw unset)'} (README: 'Datasets')"
            )
        else:
            read_prepared(root)  # raises the error that says what to run
        return DataRef("celebamask-hq", root, f"CelebAMask-HQ ({rel(root)})", False)

    def helen(self) -> DataRef | None:
        if "helen" not in self._refs:
            dataset, root = self.need("helen_dataset", "helen_root")
            ref = None
            if dataset is not None:
                if dataset != "helen":
                    raise ConfigError(f"helen_dataset must be helen or null, got {dataset!r}")
                root = self.path(root)
                self._check_real("helen", root)
                ref = DataRef("helen", root, f"Helen ({rel(root)})", False)
            self._refs["helen"] = ref
        return self._refs["helen"]

    def group(self) -> DataRef:
        """The comparison group's data: the first ``group_subset`` images of ``lapa`` (linked)."""
        if "group" not in self._refs:
            (subset,) = self.need("group_subset")
            base = self.main()
            ref = base
            if subset and base.name == "celebamask-hq":
                raise ConfigError("group_subset takes the first images of LaPa-layout data; set it to null")
            if subset:
                bad = sorted(set(subset) - {"n_train", "n_val", "n_test"})
                if bad:
                    raise ConfigError(f"group_subset: unknown key(s) {bad}; known: n_train, n_val, n_test")
                counts = {s: subset.get(f"n_{s}") for s in ("train", "val", "test")}
                tag = "-".join(str(n if n is not None else "all") for n in counts.values())
                dest = self.out / "data" / f"{base.root.name}-first-{tag}"
                if self.dry:
                    what = f"the first {counts_text(counts)} images of {rel(base.root)}"
                    self.plan_lines.append(f"data: link {what} at {rel(dest)}")
                else:
                    ensure_subset(base.root, dest, **subset, log=self.log)
                label = f"the first {counts_text(counts)} images of {base.label}"
                ref = DataRef(base.name, dest, label, base.synthetic, base.subset)
            self._refs["group"] = ref
        return self._refs["group"]  # type: ignore[return-value]


__all__ = ["SYNTH_KEYS", "DataRef", "DataRefs", "counts_text", "synth_kwargs"]
