"""The matrix-multiply peak: the rate of large square GEMMs that every share of peak is taken of."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import torch

from ..precision import DTYPES, exact_fp32
from .timing import load_average, time_calls


def peak_gemms(dtype: str, *, device: torch.device, n: int) -> list[tuple[str, Callable[[], Any]]]:
    """The peak's n x n x n products as (backend, call): ``torch.mm`` and, on CPU, oneDNN."""
    dt = DTYPES[dtype]
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, generator=gen).to(dt)  # [n, n]
    b = torch.randn(n, n, device=device, generator=gen).to(dt)  # [n, n]
    bt = b.t().contiguous()
    runs: list[tuple[str, Callable[[], Any]]] = [("torch.mm", lambda: torch.mm(a, b))]
    if device.type == "cpu" and dt in (torch.float32, torch.bfloat16):
        from ..models.fast import _mkldnn_linear_ok

        if _mkldnn_linear_ok(dt):
            runs.append(("onednn", lambda: torch.ops.mkldnn._linear_pointwise(a, bt, None, "none", [], "")))
    return runs


def measure_peak(
    dtype: str, *, device: str | torch.device = "cpu", n: int = 4096, repeats: int = 5, warmup: int = 2
) -> list[dict[str, Any]]:
    """The matmul rate (GFLOP/s, 2 per multiply-add) of an n x n x n product, per backend.

    Backends: ``torch.mm`` (MKL on CPU, cuBLAS on CUDA) and, on CPU, oneDNN (the library that
    runs FP-LIIF's convolutions and fused GEMMs). Each record's ``gflops_per_s`` is the median
    over ``repeats`` calls; the peak of the dtype is the best backend's.
    """
    dev = torch.device(device)
    runs = peak_gemms(dtype, device=dev, n=n)
    out = []
    with torch.inference_mode(), exact_fp32(dev, dtype):
        for backend, fn in runs:
            load = load_average()
            times = time_calls(fn, warmup=warmup, repeats=repeats, device=dev)
            med = statistics.median(times)
            out.append(
                {
                    "kind": "peak",
                    "model": "matmul",
                    "backend": backend,
                    "dtype": dtype,
                    "out_size": n,
                    "batch": 1,
                    "params": 0,
                    "gmacs": n**3 / 1e9,
                    "fps": 1 / med,
                    "gflops_per_s": 2 * n**3 / med / 1e9,
                    "best_gflops_per_s": 2 * n**3 / min(times) / 1e9,
                    "latency_ms": 1e3 * med,
                    "times_ms": [round(1e3 * t, 3) for t in times],
                    "load_before": load,
                    "load_after": load_average(),
                }
            )
    peak = max(r["gflops_per_s"] for r in out)
    for r in out:
        r["peak_gflops_per_s"] = peak
        r["share_of_peak"] = r["gflops_per_s"] / peak
    return out
