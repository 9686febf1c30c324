"""``fpliif bench``: how fast FP-LIIF and its peers run on the machine at hand, measured honestly.

    fpliif bench --out results/bench_cpu.json            # the full run (~10 min on 2 CPU cores)
    fpliif bench --quick --out /tmp/b.json               # a seconds-long subset (smoke tests)
    fpliif bench --device cuda --compile --out results/bench_gpu.json

One run measures, on one device and thread count:

* **the matrix-multiply peak** per dtype (large square GEMMs through torch.mm and, on CPU,
  through oneDNN), before and after the other rows: the best of these is the peak every share is
  taken of (one measurement on a shared machine is off by up to ~7%);
* **FP-LIIF** at each output size, batch and dtype through the ``fast`` path
  (``fpliif.models.fast``), the paper-faithful ``eager`` forward (batch 1 unless ``--eager-batches``
  says otherwise) and ``onnxruntime`` (fp32; the graph of ``fpliif.export``), plus the
  "predict small, upscale" rows (``pred_size`` < ``out_size``: decode at 64, take the label map
  and resize it to 256 with nearest neighbour, as ``fpliif eval``'s "64->256" protocol scores it),
  through the fast and the eager path (the paper's Table 6 compares the same computation);
* **the peers** (each through PyTorch eager with channels_last and inference_mode, bf16 through
  autocast): the U-Net ablation (also through the fast encoder), BiSeNet/ResNet-18 at 512,
  ResNet-101 features at the peers' 473x473 (output stride 32, and 8 like their backbones);
* **the ratio targets, interleaved**: the bf16 speed-up and FPS(64->256) / FPS(256) (fast fp32,
  fast bf16, eager fp32) timed once more with their two sides alternating, batch 1
  (``measure_pairs``): separate rows are minutes apart and the machine's speed drifts meanwhile;
  likewise the fp32 share of peak: the peak GEMM alternating with the fast path at 256;
* **memory**: the peak resident memory of one 2048x2048 output from a 256 input, in a fresh
  subprocess.

Every latency row is: warm-up calls, then ``repeats`` timed calls (device synchronised around
each), median. ``gmacs`` is what the measured path performs per image (``FlopCounterMode``,
halved), ``paper_gmacs`` the paper-faithful count of the same model (Table 6's convention);
``gflops_per_s`` = 2 x gmacs x fps (achieved), ``share_of_peak`` = gflops_per_s / peak, and
``paper_gflops_per_s`` = 2 x paper_gmacs x fps (the effective rate by the paper's count).
Nothing is cached between timed calls: every call encodes the images and decodes every pixel.
``--out`` writes the records as a JSON list; ``summary`` checks the issue's targets and puts
beside each what the machine and the arithmetic allow, measured in the same run: the bf16/fp32
peak ratio next to the bf16 speed-up, and the MAC ratio of the two paths next to FPS(64->256) /
FPS(256) (both paths run near the peak, so the FPS ratio follows the MAC ratio; the fast path's
cheaper 256 decode lowers it from the eager path's).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .fileio import atomic_write
from .models.fast import DTYPES

FPLIIF_SIZES = (64, 96, 128, 192, 256, 512)
PEERS = ("fpliif-unet", "bisenet", "resnet101", "resnet101-os8")
DEFAULT_MODELS = ("fpliif", *PEERS)
REQUIRED_KEYS = (
    "model",
    "backend",
    "dtype",
    "out_size",
    "batch",
    "params",
    "gmacs",
    "fps",
    "gflops_per_s",
    "peak_gflops_per_s",
)
# The targets (checked by ``summary``; never asserted in tests).
TARGET_SHARE_OF_PEAK = 0.75
TARGET_BF16_SPEEDUP = 2.0
TARGET_UPSCALE_RATIO = 3.5
TARGET_MEMORY_MB = 4096.0
TARGET_F1_POINTS = 0.1
# A row during which other processes kept more than this share of the cores busy is flagged noisy.
NOISY_SHARE = 0.05


@dataclass
class BenchConfig:
    device: str = "cpu"
    threads: int | None = None  # None: every core this process may run on
    sizes: tuple[int, ...] = FPLIIF_SIZES
    batches: tuple[int, ...] = (1, 8)
    dtypes: tuple[str, ...] = ("fp32", "bf16")
    repeats: int = 3
    warmup: int = 1
    models: tuple[str, ...] = DEFAULT_MODELS
    backends: tuple[str, ...] = ("fast", "eager", "onnxruntime")
    input_size: int = 256
    eager_batches: tuple[int, ...] = (1,)  # the paper-faithful forward is slow: batch 1 by default
    ort_sizes: tuple[int, ...] = (64, 256)
    ort_batches: tuple[int, ...] = (1,)  # the unchunked ONNX graph needs ~1 GB per image at 256
    upscale: tuple[int, int] | None = (64, 256)  # (pred_size, out_size) rows
    peer_batches: tuple[int, ...] = (1,)  # peers (and the U-Net ablation) at batch 1 by default
    memory_size: int | None = 2048  # output size of the memory probe (None: skip)
    peak_n: int = 4096  # square GEMM size of the peak measurement
    peak_twice: bool = True  # measure the peak before and after the rows; shares use the better
    pair_repeats: int = 5  # the ratio targets again, their two sides interleaved (0: skip)
    compile: bool = False
    num_classes: int = 11
    quick: bool = False

    @classmethod
    def quick_config(cls, **overrides: Any) -> BenchConfig:
        """A seconds-long subset: FP-LIIF at 64, batch 1, one timed call after one warm-up."""
        base: dict[str, Any] = {
            "sizes": (64,),
            "batches": (1,),
            "repeats": 1,
            "warmup": 1,
            "models": ("fpliif",),
            "backends": ("fast", "eager"),
            "ort_sizes": (),
            "upscale": None,
            "pair_repeats": 0,
            "memory_size": None,
            "peak_n": 1024,
            "quick": True,
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)


# ----------------------------------------------------------------------------------------- helpers


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], *, warmup: int, repeats: int, device: torch.device) -> list[float]:
    """Seconds of each of ``repeats`` calls after ``warmup`` untimed ones (device synchronised)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(max(1, repeats)):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


