"""fpliif: the reproducible companion to FP-LIIF (CVPR 2023), face parsing with a local implicit function."""

from .models import build_model

__version__ = "0.1.0"

__all__ = ["__version__", "build_model"]
