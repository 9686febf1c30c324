"""Numeric precision in one place: dtype names, and the one autocast context every path uses.

Training, evaluation, prediction, the fast inference path, the bench and the tables all resolve a
precision name here once (``ptdtype = DTYPES[name]``, as nanoGPT does) and pass the resulting
context along, instead of each building its own ``torch.autocast``.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import torch

from .errors import ConfigError

# names used on the command line and in configs -> torch dtypes
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# spellings accepted besides the names above
_ALIASES = {"float32": "fp32", "off": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}


# why bf16 is refused or left out where ``native_bf16`` is false (warnings, the bench's records)
EMULATED_BF16 = (
    "bf16 is emulated on this hardware (a CPU without AVX-512, where oneDNN has no bf16 kernels, or a "
    "GPU without bf16) and runs tens of times slower than fp32"
)


@functools.cache
def _cpu_bf16() -> bool:
    with contextlib.suppress(AttributeError, RuntimeError):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Whether bf16 runs at hardware speed on ``device``: a GPU with bf16 support, or a CPU whose
    oneDNN has bf16 kernels (AVX-512 and later). On other CPUs (AVX2 only) PyTorch emulates bf16
    tens of times slower than fp32, and oneDNN's fused bf16 primitives do not exist at all."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return dev.type == "cpu" and _cpu_bf16()


def pick_dtype(name: str | torch.dtype | None, device: torch.device | str = "cpu") -> str:
    """A precision name for ``device``: ``"auto"`` is bf16 where it is native (``native_bf16``),
    fp16 on a GPU without bf16, fp32 elsewhere; other names pass through (``dtype_name``). An
    explicit bf16 where it is emulated is kept, with a warning that it will be slow."""
    dev = torch.device(device)
    if name == "auto":
        if native_bf16(dev):
            return "bf16"
        return "fp16" if dev.type == "cuda" else "fp32"
    chosen = dtype_name(name)
    if chosen == "bf16" and dev.type == "cpu" and not native_bf16(dev):
        warnings.warn(f"{EMULATED_BF16}; ask for fp32 or auto instead", RuntimeWarning, stacklevel=2)
    return chosen


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

    ``auto`` is ``pick_dtype("auto")``: bf16 where the device runs it natively, fp16 (with a gradient
    scaler) on older GPUs, fp32 on CPUs without AVX-512.
    """
    if amp not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"optim.amp must be auto, bf16, fp16 or fp32, got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise ConfigError("optim.amp=fp16 needs CUDA; use bf16 on CPU")
    name = pick_dtype(amp, device)
    return None if name == "fp32" else DTYPES[name]


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


__all__ = [
    "DTYPES",
    "EMULATED_BF16",
    "autocast",
    "dtype_name",
    "exact_fp32",
    "native_bf16",
    "pick_dtype",
    "resolve_dtype",
    "training_dtype",
]