class CpuWatch:
    """Share of the machine's cores that OTHER processes kept busy between start and stop (Linux):
    (busy jiffies of all CPUs - this process's CPU time) / (elapsed x cores). A noise indicator."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:  # pragma: no cover - not Linux
            return None
        busy = sum(int(v) for v in fields[:3]) + sum(int(v) for v in fields[5:8])  # user nice system irq...
        own = sum(os.times()[:2])
        return busy / os.sysconf("SC_CLK_TCK"), own, time.monotonic()

    def stop(self) -> float | None:
        end = self._sample()
        if end is None or self.start is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
        cores = os.cpu_count() or 1
        return round(max(0.0, (busy - own) / max(wall, 1e-9) / cores), 3)


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux/macOS
        return None


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


def _context() -> dict[str, Any]:
    from .provenance import git_commit, hardware, now

    hw = hardware()
    return {
        "commit": git_commit(),
        "time": now(),
        "cpu": hw.get("cpu"),
        "gpu": hw.get("gpu"),
        "torch": torch.__version__,
    }


def _autocast(device: torch.device, dtype: torch.dtype):
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@contextlib.contextmanager
def _true_fp32(device: torch.device, dtype: torch.dtype):
    """On CUDA, fp32 rows run in true fp32 (TF32 off); other dtypes leave the settings alone."""
    if device.type != "cuda" or dtype != torch.float32:
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


# ----------------------------------------------------------------------------------------- peak


def peak_gemms(dtype: str, *, device: torch.device, n: int) -> list[tuple[str, Callable[[], Any]]]:
    """The peak's n x n x n products as (backend, call): ``torch.mm`` and, on CPU, oneDNN."""
    dt = DTYPES[dtype]
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, generator=gen).to(dt)
    b = torch.randn(n, n, device=device, generator=gen).to(dt)
    bt = b.t().contiguous()
    runs: list[tuple[str, Callable[[], Any]]] = [("torch.mm", lambda: torch.mm(a, b))]
    if device.type == "cpu" and dt in (torch.float32, torch.bfloat16):
        from .models.fast import _mkldnn_linear_ok

        if _mkldnn_linear_ok():
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
    dt = DTYPES[dtype]
    runs = peak_gemms(dtype, device=dev, n=n)
    out = []
    with torch.inference_mode(), _true_fp32(dev, dt):
        for backend, fn in runs:
            load = _load()
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
                    "load_after": _load(),
                }
            )
    peak = max(r["gflops_per_s"] for r in out)
    for r in out:
        r["peak_gflops_per_s"] = peak
        r["share_of_peak"] = r["gflops_per_s"] / peak
    return out


# ----------------------------------------------------------------------------------------- models


@dataclass
class Case:
    """One thing to time: ``make()`` returns ``fn(images)``, built right before its rows are timed."""

    model: str
    backend: str
    dtype: str
    out_size: int
    pred_size: int  # the size decoded (< out_size for the "predict small, upscale" rows)
    input_size: int
    params: int
    gmacs: float  # per image: what this path performs
    paper_gmacs: float  # per image: the paper-faithful (or the peer's own) count
    batches: tuple[int, ...]
    make: Callable[[], Callable[[torch.Tensor], Any]]
    note: str = ""


def _is_fpliif(name: str) -> bool:
    from .models import MODELS

    return name in MODELS and name.startswith("fpliif")


def compile_encoder(fast: nn.Module) -> nn.Module:
    """``torch.compile`` the fast path's encoder (a static graph; inductor fuses the norms, ReLUs
    and adds and, with freezing, pre-packs the conv weights). The decoder stays eager: its work
    list depends on the output size (``nonzero``), which would only cause graph breaks."""
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    fast.encoder = torch.compile(fast.encoder, dynamic=False)
    return fast


def _runner(
    model: nn.Module,
    size: int | None,
    *,
    dtype: str = "fp32",
    autocast: bool = False,
    upscale_to: int | None = None,
    channels_last: bool = False,
) -> Callable[[torch.Tensor], Any]:
    """``fn(images)``: ``model(images, size)`` (or ``model(images)``) under inference mode, with
    autocast to ``dtype`` when asked; with ``upscale_to``, the label map resized to that size
    (nearest, as the "X->N" evaluation protocol does)."""
    dt = DTYPES[dtype]

    def fn(images: torch.Tensor) -> Any:
        with torch.inference_mode(), _autocast(images.device, dt) if autocast else contextlib.nullcontext():
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            out = model(images) if size is None else model(images, size)
            if upscale_to is not None:
                labels = out.argmax(dim=1, keepdim=True).to(torch.uint8)
                out = F.interpolate(labels, size=(upscale_to, upscale_to), mode="nearest-exact")
            return out

    return fn


