"""The ways the data family damages a tree: each returns a function that changes the tree at ``root``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .data_trees import write
from .images import encode

Mutation = Callable[[Path], None]


def bytes_op(rel: str, fn: Callable[[bytes], bytes]) -> Mutation:
    def mutate(root: Path) -> None:
        p = root / rel
        p.write_bytes(fn(p.read_bytes()))

    return mutate


def cut(rel: str, n: int | float) -> Mutation:
    """Truncate to ``n`` bytes (an int; negative: drop that many from the end) or a fraction."""
    return bytes_op(rel, lambda b: b[: (int(len(b) * n) if isinstance(n, float) else n)])


def cut_name(n: int | float) -> str:
    if isinstance(n, float):
        return f"to {n:.0%}"
    return f"to {n} bytes" if n > 0 else f"by its last {-n} bytes"


def put(rel: str, data: bytes | Callable[[], bytes]) -> Mutation:
    def mutate(root: Path) -> None:
        write(root / rel, data() if callable(data) else data)

    return mutate


def flip(rel: str, where: Callable[[bytes], int]) -> Mutation:
    def fn(b: bytes) -> bytes:
        out = bytearray(b)
        out[where(b)] ^= 0x55
        return bytes(out)

    return bytes_op(rel, fn)


def reencode(rel: str, fmt: str, convert: Callable[[Any], Any] | None = None, **options: Any) -> Mutation:
    """Decode the file and store it again in ``fmt`` (after ``convert``) under the same name."""

    def mutate(root: Path) -> None:
        from PIL import Image

        p = root / rel
        with Image.open(p) as img:
            img.load()
            img = convert(img) if convert else img
            p.write_bytes(encode(img, fmt, **options))

    return mutate


def rm(rel: str) -> Mutation:
    def mutate(root: Path) -> None:
        p = root / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    return mutate


def mv(rel: str, new: str) -> Mutation:
    return lambda root: os.replace(root / rel, root / new)


def cp(rel: str, new: str) -> Mutation:
    return lambda root: shutil.copyfile(root / rel, root / new)


def as_dir(rel: str) -> Mutation:
    def mutate(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).mkdir()

    return mutate


def dangling(rel: str) -> Mutation:
    def mutate(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).symlink_to(root / "no-such-file.bin")

    return mutate


def chmod0(rel: str) -> Mutation:
    return lambda root: os.chmod(root / rel, 0)


def swap(a: str, b: str) -> Mutation:
    def mutate(root: Path) -> None:
        da, db = (root / a).read_bytes(), (root / b).read_bytes()
        (root / a).write_bytes(db)
        (root / b).write_bytes(da)

    return mutate


def seq(*ops: Mutation) -> Mutation:
    def mutate(root: Path) -> None:
        for op in ops:
            op(root)

    return mutate


def text(rel: str, content: str) -> Mutation:
    return lambda root: (root / rel).write_text(content)


def idat(offset: int) -> Callable[[bytes], int]:
    return lambda b: b.index(b"IDAT") + 4 + offset
