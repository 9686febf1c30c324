"""Model zoo: ``build_model(name, num_classes, **options)``.

Registered names:
  fpliif           the paper's model (instance-norm EDSR encoder + LIIF decoder)
  fpliif-bn        resblocks with batch norm instead of instance norm (5.1 ablation)
  fpliif-nonorm    plain EDSR resblocks, no norm (5.1 ablation, "Old-EDSR ResBlock")
  fpliif-noens     LIIF decoder without the local ensemble
  fpliif-unet      the conv U-Net decoder instead of LIIF (5.1 ablation, about 9.31 M params)
  bisenet-r18      BiSeNet (ResNet-18) wrapped to train/evaluate like FP-LIIF (Table 9's light peer)
  fpliif-tiny      NOT the paper's model: the same structure, narrow and shallow, for smoke
                   runs and tests (about 30 k params)

Any option of ``FPLIIFConfig`` can be passed as a keyword and overrides the variant's default.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import Registry
from . import fast  # the inference path: fpliif.models.fast.optimize_for_inference
from .decoder import LIIFDecoder, make_coord
from .encoder import EDSREncoder
from .fpliif import FPLIIF, FPLIIFConfig
from .unet import UNetDecoder

MODELS: Registry[nn.Module] = Registry("model")

_VARIANTS: dict[str, dict[str, Any]] = {
    "fpliif": {},
    "fpliif-bn": {"norm": "batch"},
    "fpliif-nonorm": {"norm": "none"},
    "fpliif-noens": {"ensemble": False},
    "fpliif-unet": {"decoder": "unet"},
    "fpliif-tiny": {"channels": 16, "blocks": (1, 1, 1), "reduce_channels": (32, 16), "hidden": (32, 32)},
}


def _variant(defaults: dict[str, Any]):
    def ctor(num_classes: int = 11, **options: Any) -> FPLIIF:
        return FPLIIF(FPLIIFConfig(**{**defaults, "num_classes": num_classes, **options}))

    return ctor


for _name, _defaults in _VARIANTS.items():
    MODELS.register(_name)(_variant(_defaults))


def build_model(name: str = "fpliif", num_classes: int = 11, **options: Any) -> nn.Module:
    """Build a registered model. ``options`` are ``FPLIIFConfig`` fields (for the FP-LIIF family)."""
    return MODELS.build(name, num_classes=num_classes, **options)


from . import peers as _peers  # noqa: E402, F401  (registers bisenet, resnet101, resnet101-os8)
from .dense import DenseConfig, DenseSegmenter  # noqa: E402


@MODELS.register("bisenet-r18")
def _bisenet_r18(num_classes: int = 11, **options: Any) -> DenseSegmenter:
    return DenseSegmenter(DenseConfig(num_classes=num_classes, **options))


__all__ = [
    "MODELS",
    "EDSREncoder",
    "FPLIIF",
    "FPLIIFConfig",
    "LIIFDecoder",
    "UNetDecoder",
    "build_model",
    "fast",
    "make_coord",
]