def fpliif_cases(name: str, cfg: BenchConfig, device: torch.device) -> list[Case]:
    """The fast, eager and onnxruntime cases of one FP-LIIF variant (and the upscale rows)."""
    from .models import build_model
    from .models.complexity import count_macs, count_parameters
    from .models.fast import optimize_for_inference, real_macs

    torch.manual_seed(0)
    model = build_model(name, num_classes=cfg.num_classes).to(device).eval()
    params = count_parameters(model)
    sizes = list(cfg.sizes) + ([cfg.upscale[0]] if cfg.upscale else [])
    paper = {s: count_macs(model, input_size=cfg.input_size, out_size=s) / 1e9 for s in dict.fromkeys(sizes)}
    performed: dict[int, float] = {}
    if "fast" in cfg.backends or "onnxruntime" in cfg.backends:
        counter = optimize_for_inference(model)  # MACs do not depend on the dtype
        for s in paper:
            performed[s] = real_macs(counter, input_size=cfg.input_size, out_size=s, device=device) / 1e9
    fast: dict[str, nn.Module] = {}

    def fast_model(dtype: str) -> nn.Module:
        if dtype not in fast:
            m = optimize_for_inference(model, dtype=DTYPES[dtype])
            if cfg.compile:
                compile_encoder(m)
            fast[dtype] = m
        return fast[dtype]

    cases: list[Case] = []
    common = {"model": name, "input_size": cfg.input_size, "params": params}

    def upscale_case(backend: str, dtype: str, batches: tuple[int, ...]) -> Case:
        """Decode at the small size, resize the label map (nearest) to the big one."""
        assert cfg.upscale is not None
        small, big = cfg.upscale
        fast = backend == "fast"
        return Case(
            **common,
            backend=backend,
            dtype=dtype,
            out_size=big,
            pred_size=small,
            gmacs=performed[small] if fast else paper[small],
            paper_gmacs=paper[small],
            batches=batches,
            make=lambda: _runner(
                fast_model(dtype) if fast else model, small, dtype=dtype, autocast=not fast, upscale_to=big
            ),
            note=("" if fast else "paper-faithful FPLIIF.forward ")
            + f"decoded at {small}, label map resized (nearest) to {big}"
            + (", autocast" if not fast and dtype != "fp32" else ""),
        )

    for dtype in cfg.dtypes:
        if "fast" in cfg.backends:
            for s in cfg.sizes:
                cases.append(
                    Case(
                        **common,
                        backend="fast",
                        dtype=dtype,
                        out_size=s,
                        pred_size=s,
                        gmacs=performed[s],
                        paper_gmacs=paper[s],
                        batches=cfg.batches,
                        make=lambda d=dtype, s=s: _runner(fast_model(d), s),
                    )
                )
            if cfg.upscale:
                cases.append(upscale_case("fast", dtype, cfg.batches))
        if "eager" in cfg.backends:
            eager_batches = tuple(b for b in cfg.batches if b in cfg.eager_batches)
            for s in cfg.sizes:
                cases.append(
                    Case(
                        **common,
                        backend="eager",
                        dtype=dtype,
                        out_size=s,
                        pred_size=s,
                        gmacs=paper[s],
                        paper_gmacs=paper[s],
                        batches=eager_batches,
                        make=lambda d=dtype, s=s: _runner(model, s, dtype=d, autocast=True),
                        note="paper-faithful FPLIIF.forward" + (", autocast" if dtype != "fp32" else ""),
                    )
                )
            if cfg.upscale:  # the paper's own Table 6 comparison: the same computation at both sizes
                cases.append(upscale_case("eager", dtype, eager_batches))
        if "onnxruntime" in cfg.backends and dtype == "fp32" and device.type == "cpu":
            ort_batches = tuple(b for b in cfg.batches if b in cfg.ort_batches)
            for s in cfg.ort_sizes:
                cases.append(
                    Case(
                        **common,
                        backend="onnxruntime",
                        dtype=dtype,
                        out_size=s,
                        pred_size=s,
                        gmacs=performed[s] if s in performed else paper[s],
                        paper_gmacs=paper[s],
                        batches=ort_batches,
                        make=lambda s=s: _ort_runner(model, s, cfg),
                        note="fpliif.export graph (fast-path algebra, unchunked), CPUExecutionProvider",
                    )
                )
    return cases


def _ort_runner(model: nn.Module, size: int, cfg: BenchConfig) -> Callable[[torch.Tensor], Any]:
    """Export ``model`` at ``size``, check it against PyTorch, and return the session's ``fn``."""
    from .export import check_onnx, export_onnx, ort_session

    tmp = Path(tempfile.mkdtemp(prefix="fpliif-bench-"))
    path = export_onnx(model, tmp / f"fpliif_{size}.onnx", out_size=size, input_size=cfg.input_size)
    check = check_onnx(model, path, out_size=size, input_size=cfg.input_size, batch=1, threads=cfg.threads)
    sess = ort_session(path, threads=cfg.threads or default_threads())

    def fn(images: torch.Tensor) -> Any:
        return sess.run(["logits"], {"images": images.cpu().numpy()})[0]

    fn.extra = {"max_abs_diff": check["max_abs_diff"], "onnx_mb": round(path.stat().st_size / 2**20, 2)}  # type: ignore[attr-defined]
    return fn


