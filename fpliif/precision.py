"""Numeric precision in one place: dtype names, and the one autocast context every path uses.

Training, evaluation, prediction, the fast inference path, the bench and the tables all resolve a
precision name here once (``ptdtype = DTYPES[name]``, as nanoGPT does) and pass the resulting
context along, instead of each building its own ``torch.autocast``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from .errors import ConfigError

# names used on the command line and in configs -> torch dtypes
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# spellings accepted besides the names above
_ALIASES = {"float32": "fp32", "off": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """``"bf16"`` (or an alias, a torch dtype, ``None`` = fp32) -> the torch dtype."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPES.values():
            raise ConfigError(f"unsupported dtype {dtype}; choose from {', '.join(DTYPES)}")
        return dtype
    name = _ALIASES.get(str(dtype), str(dtype))
    if name not in DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    return DTYPES[name]


def dtype_name(dtype: str | torch.dtype | None) -> str:
    """The short name (``fp32``, ``bf16``, ``fp16``) of a dtype or an alias."""
    resolved = resolve_dtype(dtype)
    return next(k for k, v in DTYPES.items() if v == resolved)


def autocast(device: torch.device | str, dtype: str | torch.dtype | None):
    """The context to run a forward in: nothing for fp32, ``torch.autocast`` for bf16/fp16."""
    dt = resolve_dtype(dtype)
    if dt == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dt)


def training_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a training run for ``optim.amp`` in {auto, bf16, fp16, fp32} (None = fp32).

    ``auto`` is bf16 wherever the device supports it (fp16 with a gradient scaler on older GPUs).
    """
    if amp == "fp32":
        return None
    if amp == "auto":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16
    if amp in ("bf16", "fp16"):
        if amp == "fp16" and device.type != "cuda":
            raise ConfigError("optim.amp=fp16 needs CUDA; use bf16 on CPU")
        return DTYPES[amp]
    raise ConfigError(f"optim.amp must be auto, bf16, fp16 or fp32, got {amp!r}")


@contextlib.contextmanager
def exact_fp32(device: torch.device | str, dtype: str | torch.dtype | None) -> Iterator[None]:
    """On CUDA, fp32 work runs in true fp32 (TF32 off); other dtypes and devices are left alone."""
    if torch.device(device).type != "cuda" or resolve_dtype(dtype) != torch.float32:
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


__all__ = ["DTYPES", "autocast", "dtype_name", "exact_fp32", "resolve_dtype", "training_dtype"]
