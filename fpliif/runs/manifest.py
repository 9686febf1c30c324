"""``<out>/manifest.json``: what a ``fpliif run`` executed, where, with what, and how long it took.

Profile and parameters, git commit, package versions, hardware, load average before and after,
per notebook its status and wall time, and per training run its epochs, training time and
evaluations. A partial rerun (``--only``) keeps the other notebooks' entries, and the entries of
runs whose records are still there but whose local files (config, checkpoints) are not, as in a
fresh clone of a committed profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ..fileio import atomic_write
from ..provenance import git_commit, hardware, now, package_versions
from . import notebooks
from .paths import rel
from .profiles import profile_path
from .training import Run, saved_config


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


def start_manifest(
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
        manifest["runs"] = old.get("runs") or []
    return manifest


def write_manifest(path: Path, manifest: dict[str, Any], started: float, final: bool = False) -> None:
    manifest["wall_s"] = round(time.perf_counter() - started, 1)
    if final:
        manifest["finished"] = now()
        manifest["load_after"] = _load_avg()
        manifest["runs"] = merge_runs(manifest.get("runs") or [], runs_summary(path.parent), path.parent)
    order = {n: i for i, n in enumerate(notebooks.NOTEBOOKS)}
    manifest["notebooks"] = dict(sorted(manifest["notebooks"].items(), key=lambda kv: order.get(kv[0], 99)))
    atomic_write(path, json.dumps(manifest, indent=2, default=str) + "\n")


def runs_summary(out_dir: Path) -> list[dict[str, Any]]:
    """Name, model, epochs and training time of every run under ``out_dir/runs`` (for the manifest)."""
    rows = []
    root = out_dir / "runs"
    if not root.is_dir():
        return rows
    for d in sorted(root.iterdir()):
        saved = saved_config(d)
        if saved is None:
            continue
        cfg = yaml.safe_load(saved.read_text()) or {}
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


def merge_runs(
    earlier: list[dict[str, Any]], current: list[dict[str, Any]], out_dir: Path
) -> list[dict[str, Any]]:
    """``current`` (``runs_summary``) plus the ``earlier`` entries it lacks whose run folder still
    exists (its committed records, without the local config); sorted by name."""
    names = {r["name"] for r in current}
    kept = [
        r for r in earlier if r.get("name") not in names and (out_dir / "runs" / str(r.get("name"))).is_dir()
    ]
    return sorted(current + kept, key=lambda r: r["name"])


def _eval_seconds(folder: Path) -> float | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        return json.loads((folder / "results.json").read_text())["meta"].get("seconds")
    return None


__all__ = ["VERSIONS", "merge_runs", "runs_summary", "start_manifest", "write_manifest"]
