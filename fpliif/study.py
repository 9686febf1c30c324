"""What each notebook shows, made from its parameters: data, training runs, evaluations, tables, figures.

    study = Study.from_namespace(globals())   # in a notebook, after its parameters cell
    table = study.table1()                     # ensures the data, the main run and its evaluation
    table.save(study.tables_dir)

A notebook declares the parameters it uses (``fpliif.pipeline.PARAMS``); a ``Study`` method that
needs one the notebook did not declare says so (``ParameterError``) instead of guessing. Runs are
named after their role: ``main`` (the main run), ``main-<peer>`` (the light peer trained like it),
``celeb``/``celeb-seed<s>``, ``helen``/``helen-seed<s>``, and the comparison group ``group-base``,
``group-ew<lambda>``, ``group-<ablation>``, ``group-seed<s>``: every group run shares one budget
(``group_config`` + ``group_overrides``) so that comparisons within a table are fair, and a run
needed by two tables (the base run: lambda = 40, instance norm, seed 0) is trained once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import paper, report
from .errors import ConfigError, DataError, FpliifError
from .pipeline import (
    NOTEBOOKS,
    PARAMS,
    Log,
    Run,
    RunSpec,
    config_diff,
    ensure_bench,
    ensure_eval,
    ensure_prepared,
    ensure_run,
    ensure_subset,
    ensure_synth,
    notebook_path,
    parameters_cell,
    rel,
    resolve,
    resolve_device,
    run_state,
    runs_dir,
    say,
)


class ParameterError(FpliifError):
    """A notebook did not declare a parameter that what it asked for needs."""


SYNTH_KEYS = ("n_train", "n_val", "n_test", "size", "seed", "image_scale")
ABLATION_PAPER_KEYS = {
    "nonorm": "fpliif-nonorm",
    "bn": "fpliif-bn",
    "unet": "fpliif-unet",
    "noens": "fpliif-noens",
}
ABLATION_LABELS = {
    "base": "ResBlock + instance norm (the paper's model)",
    "bn": "ResBlock + batch norm",
    "nonorm": "ResBlock without norm (old EDSR)",
    "unet": "U-Net decoder instead of LIIF",
    "noens": "LIIF without the local ensemble",
}
PAPER_LAPA = "FP-LIIF trained on LaPa with the paper's recipe (A100s, 400 epochs)"
SYNTH_NOTE = (
    "Ours are measured on synthetic faces (SynthFaces), not on the paper's dataset: the difference "
    "column says how far this short CPU run is from the paper's numbers, it is not a reproduction claim."
)


@dataclass(frozen=True)
class DataRef:
    name: str  # build_dataset name
    root: Path
    label: str  # for captions
    synthetic: bool


def model_overrides(base_model: str, options: Mapping[str, Any]) -> list[str]:
    """Overrides that turn ``base_model`` into the variant with ``options`` (a registered ablation
    name such as ``fpliif-bn`` when there is one, ``model.options.*`` otherwise)."""
    from .models import variant_name

    opts = dict(options or {})
    if not opts:
        return []
    if base_model == "fpliif" and (name := variant_name(opts)):
        return [f"model.name={name}"]
    return [f"model.options.{k}={json.dumps(v)}" for k, v in opts.items()]


def _synth_kwargs(spec: Mapping[str, Any], where: str) -> dict[str, Any]:
    bad = sorted(set(spec) - set(SYNTH_KEYS))
    if bad:
        raise ConfigError(f"{where}: unknown SynthFaces setting(s) {bad}; known: {list(SYNTH_KEYS)}")
    missing = [k for k in ("n_train", "n_val", "n_test") if k not in spec]
    if missing:
        raise ConfigError(f"{where}: missing {missing}")
    return dict(spec)


def override_list(value: Any) -> list[str]:
    """Training-config overrides from a parameter: a mapping {"optim.epochs": 1} (YAML-friendly,
    what the profiles use) or a list of "optim.epochs=1" strings."""
    if not value:
        return []
    if isinstance(value, Mapping):
        return [f"{k}={json.dumps(v)}" for k, v in value.items()]
    if isinstance(value, str) or not all(isinstance(v, str) and "=" in v for v in value):
        raise ConfigError(f"overrides must be a mapping of SECTION.KEY to values, got {value!r}")
    return list(value)


def _counts_text(counts: Mapping[str, Any]) -> str:
    return " / ".join(f"{n if n is not None else 'all'} {s}" for s, n in counts.items())


class Study:
    """The data, runs, evaluations, tables and figures of one set of notebook parameters."""

    def __init__(self, params: Mapping[str, Any], *, log: Log = say, dry: bool = False) -> None:
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}")
        self.p = dict(params)
        self.log = log
        self.dry = dry  # plan only: make nothing
        self.plan_lines: list[str] = []
        self.problems: list[str] = []
        self._runs: dict[str, Run] = {}
        self._evals: dict[tuple, Any] = {}
        self._data: dict[str, DataRef | None] = {}

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any], **kw: Any) -> Study:
        """A Study of the parameters defined in ``namespace`` (a notebook's ``globals()``)."""
        return cls({k: v for k, v in namespace.items() if k in PARAMS and not k.startswith("_")}, **kw)

    # -- parameters and folders ----------------------------------------------------------------
    def need(self, *keys: str) -> list[Any]:
        missing = [k for k in keys if k not in self.p]
        if missing:
            raise ParameterError(
                f"parameter(s) {missing} are needed here but the notebook's parameters cell lacks them"
            )
        return [self.p[k] for k in keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self.p.get(key, default)

    @property
    def profile(self) -> str:
        return str(self.p.get("profile") or "custom")

    @property
    def out(self) -> Path:
        return resolve(self.p.get("out") or f"results/{self.profile}")

    def path(self, value: str | Path) -> Path:
        return resolve(value, self.out)

    @property
    def tables_dir(self) -> Path:
        return self.out / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.out / "figures"

    @property
    def device(self) -> str:
        return str(self.p.get("device") or "auto")

    def caption(self, ours: str, paper_side: str = "") -> str:
        return report.caption(ours, profile=self.profile, paper_side=paper_side)

    def save(self, table: report.Table) -> report.Table:
        table.save(self.tables_dir)
        return table

    def figure_path(self, name: str) -> Path:
        return self.figures_dir / f"{name}.png"

    def show(self, item: Any, name: str | None = None) -> Path:
        """Save a ``report.Table`` (tables/<name>.csv, .md) or a figure (figures/<name>.png) and
        display what was written (in a notebook; a no-op elsewhere). Returns the main file."""
        from IPython.display import Image, Markdown, display

        from . import viz

        if isinstance(item, report.Table):
            if name:
                item.name = name
            paths = item.save(self.tables_dir)
            display(Markdown(item.to_markdown()))
            return paths["csv"]
        if name is None:
            raise ValueError("a figure needs a name")
        path = viz.save(item, self.figure_path(name))
        display(Image(filename=str(path)))
        return path

    def note(self, text: str) -> None:
        """Display a Markdown note (e.g. that a part is not run in this profile)."""
        from IPython.display import Markdown, display

        display(Markdown(text))

    # -- data ------------------------------------------------------------------------------------
    def _plan(self, line: str) -> None:
        self.plan_lines.append(line)

    def lapa_data(self) -> DataRef:
        if "lapa" not in self._data:
            dataset, root, synth = self.need("dataset", "root", "synth")
            self._data["lapa"] = self._real_or_synth(dataset, self.path(root), synth, "lapa", "LaPa")
        return self._data["lapa"]  # type: ignore[return-value]

    def _real_or_synth(self, dataset: str, root: Path, synth: Any, layout: str, real_name: str) -> DataRef:
        from .data.synth import META_FILE, read_meta

        if dataset == "synth":
            kwargs = _synth_kwargs(synth, "synth") if synth else None
            if self.dry:
                if (root / META_FILE).is_file():
                    meta = read_meta(root)
                    self._plan(f"data: reuse SynthFaces at {rel(root)} ({_counts_text(meta['counts'])})")
                    if kwargs and (meta["counts"] != {s: kwargs[f"n_{s}"] for s in ("train", "val", "test")}):
                        self.problems.append(
                            f"{rel(root)} holds another SynthFaces set than `synth` asks for"
                        )
                elif kwargs:
                    self._plan(f"data: generate SynthFaces ({layout} layout, {kwargs}) into {rel(root)}")
                else:
                    self.problems.append(f"{rel(root)}: no SynthFaces set there and no `synth` settings")
                counts = {s: kwargs[f"n_{s}"] for s in ("train", "val", "test")} if kwargs else {}
                size, seed = (kwargs or {}).get("size", "?"), (kwargs or {}).get("seed", 0)
            else:
                if kwargs:
                    ensure_synth(root, layout, **kwargs, log=self.log)
                meta = read_meta(root)
                counts, size, seed = meta["counts"], meta["size"], meta["seed"]
            label = f"SynthFaces, LaPa layout ({_counts_text(counts)} images, {size} px, seed {seed})"
            return DataRef("synth", root, label, True)
        if dataset == layout:
            self._check_real(layout, root)
            return DataRef(layout, root, f"{real_name} ({rel(root)})", False)
        raise ConfigError(f"dataset must be 'synth' or '{layout}', got {dataset!r}")

    def _check_real(self, name: str, root: Path) -> None:
        from .data import helen, lapa

        scan = {"lapa": lapa.scan, "helen": helen.scan}[name]
        try:
            counts = {s: len(scan(root, s)[0]) for s in ("train", "val", "test")}
        except DataError as exc:
            if not self.dry:
                raise
            self.problems.append(f"{name}: {exc} (README: 'Datasets' says where it goes)")
            return
        if self.dry:
            self._plan(f"data: {name} at {rel(root)} ({_counts_text(counts)})")

    def celeb_data(self) -> DataRef | None:
        if "celeb" in self._data:
            return self._data["celeb"]
        from .data.celebamask import PREPARED, read_prepared
        from .data.synth import META_FILE, read_meta

        dataset, root, raw, synth = self.need("celeb_dataset", "celeb_root", "celeb_raw", "celeb_synth")
        ref: DataRef | None = None
        if dataset is not None:
            root = self.path(root)
            raw = self.path(raw) if raw else None
            if dataset == "synth":
                if raw is None:
                    raise ConfigError(
                        "celeb_dataset synth needs celeb_raw (where SynthFaces writes the raw set)"
                    )
                kwargs = _synth_kwargs(synth, "celeb_synth") if synth else None
                if self.dry:
                    state = "reuse" if (raw / META_FILE).is_file() else "generate"
                    self._plan(f"data: {state} SynthFaces (CelebAMask-HQ layout, {kwargs}) at {rel(raw)}")
                    self._plan(f"data: prepare it into {rel(root)} (fpliif prepare celebamask-hq)")
                    counts = {s: kwargs[f"n_{s}"] for s in ("train", "val", "test")} if kwargs else {}
                    size = (kwargs or {}).get("size", "?")
                else:
                    if kwargs:
                        ensure_synth(raw, "celebamask-hq", **kwargs, log=self.log)
                    ensure_prepared(raw, root, log=self.log)
                    meta = read_meta(raw)
                    counts, size = meta["counts"], meta["size"]
                label = (
                    f"SynthFaces, CelebAMask-HQ layout ({_counts_text(counts)} images, {size} px, 19 classes)"
                )
                ref = DataRef("synth", root, label, True)
            elif dataset == "celebamask-hq":
                if (root / PREPARED).is_file():
                    if self.dry:
                        self._plan(f"data: CelebAMask-HQ prepared at {rel(root)}")
                elif raw is not None and raw.is_dir():
                    if self.dry:
                        self._plan(f"data: prepare CelebAMask-HQ {rel(raw)} -> {rel(root)}")
                    else:
                        ensure_prepared(raw, root, log=self.log)
                elif self.dry:
                    self.problems.append(
                        f"celebamask-hq: neither a prepared folder at {rel(root)} nor the distribution at "
                        f"{rel(raw) if raw else '(celeb_raw unset)'} (README: 'Datasets')"
                    )
                else:
                    read_prepared(root)  # raises the error that says what to run
                ref = DataRef("celebamask-hq", root, f"CelebAMask-HQ ({rel(root)})", False)
            else:
                raise ConfigError(f"celeb_dataset must be synth, celebamask-hq or null, got {dataset!r}")
        self._data["celeb"] = ref
        return ref

    def helen_data(self) -> DataRef | None:
        if "helen" not in self._data:
            dataset, root = self.need("helen_dataset", "helen_root")
            ref = None
            if dataset is not None:
                if dataset != "helen":
                    raise ConfigError(f"helen_dataset must be helen or null, got {dataset!r}")
                ref = DataRef("helen", self.path(root), "", False)
                self._check_real("helen", ref.root)
                ref = DataRef("helen", ref.root, f"Helen ({rel(ref.root)})", False)
            self._data["helen"] = ref
        return self._data["helen"]

    def group_data(self) -> DataRef:
        if "group" not in self._data:
            (subset,) = self.need("group_subset")
            base = self.lapa_data()
            ref = base
            if subset:
                bad = sorted(set(subset) - {"n_train", "n_val", "n_test"})
                if bad:
                    raise ConfigError(f"group_subset: unknown key(s) {bad}; known: n_train, n_val, n_test")
                counts = {s: subset.get(f"n_{s}") for s in ("train", "val", "test")}
                tag = "-".join(str(n if n is not None else "all") for n in counts.values())
                dest = self.out / "data" / f"{base.root.name}-first-{tag}"
                if self.dry:
                    what = f"the first {_counts_text(counts)} images of {rel(base.root)}"
                    self._plan(f"data: link {what} at {rel(dest)}")
                else:
                    ensure_subset(base.root, dest, **subset, log=self.log)
                label = f"the first {_counts_text(counts)} images of {base.label}"
                ref = DataRef(base.name, dest, label, base.synthetic)
            self._data["group"] = ref
        return self._data["group"]  # type: ignore[return-value]

    def data_refs(self) -> dict[str, DataRef]:
        """Every dataset the parameters name (LaPa layout; CelebAMask-HQ and Helen when set)."""
        refs = {"lapa": self.lapa_data()}
        if (c := self.celeb_data()) is not None:
            refs["celebamask-hq"] = c
        if (h := self.helen_data()) is not None:
            refs["helen"] = h
        return refs

    # -- run specs ---------------------------------------------------------------------------------
    def _base_overrides(self, data: DataRef) -> list[str]:
        over = [f"data.name={data.name}", f"data.root={data.root}"]
        if self.p.get("device") not in (None, "auto"):
            over.append(f"run.device={self.p['device']}")
        return over

    def _nproc(self) -> int:
        return int(self.p.get("nproc") or 1)

    def main_spec(self) -> RunSpec:
        from .engine.config import load_config

        keys = (
            "train_config",
            "train_overrides",
            "epochs",
            "batch_size",
            "edge_weight",
            "norm",
            "decoder",
            "seed",
        )
        config, extra, epochs, batch, ew, norm, decoder, seed = self.need(*keys)
        over = self._base_overrides(self.lapa_data())
        for key, value in (
            ("optim.epochs", epochs),
            ("optim.batch_size", batch),
            ("optim.edge_weight", ew),
            ("run.seed", seed),
        ):
            if value is not None:
                over.append(f"{key}={value}")
        opts = {}
        if norm not in (None, "instance"):
            opts["norm"] = norm
        if decoder not in (None, "liif"):
            opts["decoder"] = decoder
        over += model_overrides(load_config(config).model.name, opts)
        over += override_list(extra)
        return RunSpec("main", config, tuple(over), "main run", self._nproc())

    def baseline_spec(self, kind: str = "lapa") -> RunSpec | None:
        """The light peer (``baseline_model``) trained exactly like the main (or the first
        CelebAMask-HQ) run: Table 9's row and the baseline of Figures 10 and 11."""
        (model,) = self.need("baseline_model")
        if not model:
            return None
        base = self.main_spec() if kind == "lapa" else self.celeb_spec()
        if base is None:
            return None
        over = (*base.overrides, f"model.name={model}", "model.options={}")
        return RunSpec(
            f"{base.name}-{model}", base.config, over, f"{model}, trained like run {base.name}", base.nproc
        )

    def _seeded(
        self, prefix: str, config_key: str, over_key: str, seeds_key: str, data: DataRef | None, seed=None
    ):
        config, extra, seeds = self.need(config_key, over_key, seeds_key)
        if data is None or not seeds:
            return None
        seed = seeds[0] if seed is None else seed
        name = prefix if seed == seeds[0] else f"{prefix}-seed{seed}"
        over = (*self._base_overrides(data), f"run.seed={seed}", *override_list(extra))
        return RunSpec(name, config, over, f"{prefix} run, seed {seed}", self._nproc())

    def celeb_spec(self, seed: int | None = None) -> RunSpec | None:
        return self._seeded(
            "celeb", "celeb_config", "celeb_overrides", "celeb_seeds", self.celeb_data(), seed
        )

    def helen_spec(self, seed: int | None = None) -> RunSpec | None:
        return self._seeded(
            "helen", "helen_config", "helen_overrides", "helen_seeds", self.helen_data(), seed
        )

    def group_base(self) -> tuple[RunSpec, Any]:
        """The group's base run (the preset's lambda, instance norm and seed) and its config."""
        from .engine.config import load_config

        config, extra = self.need("group_config", "group_overrides")
        over = (*self._base_overrides(self.group_data()), *override_list(extra))
        cfg = load_config(config, list(over))
        label = f"base (λ={cfg.optim.edge_weight:g}, {ABLATION_LABELS['base']}, seed {cfg.run.seed})"
        return RunSpec("group-base", config, over, label, self._nproc()), cfg

    def group_spec(self, kind: str, value: Any) -> RunSpec:
        """A group run: ``("ew", lambda)``, ``("ablation", name)`` or ``("seed", s)``."""
        base, cfg = self.group_base()
        if kind == "ew":
            if float(value) == cfg.optim.edge_weight:
                return base
            return RunSpec(
                f"group-ew{value:g}",
                base.config,
                (*base.overrides, f"optim.edge_weight={value}"),
                f"λ={value:g}",
                base.nproc,
            )
        if kind == "seed":
            if int(value) == cfg.run.seed:
                return base
            return RunSpec(
                f"group-seed{value}",
                base.config,
                (*base.overrides, f"run.seed={value}"),
                f"seed {value}",
                base.nproc,
            )
        if kind == "ablation":
            (ablations,) = self.need("ablations")
            opts = (ablations or {})[value]
            over = (*base.overrides, *model_overrides(cfg.model.name, opts))
            return RunSpec(f"group-{value}", base.config, over, ABLATION_LABELS.get(value, value), base.nproc)
        raise ValueError(f"group run kind must be ew, seed or ablation, got {kind!r}")

    # -- runs and evaluations ----------------------------------------------------------------------
    def run(self, spec: RunSpec) -> Run:
        if spec.name not in self._runs:
            self._runs[spec.name] = ensure_run(
                spec.name,
                spec.config,
                spec.overrides,
                self.out,
                nproc=spec.nproc,
                label=spec.label,
                log=self.log,
            )
        return self._runs[spec.name]

    def evaluate(self, run: Run, sizes: Sequence[int], score_size: int):
        dtype, batch = self.need("eval_dtype", "eval_batch")
        key = (run.name, tuple(sorted(set(sizes))), score_size)
        if key not in self._evals:
            self._evals[key] = ensure_eval(
                run,
                sizes=sizes,
                score_size=score_size,
                dtype=dtype,
                batch_size=batch,
                device=resolve_device(self.device),
                log=self.log,
            )
        return self._evals[key]

    def main_run(self) -> Run:
        return self.run(self.main_spec())

    def main_eval(self):
        (sizes,) = self.need("eval_sizes")
        return self.evaluate(self.main_run(), sizes, 256)

    def baseline_eval(self, kind: str = "lapa"):
        spec = self.baseline_spec(kind)
        return None if spec is None else self.evaluate(self.run(spec), [256], 256)

    def celeb_eval(self, seed: int | None = None):
        spec = self.celeb_spec(seed)
        if spec is None:
            return None
        (sizes,) = self.need("eval_sizes")
        return self.evaluate(self.run(spec), sizes if seed is None else [256], 256)

    def helen_eval(self, seed: int | None = None):
        spec = self.helen_spec(seed)
        return None if spec is None else self.evaluate(self.run(spec), [256], 256)

    def group_eval(self, spec: RunSpec):
        (size,) = self.need("group_eval_size")
        return self.evaluate(self.run(spec), [size], size)

    def group_mean_f1(self, spec: RunSpec, composite: str | None = None) -> float:
        (size,) = self.need("group_eval_size")
        s = self.group_eval(spec).scores[f"at{size}"]
        value = (s.get("composite_f1") or {}).get(composite) if composite else s["mean_f1"]
        return 100 * value if value is not None else math.nan

    def describe(self, run: Run, data: DataRef) -> str:
        return f"{data.label}; run {run.name}: {run.describe()}"

    def eval_table(
        self, result: Any, caption: str, name: str = "main_eval"
    ) -> tuple[report.Table, report.Table]:
        """Two tables of an evaluation: mean F1/mIoU per protocol key (with the paper's row name)
        and F1 per class per protocol key."""
        rows, per_class = [], []
        for key, s in result.scores.items():
            head = {"protocol": key, "paper row": paper.OURS_ROWS.get(key, "")}
            rows.append({**head, "mean F1": 100 * s["mean_f1"], "mIoU": 100 * s["miou"]})
            cols = report.score_columns(
                s, result.class_names, [*result.class_names[1:], *(s.get("composite_f1") or {})]
            )
            per_class.append({**head, **cols})
        title = (
            "mean F1 and mIoU (%) per protocol: atX decodes and scores at X; X->256 decodes at X, upscales"
        )
        return (
            report.Table(
                name, f"{name}: {title}", caption, pd.DataFrame(rows), labels=("protocol", "paper row")
            ),
            report.Table(
                f"{name}_per_class",
                f"{name}: F1 (%) per class and protocol",
                caption,
                pd.DataFrame(per_class),
                labels=("protocol", "paper row"),
            ),
        )

    def _eval_text(self, result: Any, size: int = 256) -> str:
        n = (result.meta.get("data") or {}).get("images", "?")
        return f"test split ({n} images), scored at {size}x{size}, {result.meta.get('dtype', 'fp32')}"

    def _notes(self, data: DataRef) -> list[str]:
        return [SYNTH_NOTE] if data.synthetic else []

    def group_budget(self) -> str:
        base, _ = self.group_base()
        run = self.run(base)
        (size,) = self.need("group_eval_size")
        return (
            f"{self.group_data().label}; every run of the group shares run group-base's budget: "
            f"{run.describe()}; test split scored at {size}x{size}"
        )

    # -- tables -----------------------------------------------------------------------------------
    def table1(self) -> report.Table:
        data, run, res = self.lapa_data(), self.main_run(), self.main_eval()
        ours = report.ours_rows(res, [*paper.LAPA_COLUMNS, "mean"])
        cap = self.caption(f"{self.describe(run, data)}; {self._eval_text(res)}", PAPER_LAPA)
        return report.per_class_table(1, ours, caption=cap, notes=self._notes(data))

    def table2(self) -> report.Table:
        spec = self.celeb_spec()
        if spec is None:
            return report.per_class_table(
                2, {}, caption=self.caption(f"{report.NOT_RUN} (celeb_dataset or celeb_seeds unset)")
            )
        data, run, res = self.celeb_data(), self.run(spec), self.celeb_eval()
        ours = report.ours_rows(res, [*paper.CELEBAMASK_COLUMNS, "mean"])
        cap = self.caption(
            f"{self.describe(run, data)}; {self._eval_text(res)}",
            "FP-LIIF trained on CelebAMask-HQ with the paper's recipe (Table 2)",
        )
        return report.per_class_table(2, ours, caption=cap, notes=self._notes(data))

    def table3(self) -> report.Table:
        cols = list(paper.HELEN_COLUMNS)
        paper_side = "FP-LIIF trained on Helen (Table 3)"
        if self.helen_data() is not None:
            spec = self.helen_spec()
            if spec is None:
                return report.per_class_table(
                    3, {}, caption=self.caption(f"{report.NOT_RUN} (helen_seeds empty)")
                )
            data, run, res = self.helen_data(), self.run(spec), self.helen_eval()
            notes: list[str] = []
        else:
            data, run, res = self.lapa_data(), self.main_run(), self.main_eval()
            notes = [
                "No Helen data in this profile: SynthFaces' LaPa layout uses Helen's 11 label ids "
                "(NOTES.md), so this table scores the main run on its test split with Helen's set-level "
                "composites (eyes, brows, mouth, overall).",
                *self._notes(data),
            ]
        ours = report.ours_rows(res, cols, rows={"at256": "Ours"})
        cap = self.caption(f"{self.describe(run, data)}; {self._eval_text(res)}", paper_side)
        return report.per_class_table(3, ours, caption=cap, notes=notes)

    def bench(self) -> list[dict[str, Any]]:
        (args,) = self.need("bench_args")
        if self.dry:
            return []
        return ensure_bench(self.out / "bench", list(args or []), log=self.log)

    def _bench_note(self, records: Sequence[Mapping[str, Any]]) -> str:
        lat = [r for r in records if r.get("kind") == "latency"]
        if not lat:
            return "no speed measured in this profile"
        r0 = lat[0]
        loads = [r.get("load_before") for r in lat if r.get("load_before") is not None]
        noisy = sum(1 for r in lat if r.get("noisy"))
        (args,) = self.need("bench_args")
        text = (
            f"speed measured here by `fpliif bench {' '.join(args)}` on {r0.get('cpu') or r0.get('device')} "
            f"({r0.get('threads')} threads, load average {min(loads):.1f}-{max(loads):.1f} during the rows"
            if loads
            else f"speed measured here by `fpliif bench {' '.join(args)}` on {r0.get('cpu')}"
        )
        text += f"; {noisy} of {len(lat)} rows flagged noisy)" if loads else ")"
        return text + "; the paper's FPS are an A100's: different hardware, not comparable"

    @staticmethod
    def _fps(
        records, model: str, size: int, backend: str = "fast", dtype: str = "fp32", pred: int | None = None
    ):
        for r in records:
            if (
                r.get("kind") == "latency"
                and r["model"] == model
                and r["backend"] == backend
                and r["dtype"] == dtype
                and r["out_size"] == size
                and r.get("pred_size", size) == (size if pred is None else pred)
                and r["batch"] == 1
            ):
                return r
        return None

    def table4(self) -> report.Table:
        from .models import build_model
        from .models.complexity import PAPER_UNET_PARAMS, count_macs, count_parameters

        (peer,) = self.need("baseline_model")
        records = self.bench()
        t4 = paper.TABLE4
        rows = []

        def measured(name: str, bench_name: str, classes: int, input_size: int, out_size: int | None):
            model = build_model(name, num_classes=classes).to("meta")
            macs = count_macs(model, input_size=input_size, out_size=out_size) / 1e9
            size = out_size or input_size
            rec = self._fps(records, bench_name, size)
            rec = rec or self._fps(records, bench_name, size, backend="eager")
            if rec is None and bench_name != name:  # a peer timed at its own size (BiSeNet: 512)
                rec = next(
                    (
                        r
                        for r in records
                        if r.get("kind") == "latency"
                        and r["model"] == bench_name
                        and r["dtype"] == "fp32"
                        and r["batch"] == 1
                    ),
                    None,
                )
            return count_parameters(model) / 1e6, macs, rec

        def add(label, paper_params, paper_gflops, paper_fps, ours=None):
            params, macs, rec = ours if ours else (math.nan, math.nan, None)
            rows.append(
                {
                    "model": label,
                    "params paper (M)": paper_params,
                    "params ours (M)": params,
                    "params diff (%)": report.relative_diff(params, paper_params),
                    "GFLOPs paper": paper_gflops,
                    "GMACs ours": macs,
                    "GMACs diff (%)": report.relative_diff(macs, paper_gflops),
                    "FPS paper (A100)": paper_fps,
                    "FPS here": rec["fps"] if rec else math.nan,
                    "GFLOP/s here": rec["gflops_per_s"] if rec else math.nan,
                    "measured as": _measured_as(rec),
                }
            )

        row = t4.loc["FP-LIIF (ours)"]
        add("FP-LIIF", row.params_m, row.gflops, row.fps_a100, measured("fpliif", "fpliif", 11, 256, 256))
        add(
            "FP-LIIF, U-Net decoder (5.1)",
            PAPER_UNET_PARAMS / 1e6,
            math.nan,
            math.nan,
            measured("fpliif-unet", "fpliif-unet", 11, 256, 256),
        )
        notes = [paper.TABLE4_NOTE]
        if peer:
            bench_name = "bisenet" if peer.startswith("bisenet") else peer
            add(
                f"{peer} (Table 9's light peer)",
                math.nan,
                math.nan,
                math.nan,
                measured(peer, bench_name, 11, 256, 256),
            )
            notes.append(
                f"{peer}: parameters and MACs of the 11-class model at 256x256 as trained here; its speed "
                "comes from the bench's 'bisenet' row where measured (BiSeNet V1/ResNet-18 at the "
                "bench's own input size, see 'measured as')."
            )
        for name in ("DML_CSR", "EAGR", "AGRNet", "FARL"):
            r = t4.loc[name]
            add(name, r.params_m, r.gflops, r.fps_a100)
        if not any(r for r in records if r.get("kind") == "latency" and r.get("out_size") == 256):
            notes.append("FPS at 256 not measured in this profile (see Table 6 for the sizes the bench ran).")
        cap = self.caption(
            "parameters and multiply-accumulates counted exactly on the models (hardware-independent; "
            f"fpliif.models.complexity, 256x256 input and output); {self._bench_note(records)}",
            "Table 4 and NOTES.md (GFLOPs are multiply-accumulates)",
        )
        df = pd.DataFrame(rows)
        dec = {
            "params paper (M)": 2,
            "params ours (M)": 3,
            "FPS paper (A100)": 0,
            "GFLOP/s here": 1,
            "FPS here": 2,
        }
        return report.Table(
            "table4_complexity",
            "Table 4: size and speed",
            cap,
            df,
            decimals=2,
            column_decimals=dec,
            notes=notes,
        )

    def table6(self) -> report.Table:
        from .models import build_model
        from .models.complexity import count_macs

        records = self.bench()
        model = build_model("fpliif", num_classes=11).to("meta")
        rows = []
        sizes = [*paper.TABLE6.index, 512]
        for s in sizes:
            p = paper.TABLE6.loc[s] if s in paper.TABLE6.index else None
            macs = count_macs(model, input_size=256, out_size=s) / 1e9
            recs = {
                "fast fp32": self._fps(records, "fpliif", s),
                "fast bf16": self._fps(records, "fpliif", s, dtype="bf16"),
                "eager fp32": self._fps(records, "fpliif", s, backend="eager"),
            }
            rows.append(
                {
                    "output size": str(s),
                    "GFLOPs paper": p.gflops if p is not None else math.nan,
                    "GMACs ours": macs,
                    "diff (%)": report.relative_diff(macs, p.gflops if p is not None else math.nan),
                    "FPS paper (A100)": p.fps_a100 if p is not None else math.nan,
                    **{f"FPS here, {k}": (r["fps"] if r else math.nan) for k, r in recs.items()},
                    "GFLOP/s here, fast fp32": recs["fast fp32"]["gflops_per_s"]
                    if recs["fast fp32"]
                    else math.nan,
                }
            )
        for dtype in ("fp32", "bf16"):
            r = self._fps(records, "fpliif", 256, dtype=dtype, pred=64)
            e = self._fps(records, "fpliif", 256, backend="eager", dtype=dtype, pred=64)
            if r or e:
                row = {"output size": f"64->256 ({dtype})", "GMACs ours": (r or e)["paper_gmacs"]}
                if r:
                    row[f"FPS here, fast {dtype}"] = r["fps"]
                if e and dtype == "fp32":
                    row["FPS here, eager fp32"] = e["fps"]
                rows.append(row)
        measured = sorted(
            {r["out_size"] for r in records if r.get("kind") == "latency" and r["model"] == "fpliif"}
        )
        notes = [
            "GMACs ours: the paper-faithful count of our FP-LIIF (256x256 input) - the paper's 'GFLOPs' are "
            "multiply-accumulates (NOTES.md); 512 is ours only.",
            f"Output sizes measured by the bench in this profile: {measured or 'none'}; others empty.",
        ]
        cap = self.caption(f"exact MAC counts; {self._bench_note(records)}", "Table 6, A100, 256x256 input")
        df = pd.DataFrame(rows, columns=list(rows[0]))
        dec = {"FPS paper (A100)": 0, "GFLOP/s here, fast fp32": 1}
        return report.Table(
            "table6_resolution_speed",
            "Table 6: output size, cost and speed",
            cap,
            df,
            column_decimals=dec,
            notes=notes,
        )

    def table5(self) -> report.Table:
        (weights,) = self.need("edge_weights")
        if not weights:
            data = pd.DataFrame({"λ": [str(k) for k in paper.TABLE5.index], "paper": paper.TABLE5.values})
            return report.not_run_table(
                "table5_edge_weight",
                "Table 5: edge-aware loss weight λ, LaPa mean F1 (%)",
                data,
                reason="edge_weights is empty",
                profile=self.profile,
            )
        specs = [self.group_spec("ew", w) for w in weights]
        ours = [self.group_mean_f1(s) for s in specs]
        df = report.comparison(
            [f"{w:g}" for w in weights],
            [paper.TABLE5.get(w, math.nan) for w in weights],
            ours,
            index_name="λ",
            extra={"run": [s.name for s in specs]},
        )
        cap = self.caption(self.group_budget(), "FP-LIIF on LaPa, Table 5")
        return report.Table(
            "table5_edge_weight",
            "Table 5: edge-aware loss weight λ, LaPa mean F1 (%)",
            cap,
            df,
            notes=self._notes(self.group_data()),
        )

    def ablation_table(self) -> report.Table:
        (ablations,) = self.need("ablations")
        title = "Section 5.1 ablations: LaPa mean F1 (%)"
        if not ablations:
            data = pd.DataFrame(
                {
                    "variant": [
                        ABLATION_LABELS.get(k.replace("fpliif-", "").replace("fpliif", "base"), k)
                        for k in paper.ABLATIONS.index
                    ],
                    "paper": paper.ABLATIONS.values,
                }
            )
            return report.not_run_table(
                "ablations", title, data, reason="ablations is empty", profile=self.profile
            )
        base, _ = self.group_base()
        names = ["base", *ablations]
        specs = [base if n == "base" else self.group_spec("ablation", n) for n in names]
        runs = [self.run(s) for s in specs]
        df = report.comparison(
            [ABLATION_LABELS.get(n, n) for n in names],
            [
                paper.ABLATIONS.get("fpliif" if n == "base" else ABLATION_PAPER_KEYS.get(n, n), math.nan)
                for n in names
            ],
            [self.group_mean_f1(s) for s in specs],
            index_name="variant",
            extra={"params (M)": [r.parameters() / 1e6 for r in runs], "run": [s.name for s in specs]},
        )
        cap = self.caption(self.group_budget(), "FP-LIIF on LaPa, section 5.1 (no-ensemble: not reported)")
        return report.Table(
            "ablations",
            title,
            cap,
            df,
            column_decimals={"params (M)": 3},
            notes=self._notes(self.group_data()),
        )

    def table7(self) -> report.Table:
        (seeds,) = self.need("seeds")
        rows, notes = [], []
        lapa_vals: list[float] = []
        helen_vals: list[float] = []
        if seeds:
            specs = [self.group_spec("seed", s) for s in seeds]
            lapa_vals = [self.group_mean_f1(s) for s in specs]
            if self.helen_data() is None:
                helen_vals = [self.group_mean_f1(s, composite="overall") for s in specs]
                notes.append(
                    "helen: no Helen data in this profile; the group's seed runs scored with Helen's "
                    "'overall' composite on the LaPa-layout test split (SynthFaces uses Helen's ids)."
                )
        else:
            notes.append(f"lapa: {report.NOT_RUN} (seeds is empty)")
        celeb_vals = []
        (celeb_seeds,) = self.need("celeb_seeds")
        if self.celeb_data() is not None and celeb_seeds:
            for s in celeb_seeds:
                res = self.celeb_eval(None if s == celeb_seeds[0] else s)
                celeb_vals.append(100 * res.scores["at256"]["mean_f1"])
        else:
            notes.append(f"celebamask-hq: {report.NOT_RUN} (celeb_dataset or celeb_seeds unset)")
        if self.helen_data() is not None:
            (helen_seeds,) = self.need("helen_seeds")
            for s in helen_seeds or []:
                res = self.helen_eval(None if s == helen_seeds[0] else s)
                helen_vals.append(100 * res.scores["at256"]["composite_f1"]["overall"])
        for ds, vals in (("lapa", lapa_vals), ("celebamask-hq", celeb_vals), ("helen", helen_vals)):
            p = paper.TABLE7.loc[ds]
            mean = sum(vals) / len(vals) if vals else math.nan
            sd = pd.Series(vals).std(ddof=1) if len(vals) > 1 else math.nan
            rows.append(
                {
                    "dataset": ds,
                    "mean paper": p["mean"],
                    "sd paper": p["sd"],
                    "mean ours": mean,
                    "sd ours": sd,
                    "runs": float(len(vals)),
                    "mean ours − paper": mean - p["mean"],
                }
            )
        if seeds:
            (size,) = self.need("group_eval_size")
            ours = f"lapa, helen: seeds {list(seeds)} of the group ({self.group_budget()})"
        else:
            ours = "lapa, helen: not run"
        if celeb_vals:
            ours += f"; celebamask-hq: seeds {list(celeb_seeds)} of run celeb's config (scored at 256)"
        cap = self.caption(ours, "Table 7: mean and SD of the mean F1 over runs")
        notes += self._notes(self.lapa_data())
        df = pd.DataFrame(rows)
        return report.Table(
            "table7_seeds",
            "Table 7: mean F1 (%) over seeds",
            cap,
            df,
            column_decimals={"runs": 0},
            notes=notes,
        )

    def table9(self) -> report.Table:
        (peer,) = self.need("baseline_model")
        cols = [*paper.LAPA_COLUMNS, "mean"]
        heads = [*paper.LAPA_COLUMNS.values(), "Mean"]
        t9 = paper.TABLE9
        data, run, res = self.lapa_data(), self.main_run(), self.main_eval()
        ours = report.score_columns(res.scores["at256"], res.class_names, cols)
        notes = [
            paper.TABLE9_NOTE,
            f"SFNet has no maintained CPU implementation; our light peer is {peer or '(none)'}.",
        ]
        if peer:
            pres = self.baseline_eval("lapa")
            prun = self.run(self.baseline_spec("lapa"))
            light = report.score_columns(pres.scores["at256"], pres.class_names, cols)
            peer_text = f"; peer: run {prun.name}: {prun.describe()}"
        else:
            light = {c: math.nan for c in cols}
            peer_text = "; peer: not run (baseline_model unset)"
        df = pd.DataFrame(
            {
                "class": heads,
                "SFNet paper": [t9.loc[c, "SFNet"] for c in cols],
                "FP-LIIF paper": [t9.loc[c, "Ours"] for c in cols],
                "gap paper": [t9.loc[c, "Ours"] - t9.loc[c, "SFNet"] for c in cols],
                f"{peer or 'peer'} ours": [light[c] for c in cols],
                "FP-LIIF ours": [ours[c] for c in cols],
                "gap ours": [ours[c] - light[c] for c in cols],
                "FP-LIIF ours − paper": [ours[c] - t9.loc[c, "Ours"] for c in cols],
            }
        )
        cap = self.caption(
            f"{self.describe(run, data)}{peer_text}; {self._eval_text(res)}",
            "Table 9 (SFNet and FP-LIIF on LaPa); gap = FP-LIIF − peer",
        )
        return report.Table(
            "table9_lightweight",
            "Table 9: a lightweight segmentation model beside ours, F1 (%)",
            cap,
            df,
            notes=notes + self._notes(data),
        )

    # -- data overview ------------------------------------------------------------------------------
    def frequency_table(self, kind: str, freq: pd.DataFrame) -> report.Table:
        wide = freq.pivot_table(index="class", columns="split", values="share", sort=False) * 100
        wide = wide.reset_index()
        counts = freq.groupby("split", sort=False)["images"].first().to_dict()
        wide.columns = ["class", *[f"{s} (% px, {counts[s]} images)" for s in wide.columns[1:]]]
        ref = self.data_refs()[kind]
        cap = self.caption(f"{ref.label} at {rel(ref.root)}; share of labelled pixels per class and split")
        return report.Table(f"class_frequencies_{kind}", f"Class frequencies: {kind}", cap, wide, decimals=3)

    def info(self, kind: str):
        """The ``DatasetInfo`` (class names, palette) of a dataset of ``data_refs()``."""
        ref = self.data_refs()[kind]
        return _dataset_info_of(ref)

    def samples(self, kind: str, n: int, split: str = "train") -> list[dict[str, Any]]:
        from .data import build_dataset

        ref = self.data_refs()[kind]
        ds = build_dataset(ref.name, ref.root, split, image_size=None)
        return [ds[i] for i in range(min(n, len(ds)))]

    # -- figures ------------------------------------------------------------------------------------
    def training_figure(self):
        from . import viz

        run = self.main_run()
        return viz.training_curves({run.name: run.log}, title=f"run {run.name} ({self.profile})")

    def _autocast(self, device: str):
        """Autocast to the evaluation precision (``eval_dtype``) for the figures' predictions."""
        import contextlib

        import torch

        dtype = self.p.get("eval_dtype", "fp32")
        if dtype in (None, "fp32"):
            return contextlib.nullcontext()
        dev = torch.device(device).type
        return torch.autocast(dev, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[dtype])

    def worst_cases(self, kind: str = "lapa") -> tuple[Any, pd.DataFrame] | None:
        """Figure 11 (``lapa``) or 10 (``celeb``): our worst test images (per-image mean F1 at 256)
        beside the ground truth and the light peer's prediction; ``None`` if the run is not in
        this profile."""
        import torch

        from . import viz
        from .data import build_dataset
        from .engine.checkpoint import load_model
        from .engine.evaluate import resize_image, resize_labels
        from .metrics import confusion_matrix, scores_from_confusion

        (k,) = self.need("worst_k")
        if kind == "lapa":
            run, res = self.main_run(), self.main_eval()
        else:
            spec = self.celeb_spec()
            if spec is None:
                return None
            run, res = self.run(spec), self.celeb_eval()
        base_spec = self.baseline_spec(kind)
        base_run = self.run(base_spec) if base_spec else None
        if base_run is not None:
            self.baseline_eval(kind)
        worst = res.per_image.sort_values(["mean_f1", "name"]).head(int(k))
        d = run.config.data
        ds = build_dataset(d.name, d.root, "test", image_size=None)
        index = {n: i for i, n in enumerate(ds.names)}
        dev = resolve_device(self.device)
        models = {"ours": load_model(run.checkpoint, device=dev)[0]}
        if base_run is not None:
            models["baseline"] = load_model(base_run.checkpoint, device=dev)[0]
        items = [ds[index[str(name)]] for name in worst["name"]]
        gts = [resize_labels(it["label"], (256, 256)) for it in items]
        cases = [
            {"image": it["image"], "label": gt, "name": it["name"]} for it, gt in zip(items, gts, strict=True)
        ]
        rows: list[dict[str, Any]] = [{"image": it["name"]} for it in items]
        for who, model in models.items():
            size = (base_run if who == "baseline" else run).config.data.image_size  # type: ignore[union-attr]
            batch = torch.stack([resize_image(it["image"], (size, size)) for it in items]).to(dev)
            with torch.inference_mode(), self._autocast(dev):
                preds = model(batch, (256, 256)).float().argmax(1).cpu()
            for case, row, pred, gt in zip(cases, rows, preds, gts, strict=True):
                f1 = scores_from_confusion(confusion_matrix(pred, gt, ds.info.num_classes))["mean_f1"]
                case[who], case[f"f1_{who}"] = pred, f1
                row[f"mean F1 {who}"] = 100 * f1
        fig_no = 11 if kind == "lapa" else 10
        layout = "LaPa" if kind == "lapa" else "CelebAMask-HQ"
        peer = self.get("baseline_model") or "baseline"
        fig = viz.worst_case_figure(
            cases,
            ds.info.class_names,
            ds.info.palette,
            ours_label=f"ours\n(run {run.name})",
            baseline_label=f"{peer}\n(run {base_run.name})" if base_run else f"{peer}",
            title=f"Figure {fig_no} ({layout} layout): our {k} worst test images",
        )
        return fig, pd.DataFrame(rows)

    def worst_table(self, kind: str, rows: pd.DataFrame) -> report.Table:
        run = self.main_run() if kind == "lapa" else self.run(self.celeb_spec())
        data = self.lapa_data() if kind == "lapa" else self.celeb_data()
        base = self.baseline_spec(kind)
        fig_no = 11 if kind == "lapa" else 10
        cap = self.caption(
            f"{self.describe(run, data)}; per-image mean F1 (%) at 256x256 on the test split"
            + (f"; baseline: run {base.name} ({base.label})" if base else "; baseline: not run"),
            f"Figure {fig_no} compares with DML_CSR; ours with a light peer trained here",
        )
        return report.Table(
            f"figure{fig_no}_worst_cases", f"Figure {fig_no}: worst test images", cap, rows, labels=("image",)
        )

    def multires(self):
        import torch

        from . import viz
        from .data import build_dataset
        from .engine.checkpoint import load_model
        from .engine.evaluate import resize_image

        sizes, index = self.need("multires_sizes", "multires_index")
        run = self.main_run()
        d = run.config.data
        ds = build_dataset(d.name, d.root, "test", image_size=None)
        item = ds[int(index) % len(ds)]
        dev = resolve_device(self.device)
        model = load_model(run.checkpoint, device=dev)[0]
        image = resize_image(item["image"], (d.image_size, d.image_size))
        preds = {}
        with torch.inference_mode(), self._autocast(dev):
            for s in sizes:
                preds[int(s)] = model(image[None].to(dev), (int(s), int(s))).float().argmax(1)[0].cpu()
        fig = viz.multires_figure(
            image,
            preds,
            ds.info.palette,
            input_size=d.image_size,
            class_names=ds.info.class_names,
            title=f"one {d.image_size}x{d.image_size} input of test image {item['name']}, "
            f"decoded at {list(map(int, sizes))} (run {run.name})",
        )
        return fig, self.caption(f"{self.describe(run, self.lapa_data())}; test image {item['name']}")

    # -- planning -------------------------------------------------------------------------------------
    def specs_for(self, notebook: str) -> list[RunSpec]:
        """The training runs a notebook needs."""
        out: list[RunSpec | None] = []
        main = {
            "01_train_evaluate",
            "table1_lapa",
            "table9_lightweight",
            "figure3_4_multiresolution",
            "figure10_11_worst_cases",
        }
        if notebook in main or (notebook == "table3_helen" and self.helen_data() is None):
            out.append(self.main_spec())
        if notebook in ("table9_lightweight", "figure10_11_worst_cases"):
            out.append(self.baseline_spec("lapa"))
        if notebook in ("table2_celebamask", "figure10_11_worst_cases"):
            out.append(self.celeb_spec())
        if notebook == "figure10_11_worst_cases":
            out.append(self.baseline_spec("celeb"))
        if notebook == "table3_helen" and self.helen_data() is not None:
            out.append(self.helen_spec())
        if notebook in ("02_ablations", "table5_edge_weight") and self.p.get("edge_weights"):
            out += [self.group_spec("ew", w) for w in self.p["edge_weights"]]
        if notebook == "02_ablations" and self.p.get("ablations"):
            out += [self.group_base()[0]] + [self.group_spec("ablation", a) for a in self.p["ablations"]]
        if notebook == "table7_seeds":
            out += [self.group_spec("seed", s) for s in self.p.get("seeds") or []]
            out += [self.celeb_spec(s) for s in self.p.get("celeb_seeds") or []]
            if self.helen_data() is not None:
                out += [self.helen_spec(s) for s in self.p.get("helen_seeds") or []]
        return [s for s in out if s is not None]


def _measured_as(rec: Mapping[str, Any] | None) -> str:
    if not rec:
        return ""
    return f"{rec['backend']} {rec['dtype']} b1 {rec['input_size']}->{rec['out_size']}"


def _dataset_info_of(ref: DataRef):
    from .data import dataset_info

    if ref.name != "synth":
        return dataset_info(ref.name)
    from .data.celebamask import PREPARED

    return dataset_info("synth", format="celebamask-hq" if (ref.root / PREPARED).is_file() else "lapa")


def dry_run(
    params: Mapping[str, Any], notebooks: Sequence[str], *, profile: str | Path
) -> tuple[list[str], list[str]]:
    """(plan lines, problems) for running ``notebooks`` with ``params``: parameters, data, runs."""
    lines = [
        f"profile {profile}: {len(notebooks)} notebooks -> {rel(resolve(params.get('out') or 'results'))}/"
    ]
    problems: list[str] = []
    for name in notebooks:
        declared = parameters_cell(notebook_path(name))
        missing = sorted(set(declared) - set(params))
        if missing:
            problems.append(f"{name}: the profile lacks parameter(s) {missing}")
    unused = sorted(set(params) - {k for n in NOTEBOOKS for k in parameters_cell(notebook_path(n))})
    if unused:
        problems.append(f"parameter(s) {unused} are used by no notebook")
    study = Study(params, dry=True, log=lambda s: None)
    try:
        study.data_refs()
        if params.get("group_subset") and any(
            n in notebooks for n in ("02_ablations", "table5_edge_weight", "table7_seeds")
        ):
            study.group_data()
    except (FpliifError, KeyError, TypeError) as exc:
        problems.append(f"data: {exc}")
    lines += study.plan_lines
    problems += study.problems
    out_root = study.out
    seen: set[str] = set()
    configs: dict[str, dict[str, Any]] = {}
    for name in notebooks:
        lines.append(f"{name}:")
        try:
            specs = study.specs_for(name)
        except (FpliifError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        if name in ("table4_complexity", "table6_resolution_speed"):
            bench_out = rel(out_root / "bench" / "bench.json")
            bench_args = " ".join(params.get("bench_args") or [])
            lines.append(f"  bench: fpliif bench --out {bench_out} {bench_args}")
        for spec in specs:
            if spec.name in seen:
                lines.append(f"  run {spec.name}: (see above)")
                continue
            seen.add(spec.name)
            try:
                cfg = spec.train_config(out_root)
            except FpliifError as exc:
                problems.append(f"run {spec.name}: {exc}")
                continue
            twin = next((n for n, c in configs.items() if not config_diff(c, cfg.to_dict())), None)
            configs[spec.name] = cfg.to_dict()
            if twin is not None:
                lines.append(f"  run {spec.name} [{spec.label}]: same config as run {twin}: trained once")
                continue
            state, done = run_state(Path(cfg.run.out), cfg)
            what = {
                "finished": f"reuse ({done} epochs done)",
                "resume": f"resume after epoch {done} of {cfg.optim.epochs}",
                "stale": "retrain (the folder holds another config)",
                "new": f"train {cfg.optim.epochs} epochs",
            }[state]
            lines.append(
                f"  run {spec.name} [{spec.label}]: {what}; {cfg.model.name}, batch {cfg.optim.batch_size}, "
                f"{cfg.data.image_size} px, device {cfg.run.device}"
            )
            lines.append(f"    {spec.command(out_root)}")
    lines.append(
        f"runs live in {rel(runs_dir(out_root))}/ (not for git); "
        f"tables, figures, notebooks, manifest in {rel(out_root)}/"
    )
    return lines, problems


__all__ = ["DataRef", "ParameterError", "Study", "dry_run", "model_overrides"]
