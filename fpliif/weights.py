"""Released weights: a folder with ``model.safetensors`` and ``config.json``, and the ways to load a model.

    fpliif export --format safetensors --checkpoint runs/real/best.pt --out results/real/model
    model, meta = load_weights("results/real/model")      # or a .pt checkpoint, or None

``model.safetensors`` holds the state dict (fp32, or fp16 with ``--fp16``: half the file, read
back as fp32) and nothing that runs code. ``config.json`` holds what rebuilds and describes the
model: the registered ``model_name`` and its ``model_config`` (``build_model`` takes them),
``num_classes``, ``class_names``, ``palette``, the training input size ``image_size``, the
``weights_dtype``, and free-form ``data``, ``budget``, ``scores`` and ``licence`` that the
exporter fills where it knows them (null otherwise).

``load_weights`` accepts such a folder, a ``.pt`` checkpoint of ``fpliif train`` (read with
``weights_only=True`` by ``engine.checkpoint``), or None for the weights shipped with the
repository at ``results/real/model/``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from .errors import CheckpointError
from .provenance import REPO_ROOT

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "fpliif-pretrained"
VERSION = 1
SHIPPED = REPO_ROOT / "results" / "real" / "model"
DESCRIBED = ("data", "budget", "scores", "notes")  # config.json's free-form fields an exporter may set
DEFAULT_IMAGE_SIZE = 256  # the paper's training input size, for checkpoints that do not record theirs


class WeightsNotFoundError(CheckpointError):
    """No weights where they were looked for (the shipped folder, or a path given)."""


@dataclass
class ModelMeta:
    """What a parser needs besides the weights: labels, colours, input size, where it came from."""

    model_name: str
    class_names: list[str]
    palette: list[tuple[int, int, int]]
    image_size: int
    source: str
    extra: dict[str, Any] = field(default_factory=dict)

    def classes(self) -> dict[int, dict[str, Any]]:
        """{id: {"name", "colour"}} for ``classes.json``."""
        return {
            i: {"name": n, "colour": list(c)}
            for i, (n, c) in enumerate(zip(self.class_names, self.palette, strict=True))
        }


def labels_for(num_classes: int, dataset: str | None = None) -> tuple[list[str], list[tuple[int, int, int]]]:
    """(class names, palette) of a label set: the dataset's when it has ``num_classes`` classes,
    else the 11- or 19-class sets of docs/paper.md, else numbered classes in distinct colours."""
    from .data.info import DATASET_INFOS, dataset_info
    from .viz import default_palette

    candidates = []
    if dataset:
        with contextlib.suppress(KeyError):
            candidates.append(dataset_info(dataset))
    candidates += [DATASET_INFOS["lapa"], DATASET_INFOS["celebamask-hq"]]
    for info in candidates:
        if info.num_classes == num_classes:
            return list(info.class_names), list(info.palette)
    return ["background", *(f"class_{i}" for i in range(1, num_classes))], default_palette(num_classes)


def _checkpoint_meta(ckpt: dict[str, Any], source: str) -> ModelMeta:
    num_classes = int(ckpt["model_config"]["num_classes"])
    names, palette = labels_for(num_classes, ckpt.get("dataset"))
    if ckpt.get("class_names") and len(ckpt["class_names"]) == num_classes:
        names = list(ckpt["class_names"])
    train = ckpt.get("train_config") or {}
    image_size = int((train.get("data") or {}).get("image_size") or DEFAULT_IMAGE_SIZE)
    return ModelMeta(ckpt["model_name"], names, palette, image_size, source)


def save_pretrained(
    ckpt: dict[str, Any],
    out_dir: str | Path,
    *,
    fp16: bool = False,
    source: str = "",
    licence: str | None = None,
    describe: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` and ``config.json`` for a checkpoint dict into ``out_dir``.
    ``describe`` replaces the free-form ``DESCRIBED`` fields (what the checkpoint knows otherwise)."""
    from safetensors.torch import save

    from .fileio import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = _checkpoint_meta(ckpt, source)
    state = {}
    for name, t in ckpt["model"].items():
        t = t.detach().cpu()
        state[name] = (t.half() if fp16 and t.is_floating_point() else t).contiguous().clone()
    train = ckpt.get("train_config") or {}
    config = {
        "format": FORMAT,
        "version": VERSION,
        "model_name": meta.model_name,
        "model_config": dict(ckpt["model_config"]),
        "num_classes": int(ckpt["model_config"]["num_classes"]),
        "class_names": meta.class_names,
        "palette": [list(c) for c in meta.palette],
        "image_size": meta.image_size,
        "weights_dtype": "fp16" if fp16 else "fp32",
        "data": {"dataset": ckpt.get("dataset"), **(train.get("data") or {})}
        if ckpt.get("dataset") or train
        else None,
        "budget": {k: v for k, v in (train.get("optim") or {}).items() if k in ("epochs", "batch_size")}
        or None,
        "scores": ckpt.get("metrics") or None,
        "notes": None,
        "licence": licence,
        "commit": ckpt.get("commit"),
        "exported_from": source or None,
    }
    unknown = sorted(set(describe or {}) - set(DESCRIBED))
    if unknown:
        raise ValueError(f"describe: unknown field(s) {unknown}; known: {list(DESCRIBED)}")
    config |= describe or {}
    atomic_write(out / WEIGHTS_FILE, save(state, metadata={"format": FORMAT}))
    atomic_write(out / CONFIG_FILE, json.dumps(config, indent=2, default=str) + "\n")
    return out