PEER_NOTES = {
    "bisenet": "BiSeNet V1 / ResNet-18 (random weights) at 512x512 like zllrunning/face-parsing.PyTorch",
    "resnet101": "ResNet-101 features, output stride 32, at the peers' 473x473: a loose lower bound",
    "resnet101-os8": "ResNet-101 features, output stride 8 (dilated like DML-CSR/EAGR/AGRNet), 473x473",
    "fpliif-unet": "the U-Net decoder ablation",
}


def peer_cases(name: str, cfg: BenchConfig, device: torch.device) -> list[Case]:
    """A peer through PyTorch eager (channels_last, inference_mode, autocast); the U-Net ablation
    also through the fast encoder."""
    from .models import build_model
    from .models.complexity import count_macs, count_parameters
    from .models.fast import optimize_for_inference, real_macs
    from .models.peers import BISENET_INPUT, PEER_INPUT

    torch.manual_seed(0)
    fpliif = name.startswith("fpliif")
    if fpliif:
        num_classes, size = cfg.num_classes, cfg.input_size
    else:
        num_classes, size = 19, (BISENET_INPUT if name == "bisenet" else PEER_INPUT)
    model = build_model(name, num_classes=num_classes).to(device).eval()
    params = count_parameters(model)
    out_arg = size if fpliif else None
    gmacs = count_macs(model, input_size=size, out_size=out_arg) / 1e9
    batches = tuple(b for b in cfg.batches if b in cfg.peer_batches)
    cl_model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    note = PEER_NOTES.get(name, "")
    common = {"model": name, "input_size": size, "params": params, "out_size": size, "pred_size": size}
    fast_macs = None
    cases: list[Case] = []
    for dtype in cfg.dtypes:
        cases.append(
            Case(
                **common,
                backend="eager",
                dtype=dtype,
                gmacs=gmacs,
                paper_gmacs=gmacs,
                batches=batches,
                make=lambda d=dtype: _runner(cl_model, out_arg, dtype=d, autocast=True, channels_last=True),
                note=note + "; channels_last" + (", autocast" if dtype != "fp32" else ""),
            )
        )
        if fpliif and "fast" in cfg.backends:
            if fast_macs is None:
                fast_macs = (
                    real_macs(optimize_for_inference(model), input_size=size, out_size=size, device=device)
                    / 1e9
                )
            cases.append(
                Case(
                    **common,
                    backend="fast",
                    dtype=dtype,
                    gmacs=fast_macs,
                    paper_gmacs=gmacs,
                    batches=batches,
                    make=lambda d=dtype: _runner(optimize_for_inference(model, dtype=DTYPES[d]), size),
                    note=note + "; fast encoder, plain decoder",
                )
            )
    return cases


