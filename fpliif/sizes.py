"""Image and output sizes as (H, W) pairs, the one spelling every module accepts."""

from __future__ import annotations

Size = tuple[int, int]


def as_size(size: int | tuple[int, int] | list[int]) -> Size:
    """An int (square) or an (H, W) pair -> an (H, W) tuple of positive ints; ValueError otherwise."""
    if isinstance(size, int):
        size = (size, size)
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be a positive int or an (H, W) pair, got {size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {(h, w)}")
    return h, w


def fit_size(image_hw: Size, size: int | tuple[int, int] | list[int] | None) -> Size:
    """The output size for an image of ``image_hw`` (H, W): None keeps it; an int N is the longer
    side, the aspect kept (a 600x800 image at 512 gives 384x512); an (H, W) pair is exact."""
    if size is None:
        return as_size(image_hw)
    if isinstance(size, int):
        n = as_size(size)[0]
        h, w = as_size(image_hw)
        long = max(h, w)
        return max(1, round(h * n / long)), max(1, round(w * n / long))
    return as_size(size)


__all__ = ["Size", "as_size", "fit_size"]
