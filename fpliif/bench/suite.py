"""One bench run: every measurement of a ``BenchConfig``, in order, as a list of records."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from ..precision import EMULATED_BF16, native_bf16
from .adaptive import adaptive_cases, adaptive_pairs
from .cases import Case, fpliif_cases, peer_cases, run_case
from .config import BenchConfig, is_fpliif
from .memory import measure_memory
from .pairs import SHARE_PAIR, measure_pairs
from .peak import measure_peak
from .timing import default_threads, run_context

Log = Callable[[str], None]


class _Peaks:
    """The run's matmul peaks: the best GFLOP/s per dtype so far, and the backend of the best
    start measurement per dtype (the share pair times that backend's GEMM)."""

    def __init__(self) -> None:
        self.best: dict[str, float] = {}
        self.backends: dict[str, str] = {}

    def measure(self, cfg: BenchConfig, device: torch.device, when: str, log: Log) -> list[dict[str, Any]]:
        rows = []
        for dtype in cfg.dtypes:
            recs = measure_peak(
                dtype, device=device, n=cfg.peak_n, repeats=max(3, cfg.repeats), warmup=max(1, cfg.warmup)
            )
            for r in recs:
                r["when"] = when
            self.best[dtype] = max(self.best.get(dtype, 0.0), recs[0]["peak_gflops_per_s"])
            self.backends.setdefault(dtype, max(recs, key=lambda r: r["gflops_per_s"])["backend"])
            rows += recs
            log(
                f"peak {dtype} ({when}): "
                + ", ".join(f"{r['backend']} {r['gflops_per_s']:.0f}" for r in recs)
                + " GFLOP/s"
            )
        return rows


def _time_case(
    case: Case, batch: int, cfg: BenchConfig, device: torch.device, peaks: dict[str, float], log: Log
) -> dict[str, Any]:
    """The latency record of ``case`` at ``batch``, or an error record: one failing backend must
    not lose the run."""
    try:
        rec = run_case(case, batch, cfg, device, peaks)
    except Exception as exc:  # noqa: BLE001
        log(f"  {case.model} {case.backend} {case.dtype} {case.out_size} b{batch}: FAILED {exc}")
        return {
            "kind": "error",
            "model": case.model,
            "backend": case.backend,
            "dtype": case.dtype,
            "out_size": case.out_size,
            "batch": batch,
            "error": f"{type(exc).__name__}: {exc}",
        }
    log(
        f"  {rec['model']:14s} {rec['backend']:11s} {rec['dtype']} {rec['pred_size']:>4}->"
        f"{rec['out_size']:<4} b{batch}: {rec['latency_ms']:9.1f} ms  {rec['fps']:8.2f} fps  "
        f"{rec['gflops_per_s']:6.0f} GFLOP/s ({100 * rec['share_of_peak']:.0f}% of peak)"
    )
    return rec


def _log_pair(rec: dict[str, Any], log: Log) -> None:
    shown = f"{100 * rec['value']:.0f}%" if rec["target"] == SHARE_PAIR else f"{rec['value']:.2f}x"
    log(
        f"  pair {rec['model']} {rec['target']}: {shown} "
        f"(interleaved, {rec['latency_ms_a']:.1f} / {rec['latency_ms_b']:.1f} ms)"
    )


def apply_peaks(records: list[dict[str, Any]], peaks: dict[str, float]) -> None:
    """Re-state every record's peak (and share of it) against ``peaks`` {dtype: GFLOP/s}."""
    for r in records:
        peak = peaks.get(r.get("dtype", ""))
        if peak is None or "gflops_per_s" not in r:
            continue
        r["peak_gflops_per_s"] = peak
        r["share_of_peak"] = r["gflops_per_s"] / peak


def skip_emulated_bf16(cfg: BenchConfig, device: torch.device, log: Log) -> list[dict[str, Any]]:
    """Drop bf16 from ``cfg.dtypes`` where the hardware has no bf16 (timing an emulation would take
    hours and say nothing about the model); the record that says so, for the tables' notes."""
    if "bf16" not in cfg.dtypes or native_bf16(device):
        return []
    cfg.dtypes = tuple(d for d in cfg.dtypes if d != "bf16")
    log(f"bf16 left out: {EMULATED_BF16}")
    return [{"kind": "skipped", "dtype": "bf16", "reason": EMULATED_BF16}]


def run_bench(cfg: BenchConfig, *, log: Log | None = None) -> list[dict[str, Any]]:
    """Every measurement of ``cfg`` as a list of records (see the package docstring): the peak, each
    model's rows (and, for FP-LIIF, its interleaved pairs), the memory probe, the peak again."""
    log = log or (lambda s: None)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda but no CUDA device is available")
    threads = cfg.threads or default_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads)
        cfg.threads = threads
    ctx = run_context()
    t_start = time.perf_counter()
    skipped = skip_emulated_bf16(cfg, device, log)
    peaks = _Peaks()
    records = skipped + peaks.measure(cfg, device, "start", log)
    for name in cfg.models:
        cases = fpliif_cases(name, cfg, device) if is_fpliif(name) else peer_cases(name, cfg, device)
        for case in cases:
            for batch in case.batches:
                records.append(_time_case(case, batch, cfg, device, peaks.best, log))
        if cfg.pair_repeats and is_fpliif(name):
            for rec in measure_pairs(cases, cfg, device, peaks.backends):
                _log_pair(rec, log)
                records.append(rec)
    if cfg.adaptive_sizes:
        name = next((m for m in cfg.models if is_fpliif(m)), "fpliif")
        cases = adaptive_cases(cfg, device, name=name, log=log)
        for case in cases:
            records.append(_time_case(case, 1, cfg, device, peaks.best, log))
        if cfg.pair_repeats:
            for rec in adaptive_pairs(cases, cfg, device):
                _log_pair(rec, log)
                records.append(rec)
    if cfg.memory_size and device.type == "cpu" and any(is_fpliif(m) for m in cfg.models):
        rec = measure_memory("fpliif", out_size=cfg.memory_size, input_size=cfg.input_size, threads=threads)
        log(
            f"memory: {cfg.memory_size}^2 output, peak RSS {rec['peak_rss_mb']:.0f} MB "
            f"(+{rec['rss_growth_mb']:.0f} MB during the call, output tensor {rec['output_mb']:.0f} MB)"
        )
        records.append(rec)
    if cfg.peak_twice:
        # A single peak measurement is noisy on a shared machine: measure again after the rows
        # and take every share of the better of the two.
        records += peaks.measure(cfg, device, "end", log)
        apply_peaks(records, peaks.best)
    wall = time.perf_counter() - t_start
    for r in records:
        r.update({k: v for k, v in ctx.items() if k not in r})
        r.setdefault("threads", threads if device.type == "cpu" else None)
        r["bench_wall_s"] = round(wall, 1)
        r["quick"] = cfg.quick
    return records
