"""Model zoo: ``build_model(name, num_classes, **options)``.

Registered names (each model file registers its own with ``@register``):
  fpliif           the paper's model (instance-norm EDSR encoder + LIIF decoder)
  fpliif-bn        resblocks with batch norm instead of instance norm (5.1 ablation)
  fpliif-nonorm    plain EDSR resblocks, no norm (5.1 ablation, "Old-EDSR ResBlock")
  fpliif-noens     LIIF decoder without the local ensemble
  fpliif-unet      the conv U-Net decoder instead of LIIF (5.1 ablation, about 9.31 M params)
  fpliif-tiny      NOT the paper's model: the same structure, narrow and shallow, for smoke
                   runs and tests (about 30 k params)
  bisenet-r18      BiSeNet (ResNet-18) wrapped to train/evaluate like FP-LIIF (Table 9's light peer)
  bisenet, resnet101, resnet101-os8
                   peers with random weights, for speed comparisons only

Any option of ``FPLIIFConfig`` can be passed as a keyword and overrides the variant's default.
Every segmentation model answers the same calls (``Segmenter``: an output size or query
coordinates, several sizes from one encoder pass, label maps).
"""

from __future__ import annotations

# The import list: importing a model file registers its models.
from . import dense, fast, fpliif, peers  # noqa: F401
from .decoder import LIIFDecoder, make_coord
from .encoder import EDSREncoder
from .fpliif import FPLIIF, VARIANTS, FPLIIFConfig, variant_name
from .registry import MODELS, build_model, register
from .segmenter import Segmenter
from .unet import UNetDecoder

__all__ = [
    "MODELS",
    "VARIANTS",
    "EDSREncoder",
    "FPLIIF",
    "FPLIIFConfig",
    "LIIFDecoder",
    "Segmenter",
    "UNetDecoder",
    "build_model",
    "fast",
    "make_coord",
    "register",
    "variant_name",
]
