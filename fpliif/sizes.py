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


__all__ = ["Size", "as_size"]
