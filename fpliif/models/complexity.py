"""Counting parameters and multiply-accumulates, and the paper's figures to compare against.

How the paper's numbers were matched
------------------------------------
Table 6's "GFLOPs" are multiply-accumulates (one fused multiply-add counts once, fvcore's
convention). We count with ``torch.utils.flop_counter.FlopCounterMode``, which reports
2 FLOPs per multiply-add for convolutions and matrix products, and halve it. Norms,
activations, pooling and the gathers of the decoder are not counted (neither does fvcore).

With a 256x256 input the count is an intercept plus a slope per output pixel:

* slope 930,816 MACs/pixel = 4 ensemble queries x the pixel MLP
  130*256 + 3*256*256 + 256*11 (the paper's fit: ~0.940 M);
* intercept 23.43 G = encoder (head conv, 24 resblocks, two stride-2 convs and EDSR's closing
  conv at 1/4 resolution: 22.76 G) + the channel-reducing MLP on the 64x64 grid (0.67 G)
  (the paper's fit: ~23.59 G).

That lands within 1% of Table 6 at every output size and at 2,289,163 parameters (paper: 2.29 M).
tests/test_fingerprint.py asserts it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..sizes import as_size

# The paper's own figures (Tables 4 and 6, section 5.1).
PAPER_PARAMS = 2.29e6
PAPER_UNET_PARAMS = 9.31e6
PAPER_GMACS = {64: 27.44, 96: 32.25, 128: 39.0, 192: 58.24, 256: 85.2}
PAPER_FPS_A100 = {64: 445, 96: 332, 128: 294, 192: 187, 256: 110}


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(
    model: nn.Module,
    *,
    input_size: int | tuple[int, int] = 256,
    out_size: int | tuple[int, int] | None = None,
    batch: int = 1,
) -> int:
    """Multiply-accumulates of one forward pass on a ``batch`` of ``input_size`` images.

    ``out_size`` is passed to the model when given (FP-LIIF family); other models are called
    with the images alone.
    """
    h, w = as_size(input_size)
    param = next(model.parameters())
    images = torch.rand(batch, 3, h, w, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            if out_size is None:
                model(images)
            else:
                model(images, out_size)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
