"""One damaged-tree case of the data family, and the catalogues that hold them by layout.

A catalogue's group functions each return a short table of cases built from the layout's true
train labels; ``Catalogue.cases`` collects them in the order they were registered (the report's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .damage import Mutation

UNREADABLE = r"truncat|corrupt|not a readable|cannot read|empty"
SIZE = r"\d+x\d+"  # an error that gives both sizes
Truth = dict[str, np.ndarray]  # sample name -> its true label map


@dataclass
class DataCase:
    """One damaged tree. ``expect``: sample (that sample fails, or is skipped with skip_bad), fatal
    (the dataset cannot be built, in either mode), ok (must read, every label exact), either (ok or
    sample). ``paths``: the files (relative) one of which the error must name; ``words``: a regex the
    problem must match; ``bad``: the samples that must fail or be skipped."""

    layout: str
    name: str
    mutate: Mutation
    expect: str
    paths: tuple[str, ...] = ()
    words: str = ""
    bad: tuple[str, ...] = ()
    loader: bool = False  # also read the bad sample through a DataLoader worker process
    truth: Truth | None = None  # label overrides for ok cases
    images: dict[str, np.ndarray] | None = None  # exact images expected for ok cases
    needs_non_root: bool = False
    note: str = ""


Group = Callable[[Truth], list[DataCase]]


class Catalogue:
    """The cases of one layout whose damaged sample is ``bad`` unless a case says otherwise."""

    def __init__(self, layout: str, *, bad: tuple[str, ...]) -> None:
        self.layout, self.bad = layout, bad
        self.groups: list[Group] = []

    def case(
        self,
        name: str,
        mutate: Mutation,
        expect: str,
        paths: list[str] | tuple[str, ...] = (),
        words: str = "",
        bad: tuple[str, ...] | None = None,
        **options: Any,
    ) -> DataCase:
        bad = self.bad if bad is None else bad
        return DataCase(self.layout, name, mutate, expect, tuple(paths), words, tuple(bad), **options)

    def group(self, fn: Group) -> Group:
        """Register a group function (called with this layout's train labels)."""
        self.groups.append(fn)
        return fn

    def cases(self, truths: dict[str, Truth]) -> list[DataCase]:
        return [case for group in self.groups for case in group(truths[self.layout])]


def with_pixel(label: np.ndarray, at: tuple[int, int], value: int) -> np.ndarray:
    """A copy of ``label`` with one pixel set to ``value``."""
    out = label.copy()
    out[at] = value
    return out
