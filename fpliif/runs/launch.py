"""Subprocesses the runs start: ``torchrun`` for a multi-process training run, and any command whose
output is passed on line by line (``fpliif bench``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine.config import save_config
from ..errors import FpliifError
from ..provenance import REPO_ROOT
from .paths import Log, say


def torchrun_train(cfg: Any, run_dir: Path, nproc: int, *, resume: bool, log: Log = say) -> None:
    """``fpliif train`` of ``cfg`` (a ``TrainConfig``) under ``torchrun --nproc_per_node=nproc``."""
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


__all__ = ["stream", "torchrun_train"]
