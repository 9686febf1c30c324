"""Writing files so that a crash, a SIGKILL or a full disk never leaves a half-written one.

Every result the project writes (checkpoints, configs, logs, evaluation tables) goes through
:func:`atomic_write`: the bytes go to a temporary file in the same folder, are fsynced, and the
temporary file is renamed over the target. Readers see the old file or the new one, never a torn
one. A failure becomes an :class:`~fpliif.errors.OutputError` that names the target and says that
the previous version is intact. A SIGKILL cannot be caught, so a killed writer may leave its
temporary file behind; :func:`remove_stale_temps` clears those when the folder is next used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import OutputError

TEMP_PATTERN = re.compile(r"^\..+\.tmp-\d+$")


def temp_path(path: Path) -> Path:
    """The temporary sibling of ``path`` that :func:`atomic_write` writes first."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # torch.save on a full disk fails inside its zip writer with an internal message
    if "unexpected pos" in text or "inline_container" in text:
        return "the write was cut short (disk full?)"
    return text[:200]


def _stage(
    path: Path, write: Callable[[IO[bytes]], None] | bytes | memoryview | str, durable: bool = True
) -> Path:
    """Write (and fsync, if ``durable``) the temporary sibling of ``path``; on failure remove it and
    raise ``OutputError``."""
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            if isinstance(write, str):
                f.write(write.encode())
            elif isinstance(write, bytes | bytearray | memoryview):
                f.write(write)
            else:
                write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
    except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as RuntimeError
        _discard(tmp)
        previous = "the previous version is intact" if path.exists() else "nothing was written"
        raise OutputError(path, f"could not write it: {_describe(exc)}; {previous}") from exc
    except BaseException:  # a failing writer (or an interrupt) leaves no temporary file either
        _discard(tmp)
        raise
    return tmp


def _replace(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        previous = "the previous version is intact" if path.exists() else "nothing was written"
        raise OutputError(path, f"could not write it: {_describe(exc)}; {previous}") from exc


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only folder: nothing was created there anyway
        tmp.unlink(missing_ok=True)


def atomic_write(
    path: str | Path,
    write: Callable[[IO[bytes]], None] | bytes | memoryview | str,
    *,
    durable: bool = True,
) -> Path:
    """Write ``path`` atomically; ``write`` is the content (bytes, text) or a function filling the file.

    ``durable=False`` skips the fsyncs: the file is still never seen half-written, but a power
    loss may lose it. For files that are cheap to make again and written by the thousand (the
    generated datasets), where an fsync each would cost more than the writing.
    Raises :class:`OutputError` naming ``path`` when the folder is missing, read-only or full.
    """
    path = Path(path)
    _replace(_stage(path, write, durable), path)
    if durable:
        _fsync_dir(path.parent)
    return path


def atomic_write_many(contents: dict[Path, bytes | str]) -> list[Path]:
    """Write several files as one: all temporaries first, then the renames.

    A failure while writing any of them leaves every target as it was (the renames never start).
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in contents.items():
            staged.append((_stage(Path(path), data), Path(path)))
        for tmp, path in staged:
            _replace(tmp, path)
    finally:
        for tmp, _ in staged:
            _discard(tmp)
    if staged:
        _fsync_dir(staged[0][1].parent)
    return [p for _, p in staged]


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (best effort: not every file system lets a folder be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete temporary files that killed writers left in ``folder``; returns what was removed.

    Only files named like :func:`temp_path`'s output whose writer process is gone are removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if not TEMP_PATTERN.match(p.name) or not p.is_file():
            continue
        pid = int(p.name.rsplit("-", 1)[1])
        if pid != os.getpid() and _alive(pid):
            continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True
