"""What one bench run measures (``BenchConfig``, the full run and the ``--quick`` subset) and the
keys every timed record holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models.adaptive import AdaptiveSettings

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
    ort_batches: tuple[int, ...] = (1,)  # the unchunked ONNX graph holds every query at once
    upscale: tuple[int, int] | None = (64, 256)  # (pred_size, out_size) rows
    peer_batches: tuple[int, ...] = (1,)  # peers (and the U-Net ablation) at batch 1 by default
    memory_size: int | None = 2048  # output size of the memory probe (None: skip)
    peak_n: int = 4096  # square GEMM size of the peak measurement
    peak_twice: bool = True  # measure the peak before and after the rows; shares use the better
    pair_repeats: int = 5  # the ratio targets again, their two sides interleaved (0: skip)
    compile: bool = False
    num_classes: int = 11
    quick: bool = False
    # adaptive decoding (``bench.adaptive``): its rows and the dense fast path on the same model
    # and images, at these output sizes (empty: none), with these settings (None: the defaults)
    adaptive_sizes: tuple[int, ...] = (256, 1024)
    adaptive_settings: AdaptiveSettings | None = None
    adaptive_checkpoint: Path | None = None  # None: the first FP-LIIF model's random weights
    adaptive_dataset: str | None = None  # the checkpoint's test images: dataset name and root
    adaptive_root: Path | None = None
    adaptive_images: int = 4  # images the rows cycle through (and their statistics average)
    adaptive_quality_limit: int | None = None  # test images the F1 check scores (None: all)

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
            "adaptive_sizes": (),
            "adaptive_images": 1,
            "quick": True,
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)


def is_fpliif(name: str) -> bool:
    """An FP-LIIF variant, timed through its fast/eager/onnxruntime cases (the U-Net ablation is
    timed with the peers)."""
    from ..models import MODELS

    return name not in PEERS and name in MODELS and name.startswith("fpliif")
