"""The memory probe: peak resident memory of one large-output forward, in a fresh subprocess (Linux)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ..precision import DTYPES, autocast
from .summary import TARGET_MEMORY_MB
from .timing import default_threads, load_average


def _memory_child(spec: str) -> None:
    """Run in a fresh process: one forward, print peak RSS and its growth over the start (JSON)."""
    args = json.loads(spec)
    torch.set_num_threads(args["threads"])
    from ..models import build_model
    from ..models.fast import optimize_for_inference

    model = build_model(args["model"], num_classes=args["num_classes"]).eval()
    if args["backend"] == "fast":
        model = optimize_for_inference(model, dtype=DTYPES[args["dtype"]])
    images = torch.rand(1, 3, args["input_size"], args["input_size"])
    with torch.inference_mode():
        model(images, 8)  # allocator and oneDNN warm-up, tiny output
    before = _rss_mb("VmRSS")
    reset = _reset_peak()
    with torch.inference_mode(), autocast("cpu", args["dtype"]):
        t0 = time.perf_counter()
        out = model(images, args["out_size"])
        seconds = time.perf_counter() - t0
    peak = _rss_mb("VmHWM")
    print(
        json.dumps(
            {
                "rss_before_mb": before,
                "peak_rss_mb": peak,
                "peak_reset": reset,
                "seconds": seconds,
                "output_mb": out.numel() * out.element_size() / 2**20,
            }
        )
    )


def _rss_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def _reset_peak() -> bool:
    """Reset the process's peak RSS counter (VmHWM); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_memory(
    model: str = "fpliif",
    *,
    out_size: int = 2048,
    input_size: int = 256,
    backend: str = "fast",
    dtype: str = "fp32",
    threads: int | None = None,
    num_classes: int = 11,
    timeout: float = 1800,
) -> dict[str, Any]:
    """Peak resident memory of one ``out_size`` x ``out_size`` forward, in a fresh subprocess (Linux)."""
    spec = json.dumps(
        {
            "model": model,
            "out_size": out_size,
            "input_size": input_size,
            "backend": backend,
            "dtype": dtype,
            "threads": threads or default_threads(),
            "num_classes": num_classes,
        }
    )
    code = f"from fpliif.bench.memory import _memory_child; _memory_child({spec!r})"
    load = load_average()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe failed: {proc.stderr.strip().splitlines()[-1:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "kind": "memory",
        "model": model,
        "backend": backend,
        "dtype": dtype,
        "device": "cpu",
        "input_size": input_size,
        "out_size": out_size,
        "pred_size": out_size,
        "batch": 1,
        "peak_rss_mb": round(res["peak_rss_mb"], 1),
        "rss_growth_mb": round(res["peak_rss_mb"] - res["rss_before_mb"], 1),
        "output_mb": round(res["output_mb"], 1),
        "seconds": round(res["seconds"], 2),
        "peak_reset": res["peak_reset"],
        "limit_mb": TARGET_MEMORY_MB,
        "load_before": load,
        "load_after": load_average(),
    }
