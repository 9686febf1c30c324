"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (nothing that needs
unpickling code), so a file carrying a pickle payload is refused without running it. Each one
carries what is needed to rebuild and audit the model: the registered model name and its full
config, the class names, the training config, the metrics, the git commit and the time.
"""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, OutputError
from ..fileio import atomic_write
from ..models import build_model
from ..provenance import git_commit, now

FORMAT = "fpliif-checkpoint"
VERSION = 1


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DDP / torch.compile wrappers."""
    while True:
        if hasattr(model, "module"):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``.

    A crash or a full disk leaves either the old file or the new one, never a half-written file.
    The checkpoint is serialised in memory first (a few tens of MB): torch.save writing to a file
    reports a full disk as an internal RuntimeError, a plain write as ENOSPC.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        atomic_write(path, buffer.getbuffer())
    except OutputError as exc:
        raise CheckpointError(f"could not write checkpoint {exc}") from exc


def make_checkpoint(
    model: nn.Module,
    *,
    model_name: str,
    class_names: list[str] | None = None,
    train_config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The checkpoint dict for ``model`` (unwrapped); ``extra`` adds training state (optimizer, epoch...)."""
    bare = unwrap(model)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_name": model_name,
        "model_config": bare.config.to_dict(),
        "model": bare.state_dict(),
        "class_names": list(class_names) if class_names is not None else None,
        "train_config": train_config,
        "metrics": metrics or {},
        "commit": git_commit(),
        "time": now(),
        "torch": str(torch.__version__),
        **extra,
    }


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and validate a checkpoint (weights only: no code is ever run)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        reason = f"it references {found.group(1)}" if found else str(exc).strip().split("\n")[0][:200]
        raise CheckpointError(
            f"checkpoint {path} refused: it holds objects other than tensors and plain data "
            f"(a pickle payload?), so it was not loaded: {reason}"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or corrupt): {exc}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an fpliif checkpoint (no '{FORMAT}' marker)")
    if int(ckpt.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path} was written by a newer fpliif (format version {ckpt['version']})")
    for key in ("model_name", "model_config", "model"):
        if key not in ckpt:
            raise CheckpointError(f"checkpoint {path} lacks {key!r}")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], *, source: str = "checkpoint") -> nn.Module:
    """Rebuild the model a checkpoint describes and load its weights (strictly)."""
    try:
        model = build_model(ckpt["model_name"], **dict(ckpt["model_config"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: cannot rebuild model {ckpt.get('model_name')!r}: {exc}") from exc
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise CheckpointError(
            f"{source}: weights do not fit model {ckpt['model_name']!r}: {detail[:300]}"
        ) from exc
    return model


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode on ``device``, checkpoint dict) from a checkpoint file."""
    ckpt = load_checkpoint(path, map_location="cpu")
    model = model_from_checkpoint(ckpt, source=str(path))
    return model.to(device).eval(), ckpt


def check_compatible(ckpt: dict[str, Any], *, num_classes: int, source: str) -> None:
    """A clear error when a checkpoint's label set does not fit the data it is used with."""
    have = int(ckpt["model_config"]["num_classes"])
    if have != num_classes:
        raise CheckpointError(
            f"{source} predicts {have} classes but the data has {num_classes}; "
            "use a checkpoint trained on this label set"
        )
