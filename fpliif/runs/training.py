"""Training runs, reused when finished with the same configuration (``ensure_run``).

A run is a folder ``<out>/runs/<name>/`` written by ``fpliif train``: ``config.yaml``, ``log.jsonl``
and ``last.pt``. ``ensure_run`` reuses a finished run of the same configuration (here or under
another name), resumes an unfinished one, retrains a folder that holds another configuration, and
trains otherwise: in this process, or through ``torchrun`` when ``nproc > 1``.

Only a run's records travel with the repository (``log.jsonl``, its evaluations and ``run.yaml``,
the config with repository-relative paths and the precision it trained in); the checkpoint and
``config.yaml`` stay local. A folder holding such records of the asked config is ``recorded``:
what needs only its records (its evaluations, its description) reuses them, and what needs its
weights trains it anew.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..engine.config import TrainConfig, flatten_config, load_config
from ..errors import ConfigError, FpliifError
from ..provenance import REPO_ROOT
from .datasets import dataset_info_at
from .launch import torchrun_train
from .paths import Log, rel, resolve, say

# Keys that do not change what a run computes: a run differing only in these is reused.
REUSE_IGNORED = frozenset(
    {"run.out", "run.device", "run.threads", "run.log_every", "data.workers", "data.cache"}
)
PORTABLE = "run.yaml"
# Keys by which a finished-but-shorter run can be continued (resumed) rather than retrained.
RESUME_ALLOWED = frozenset({"optim.epochs", "run.max_minutes"})


def config_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    """Dotted keys whose values differ between two config dicts, ignoring ``REUSE_IGNORED``."""
    fa, fb = flatten_config(a), flatten_config(b)
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
    status: str  # reused | resumed | trained | recorded (records only, no checkpoint here)
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
        return _train_seconds(self.log)

    def parameters(self) -> int:
        from ..models import build_model
        from ..models.complexity import count_parameters

        info = dataset_info_at(self.config.data.name, self.config.data.root)
        model = build_model(self.config.model.name, num_classes=info.num_classes, **self.config.model.options)
        return count_parameters(model)

    def _portable_amp(self) -> str | None:
        """The precision ``run.yaml`` records (logs written before the log carried it lack it)."""
        with contextlib.suppress(OSError, yaml.YAMLError, AttributeError):
            return (yaml.safe_load((self.dir / PORTABLE).read_text()) or {}).get("optim", {}).get("amp")
        return None

    def describe(self) -> str:
        """One line: model, preset and recipe, data size, time."""
        c = self.config
        o, d = c.optim, c.data
        images = _train_images(d)
        log = self.log
        amp = (log[-1].get("amp") if log else None) or self._portable_amp() or o.amp  # auto resolved
        opts = "".join(f", {k}={v}" for k, v in c.model.options.items())
        points = f", {o.sample_points} sampled px/image" if o.sample_points else ""
        text = (
            f"{c.model.name}{opts} ({self.parameters() / 1e6:.2f} M params), {o.epochs} epochs of {images}, "
            f"batch {o.batch_size}, lr {o.lr:g}, λ={o.edge_weight:g}, {d.image_size} px input{points}, "
            f"{amp}, seed {c.run.seed}"
        )
        secs = _train_seconds(log)
        if secs:
            text += f", trained in {secs / 60:.1f} min"
        return text


def _train_seconds(log: list[dict[str, Any]]) -> float:
    total, seg = 0.0, 0.0
    for rec in log:
        if rec["elapsed_s"] < seg:  # a resumed segment restarts the clock
            total += seg
        seg = rec["elapsed_s"]
    return total + seg


def _train_images(d: Any) -> str:
    """ "N images" of a run's training split (a flat subset's drawn split counted as drawn)."""
    from ..data import flat

    try:
        if flat.is_flat(d.root):
            counts = flat.split_record(d.root, d.split_seed).get("counts")
            if counts:
                return f"{counts[d.train_split]} images"
        return f"{sum(1 for _ in (Path(d.root) / d.train_split / 'images').iterdir())} images"
    except (OSError, KeyError, FpliifError):
        return "the training split"


def checkpoint_epoch(path: Path) -> int:
    """Epochs completed by a checkpoint (0 if unreadable)."""
    from ..engine.checkpoint import load_checkpoint

    try:
        return int(load_checkpoint(path).get("epoch") or 0)
    except FpliifError:
        return 0


def saved_config(run_dir: Path) -> Path | None:
    """The config a run folder holds: the local ``config.yaml``, else the committed ``run.yaml``."""
    return next((run_dir / f for f in ("config.yaml", PORTABLE) if (run_dir / f).is_file()), None)


def portable_config(cfg: Any, amp: str | None = None) -> dict[str, Any]:
    """``cfg`` as a dict comparable across machines: repository-relative paths, and ``optim.amp`` the
    precision it trains in here (``amp``, or ``auto`` resolved for this machine's device)."""
    from ..engine.distributed import resolve_device
    from ..precision import pick_dtype

    def portable(path: str) -> str:  # the path as given when it is in the repository (a data link)
        with contextlib.suppress(ValueError):
            return str(Path(path).relative_to(REPO_ROOT))
        return rel(path)

    d = cfg.to_dict()
    d["data"]["root"] = portable(d["data"]["root"])
    d["run"]["out"] = portable(d["run"]["out"])
    if d["model"].get("init"):
        d["model"]["init"] = portable(d["model"]["init"])
    d["optim"]["amp"] = amp or pick_dtype(d["optim"]["amp"], resolve_device(d["run"]["device"]))
    return d


def write_portable(run: Run) -> None:
    """``run.yaml`` of a finished run: its config as ``portable_config`` with the precision it logged."""
    from ..fileio import atomic_write

    log = run.log
    amp = log[-1].get("amp") if log else None
    atomic_write(run.dir / PORTABLE, yaml.safe_dump(portable_config(run.config, amp), sort_keys=False))


def _recorded(run_dir: Path, cfg: Any) -> int:
    """Epochs of the records in ``run_dir`` (``run.yaml`` + ``log.jsonl``) when they are of config
    ``cfg`` and reached its epochs; else 0. ``optim.amp: auto`` accepts the precision they record."""
    try:
        stored = yaml.safe_load((run_dir / PORTABLE).read_text()) or {}
        stored = TrainConfig.from_dict(stored, source=str(run_dir / PORTABLE)).to_dict()
    except (OSError, ConfigError, yaml.YAMLError):
        return 0
    # "auto" asks for what is native where the run trains, so records of any precision answer it
    amp = stored["optim"]["amp"] if cfg.optim.amp == "auto" else cfg.optim.amp
    if config_diff(stored, portable_config(cfg, amp)):
        return 0
    done = max((rec.get("epoch", 0) for rec in Run("", run_dir, cfg, "").log), default=0)
    return done if done >= cfg.optim.epochs else 0


def run_state(run_dir: Path, cfg: Any) -> tuple[str, int]:
    """(state, epochs done) of ``run_dir`` for config ``cfg``: ``finished`` (reusable), ``resume``
    (same run, fewer epochs done than asked), ``recorded`` (the records of this config without the
    checkpoint, as a clone has them), ``stale`` (another config) or ``new``."""
    saved = run_dir / "config.yaml"
    last = run_dir / "last.pt"
    if not last.is_file() and (done := _recorded(run_dir, cfg)):
        return "recorded", done
    if not saved.is_file():
        return ("stale" if run_dir.exists() and any(run_dir.iterdir()) else "new"), 0
    try:  # through the dataclasses, so a key added since with its default still matches
        stored = TrainConfig.from_dict(yaml.safe_load(saved.read_text()) or {}, source=str(saved)).to_dict()
    except (ConfigError, yaml.YAMLError):
        return "stale", 0
    diff = config_diff(stored, cfg.to_dict())
    done = checkpoint_epoch(last) if last.is_file() else 0
    if diff - RESUME_ALLOWED:
        return "stale", done
    if done >= cfg.optim.epochs:
        return ("finished" if not diff else "stale"), done
    return ("resume" if done > 0 else "new"), done


def find_twin(cfg: Any, root: Path, exclude: str, *, records_only: bool = False) -> Path | None:
    """Another run folder under ``root`` trained with the same config: finished, or interrupted
    with exactly this config, or (``records_only``) recorded. A shorter run of another name is not
    continued: that would change the other run's config under it, and its own notebook would then
    retrain it."""
    if not root.is_dir():
        return None
    for other in sorted(root.iterdir()):
        if other.name == exclude or saved_config(other) is None:
            continue
        state, _ = run_state(other, cfg)
        if state == "finished" or (state == "resume" and _same_epochs(other, cfg)):
            return other
        if records_only and state == "recorded":
            return other
    return None


def _same_epochs(run_dir: Path, cfg: Any) -> bool:
    stored = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    return int((stored.get("optim") or {}).get("epochs", -1)) == int(cfg.optim.epochs)


def ensure_run(
    name: str,
    config: str,
    overrides: Sequence[str] = (),
    out_root: str | Path = "results/smoke",
    *,
    nproc: int = 1,
    label: str = "",
    records_only: bool = False,
    log: Log = say,
) -> Run:
    """A finished training run ``out_root/runs/<name>`` of preset ``config`` with ``overrides``.

    ``records_only``: the caller needs only the run's records, so a ``recorded`` folder (records
    of this config without a checkpoint) is reused as it is; otherwise it is trained anew.

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
    if state in ("new", "stale") or (state == "recorded" and not records_only):
        twin = find_twin(cfg, root, exclude=name, records_only=records_only)
        if twin is not None:
            log(f"run {name}: same config as run {twin.name}; using it")
            return ensure_run(
                twin.name,
                config,
                overrides,
                out_root,
                nproc=nproc,
                label=label,
                records_only=records_only,
                log=log,
            )
    if state == "recorded" and records_only:
        log(f"run {name}: reusing the records in {rel(run_dir)} ({done} epochs; no checkpoint here)")
        return Run(name, run_dir, cfg, "recorded", label)
    if state == "finished":
        log(f"run {name}: reusing {rel(run_dir)} ({done} epochs done)")
        run = Run(name, run_dir, cfg, "reused", label)
        write_portable(run)
        return run
    if state == "recorded":
        log(f"run {name}: {rel(run_dir)} holds its records but not its checkpoint; training it anew")
        shutil.rmtree(run_dir)
    if state == "stale":
        log(f"run {name}: {rel(run_dir)} holds a run of another config; training it anew")
        shutil.rmtree(run_dir)
    resume = state == "resume"
    what = f"resuming after epoch {done}" if resume else "training"
    log(f"run {name}: {what} ({cfg.optim.epochs} epochs) -> {rel(run_dir)}")
    start = time.perf_counter()
    if nproc > 1:
        torchrun_train(cfg, run_dir, nproc, resume=resume, log=log)
    else:
        from ..engine.train import train

        summary = train(cfg, resume=resume, progress=False)
        best = summary.get("best_mean_f1")
        log(f"  {summary['epochs']} epochs" + (f", val mean F1 {100 * best:.2f}" if best is not None else ""))
    seconds = time.perf_counter() - start
    log(f"  done in {seconds / 60:.1f} min")
    run = Run(name, run_dir, cfg, "resumed" if resume else "trained", label, seconds)
    write_portable(run)
    return run


__all__ = [
    "PORTABLE",
    "REUSE_IGNORED",
    "RESUME_ALLOWED",
    "Run",
    "RunSpec",
    "config_diff",
    "ensure_run",
    "find_twin",
    "portable_config",
    "run_state",
    "runs_dir",
    "saved_config",
    "write_portable",
]
