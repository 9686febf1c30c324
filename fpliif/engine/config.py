"""Training configuration: dataclasses with the paper's recipe as defaults, YAML files, dotted overrides.

    cfg = load_config("paper-lapa", ["optim.epochs=10", "run.out=runs/x"])

A config name is looked up in ``configs/train/<name>.yaml`` of the repository; a path is read as is.
Every default below is the paper's (section 4.2; docs/paper.md, "Training recipe") unless its comment
says otherwise; docs/paper.md, "Readings", gives the reason for each choice of ours.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..fileio import atomic_write
from ..provenance import REPO_ROOT

CONFIG_DIR = REPO_ROOT / "configs" / "train"


@dataclass
class DataConfig:
    name: str = "synth"  # synth | lapa | celebamask-hq | helen
    root: str = "data/synth-lapa"  # dataset folder; `fpliif synth` makes the built-in default
    image_size: int = 256  # paper: 256x256, bicubic; labels use nearest (our reading: bicubic mixes ids)
    augment: bool = True  # the paper's random affine + crop and colour jitter
    augment_options: dict[str, Any] = field(default_factory=dict)  # AugmentConfig fields, e.g. affine: false
    hflip: bool = False  # not in the paper; when on, left/right labels are swapped with the image
    split_seed: int = 0  # shuffles a flat subset that comes as one folder into train/val/test
    train_split: str = "train"
    val_split: str = "val"
    cache: bool = False  # keep decoded samples in memory: worth it for small sets on CPU
    workers: int = 2  # DataLoader worker processes per rank
    skip_bad: bool = False  # skip invalid samples (listed in the run folder) instead of stopping


@dataclass
class ModelSpec:
    name: str = "fpliif"  # a name registered in fpliif.models (the paper's model or an ablation)
    options: dict[str, Any] = field(default_factory=dict)  # FPLIIFConfig overrides, e.g. temperature
    init: str = ""  # start from these weights (a .pt or a weights folder) to fine-tune; "" = random (ours)


@dataclass
class OptimConfig:
    epochs: int = 400  # paper
    batch_size: int = 64  # global batch over all ranks: paper 64 (LaPa), 33 (CelebAMask-HQ)
    batch_per_device: bool = False  # True: batch_size is each rank's batch (33 does not divide by 4 GPUs)
    lr: float = 5e-4  # Adam, paper
    lr_step: int = 20  # paper: "decreased by a factor of 10 after every 20 epochs" (as printed)
    lr_gamma: float = 0.1  # paper
    schedule: str = "step"  # step (the paper's, lr_step/lr_gamma) | cosine (to zero over the epochs; ours)
    edge_weight: float = 40.0  # lambda of the edge-aware CE: paper 40 (LaPa), 10 (CelebAMask-HQ)
    sample_points: int = 0  # >0: decode this many random pixels per image (LIIF's trick); 0 = all
    point_balance: float = 0.0  # >0: draw those pixels with weight (class share in the image)^-b; 0 = uniform
    amp: str = "auto"  # bf16 where native (AVX-512 CPU, GPU; old GPUs fp16), else fp32; or bf16|fp16|fp32
    grad_clip: float = 0.0  # max gradient norm; 0 = off (the paper mentions none)

    def global_batch(self, world_size: int) -> int:
        """Samples per optimiser step over all ranks (docs/paper.md, "Readings": batch size)."""
        return self.batch_size * world_size if self.batch_per_device else self.batch_size


@dataclass
class RunConfig:
    out: str = "runs/default"  # run folder: log.jsonl, config.yaml, best.pt, last.pt
    seed: int = 0  # every random choice derives from (seed, epoch, sample index)
    deterministic: bool = False  # torch.use_deterministic_algorithms: exact repeats, a little slower
    device: str = "auto"  # auto = cuda when available, else cpu
    eval_every: int = 1  # epochs between validations; the last epoch is always validated (0 = never)
    eval_size: int = 0  # validation output size; 0 = data.image_size
    max_minutes: float = 0.0  # stop cleanly (checkpointed) after this much training time; 0 = no limit
    threads: int = 0  # torch CPU threads per process; 0 = torch's default
    log_every: int = 10  # steps between progress-bar loss updates


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "config") -> TrainConfig:
        d = d or {}
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {unknown}; known: data, model, optim, run")
        sections = {}
        for f in dataclasses.fields(cls):
            section_cls = f.default_factory  # type: ignore[misc]
            values = d.get(f.name) or {}
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: section {f.name!r} must be a mapping, got {values!r}")
            known = {g.name: g for g in dataclasses.fields(section_cls)}
            bad = sorted(set(values) - set(known))
            if bad:
                raise ConfigError(
                    f"{source}: unknown key(s) {[f'{f.name}.{k}' for k in bad]}; known: {sorted(known)}"
                )
            sections[f.name] = section_cls(
                **{k: _coerce(v, known[k], f"{source}: {f.name}.{k}") for k, v in values.items()}
            )
        return cls(**sections)


def _coerce(value: Any, f: dataclasses.Field, where: str) -> Any:
    """Check a YAML value against the field's type (ints are accepted for floats)."""
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        value = float(value)
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
    elif isinstance(default, str):
        if not isinstance(value, str):
            hint = " (YAML reads on/off/yes/no as booleans: quote it)" if isinstance(value, bool) else ""
            raise ConfigError(f"{where} must be a string, got {value!r}{hint}")
    elif isinstance(default, dict) and not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {value!r}")
    return value


def resolve_config_path(name_or_path: str | Path, folder: Path = CONFIG_DIR, kind: str = "config") -> Path:
    """A YAML path as given, or ``folder/NAME.yaml`` for a bare name."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ConfigError(f"{kind} file {p} does not exist")
        return p
    candidate = folder / f"{name_or_path}.yaml"
    if not candidate.is_file():
        known = sorted(q.stem for q in folder.glob("*.yaml"))
        raise ConfigError(f"no {kind} named {name_or_path!r} (looked for {candidate}); known: {known}")
    return candidate


def apply_overrides(d: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested dict, in place."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) < 2:
            raise ConfigError(f"override {item!r} must name a section and a key, e.g. optim.lr=1e-3")
        node = d
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    return d


def read_yaml_mapping(path: Path, what: str = "a mapping") -> dict[str, Any]:
    """A YAML file that must hold a mapping (empty file: {}); ConfigError naming the file otherwise."""
    try:
        d = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: expected {what}, got {type(d).__name__}")
    return d


def flatten_config(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as dotted keys (``optim.lr``); a model's ``options`` dict stays one value."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and k != "options":
            out.update(flatten_config(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def load_config(name_or_path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """The defaults, updated by a YAML file (optional) and then by dotted overrides."""
    d: dict[str, Any] = {}
    source = "defaults"
    if name_or_path is not None:
        path = resolve_config_path(name_or_path)
        source = str(path)
        d = read_yaml_mapping(path, "a mapping of sections")
    apply_overrides(d, list(overrides or []))
    return TrainConfig.from_dict(d, source=source)


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    atomic_write(path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
