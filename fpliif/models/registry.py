"""The model registry, in the spirit of yinboc/liif's ``models.register`` / ``models.make``.

Each model file registers its constructors with ``@register("name")``; ``fpliif.models`` imports
those files once (its import list) and ``build_model(name, ...)`` builds any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to constructors. ``@REG.register("name")`` adds one, ``REG.build("name", ...)`` calls it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._ctors: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            if name in self._ctors:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._ctors[name] = fn
            return fn

        return deco

    def build(self, name: str, *args: Any, **kwargs: Any) -> T:
        if name not in self._ctors:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._ctors))}")
        return self._ctors[name](*args, **kwargs)

    def names(self) -> list[str]:
        return sorted(self._ctors)

    def __contains__(self, name: object) -> bool:
        return name in self._ctors


MODELS: Registry[Any] = Registry("model")
register = MODELS.register


def build_model(name: str = "fpliif", num_classes: int = 11, **options: Any) -> Any:
    """Build a registered model. ``options`` are its config's fields (``FPLIIFConfig`` for FP-LIIF)."""
    return MODELS.build(name, num_classes=num_classes, **options)
