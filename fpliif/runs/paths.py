"""Paths of a profile's results: ``{out}`` in parameters, repository-relative paths for captions, the log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..provenance import REPO_ROOT

Log = Callable[[str], None]


def say(message: str) -> None:
    print(message, flush=True)


def resolve(path: str | Path, out: str | Path | None = None) -> Path:
    """An absolute path: '{out}' replaced by ``out``, relative paths taken from the repository root
    (so a notebook's working directory does not matter)."""
    text = str(path)
    if "{out}" in text:
        if out is None:
            raise ConfigError(f"{text!r} refers to {{out}} but no output folder was given")
        text = text.replace("{out}", str(out))
    p = Path(text).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p)


def rel(path: str | Path) -> str:
    """``path`` relative to the repository root when inside it (for captions and manifests)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


__all__ = ["Log", "rel", "resolve", "say"]