def run_case(case: Case, batch: int, cfg: BenchConfig, device: torch.device, peaks: dict[str, float]) -> dict:
    gen = torch.Generator().manual_seed(batch)
    images = torch.rand(batch, 3, case.input_size, case.input_size, generator=gen).to(device)
    dt = DTYPES[case.dtype]
    with _true_fp32(device, dt):
        fn = case.make()
        load = _load()
        watch = CpuWatch()
        times = time_calls(lambda: fn(images), warmup=cfg.warmup, repeats=cfg.repeats, device=device)
        others = watch.stop()
    med = statistics.median(times)
    fps = batch / med
    peak = peaks.get(case.dtype, math.nan)
    gflops = 2 * case.gmacs * fps
    rec = {
        "kind": "latency",
        "model": case.model,
        "backend": case.backend,
        "dtype": case.dtype,
        "device": str(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "input_size": case.input_size,
        "out_size": case.out_size,
        "pred_size": case.pred_size,
        "batch": batch,
        "params": case.params,
        "gmacs": case.gmacs,
        "paper_gmacs": case.paper_gmacs,
        "latency_ms": round(1e3 * med, 3),
        "latency_ms_min": round(1e3 * min(times), 3),
        "times_ms": [round(1e3 * t, 3) for t in times],
        "fps": fps,
        "gflops_per_s": gflops,
        "paper_gflops_per_s": 2 * case.paper_gmacs * fps,
        "peak_gflops_per_s": peak,
        "share_of_peak": gflops / peak if peak == peak else math.nan,
        "repeats": len(times),
        "warmup": cfg.warmup,
        "compiled": bool(cfg.compile and case.backend == "fast"),
        "load_before": load,
        "load_after": _load(),
        "others_cpu_share": others,
        "noisy": bool(others is not None and others > NOISY_SHARE),
        "note": case.note,
    }
    rec.update(getattr(fn, "extra", {}) or {})
    return rec


# ----------------------------------------------------------------------------------------- pairs

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


def _interleave(
    calls: Sequence[tuple[Callable[[], Any], torch.dtype]], cfg: BenchConfig, device: torch.device
) -> list[tuple[float, ...]]:
    """Each round times every call once, in order; ``cfg.warmup`` rounds first, untimed."""
    rounds: list[tuple[float, ...]] = []
    for i in range(cfg.warmup + cfg.pair_repeats):
        times = []
        for call, dt in calls:
            with _true_fp32(device, dt):
                times.append(time_calls(call, warmup=0, repeats=1, device=device)[0])
        if i >= cfg.warmup:
            rounds.append(tuple(times))
    return rounds


def measure_pairs(
    cases: Sequence[Case],
    cfg: BenchConfig,
    device: torch.device,
    peak_backends: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The ratio targets measured with their two sides interleaved (a, b, a, b, ...), batch 1.

    Separate rows are timed minutes apart, and a shared machine's speed drifts by several percent
    over minutes; timing the two sides alternately exposes both to the same drift. The ratio is the
    median of the per-round ratios. Only pairs whose cases this run has are measured.

    ``peak_backends`` ({dtype: backend}, the backend that set the peak) adds the share target's
    pair: that backend's peak GEMM (a) against the fast path at ``out_size`` in fp32 (b); its
    ``value`` is the median per-round share, (2 x gmacs_b / t_b) / (2 x gmacs_a / t_a).
    """
    if not cfg.upscale:
        return []
    small, big = cfg.upscale
    by_key = {(c.backend, c.dtype, c.pred_size, c.out_size): c for c in cases if 1 in c.batches}
    gen = torch.Generator().manual_seed(1)
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
            gemm = runs[backend]
            peak_case = Case(
                model="matmul",
                backend=backend,
                dtype="fp32",
                out_size=cfg.peak_n,
                pred_size=cfg.peak_n,
                input_size=fast32.input_size,
                params=0,
                gmacs=cfg.peak_n**3 / 1e9,
                paper_gmacs=cfg.peak_n**3 / 1e9,
                batches=(1,),
                make=lambda g=gemm: lambda images: g(),
            )
            todo.append((SHARE_PAIR, peak_case, fast32))
    out = []
    for target, a, b in todo:
        images = torch.rand(1, 3, b.input_size, b.input_size, generator=gen).to(device)
        calls = []
        for case in (a, b):
            with _true_fp32(device, DTYPES[case.dtype]):
                fn = case.make()
            calls.append((lambda f=fn, x=images: f(x), DTYPES[case.dtype]))
        rounds = _interleave(calls, cfg, device)
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
        out.append(rec)
    return out


# ----------------------------------------------------------------------------------------- memory


def _memory_child(spec: str) -> None:
    """Run in a fresh process: one forward, print peak RSS and its growth over the start (JSON)."""
    args = json.loads(spec)
    torch.set_num_threads(args["threads"])
    from .models import build_model
    from .models.fast import optimize_for_inference

    model = build_model(args["model"], num_classes=args["num_classes"]).eval()
    if args["backend"] == "fast":
        model = optimize_for_inference(model, dtype=DTYPES[args["dtype"]])
    images = torch.rand(1, 3, args["input_size"], args["input_size"])
    with torch.inference_mode():
        model(images, 8)  # allocator and oneDNN warm-up, tiny output
    before = _rss_mb("VmRSS")
    reset = _reset_peak()
    with torch.inference_mode(), _autocast(torch.device("cpu"), DTYPES[args["dtype"]]):
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
    code = f"from fpliif.bench import _memory_child; _memory_child({spec!r})"
    load = _load()
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
        "load_after": _load(),
    }


# ----------------------------------------------------------------------------------------- run


def run_bench(cfg: BenchConfig, *, log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Every measurement of ``cfg`` as a list of records (see the module docstring)."""
    log = log or (lambda s: None)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda but no CUDA device is available")
    threads = cfg.threads or default_threads()
    if device.type == "cpu":
        torch.set_num_threads(threads)
        cfg.threads = threads
    ctx = _context()
    t_start = time.perf_counter()
    records: list[dict[str, Any]] = []
    peaks: dict[str, float] = {}
    peak_backends: dict[str, str] = {}  # dtype -> the backend of its best start measurement

    def peak_rows(when: str) -> list[dict[str, Any]]:
        rows = []
        for dtype in cfg.dtypes:
            recs = measure_peak(
                dtype, device=device, n=cfg.peak_n, repeats=max(3, cfg.repeats), warmup=max(1, cfg.warmup)
            )
            for r in recs:
                r["when"] = when
            peaks[dtype] = max(peaks.get(dtype, 0.0), recs[0]["peak_gflops_per_s"])
            peak_backends.setdefault(dtype, max(recs, key=lambda r: r["gflops_per_s"])["backend"])
            rows += recs
            log(
                f"peak {dtype} ({when}): "
                + ", ".join(f"{r['backend']} {r['gflops_per_s']:.0f}" for r in recs)
                + " GFLOP/s"
            )
        return rows

    records += peak_rows("start")
    for name in cfg.models:
        cases = (
            fpliif_cases(name, cfg, device)
            if name not in PEERS and _is_fpliif(name)
            else peer_cases(name, cfg, device)
        )
        for case in cases:
            for batch in case.batches:
                try:
                    rec = run_case(case, batch, cfg, device, peaks)
                except Exception as exc:  # noqa: BLE001 - one failing backend must not lose the run
                    rec = {
                        "kind": "error",
                        "model": case.model,
                        "backend": case.backend,
                        "dtype": case.dtype,
                        "out_size": case.out_size,
                        "batch": batch,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                    log(f"  {case.model} {case.backend} {case.dtype} {case.out_size} b{batch}: FAILED {exc}")
                else:
                    log(
                        f"  {rec['model']:14s} {rec['backend']:11s} {rec['dtype']} {rec['pred_size']:>4}->"
                        f"{rec['out_size']:<4} b{batch}: {rec['latency_ms']:9.1f} ms  {rec['fps']:8.2f} fps  "
                        f"{rec['gflops_per_s']:6.0f} GFLOP/s ({100 * rec['share_of_peak']:.0f}% of peak)"
                    )
                records.append(rec)
        if cfg.pair_repeats and name not in PEERS and _is_fpliif(name):
            for rec in measure_pairs(cases, cfg, device, peak_backends):
                share = rec["target"] == SHARE_PAIR
                shown = f"{100 * rec['value']:.0f}%" if share else f"{rec['value']:.2f}x"
                log(
                    f"  pair {rec['model']} {rec['target']}: {shown} "
                    f"(interleaved, {rec['latency_ms_a']:.1f} / {rec['latency_ms_b']:.1f} ms)"
                )
                records.append(rec)
    if cfg.memory_size and device.type == "cpu" and any(_is_fpliif(m) and m not in PEERS for m in cfg.models):
        rec = measure_memory("fpliif", out_size=cfg.memory_size, input_size=cfg.input_size, threads=threads)
        log(
            f"memory: {cfg.memory_size}^2 output, peak RSS {rec['peak_rss_mb']:.0f} MB "
            f"(+{rec['rss_growth_mb']:.0f} MB during the call, output tensor {rec['output_mb']:.0f} MB)"
        )
        records.append(rec)
    if cfg.peak_twice:
        # One peak measurement is noisy (+-7% on the shared dev machine): measure again after the
        # rows and take every share of the better of the two.
        records += peak_rows("end")
        _apply_peaks(records, peaks)
    wall = time.perf_counter() - t_start
    for r in records:
        r.update({k: v for k, v in ctx.items() if k not in r})
        r.setdefault("threads", threads if device.type == "cpu" else None)
        r["bench_wall_s"] = round(wall, 1)
        r["quick"] = cfg.quick
    return records


def _apply_peaks(records: list[dict[str, Any]], peaks: dict[str, float]) -> None:
    """Re-state every record's peak (and share of it) against ``peaks`` {dtype: GFLOP/s}."""
    for r in records:
        peak = peaks.get(r.get("dtype", ""))
        if peak is None or "gflops_per_s" not in r:
            continue
        r["peak_gflops_per_s"] = peak
        r["share_of_peak"] = r["gflops_per_s"] / peak


def to_frame(records: Sequence[dict[str, Any]]):
    import pandas as pd

    return pd.DataFrame(list(records))


def summary(
    records: Sequence[dict[str, Any]],
    *,
    model: str = "fpliif",
    size: int = 256,
    small: int = 64,
    batch: int = 1,
) -> list[dict]:
    """The issue's targets, each with its measured value (NaN where the run lacked the rows),
    ``noisy`` when a row it rests on ran while other processes kept the cores busy, and ``bound``:
    what the hardware and the arithmetic allow, measured in the same run (the bf16/fp32 matmul
    peak ratio for the bf16 speed-up; the MAC ratio of the two paths, i.e. the FPS ratio at equal
    GFLOP/s, for the upscale ratios). A ratio comes from the run's interleaved pair when it has one
    (``method``), else from the separate rows (``value_rows`` keeps those). ``reference`` rows (the
    paper-faithful eager path) are context, not targets."""

    def row(dtype: str, pred: int | None = None, backend: str = "fast") -> dict[str, Any] | None:
        pred = size if pred is None else pred
        for r in records:
            if (r.get("kind"), r.get("model"), r.get("backend"), r.get("dtype")) == (
                "latency",
                model,
                backend,
                dtype,
            ) and (
                r["out_size"],
                r.get("pred_size", r["out_size"]),
                r["batch"],
            ) == (size, pred, batch):
                return r
        return None

    def ratio(a: dict | None, b: dict | None, key: str = "latency_ms") -> float:
        return a[key] / b[key] if a and b and key in a and key in b else math.nan

    pairs = {
        r["target"]: r
        for r in records
        if r.get("kind") == "pair" and r.get("model") == model and r.get("batch", 1) == batch
    }

    def paired(target: str, fallback: float) -> tuple[float, float, str]:
        """(value, value from the separate rows, how measured): the interleaved pair if any."""
        if target in pairs:  # files written before pairs had "value" hold only the ratio
            return pairs[target].get("value", pairs[target]["ratio"]), fallback, "interleaved pair"
        return fallback, fallback, "separate rows" if fallback == fallback else ""

    peak_rows = [r for r in records if r.get("kind") == "peak"]
    peaks = {d: max((r["gflops_per_s"] for r in peak_rows if r.get("dtype") == d), default=0) for d in DTYPES}
    peak_ratio = peaks["bf16"] / peaks["fp32"] if peaks["fp32"] and peaks["bf16"] else math.nan
    mac_note = "MAC ratio of the two paths (the FPS ratio if both ran at the same GFLOP/s)"
    out: list[dict[str, Any]] = []

    def add(
        target: str,
        measured: tuple[float, float, str],
        goal: float,
        higher: bool,
        used: Sequence[dict | None] = (),
        bound: float = math.nan,
        bound_note: str = "",
        reference: bool = False,
    ) -> None:
        value, value_rows, method = measured
        out.append(
            {
                "target": target,
                "value": value,
                "value_rows": value_rows,
                "method": method,
                "goal": goal,
                "higher_is_better": higher,
                "met": (value >= goal if higher else value <= goal) if value == value else None,
                "noisy": any(r.get("noisy") for r in used if r) and method != "interleaved pair",
                "batch": batch,
                "bound": bound,
                "bound_note": bound_note if bound == bound else "",
                "reference": reference,
            }
        )

    f32, b16 = row("fp32"), row("bf16")
    share = f32["share_of_peak"] if f32 else math.nan
    add(
        f"fast fp32 at {size}: share of fp32 matmul peak",
        paired(SHARE_PAIR, share),
        TARGET_SHARE_OF_PEAK,
        True,
        [f32],
    )
    add(
        f"bf16 speed-up over fp32 (fast, {size})",
        paired("bf16 speed-up", ratio(f32, b16)),
        TARGET_BF16_SPEEDUP,
        True,
        [f32, b16],
        peak_ratio,
        "bf16/fp32 matmul peak ratio measured in this run",
    )
    for dtype, backend in (("fp32", "fast"), ("bf16", "fast"), ("fp32", "eager")):
        full, low = row(dtype, backend=backend), row(dtype, small, backend=backend)
        ref = backend != "fast"
        add(
            f"FPS({small}->{size}) / FPS({size}), {backend} {dtype}" + (" (reference)" if ref else ""),
            paired(f"upscale {backend} {dtype}", ratio(full, low)),
            TARGET_UPSCALE_RATIO,
            True,
            [full, low],
            ratio(full, low, "gmacs"),
            mac_note,
            ref,
        )
    mem = [r for r in records if r.get("kind") == "memory"]
    rss = mem[0]["peak_rss_mb"] if mem else math.nan
    add(
        f"peak RSS, {mem[0]['out_size'] if mem else 2048}^2 output (MB)",
        (rss, rss, "memory probe" if mem else ""),
        TARGET_MEMORY_MB,
        False,
    )
    qual = [r for r in records if r.get("kind") == "quality"]
    delta = abs(qual[0]["delta_points"]) if qual else math.nan
    add(
        "|bf16 - fp32| test mean F1 (points)",
        (delta, delta, "quality check" if qual else ""),
        TARGET_F1_POINTS,
        False,
    )
    return out


# ----------------------------------------------------------------------------------------- quality


def quality_check(
    checkpoint: str | Path,
    dataset: str,
    root: str | Path,
    *,
    split: str = "test",
    image_size: int | None = None,
    out_size: int | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    dtypes: Sequence[str] = ("fp32", "bf16"),
    limit: int | None = None,
) -> dict[str, Any]:
    """Test mean F1 of a checkpoint through the fast path in each dtype, and the bf16 - fp32 change.

    ``dataset``/``root``/``split`` go to ``fpliif.data.build_dataset``; items are dicts with
    ``image`` float [3,H,W] in [0,1] and ``label`` long [H,W]. Images are resized to the
    checkpoint's training input size (``image_size`` overrides); predictions and labels are
    scored at 256x256 (``out_size`` overrides), as ``fpliif eval`` scores "at256".
    Returns ``{"mean_f1": {dtype: F1 in points}, "delta_points":
    bf16 - fp32, "agreement": share of pixels with the same label, ...}``.
    """
    from torch.utils.data import DataLoader

    from .data import build_dataset  # lazy: fpliif.data lands separately
    from .engine.checkpoint import load_model
    from .engine.evaluate import EvalView, collate_eval, resize_labels
    from .metrics import SegmentationMetrics
    from .models.fast import optimize_for_inference

    dev = torch.device(device)
    model, ckpt = load_model(checkpoint, device=dev)
    # the input size the checkpoint was trained at (a 128 px model fed 256 px images is lost)
    trained = ((ckpt.get("train_config") or {}).get("data") or {}).get("image_size")
    size_in = int(image_size or trained or 256)
    data = build_dataset(dataset, root, split, image_size=None)
    n = len(data) if limit is None else min(limit, len(data))
    view = EvalView(torch.utils.data.Subset(data, range(n)), input_size=(size_in, size_in))
    loader = DataLoader(view, batch_size=batch_size, collate_fn=collate_eval)
    paths = {d: optimize_for_inference(model, dtype=DTYPES[d]) for d in dtypes}
    metrics = {d: SegmentationMetrics(model.num_classes) for d in dtypes}
    same = total = 0
    score = (out_size or 256, out_size or 256)  # as `fpliif eval` scores by default ("at256")
    for batch in loader:
        images = batch["image"].to(dev)
        labels = torch.stack([resize_labels(lab, score) for lab in batch["label"]])
        preds = {}
        for d, m in paths.items():
            preds[d] = m(images, score).argmax(1).cpu()
            metrics[d].update(preds[d], labels)
        if len(dtypes) > 1:
            a, b = (preds[d] for d in dtypes[:2])
            same += int((a == b).sum())
            total += a.numel()
    scores = {d: 100 * metrics[d].compute()["mean_f1"] for d in dtypes}
    out: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "dataset": dataset,
        "split": split,
        "images": n,
        "mean_f1": scores,
    }
    if len(dtypes) > 1:
        out["delta_points"] = scores[dtypes[1]] - scores[dtypes[0]]
        out["agreement"] = same / max(1, total)
    out["input_size"] = size_in
    return out


# ----------------------------------------------------------------------------------------- CLI


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.replace(",", " ").split())


def _names(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.replace(",", " ").split())


def _help(text: str) -> str:
    """Help for an option whose default depends on --quick: states it itself ("%(default).0s"
    prints nothing but stops argparse from appending "(default: None)")."""
    return text + "%(default).0s"


def configure(p: argparse.ArgumentParser) -> None:
    full, quick = BenchConfig(), BenchConfig.quick_config()

    def both(field_name: str) -> str:
        f, q = getattr(full, field_name), getattr(quick, field_name)
        show = lambda v: ",".join(map(str, v)) if isinstance(v, tuple) else str(v)  # noqa: E731
        return f" (default {show(f)}; with --quick {show(q)})"

    p.add_argument("--out", type=Path, default=None, help="write the records to this JSON file")
    p.add_argument(
        "--device", default="cpu", help="cpu or cuda[:N] (on CUDA the dtypes default to fp32,fp16,bf16)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help=_help("CPU threads (default: every core this process may use)"),
    )
    p.add_argument("--sizes", type=_ints, default=None, help=_help("FP-LIIF output sizes" + both("sizes")))
    p.add_argument("--batches", type=_ints, default=None, help=_help("batch sizes" + both("batches")))
    p.add_argument("--dtypes", type=_names, default=None, help=_help("fp32, bf16, fp16" + both("dtypes")))
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=_help("timed calls per row; the median is reported" + both("repeats")),
    )
    p.add_argument(
        "--warmup", type=int, default=None, help=_help("untimed calls before timing" + both("warmup"))
    )
    p.add_argument("--models", type=_names, default=None, help=_help("models" + both("models")))
    p.add_argument("--backends", type=_names, default=None, help=_help("FP-LIIF backends" + both("backends")))
    p.add_argument(
        "--eager-batches",
        type=_ints,
        default=None,
        help=_help("batches of the eager FP-LIIF rows" + both("eager_batches")),
    )
    p.add_argument(
        "--peer-batches",
        type=_ints,
        default=None,
        help=_help("batches of the peer rows" + both("peer_batches")),
    )
    p.add_argument(
        "--pair-repeats",
        type=int,
        default=None,
        help=_help("rounds of the interleaved ratio pairs, 0 to skip" + both("pair_repeats")),
    )
    p.add_argument("--no-memory", action="store_true", help="skip the 2048x2048 memory probe")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the fast path's encoder (time it compiled)"
    )
    p.add_argument(
        "--quick", action="store_true", help="a seconds-long subset: FP-LIIF at 64, batch 1, no peers"
    )
    q = p.add_argument_group(
        "quality", "also score a checkpoint's test mean F1 through the fp32 and bf16 paths"
    )
    q.add_argument("--quality-checkpoint", type=Path, default=None, help="an fpliif checkpoint")
    q.add_argument(
        "--quality-dataset", default=None, help="dataset name for fpliif.data.build_dataset (e.g. lapa)"
    )
    q.add_argument("--quality-root", type=Path, default=None, help="the dataset's folder")
    q.add_argument("--quality-split", default="test", help="split to score")


