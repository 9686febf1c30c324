"""The ratio targets measured with their two sides interleaved (a, b, a, b, ...), batch 1.

Separate rows are timed minutes apart, and a shared machine's speed drifts over minutes; timing
the two sides alternately exposes both to the same drift.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..precision import exact_fp32
from .cases import Case
from .config import BenchConfig
from .peak import peak_gemms
from .timing import time_calls

# (target, numerator side, denominator side); a side is (backend, dtype, pred_size or None = out).
# The ratio is latency(a) / latency(b): how many times faster b runs than a.
PAIRS = (
    ("bf16 speed-up", ("fast", "fp32", None), ("fast", "bf16", None)),
    ("upscale fast fp32", ("fast", "fp32", None), ("fast", "fp32", "small")),
    ("upscale fast bf16", ("fast", "bf16", None), ("fast", "bf16", "small")),
    ("upscale eager fp32", ("eager", "fp32", None), ("eager", "fp32", "small")),
)
# The share target's pair: the peak GEMM (a) against the fast path in fp32 at the big size (b).
SHARE_PAIR = "fp32 share of peak"


def _side(case: Case) -> dict[str, Any]:
    return {k: getattr(case, k) for k in ("model", "backend", "dtype", "pred_size", "out_size")}


def interleave(
    calls: Sequence[tuple[Callable[[], Any], str]], cfg: BenchConfig, device: torch.device
) -> list[tuple[float, ...]]:
    """Each round times every (call, dtype) once, in order; ``cfg.warmup`` rounds first, untimed."""
    rounds: list[tuple[float, ...]] = []
    for i in range(cfg.warmup + cfg.pair_repeats):
        times = []
        for call, dtype in calls:
            with exact_fp32(device, dtype):
                times.append(time_calls(call, warmup=0, repeats=1, device=device)[0])
        if i >= cfg.warmup:
            rounds.append(tuple(times))
    return rounds


def _peak_case(backend: str, gemm: Callable[[], Any], *, n: int, input_size: int) -> Case:
    """The peak GEMM of ``backend`` as a case (it ignores the images it is called with)."""
    return Case(
        model="matmul",
        backend=backend,
        dtype="fp32",
        out_size=n,
        pred_size=n,
        input_size=input_size,
        params=0,
        gmacs=n**3 / 1e9,
        paper_gmacs=n**3 / 1e9,
        batches=(1,),
        make=lambda: lambda images: gemm(),
    )


def _pairs_to_time(
    cases: Sequence[Case], cfg: BenchConfig, device: torch.device, peak_backends: dict[str, str] | None
) -> list[tuple[str, Case, Case]]:
    """(target, a, b) of every pair whose two sides this run has (at batch 1)."""
    assert cfg.upscale is not None
    small, big = cfg.upscale
    by_key = {(c.backend, c.dtype, c.pred_size, c.out_size): c for c in cases if 1 in c.batches}
    todo: list[tuple[str, Case, Case]] = []
    for target, side_a, side_b in PAIRS:
        sides = [by_key.get((be, dt, small if p == "small" else big, big)) for be, dt, p in (side_a, side_b)]
        if sides[0] is not None and sides[1] is not None:
            todo.append((target, sides[0], sides[1]))
    fast32 = by_key.get(("fast", "fp32", big, big))
    if peak_backends and "fp32" in peak_backends and fast32 is not None:
        runs = dict(peak_gemms("fp32", device=device, n=cfg.peak_n))
        backend = peak_backends["fp32"]
        if backend in runs:
            peak = _peak_case(backend, runs[backend], n=cfg.peak_n, input_size=fast32.input_size)
            todo.append((SHARE_PAIR, peak, fast32))
    return todo


def pair_record(target: str, a: Case, b: Case, rounds: list[tuple[float, ...]]) -> dict[str, Any]:
    """The record of one interleaved pair from its rounds' (t_a, t_b) seconds."""
    ratios = [ta / tb for ta, tb in rounds]
    ratio = statistics.median(ratios)
    rec = {
        "kind": "pair",
        "target": target,
        "model": b.model,
        "batch": 1,
        **{side: _side(c) for side, c in (("a", a), ("b", b))},
        "latency_ms_a": 1e3 * statistics.median(t for t, _ in rounds),
        "latency_ms_b": 1e3 * statistics.median(t for _, t in rounds),
        "ratio": ratio,
        "ratios": [round(r, 4) for r in ratios],
        "value": ratio,
        "gmacs_a": a.gmacs,
        "gmacs_b": b.gmacs,
        "repeats": len(rounds),
    }
    if target == SHARE_PAIR:
        shares = [r * b.gmacs / a.gmacs for r in ratios]
        rec.update(
            value=statistics.median(shares),
            shares=[round(v, 4) for v in shares],
            peak_gflops_per_s=2 * a.gmacs / statistics.median(t for t, _ in rounds),
        )
    return rec


def measure_pairs(
    cases: Sequence[Case],
    cfg: BenchConfig,
    device: torch.device,
    peak_backends: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The ratio targets of ``cases`` measured interleaved; a pair's ratio is the median of its
    per-round ratios. Only pairs whose cases this run has are measured.

    ``peak_backends`` ({dtype: backend}, the backend that set the peak) adds the share target's
    pair: that backend's peak GEMM (a) against the fast path at ``out_size`` in fp32 (b); its
    ``value`` is the median per-round share, (2 x gmacs_b / t_b) / (2 x gmacs_a / t_a).
    """
    if not cfg.upscale:
        return []
    gen = torch.Generator().manual_seed(1)
    out = []
    for target, a, b in _pairs_to_time(cases, cfg, device, peak_backends):
        images = torch.rand(1, 3, b.input_size, b.input_size, generator=gen).to(device)
        calls = []
        for case in (a, b):
            with exact_fp32(device, case.dtype):
                fn = case.make()
            calls.append((lambda f=fn, x=images: f(x), case.dtype))
        out.append(pair_record(target, a, b, interleave(calls, cfg, device)))
    return out
