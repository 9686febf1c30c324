"""Counting parameters and multiply-accumulates, and the paper's figures to compare against.

Two conventions (docs/paper.md, "Counting operations"):

``macs``
    Conv and matmul multiply-accumulates only, on the model at hand. ``FlopCounterMode``
    reports 2 FLOPs per multiply-add for convolutions and matrix products; we halve it. Norms,
    activations, pooling and the decoder's gathers are not counted.
``paper``
    How the paper's Table 6 was counted (fvcore's convention): the same multiply-accumulates,
    plus each norm at fvcore's rate (instance norm, or batch norm in training, 5 operations per
    element with affine parameters and 4 without; batch norm in eval 2 and 1) and the global
    average pool at 1 per input element. The paper counted the 19-class (CelebAMask-HQ) model:
    pass ``num_classes=PAPER_COUNTED_CLASSES`` to compare with it.

With a 256x256 input the count is an intercept plus a slope per output pixel:

* slope 4 ensemble queries x the pixel MLP 130*256 + 3*256*256 + 256*K MACs per output pixel;
* intercept: the encoder (head conv, 24 resblocks, two stride-2 convs and EDSR's closing conv at
  1/4 resolution: 22.76 G) + the channel-reducing MLP on the 64x64 grid (0.67 G), plus 0.19 G of
  norms and pooling in the paper's convention.

The paper's convention on the 19-class model lands within 0.1% of Table 6 at every output size,
and the model has 2,289,163 parameters with 11 classes (paper: 2.29 M); tests/test_fingerprint.py
holds both.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..sizes import as_size

# The paper's own figures (Tables 4 and 6, section 5.1).
PAPER_PARAMS = 2.29e6
PAPER_UNET_PARAMS = 9.31e6
PAPER_GMACS = {64: 27.44, 96: 32.25, 128: 39.0, 192: 58.24, 256: 85.2}
PAPER_FPS_A100 = {64: 445, 96: 332, 128: 294, 192: 187, 256: 110}
PAPER_COUNTED_CLASSES = 19  # Table 6 comes out on the CelebAMask-HQ model (19 classes)
CONVENTIONS = ("macs", "paper")


def _norm_flops(x_shape: Any, weight_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """fvcore's rate for ``native_batch_norm`` (instance norm runs as batch norm in training mode)."""
    training = args[3] if len(args) > 3 else kwargs.get("training", True)  # (bias, mean, var, training)
    affine = weight_shape is not None
    per_element = (5 if affine else 4) if training else (2 if affine else 1)
    return 2 * per_element * math.prod(x_shape)  # FlopCounterMode's unit: 2 per multiply-add


def _mean_flops(x_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """The global average pool: one operation per input element."""
    return 2 * math.prod(x_shape)


def _paper_mapping() -> dict[Any, Any]:
    # FlopCounterMode looks an op up by overload (to decide whether to decompose it) and counts it
    # by overload packet, so both keys are registered.
    mapping: dict[Any, Any] = {}
    for packet, overload, formula in (
        (torch.ops.aten.native_batch_norm, torch.ops.aten.native_batch_norm.default, _norm_flops),
        (torch.ops.aten.mean, torch.ops.aten.mean.dim, _mean_flops),
    ):
        mapping[packet] = mapping[overload] = formula
    return mapping


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(
    model: nn.Module,
    *,
    input_size: int | tuple[int, int] = 256,
    out_size: int | tuple[int, int] | None = None,
    batch: int = 1,
    convention: str = "macs",
) -> int:
    """Multiply-accumulates of one forward pass on a ``batch`` of ``input_size`` images, counted
    by ``convention`` (``macs`` or ``paper``, see the module docstring).

    ``out_size`` is passed to the model when given (FP-LIIF family); other models are called
    with the images alone.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    mapping = _paper_mapping() if convention == "paper" else {}
    h, w = as_size(input_size)
    param = next(model.parameters())
    images = torch.rand(batch, 3, h, w, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False, custom_mapping=mapping) as counter, torch.no_grad():
            if out_size is None:
                model(images)
            else:
                model(images, out_size)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
