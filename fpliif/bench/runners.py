"""The callables a bench row times: ``fn(images)`` through PyTorch (eager or the fast path, optionally
compiled) or through an ONNX Runtime session."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..precision import autocast
from .timing import default_threads


def compile_encoder(fast: nn.Module) -> nn.Module:
    """``torch.compile`` the fast path's encoder (a static graph; inductor fuses the norms, ReLUs
    and adds and, with freezing, pre-packs the conv weights). The decoder stays eager: its work
    list depends on the output size (``nonzero``), which would only cause graph breaks."""
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    fast.encoder = torch.compile(fast.encoder, dynamic=False)
    return fast


def torch_runner(
    model: nn.Module,
    size: int | None,
    *,
    dtype: str = "fp32",
    under_autocast: bool = False,
    upscale_to: int | None = None,
    channels_last: bool = False,
) -> Callable[[torch.Tensor], Any]:
    """``fn(images)``: ``model(images, size)`` (or ``model(images)``) under inference mode, with
    autocast to ``dtype`` when asked; with ``upscale_to``, the label map resized to that size
    (nearest, as the "X->N" evaluation protocol does).

    images: float [B, 3, H, W]; returns the logits [B, C, size, size] or, with ``upscale_to``,
    the labels uint8 [B, 1, upscale_to, upscale_to].
    """

    def fn(images: torch.Tensor) -> Any:
        amp = autocast(images.device, dtype) if under_autocast else contextlib.nullcontext()
        with torch.inference_mode(), amp:
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            out = model(images) if size is None else model(images, size)
            if upscale_to is not None:
                labels = out.argmax(dim=1, keepdim=True).to(torch.uint8)
                out = F.interpolate(labels, size=(upscale_to, upscale_to), mode="nearest-exact")
            return out

    return fn


def ort_runner(
    model: nn.Module, size: int, *, input_size: int, threads: int | None
) -> Callable[[torch.Tensor], Any]:
    """Export ``model`` at ``size``, check it against PyTorch, and return the session's ``fn``.

    ``fn.extra`` holds the check's ``max_abs_diff`` and the graph's size (``onnx_mb``), which the
    row's record carries.
    """
    from ..export import check_onnx, export_onnx, ort_session

    tmp = Path(tempfile.mkdtemp(prefix="fpliif-bench-"))
    path = export_onnx(model, tmp / f"fpliif_{size}.onnx", out_size=size, input_size=input_size)
    check = check_onnx(model, path, out_size=size, input_size=input_size, batch=1, threads=threads)
    sess = ort_session(path, threads=threads or default_threads())

    def fn(images: torch.Tensor) -> Any:
        return sess.run(["logits"], {"images": images.cpu().numpy()})[0]

    fn.extra = {"max_abs_diff": check["max_abs_diff"], "onnx_mb": round(path.stat().st_size / 2**20, 2)}  # type: ignore[attr-defined]
    return fn
