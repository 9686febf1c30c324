"""Profiles, run folders, idempotent "ensure" helpers and the notebook runner (``fpliif run``).

    fpliif run quick                         # the README's main command: every notebook -> results/quick/
    fpliif run demo --only table1 table5     # a subset (every notebook also runs alone)
    fpliif run paper --dry-run               # check parameters and paths; say what would run

A *profile* is ``configs/profiles/<name>.yaml``: one value per notebook parameter (``PARAMS``).
The notebooks' own defaults are the ``smoke`` profile, so a notebook opened in JupyterLab, or run
by nbval, runs in seconds; ``papermill -f configs/profiles/demo.yaml`` (or this runner) replaces
them. The runner executes ``NOTEBOOKS`` in order (producers before consumers) with papermill into
``results/<profile>/``: ``notebooks/`` (executed copies), ``tables/`` (CSV + Markdown),
``figures/`` (PNG), ``manifest.json`` (commit, versions, hardware, wall time and status per
notebook) and, not for git, ``runs/`` (checkpoints) and ``bench/``.

The ``ensure_*`` helpers make a notebook standalone and a re-run cheap: each returns what is
already there when it matches the request (data with the same settings, a finished run with the
same config, an evaluation of the same checkpoint) and makes it otherwise. A failing cell stops
the runner with a non-zero exit, keeps the partly executed notebook and names file and cell.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .engine.config import resolve_config_path
from .errors import ConfigError, DataError, FpliifError
from .fileio import atomic_write
from .provenance import REPO_ROOT, git_commit, hardware, now, package_versions

PROFILE_DIR = REPO_ROOT / "configs" / "profiles"
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
PROFILES = ("smoke", "quick", "demo", "paper")

# Execution order: producers (data, the main run, the ablation group) before their consumers.
NOTEBOOKS: tuple[str, ...] = (
    "00_data_overview",
    "01_train_evaluate",
    "02_ablations",
    "table1_lapa",
    "table2_celebamask",
    "table3_helen",
    "table4_complexity",
    "table5_edge_weight",
    "table6_resolution_speed",
    "table7_seeds",
    "table9_lightweight",
    "figure3_4_multiresolution",
    "figure10_11_worst_cases",
)

# Every notebook parameter, with what it means. A profile sets exactly these keys.
PARAMS: dict[str, str] = {
    "profile": "profile name, written into every caption",
    "out": "results folder; '{out}' in other paths stands for it",
    "device": "auto, cpu or cuda: training and evaluation device",
    "nproc": "processes per training run; > 1 launches torchrun (one per GPU)",
    "dataset": "LaPa-layout data for the main run, Tables 1, 3, 5, 7, 9: synth or lapa",
    "root": "its folder",
    "synth": "SynthFaces settings {n_train, n_val, n_test, size, seed} to generate it (synth only)",
    "celeb_dataset": "CelebAMask-HQ-layout data for Table 2 and Figure 10: synth, celebamask-hq or null",
    "celeb_root": "its prepared folder (fpliif prepare celebamask-hq --out)",
    "celeb_raw": "its distribution folder (fpliif prepare celebamask-hq --root)",
    "celeb_synth": "SynthFaces settings to generate it (synth only)",
    "helen_dataset": "helen, or null: Table 3 then scores the main run with Helen's composites",
    "helen_root": "Helen's folder",
    "train_config": "training preset of the main run (configs/train/<name>.yaml)",
    "train_overrides": "extra SECTION.KEY=VALUE overrides of the main run, applied last",
    "epochs": "main run: epochs (null: the preset's)",
    "batch_size": "main run: global batch (null: the preset's)",
    "edge_weight": "main run: lambda of the edge-aware CE (null: the preset's)",
    "norm": "main run: resblock norm, instance | batch | none",
    "decoder": "main run: liif | unet",
    "seed": "main run: seed",
    "eval_sizes": "output sizes decoded for Tables 1-3 (256 is the score size; 512 = 'Ours512')",
    "eval_dtype": "evaluation precision: fp32 or bf16",
    "eval_batch": "images per evaluation batch",
    "celeb_config": "training preset of the CelebAMask-HQ runs",
    "celeb_overrides": "their extra overrides",
    "celeb_seeds": "their seeds: the first is Table 2's run, all of them Table 7's row ([] = not run)",
    "helen_config": "training preset of the Helen runs (helen_dataset set)",
    "helen_overrides": "their extra overrides",
    "helen_seeds": "their seeds (Table 3: the first; Table 7: all)",
    "baseline_model": "light peer trained like the main run (Table 9, Figures 10/11); null = none",
    "group_config": "training preset of the comparison group (ablations, Tables 5 and 7)",
    "group_overrides": "the group's overrides: one short budget shared by every run in it",
    "group_subset": "{n_train, n_val, n_test}: the group trains on the first images of root (null: all)",
    "group_eval_size": "output size at which the group's runs are scored",
    "edge_weights": "Table 5's lambda values ([] = not run)",
    "ablations": "section 5.1 variants: name -> model options ({} = not run)",
    "seeds": "Table 7's seeds of the group's base run ([] = not run)",
    "bench_args": "arguments of `fpliif bench` for Tables 4 and 6 ([--quick] for smoke)",
    "n_samples": "samples shown per dataset in the data overview",
    "worst_k": "images shown in the worst-case figures",
    "multires_sizes": "output sizes of the multi-resolution figure",
    "multires_index": "test image shown in it",
}

Log = Callable[[str], None]


def say(message: str) -> None:
    print(message, flush=True)


# -- paths --------------------------------------------------------------------------------------
def resolve(path: str | Path, out: str | Path | None = None) -> Path:
    """An absolute path: '{out}' replaced by ``out``, relative paths taken from the repository root
    (so a notebook's working directory does not matter)."""
    text = str(path)
    if "{out}" in text:
        if out is None:
            raise ConfigError(f"{text!r} refers to {{out}} but no output folder was given")
        text = text.replace("{out}", str(out))
    p = Path(text).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)


