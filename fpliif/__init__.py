"""fpliif: the reproducible companion to FP-LIIF (CVPR 2023), face parsing with a local implicit function.

    model = fpliif.build_model("fpliif", num_classes=11)   # the paper's model
    parser = fpliif.load_pretrained()                       # a face parser for any photo
    labels = parser("photo.jpg")                            # int [H,W] label map

``import fpliif`` stays cheap (no torch): these names and the subpackages load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "build_model": "fpliif.models",
    "load_pretrained": "fpliif.photo.parser",
    "FaceParser": "fpliif.photo.parser",
}

__all__ = ["FaceParser", "__version__", "build_model", "load_pretrained"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