def _read_folder(folder: Path) -> tuple[nn.Module, ModelMeta]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .engine.checkpoint import model_from_checkpoint

    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: not readable JSON ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(
            f"{folder / CONFIG_FILE} is not an fpliif weights config (no '{FORMAT}' marker)"
        )
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except (OSError, SafetensorError) as exc:
        raise CheckpointError(f"{folder / WEIGHTS_FILE}: unreadable safetensors file ({exc})") from exc
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    ckpt = {"model_name": config["model_name"], "model_config": config["model_config"], "model": state}
    model = model_from_checkpoint(ckpt, source=str(folder))
    meta = ModelMeta(
        model_name=config["model_name"],
        class_names=list(config["class_names"]),
        palette=[tuple(int(v) for v in c) for c in config["palette"]],  # type: ignore[misc]
        image_size=int(config.get("image_size") or DEFAULT_IMAGE_SIZE),
        source=str(folder),
        extra={k: config.get(k) for k in ("data", "budget", "scores", "licence", "weights_dtype")},
    )
    return model, meta


def missing_weights_message(folder: Path) -> str:
    """The error for a folder without ``model.safetensors`` + ``config.json``: the shipped one (not
    in this checkout) or a folder the user named."""
    own = (
        "pass a .pt from fpliif train or a folder from fpliif export --format safetensors "
        "(fpliif.load_pretrained('runs/NAME/best.pt'), fpliif predict --checkpoint PATH)"
    )
    if folder == SHIPPED:
        return f"no weights at {folder}/ (model.safetensors + config.json) in this checkout; {own}"
    missing = [n for n in (WEIGHTS_FILE, CONFIG_FILE) if not (folder / n).is_file()]
    return f"{folder}: not a weights folder (no {' or '.join(missing)} in it); {own}"


def load_weights(source: str | Path | None = None) -> tuple[nn.Module, ModelMeta]:
    """(model in eval mode on the CPU, its ``ModelMeta``) from a weights folder, a ``.pt``
    checkpoint, or None (the shipped ``results/real/model/``)."""
    path = SHIPPED if source is None else Path(source)
    if path.is_dir():
        if not (path / WEIGHTS_FILE).is_file() or not (path / CONFIG_FILE).is_file():
            raise WeightsNotFoundError(missing_weights_message(path))
        model, meta = _read_folder(path)
        return model.eval(), meta
    if source is None or not path.exists():
        if source is None:
            raise WeightsNotFoundError(missing_weights_message(path))
        raise WeightsNotFoundError(f"{path}: no such checkpoint or weights folder")
    from .engine.checkpoint import load_model

    model, ckpt = load_model(path)
    return model, _checkpoint_meta(ckpt, str(path))


def shipped_available() -> bool:
    return (SHIPPED / WEIGHTS_FILE).is_file() and (SHIPPED / CONFIG_FILE).is_file()


__all__ = [
    "CONFIG_FILE",
    "SHIPPED",
    "WEIGHTS_FILE",
    "ModelMeta",
    "WeightsNotFoundError",
    "labels_for",
    "load_weights",
    "save_pretrained",
    "shipped_available",
]