def rel(path: str | Path) -> str:
    """``path`` relative to the repository root when inside it (for captions and manifests)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


# -- profiles -----------------------------------------------------------------------------------
def profile_path(name_or_path: str | Path) -> Path:
    return resolve_config_path(name_or_path, PROFILE_DIR, "profile")


def load_profile(name_or_path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters of a profile (``KEY=VALUE`` overrides parsed as YAML), checked against PARAMS."""
    path = profile_path(name_or_path)
    try:
        params = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping of parameters, got {type(params).__name__}")
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"parameter override {item!r} must look like KEY=VALUE")
        params[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ConfigError(f"{path}: unknown parameter(s) {unknown}; known: {sorted(PARAMS)}")
    return params


# -- notebooks ----------------------------------------------------------------------------------
def notebook_path(name: str) -> Path:
    return NOTEBOOK_DIR / f"{name}.ipynb"


def parameters_cell(path: str | Path) -> dict[str, Any]:
    """The defaults of a notebook's ``parameters``-tagged cell (literal assignments only)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if len(cells) != 1:
        raise ConfigError(f"{path}: expected one cell tagged 'parameters', found {len(cells)}")
    out: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out[node.target.id] = ast.literal_eval(node.value)
    return out


def py_literal(value: Any) -> str:
    """A Python literal for a YAML-like value (str, number, bool, None, list, dict)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    raise ConfigError(f"parameter value {value!r} is not a YAML scalar, list or mapping")


def py_assignment(name: str, value: Any, width: int = 100) -> str:
    """``name = value``, one item per line when a list or mapping would be wider than ``width``."""
    line = f"{name} = {py_literal(value)}"
    if len(line) <= width:
        return line
    if isinstance(value, Mapping):
        body = "".join(f"    {py_literal(k)}: {py_literal(v)},\n" for k, v in value.items())
        return f"{name} = {{\n{body}}}"
    if isinstance(value, list | tuple):
        body = "".join(f"    {py_literal(v)},\n" for v in value)
        return f"{name} = [\n{body}]"
    return line


def parameterize(path: str | Path, params: Mapping[str, Any], *, comment: str = ""):
    """The notebook at ``path`` with an ``injected-parameters`` cell after its parameters cell,
    as papermill does, but formatted so that the executed notebook stays ruff-clean."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    index = next(
        (i for i, c in enumerate(nb.cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])), None
    )
    if index is None:
        raise ConfigError(f"{path}: no cell tagged 'parameters'")
    head = "# Parameters" + (f" ({comment})" if comment else "")
    source = "\n".join([head, *(py_assignment(k, v) for k, v in params.items())])
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)
    nb.metadata["fpliif"] = {"parameters": dict(params)}
    return nb


def select_notebooks(only: Sequence[str] | None) -> list[str]:
    """The notebooks to run, in ``NOTEBOOKS`` order; ``only`` entries match a name or its prefix."""
    if not only:
        return list(NOTEBOOKS)
    chosen: set[str] = set()
    for item in only:
        stem = Path(item).stem
        hits = [n for n in NOTEBOOKS if n == stem] or [n for n in NOTEBOOKS if n.startswith(stem)]
        if not hits:
            raise ConfigError(f"no notebook matches {item!r}; known: {', '.join(NOTEBOOKS)}")
        chosen.update(hits)
    return [n for n in NOTEBOOKS if n in chosen]


# -- data ---------------------------------------------------------------------------------------
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
    from .data.io import read_json
    from .data.synth import META_FILE, generate

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
    from .data.celebamask import PREPARED, SYNTH_META, prepare
    from .data.io import read_json

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
    from .data import lapa
    from .data.io import read_json, write_json
    from .data.synth import META_FILE

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


def class_frequencies(name: str, root: str | Path, splits: Sequence[str] = ("train", "val", "test")):
    """Pixels per class and split (native label maps): a DataFrame with class, split, pixels, share."""
    import numpy as np
    import pandas as pd

    from .data import build_dataset

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


# -- training runs ------------------------------------------------------------------------------
# Keys that do not change what a run computes: a run differing only in these is reused.
REUSE_IGNORED = frozenset(
    {"run.out", "run.device", "run.threads", "run.log_every", "data.workers", "data.cache"}
)
# Keys by which a finished-but-shorter run can be continued (resumed) rather than retrained.
RESUME_ALLOWED = frozenset({"optim.epochs", "run.max_minutes"})


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and k != "options":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    """Dotted keys whose values differ between two config dicts, ignoring ``REUSE_IGNORED``."""
    fa, fb = _flat(a), _flat(b)
    return {k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)} - REUSE_IGNORED


def runs_dir(out_root: str | Path) -> Path:
    return resolve(out_root) / "runs"


@dataclass(frozen=True)
class RunSpec:
    """A training run to ensure: a preset, overrides and a name (its folder under runs/)."""

    name: str
    config: str
    overrides: tuple[str, ...] = ()
    label: str = ""
    nproc: int = 1

    def train_config(self, out_root: str | Path):
        from .engine.config import load_config

        return load_config(self.config, [*self.overrides, f"run.out={runs_dir(out_root) / self.name}"])

    def command(self, out_root: str | Path) -> str:
        """The equivalent command line (for plans and captions)."""
        head = (
            "fpliif train" if self.nproc <= 1 else f"torchrun --nproc_per_node={self.nproc} -m fpliif train"
        )
        sets = " ".join(
            f"-o {shlex.quote(o)}"
            for o in (*self.overrides, f"run.out={rel(runs_dir(out_root) / self.name)}")
        )
        return f"{head} --config {self.config} {sets}"


@dataclass
class Run:
    """A run folder with a checkpoint that reached its configured epochs (``status`` says how)."""

    name: str
    dir: Path
    config: Any  # TrainConfig
    status: str  # reused | resumed | trained
    label: str = ""
    seconds: float = 0.0  # training time spent by this call

    @property
    def checkpoint(self) -> Path:
        return self.dir / "last.pt"

    @property
    def log(self) -> list[dict[str, Any]]:
        path = self.dir / "log.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def train_seconds(self) -> float:
        """Wall time of the training (summed over resumed segments), from log.jsonl."""
        total, seg = 0.0, 0.0
        for rec in self.log:
            if rec["elapsed_s"] < seg:  # a resumed segment restarts the clock
                total += seg
            seg = rec["elapsed_s"]
        return total + seg

    def parameters(self) -> int:
        from .models import build_model
        from .models.complexity import count_parameters

        info = _dataset_info(self.config.data.name, self.config.data.root)
        model = build_model(self.config.model.name, num_classes=info.num_classes, **self.config.model.options)
        return count_parameters(model)

    def describe(self) -> str:
        """One line: model, preset and recipe, data size, time."""
        c = self.config
        o, d = c.optim, c.data
        try:
            n_train = sum(1 for _ in (Path(d.root) / d.train_split / "images").iterdir())
            images = f"{n_train} images"
        except OSError:
            images = "the training split"
        opts = "".join(f", {k}={v}" for k, v in c.model.options.items())
        points = f", {o.sample_points} sampled px/image" if o.sample_points else ""
        text = (
            f"{c.model.name}{opts} ({self.parameters() / 1e6:.2f} M params), {o.epochs} epochs of {images}, "
            f"batch {o.batch_size}, lr {o.lr:g}, λ={o.edge_weight:g}, {d.image_size} px input{points}, "
            f"{o.amp}, seed {c.run.seed}"
        )
        secs = self.train_seconds()
        if secs:
            text += f", trained in {secs / 60:.1f} min"
        return text


def _dataset_info(name: str, root: str | Path):
    from .data import dataset_info

    if name != "synth":
        return dataset_info(name)
    from .data.celebamask import PREPARED

    return dataset_info("synth", format="celebamask-hq" if (Path(root) / PREPARED).is_file() else "lapa")


def checkpoint_epoch(path: Path) -> int:
    """Epochs completed by a checkpoint (0 if unreadable)."""
    from .engine.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(path).get("epoch") or 0)
    except FpliifError:
        return 0


def run_state(run_dir: Path, cfg: Any) -> tuple[str, int]:
    """(state, epochs done) of ``run_dir`` for config ``cfg``: ``finished`` (reusable), ``resume``
    (same run, fewer epochs done than asked), ``stale`` (another config) or ``new``."""
    saved = run_dir / "config.yaml"
    last = run_dir / "last.pt"
    if not saved.is_file():
        return ("stale" if run_dir.exists() and any(run_dir.iterdir()) else "new"), 0
    diff = config_diff(yaml.safe_load(saved.read_text()) or {}, cfg.to_dict())
    done = checkpoint_epoch(last) if last.is_file() else 0
    if diff - RESUME_ALLOWED:
        return "stale", done
    if done >= cfg.optim.epochs:
        return ("finished" if not diff else "stale"), done
    return ("resume" if done > 0 else "new"), done


def find_twin(cfg: Any, root: Path, exclude: str) -> Path | None:
    """Another run folder under ``root`` trained with the same config (finished or resumable)."""
    if not root.is_dir():
        return None
    for other in sorted(root.iterdir()):
        if other.name == exclude or not (other / "config.yaml").is_file():
            continue
        state, _ = run_state(other, cfg)
        if state in ("finished", "resume"):
            return other
    return None


def ensure_run(
    name: str,
    config: str,
    overrides: Sequence[str] = (),
    out_root: str | Path = "results/smoke",
    *,
    nproc: int = 1,
    label: str = "",
    log: Log = say,
) -> Run:
    """A finished training run ``out_root/runs/<name>`` of preset ``config`` with ``overrides``.

    Reuses a finished run with the same config (``config.yaml``, ignoring ``REUSE_IGNORED``) whose
    ``last.pt`` reached the configured epochs, here or under another name; resumes an unfinished
    one (``--resume`` semantics); retrains a folder that holds another config; trains otherwise,
    in this process, or through ``torchrun --nproc_per_node=nproc`` when ``nproc > 1``.
    """
    spec = RunSpec(name, config, tuple(overrides), label, nproc)
    root = runs_dir(out_root)
    cfg = spec.train_config(out_root)
    run_dir = Path(cfg.run.out)
    state, done = run_state(run_dir, cfg)
    if state in ("new", "stale"):
        twin = find_twin(cfg, root, exclude=name)
        if twin is not None:
            log(f"run {name}: same config as run {twin.name}; using it")
            return ensure_run(twin.name, config, overrides, out_root, nproc=nproc, label=label, log=log)
    if state == "finished":
        log(f"run {name}: reusing {rel(run_dir)} ({done} epochs done)")
        return Run(name, run_dir, cfg, "reused", label)
    if state == "stale":
        log(f"run {name}: {rel(run_dir)} holds a run of another config; training it anew")
        shutil.rmtree(run_dir)
    resume = state == "resume"
    what = f"resuming after epoch {done}" if resume else "training"
    log(f"run {name}: {what} ({cfg.optim.epochs} epochs) -> {rel(run_dir)}")
    start = time.perf_counter()
    if nproc > 1:
        _torchrun(cfg, run_dir, nproc, resume=resume, log=log)
    else:
        from .engine.train import train

        summary = train(cfg, resume=resume, progress=False)
        best = summary.get("best_mean_f1")
        log(f"  {summary['epochs']} epochs" + (f", val mean F1 {100 * best:.2f}" if best is not None else ""))
    seconds = time.perf_counter() - start
    log(f"  done in {seconds / 60:.1f} min")
    return Run(name, run_dir, cfg, "resumed" if resume else "trained", label, seconds)


def _torchrun(cfg: Any, run_dir: Path, nproc: int, *, resume: bool, log: Log) -> None:
    from .engine.config import save_config

    run_dir.mkdir(parents=True, exist_ok=True)
    requested = run_dir / "requested.yaml"
    save_config(cfg, requested)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        "-m",
        "fpliif",
        "train",
        "--config",
        str(requested),
        "--no-progress",
    ] + (["--resume"] if resume else [])
    stream(cmd, log=log, what=f"training {run_dir.name}")


def stream(cmd: Sequence[str], *, log: Log = say, what: str = "command") -> None:
    """Run ``cmd``, passing its output on line by line; an error with its last lines if it fails."""
    tail: list[str] = []
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(REPO_ROOT)
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        log("  " + line.rstrip())
        tail = (tail + [line.rstrip()])[-5:]
    rc = proc.wait()
    if rc != 0:
        raise FpliifError(f"{what} failed (exit {rc}): {' | '.join(tail[-3:])}")


# -- evaluation ---------------------------------------------------------------------------------
def _nan_for_none(obj: Any) -> Any:
    if obj is None:
        return float("nan")
    if isinstance(obj, dict):
        return {k: _nan_for_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_for_none(v) for v in obj]
    return obj


def load_eval(folder: str | Path):
    """An ``EvalResult`` saved by ``EvalResult.save`` (results.json + per_image.csv)."""
    import pandas as pd

    from .engine.evaluate import EvalResult

    folder = Path(folder)
    payload = json.loads((folder / "results.json").read_text())
    per_image = folder / "per_image.csv"
    return EvalResult(
        scores=_nan_for_none(payload["scores"]),
        per_image=pd.read_csv(per_image) if per_image.is_file() else pd.DataFrame(),
        class_names=list(payload["class_names"]),
        meta=payload.get("meta") or {},
    )


def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def ensure_eval(
    run: Run,
    *,
    split: str = "test",
    sizes: Sequence[int] = (256,),
    score_size: int = 256,
    dtype: str = "fp32",
    batch_size: int = 8,
    device: str | None = "cpu",
    log: Log = say,
):
    """``run``'s last checkpoint scored on ``split`` (``fpliif.engine.evaluate``); reuses the
    stored result when it was made from the same checkpoint (by SHA-256) with the same settings."""
    from .data import build_dataset
    from .engine.checkpoint import load_model
    from .engine.evaluate import evaluate
    from .provenance import file_sha256, provenance

    sizes = sorted({int(s) for s in sizes} | {int(score_size)})
    folder = run.dir / f"eval-{split}-{'-'.join(map(str, sizes))}-to{score_size}-{dtype}"
    sha = file_sha256(run.checkpoint)
    if (folder / "results.json").is_file():
        stored = load_eval(folder)
        if stored.meta.get("checkpoint_sha256") == sha:
            return stored
    dev = resolve_device(device)
    model, ckpt = load_model(run.checkpoint, device=dev)
    d = run.config.data
    ds = build_dataset(d.name, d.root, split, image_size=None, augment=False)
    info = ds.info
    log(f"evaluating run {run.name} on {split} ({len(ds)} images) at {sizes} ({dtype}) ...")
    start = time.perf_counter()
    result = evaluate(
        model,
        ds,
        num_classes=info.num_classes,
        class_names=info.class_names,
        sizes=sizes,
        score_size=score_size,
        input_size=d.image_size,
        composites=dict(info.composites) if info.composites else None,
        batch_size=batch_size,
        device=dev,
        dtype=dtype,
        progress=False,
    )
    seconds = time.perf_counter() - start
    result.meta |= {
        "run": run.name,
        "checkpoint": rel(run.checkpoint),
        "checkpoint_sha256": sha,
        "model": ckpt["model_name"],
        "data": {"name": d.name, "root": rel(d.root), "split": split, "images": len(ds)},
        "seconds": round(seconds, 1),
        **provenance(),
    }
    result.save(folder)
    mean = 100 * result.scores[f"at{score_size}"]["mean_f1"]
    log(f"  mean F1 at {score_size}: {mean:.2f} ({seconds:.0f} s)")
    return result


# -- speed ----------------------------------------------------------------------------------------
def ensure_bench(folder: str | Path, args: Sequence[str], *, log: Log = say) -> list[dict[str, Any]]:
    """The records of ``fpliif bench ARGS`` (stored in ``folder/bench.json``; rerun when ARGS change)."""
    folder = resolve(folder)
    path, argfile = folder / "bench.json", folder / "bench-args.json"
    args = [str(a) for a in args]
    if path.is_file() and argfile.is_file() and json.loads(argfile.read_text()) == args:
        return json.loads(path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    log(f"fpliif bench {' '.join(args)} ...")
    start = time.perf_counter()
    stream([sys.executable, "-m", "fpliif", "bench", "--out", str(path), *args], log=log, what="fpliif bench")
    argfile.write_text(json.dumps(args))
    log(f"  done in {time.perf_counter() - start:.0f} s")
    return json.loads(path.read_text())


# -- the runner -----------------------------------------------------------------------------------
class NotebookFailed(FpliifError):
    """A notebook's cell raised; the partly executed notebook was kept."""


def kernel_python(kernel: str) -> str | None:
    """The Python a Jupyter kernel would start ("python" in a kernelspec means this one)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:  # pragma: no cover - jupyter_client comes with papermill
        return None
    try:
        argv = KernelSpecManager().get_kernel_spec(kernel).argv
    except NoSuchKernel:
        return None
    v = sys.version_info
    return (
        sys.executable if argv and argv[0] in ("python", f"python{v[0]}", f"python{v[0]}.{v[1]}") else argv[0]
    )


def _load_avg() -> list[float] | None:
    with contextlib.suppress(OSError):
        return [round(x, 2) for x in os.getloadavg()]
    return None


VERSIONS = (
    "fpliif",
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbclient",
    "ipykernel",
    "onnxruntime",
)


@dataclass
class RunnerResult:
    manifest: dict[str, Any]
    path: Path
    failed: str | None = None
    messages: list[str] = field(default_factory=list)


def run_notebooks(
    profile: str | Path,
    *,
    only: Sequence[str] | None = None,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    kernel: str | None = None,
    log_output: bool = False,
    notebooks: Sequence[Path] | None = None,
    log: Log = say,
) -> RunnerResult:
    """Execute the profile's notebooks with papermill, in order, into its output folder.

    Stops at the first failing notebook (``NotebookFailed``, after writing the manifest; the
    partly executed notebook stays in ``<out>/notebooks/``). ``notebooks`` replaces the project's
    list (tests use it).
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    params = load_profile(profile, overrides)
    if out is not None:
        params["out"] = str(out)
    out_dir = resolve(params.get("out") or f"results/{Path(str(profile)).stem}")
    paths = (
        [Path(p) for p in notebooks]
        if notebooks is not None
        else [notebook_path(n) for n in select_notebooks(only)]
    )
    kernel = kernel or "python3"
    python = kernel_python(kernel)
    if python is None:
        raise ConfigError(
            f"no Jupyter kernel named {kernel!r}; `{sys.executable} -m ipykernel install --sys-prefix` "
            "registers this environment's"
        )
    if Path(python) != Path(sys.executable):
        log(f"note: kernel {kernel!r} runs {python}, not this environment's {sys.executable}")
    (out_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    manifest = _start_manifest(manifest_path, profile, params, [p.stem for p in paths], kernel)
    started = time.perf_counter()
    failed: str | None = None
    for i, src in enumerate(paths):
        name = src.stem
        declared = parameters_cell(src)
        nb_params = {k: v for k, v in params.items() if k in declared}
        dst = out_dir / "notebooks" / src.name
        entry: dict[str, Any] = {"name": name, "status": "running", "output": rel(dst), "started": now()}
        manifest["notebooks"][name] = entry
        _write_manifest(manifest_path, manifest, started)
        log(f"[{i + 1}/{len(paths)}] {name} ...")
        t0 = time.perf_counter()
        try:
            nbformat.write(parameterize(src, nb_params, comment=f"profile {params.get('profile')}"), str(dst))
            papermill.execute_notebook(
                str(dst),
                str(dst),
                parameters=None,
                kernel_name=kernel,
                cwd=str(src.parent),
                progress_bar=False,
                log_output=log_output,
                request_save_on_cell_execute=True,
                # the kernel's own log (an unencrypted-TCP warning per start) is noise; a dead
                # kernel still fails the notebook
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
            entry["status"] = "ok"
        except PapermillExecutionError as exc:
            evalue = (str(exc.evalue).strip().splitlines() or [""])[0]
            entry["status"] = "failed"
            entry["error"] = f"cell In[{exc.exec_count}] (cell {exc.cell_index}): {exc.ename}: {evalue}"
            entry["traceback"] = "\n".join(exc.traceback[-8:]) if exc.traceback else ""
        except Exception as exc:  # noqa: BLE001 - a dead kernel, a bad notebook file: record and stop
            entry["status"] = "failed"
            entry["error"] = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        entry["wall_s"] = round(time.perf_counter() - t0, 1)
        entry["finished"] = now()
        log(f"    {entry['status']} in {entry['wall_s']:.0f} s")
        if entry["status"] != "ok":
            failed = name
            for rest in paths[i + 1 :]:
                manifest["notebooks"][rest.stem] = {
                    "name": rest.stem,
                    "status": "not run (an earlier notebook failed)",
                }
            break
    manifest["status"] = "failed" if failed else "ok"
    manifest["failed"] = failed
    _write_manifest(manifest_path, manifest, started, final=True)
    result = RunnerResult(manifest, manifest_path, failed)
    if failed:
        entry = manifest["notebooks"][failed]
        raise NotebookFailed(
            f"{failed}.ipynb failed at {entry['error']} - partly executed notebook kept in "
            f"{entry['output']}; manifest {rel(manifest_path)}"
        )
    log(f"done: {len(paths)} notebooks in {manifest['wall_s'] / 60:.1f} min; manifest {rel(manifest_path)}")
    return result


def _start_manifest(
    path: Path, profile: str | Path, params: dict[str, Any], names: list[str], kernel: str
) -> dict[str, Any]:
    old: dict[str, Any] = {}
    if path.is_file():
        with contextlib.suppress(ValueError, OSError):
            old = json.loads(path.read_text())
    prof = profile_path(profile)
    manifest = {
        "profile": params.get("profile") or prof.stem,
        "profile_file": rel(prof),
        "parameters": params,
        "command": "fpliif run " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["run"] else None,
        "commit": git_commit(),
        "versions": package_versions(VERSIONS),
        "hardware": hardware(),
        "kernel": kernel,
        "started": now(),
        "load_before": _load_avg(),
        "notebooks": {},
    }
    if old.get("profile") == manifest["profile"] and isinstance(old.get("notebooks"), dict):
        # a partial rerun (--only) keeps the other notebooks' entries from the earlier run
        manifest["notebooks"] = {k: v for k, v in old["notebooks"].items() if k not in names}
    return manifest


def _write_manifest(path: Path, manifest: dict[str, Any], started: float, final: bool = False) -> None:
    manifest["wall_s"] = round(time.perf_counter() - started, 1)
    if final:
        manifest["finished"] = now()
        manifest["load_after"] = _load_avg()
        manifest["runs"] = runs_summary(path.parent)
    order = {n: i for i, n in enumerate(NOTEBOOKS)}
    manifest["notebooks"] = dict(sorted(manifest["notebooks"].items(), key=lambda kv: order.get(kv[0], 99)))
    atomic_write(path, json.dumps(manifest, indent=2, default=str) + "\n")


def runs_summary(out_dir: Path) -> list[dict[str, Any]]:
    """Name, model, epochs and training time of every run under ``out_dir/runs`` (for the manifest)."""
    rows = []
    root = out_dir / "runs"
    if not root.is_dir():
        return rows
    for d in sorted(root.iterdir()):
        if not (d / "config.yaml").is_file():
            continue
        cfg = yaml.safe_load((d / "config.yaml").read_text()) or {}
        run = Run(d.name, d, None, "")
        log = run.log
        evals = sorted(p.name for p in d.glob("eval-*") if (p / "results.json").is_file())
        rows.append(
            {
                "name": d.name,
                "model": (cfg.get("model") or {}).get("name"),
                "options": (cfg.get("model") or {}).get("options") or {},
                "data": rel((cfg.get("data") or {}).get("root", "")),
                "image_size": (cfg.get("data") or {}).get("image_size"),
                "epochs": log[-1]["epoch"] if log else 0,
                "train_s": round(run.train_seconds(), 1),
                "evals": evals,
                "eval_s": {e: _eval_seconds(d / e) for e in evals},
            }
        )
    return rows


def _eval_seconds(folder: Path) -> float | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        return json.loads((folder / "results.json").read_text())["meta"].get("seconds")
    return None


# -- command line ---------------------------------------------------------------------------------
def configure(p: argparse.ArgumentParser) -> None:
    p.epilog = "notebooks, in order:\n" + "\n".join(f"  {n}" for n in NOTEBOOKS)
    p.add_argument("profile", help="smoke, quick, demo, paper (configs/profiles/) or a YAML path")
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these notebooks (name or prefix)%(default).0s"
    )
    p.add_argument(
        "--out",
        default=None,
        help="results folder (default: the profile's out, results/<profile>)%(default).0s",
    )
    p.add_argument(
        "-p",
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile parameter (VALUE parsed as YAML), e.g. -p epochs=1 (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="check parameters and paths; say what would run")
    p.add_argument(
        "--kernel",
        default=None,
        help="Jupyter kernel name (default: python3, this environment's)%(default).0s",
    )
    p.add_argument("--log-output", action="store_true", help="stream the notebooks' outputs to the terminal")


def run(args: argparse.Namespace) -> int:
    if args.dry_run:
        from .study import dry_run

        params = load_profile(args.profile, args.params)
        if args.out is not None:
            params["out"] = args.out
        lines, problems = dry_run(params, select_notebooks(args.only), profile=args.profile)
        print("\n".join(lines))
        if problems:
            print(f"\n{len(problems)} problem(s) - this profile would not run here as it is:")
            print("\n".join(f"  - {p}" for p in problems))
            return 1
        print("\nno problems found")
        return 0
    try:
        run_notebooks(
            args.profile,
            only=args.only,
            out=args.out,
            overrides=args.params,
            kernel=args.kernel,
            log_output=args.log_output,
        )
    except NotebookFailed:
        if getattr(args, "debug", False):
            _print_failure_traceback(args)
        raise
    return 0


def _print_failure_traceback(args: argparse.Namespace) -> None:
    with contextlib.suppress(Exception):
        params = load_profile(args.profile, args.params)
        out = resolve(args.out or params.get("out") or f"results/{args.profile}")
        manifest = json.loads((out / "manifest.json").read_text())
        for entry in manifest["notebooks"].values():
            if entry.get("status") == "failed" and entry.get("traceback"):
                print(entry["traceback"], file=sys.stderr)


__all__ = [
    "NOTEBOOKS",
    "PARAMS",
    "NotebookFailed",
    "Run",
    "RunSpec",
    "class_frequencies",
    "ensure_bench",
    "ensure_eval",
    "ensure_prepared",
    "ensure_run",
    "ensure_subset",
    "ensure_synth",
    "load_eval",
    "load_profile",
    "parameters_cell",
    "resolve",
    "run_notebooks",
    "select_notebooks",
]