def run(args: argparse.Namespace) -> int:
    over: dict[str, Any] = {
        "device": args.device,
        "threads": args.threads,
        "sizes": args.sizes,
        "batches": args.batches,
        "dtypes": args.dtypes,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "models": args.models,
        "backends": args.backends,
        "eager_batches": args.eager_batches,
        "peer_batches": args.peer_batches,
        "pair_repeats": args.pair_repeats,
        "compile": args.compile or None,
    }
    if args.device.startswith("cuda") and args.dtypes is None:
        over["dtypes"] = ("fp32", "fp16", "bf16")
    if args.quick:
        cfg = BenchConfig.quick_config(**over)
    else:
        cfg = BenchConfig(**{k: v for k, v in over.items() if v is not None})
    if args.no_memory:
        cfg.memory_size = None
    for d in cfg.dtypes:
        if d not in DTYPES:
            raise ValueError(f"unknown dtype {d!r}; choose from {', '.join(DTYPES)}")
    if args.quality_checkpoint is not None and (args.quality_dataset is None or args.quality_root is None):
        raise ValueError("--quality-checkpoint needs --quality-dataset and --quality-root")
    t0 = time.perf_counter()
    records = run_bench(cfg, log=lambda s: print(s, flush=True))
    if args.quality_checkpoint is not None:
        res = quality_check(
            args.quality_checkpoint,
            args.quality_dataset,
            args.quality_root,
            split=args.quality_split,
            device=cfg.device,
        )
        records.append({"kind": "quality", "model": "checkpoint", "backend": "fast", **res})
        print(f"quality: mean F1 {res['mean_f1']} -> bf16 - fp32 = {res['delta_points']:+.3f} points")
    wall = time.perf_counter() - t0
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, json.dumps(records, indent=1, default=float))
        print(f"wrote {len(records)} records to {args.out}")
    print("targets (batch 1):")
    sizes = {"size": cfg.upscale[1], "small": cfg.upscale[0]} if cfg.upscale else {}
    for row in summary(records, **sizes):
        met = {True: "met", False: "NOT met", None: "not measured"}[row["met"]]
        if row["reference"]:
            met = f"reference, {met}"
        noisy = "  (noisy: other processes were busy; re-run on a quiet machine)" if row["noisy"] else ""
        bound = f"  [{row['bound_note']}: {row['bound']:.2f}]" if row["bound_note"] else ""
        if row["method"] == "interleaved pair":
            bound += f"  [interleaved; separate rows: {row['value_rows']:.2f}]"
        print(f"  {row['target']:60s} {row['value']:10.3f}  goal {row['goal']:g}  {met}{noisy}{bound}")
    print(f"bench wall time {wall:.0f}s, load average now {_load()}")
    return 0


__all__ = [
    "BenchConfig",
    "REQUIRED_KEYS",
    "measure_memory",
    "measure_peak",
    "quality_check",
    "run_bench",
    "summary",
    "time_calls",
    "to_frame",
]
