"""What the bench times: one ``Case`` per model, backend, dtype and size, and ``run_case``, which
times a case at one batch size into a latency record."""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..precision import DTYPES, exact_fp32
from .config import BenchConfig
from .runners import compile_encoder, ort_runner, torch_runner
from .timing import NOISY_SHARE, CpuWatch, load_average, time_calls


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


def _fpliif_gmacs(model: nn.Module, cfg: BenchConfig, device: torch.device) -> tuple[dict, dict]:
    """GMACs per image at every decoded size: ({size: paper-faithful}, {size: fast path performs})."""
    from ..models.complexity import count_macs
    from ..models.fast import optimize_for_inference, real_macs

    sizes = list(cfg.sizes) + ([cfg.upscale[0]] if cfg.upscale else [])
    paper = {s: count_macs(model, input_size=cfg.input_size, out_size=s) / 1e9 for s in dict.fromkeys(sizes)}
    performed: dict[int, float] = {}
    if "fast" in cfg.backends or "onnxruntime" in cfg.backends:
        counter = optimize_for_inference(model)  # MACs do not depend on the dtype
        for s in paper:
            performed[s] = real_macs(counter, input_size=cfg.input_size, out_size=s, device=device) / 1e9
    return paper, performed


def fpliif_cases(name: str, cfg: BenchConfig, device: torch.device) -> list[Case]:
    """The fast, eager and onnxruntime cases of one FP-LIIF variant (and the upscale rows)."""
    from ..models import build_model
    from ..models.complexity import count_parameters
    from ..models.fast import optimize_for_inference

    torch.manual_seed(0)
    model = build_model(name, num_classes=cfg.num_classes).to(device).eval()
    paper, performed = _fpliif_gmacs(model, cfg, device)
    fast: dict[str, nn.Module] = {}

    def fast_model(dtype: str) -> nn.Module:
        if dtype not in fast:
            m = optimize_for_inference(model, dtype=DTYPES[dtype])
            if cfg.compile:
                compile_encoder(m)
            fast[dtype] = m
        return fast[dtype]

    params = count_parameters(model)

    def case(
        backend: str,
        dtype: str,
        pred: int,
        gmacs: float,
        batches: tuple[int, ...],
        make: Callable[[], Callable[[torch.Tensor], Any]],
        *,
        out: int | None = None,
        note: str = "",
    ) -> Case:
        """A case decoding at ``pred``; ``out`` when the label map is resized to another size."""
        return Case(
            model=name,
            backend=backend,
            dtype=dtype,
            out_size=pred if out is None else out,
            pred_size=pred,
            input_size=cfg.input_size,
            params=params,
            gmacs=gmacs,
            paper_gmacs=paper[pred],
            batches=batches,
            make=make,
            note=note,
        )

    def upscale_case(backend: str, dtype: str, batches: tuple[int, ...]) -> Case:
        """Decode at the small size, resize the label map (nearest) to the big one."""
        assert cfg.upscale is not None
        small, big = cfg.upscale
        is_fast = backend == "fast"
        return case(
            backend,
            dtype,
            small,
            performed[small] if is_fast else paper[small],
            batches,
            lambda: torch_runner(
                fast_model(dtype) if is_fast else model,
                small,
                dtype=dtype,
                under_autocast=not is_fast,
                upscale_to=big,
            ),
            out=big,
            note=("" if is_fast else "paper-faithful FPLIIF.forward ")
            + f"decoded at {small}, label map resized (nearest) to {big}"
            + (", autocast" if not is_fast and dtype != "fp32" else ""),
        )

    cases: list[Case] = []
    for dtype in cfg.dtypes:
        if "fast" in cfg.backends:
            for s in cfg.sizes:
                make = lambda d=dtype, s=s: torch_runner(fast_model(d), s)
                cases.append(case("fast", dtype, s, performed[s], cfg.batches, make))
            if cfg.upscale:
                cases.append(upscale_case("fast", dtype, cfg.batches))
        if "eager" in cfg.backends:
            eager_batches = tuple(b for b in cfg.batches if b in cfg.eager_batches)
            note = "paper-faithful FPLIIF.forward" + (", autocast" if dtype != "fp32" else "")
            for s in cfg.sizes:
                make = lambda d=dtype, s=s: torch_runner(model, s, dtype=d, under_autocast=True)
                cases.append(case("eager", dtype, s, paper[s], eager_batches, make, note=note))
            if cfg.upscale:  # the paper's own Table 6 comparison: the same computation at both sizes
                cases.append(upscale_case("eager", dtype, eager_batches))
        if "onnxruntime" in cfg.backends and dtype == "fp32" and device.type == "cpu":
            ort_batches = tuple(b for b in cfg.batches if b in cfg.ort_batches)
            note = "fpliif.export graph (fast-path algebra, unchunked), CPUExecutionProvider"
            for s in cfg.ort_sizes:
                make = lambda s=s: ort_runner(model, s, input_size=cfg.input_size, threads=cfg.threads)
                cases.append(
                    case("onnxruntime", dtype, s, performed.get(s, paper[s]), ort_batches, make, note=note)
                )
    return cases


PEER_NOTES = {
    "bisenet": "BiSeNet V1 / ResNet-18 (random weights) at 512x512 like zllrunning/face-parsing.PyTorch",
    "resnet101": "ResNet-101 features, output stride 32, at the peers' 473x473: a loose lower bound",
    "resnet101-os8": "ResNet-101 features, output stride 8 (dilated like DML-CSR/EAGR/AGRNet), 473x473",
    "fpliif-unet": "the U-Net decoder ablation",
}


def peer_cases(name: str, cfg: BenchConfig, device: torch.device) -> list[Case]:
    """A peer through PyTorch eager (channels_last, inference_mode, autocast); the U-Net ablation
    also through the fast encoder."""
    from ..models import build_model
    from ..models.complexity import count_macs, count_parameters
    from ..models.fast import optimize_for_inference, real_macs
    from ..models.peers import BISENET_INPUT, PEER_INPUT

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
                make=lambda d=dtype: torch_runner(
                    cl_model, out_arg, dtype=d, under_autocast=True, channels_last=True
                ),
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
                    make=lambda d=dtype: torch_runner(optimize_for_inference(model, dtype=DTYPES[d]), size),
                    note=note + "; fast encoder, plain decoder",
                )
            )
    return cases


def run_case(
    case: Case, batch: int, cfg: BenchConfig, device: torch.device, peaks: dict[str, float]
) -> dict[str, Any]:
    """Time ``case`` at ``batch`` (random images [batch, 3, input_size, input_size]) into a latency
    record; its share is taken of ``peaks`` {dtype: GFLOP/s}."""
    gen = torch.Generator().manual_seed(batch)
    images = torch.rand(batch, 3, case.input_size, case.input_size, generator=gen).to(device)
    with exact_fp32(device, case.dtype):
        fn = case.make()
        load = load_average()
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
        "load_after": load_average(),
        "others_cpu_share": others,
        "noisy": bool(others is not None and others > NOISY_SHARE),
        "note": case.note,
    }
    rec.update(getattr(fn, "extra", {}) or {})
    return rec
