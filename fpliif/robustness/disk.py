"""Family ``disk``: a full disk and a read-only output folder under ``fpliif train`` and ``fpliif eval``.

Faults at exact points (one ``open``/``fsync``/``rename``, one result file) are injected in this
process and say so in the case name; real ones (``disk_real``) fill up or remount a filesystem of
our own under the running command, where this machine allows one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .common import (
    TRAIN_SETS,
    Family,
    checkpoint_epoch,
    one_line_error,
    patched,
    run_cli,
    tiny_synth,
    tmp_files,
)
from .disk_real import find_way, real_cases, run_real

TITLE = "Full disk and read-only folder"
PASS_MEANS = (
    "`fpliif train` / `fpliif eval` exit non-zero with one line naming the file and 'No space left on "
    "device' / 'Read-only file system'; the last good checkpoint (and earlier results) stay "
    "byte-identical "
    "and loadable; no temp file is left"
)


class _Fault:
    """OSError(ENOSPC/EROFS) raised as the kernel would, from inside this process (exact points)."""

    def __init__(self, code: int) -> None:
        self.code = code

    def error(self, filename: str | None = None) -> OSError:
        if filename is None:  # write() and fsync() errors carry no file name
            return OSError(self.code, os.strerror(self.code))
        return OSError(self.code, os.strerror(self.code), filename)


class _FullFile:
    """A file opened for writing on a full disk: the open succeeded (and truncated), writes fail."""

    def __init__(self, f: Any, fault: _Fault) -> None:
        self._f, self._fault = f, fault

    def write(self, data: Any) -> int:
        raise self._fault.error()

    def writelines(self, lines: Any) -> None:
        raise self._fault.error()

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._f.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _nth(
    match: Callable[[str], bool], n: int, hook: Callable[[], None] | None = None
) -> Callable[[str], bool]:
    """A predicate true only for the ``n``-th name that ``match`` accepts (``hook`` runs just before)."""
    seen = [0]

    def pred(name: str) -> bool:
        if not match(name):
            return False
        seen[0] += 1
        if seen[0] == n and hook:
            hook()
        return seen[0] == n

    return pred


@contextlib.contextmanager
def _failing_writes(match: Callable[[str], bool], fault: _Fault) -> Iterator[dict]:
    """Files opened for writing (``open``/``io.open``, which ``Path.write_text``, pandas and
    ``atomic_save`` use) whose name ``match`` accepts behave as on a full disk; yields {"n": how many}."""
    import builtins

    real_open, fired = builtins.open, {"n": 0}

    def fake_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        f = real_open(file, mode, *a, **k)
        writing = any(c in mode for c in "wax+")
        if writing and isinstance(file, str | os.PathLike) and match(os.path.basename(os.fspath(file))):
            fired["n"] += 1
            return _FullFile(f, fault)
        return f

    with patched(builtins, "open", fake_open), patched(io, "open", fake_open):
        yield fired


ENOSPC, EROFS = _Fault(errno.ENOSPC), _Fault(errno.EROFS)
Faulty = Callable[[Callable[[], None]], Any]  # hook run just before the fault -> context yielding {"n"}


def _nth_write(prefix: str, n: int, fault: _Fault) -> Faulty:
    return lambda hook: _failing_writes(_nth(lambda name: name.startswith(prefix), n, hook), fault)


@contextlib.contextmanager
def _on_fsync(hook: Callable[[], None]) -> Iterator[dict]:
    """ENOSPC from the fsync of the second last.pt temp file."""
    real_fsync, fired = os.fsync, {"n": 0}
    match = _nth(lambda name: ".last.pt.tmp-" in name, 2, hook)

    def fsync(fd: int) -> None:
        if match(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else ""):
            fired["n"] += 1
            raise ENOSPC.error()
        real_fsync(fd)

    with patched(os, "fsync", fsync):
        yield fired


@contextlib.contextmanager
def _on_replace(hook: Callable[[], None]) -> Iterator[dict]:
    """EROFS from the second rename onto last.pt."""
    real_replace, fired = os.replace, {"n": 0}
    match = _nth(lambda name: name == "last.pt", 2, hook)

    def replace(src: Any, dst: Any, *a: Any, **k: Any) -> None:
        if match(os.path.basename(os.fspath(dst))):
            fired["n"] += 1
            raise EROFS.error(str(src))
        real_replace(src, dst, *a, **k)

    with patched(os, "replace", replace):
        yield fired


TRAINING_FAULTS: tuple[tuple[str, Faulty, str], ...] = (
    # (case, the fault, the file the error must name)
    ("injected: disk full writing last.pt (epoch 2)", _nth_write(".last.pt.tmp-", 2, ENOSPC), "last.pt"),
    ("injected: disk full at fsync of last.pt (epoch 2)", _on_fsync, "last.pt"),
    ("injected: folder turned read-only at the rename of last.pt (epoch 2)", _on_replace, "last.pt"),
    (
        "injected: disk full appending log.jsonl (epoch 2)",
        _nth_write(".log.jsonl.tmp-", 2, ENOSPC),
        "log.jsonl",
    ),
)


def _train_with(fam: Family, work: Path, train: list[str], name: str, make: Faulty, file: str) -> None:
    """Train 3 epochs with a fault at one write of epoch 2; check the message and last.pt."""
    run = work / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    snapshot: dict[str, bytes] = {}

    def before_fault() -> None:
        if (run / "last.pt").exists() and "last.pt" not in snapshot:
            snapshot["last.pt"] = (run / "last.pt").read_bytes()

    with make(before_fault) as fired:
        rc, _, err = run_cli([*train, "--out", str(run), "--epochs", "3"])
    if not fired["n"]:
        fam.na(name, "the fault was never injected (no such write happened); update this case")
        return
    ok, line = one_line_error(rc, err, "train")
    kept = snapshot.get("last.pt")
    loadable, epoch = checkpoint_epoch(run / "last.pt")
    intact = kept is not None and (run / "last.pt").read_bytes() == kept and loadable
    tmp = tmp_files(run)
    cause = "Read-only file system" if "read-only" in name else "No space left on device"
    fam.add(
        f"{name}: one-line error naming {file} and '{cause}'", ok and file in line and cause in line, line
    )
    fam.add(
        f"{name}: last good checkpoint intact, no temp file",
        intact and not tmp,
        f"last.pt {'byte-identical to before the fault' if intact else 'CHANGED or unreadable'}, "
        f"loads: {loadable} (epoch {epoch}); temp files: {tmp or 'none'}",
    )


def _config_on_full_disk(fam: Family, run: Path, train: list[str]) -> None:
    """config.yaml on a full disk at a resume, then `fpliif train --resume --out RUN` (its own config)."""
    run_cli([*train, "--out", str(run), "--epochs", "1"])
    with _failing_writes(lambda name: "config.yaml" in name, ENOSPC) as fired:
        rc, _, err = run_cli([*train, "--out", str(run), "--epochs", "2", "--resume"])
    ok, line = one_line_error(rc, err, "train")
    if not fired["n"]:
        fam.na(
            "injected: disk full writing config.yaml at a resume",
            "config.yaml was not written through open()",
        )
        return
    fam.add(
        "injected: disk full writing config.yaml at a resume: one-line error naming the file",
        ok and "config.yaml" in line and "No space left" in line,
        line,
    )
    rc, _, err = run_cli(["train", "--resume", "--out", str(run), "--no-progress", "-o", "run.threads=0"])
    fam.add(
        "injected: ... then `fpliif train --resume --out RUN` (its saved config) continues",
        rc == 0,
        f"exit {rc}" + ("" if rc == 0 else f": {one_line_error(rc, err, 'train')[1]}"),
    )


def _eval_on_full_disk(fam: Family, work: Path, ev: list[str]) -> None:
    """An earlier complete result set, then a full disk while the new one is written."""
    for target in ("results.json", "per_image.csv"):
        out = work / f"eval-{target}"
        run_cli([*ev, "--out", str(out)])
        before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".json", ".csv")}
        with _failing_writes(lambda name, t=target: t in name, ENOSPC) as fired:
            rc, _, err = run_cli([*ev, "--out", str(out)])
        if not fired["n"]:
            fam.na(f"injected: disk full writing {target} in fpliif eval", "the write was not intercepted")
            continue
        ok, line = one_line_error(rc, err, "eval")
        fam.add(
            f"injected: disk full writing {target} in fpliif eval: one-line error naming the file",
            ok and target in line and "No space left" in line,
            line,
        )
        after = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".json", ".csv")}
        lost = sorted(k for k in before if after.get(k) != before[k] and k != "skipped.json")
        fam.add(
            f"injected: disk full writing {target}: the earlier results are intact",
            not lost,
            f"changed/truncated: {lost}" if lost else "intact",
        )


def train_args(data: Path) -> list[str]:
    """``fpliif train`` of the tiny run on ``data``, in this process (all threads), up to ``--out``."""
    options = [x for s in TRAIN_SETS if not s.startswith("run.threads") for x in ("-o", s)]
    return [
        "train",
        "--config",
        "smoke",
        "--data-root",
        str(data),
        "--no-progress",
        "-o",
        "run.threads=0",
        *options,
    ]


def run(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    work.mkdir(parents=True, exist_ok=True)
    data = tiny_synth(work.parent / "synth", seed)
    train = train_args(data)
    for name, make, file in TRAINING_FAULTS:
        _train_with(fam, work, train, name, make, file)
    run = work / "config-full"
    _config_on_full_disk(fam, run, train)
    ckpt = run / "last.pt"
    ev = ["eval", "--checkpoint", str(ckpt), "--data", "synth", "--root", str(data), "--split", "test"]
    _eval_on_full_disk(fam, work, [*ev, "--sizes", "32", "--score-size", "32"])

    way, why = find_way()
    if way is None:
        reasons = "; ".join(why)
        fam.caveat = (
            f"only injected faults ran: this machine allows no real full or read-only filesystem ({reasons})"
        )
        for name, _, _ in real_cases(quick):
            fam.na(
                name, f"no filesystem of our own can be mounted here ({reasons}); only the injected cases ran"
            )
        return
    fam.evidence.append(
        f"real faults: {way.how}; the process is stopped (SIGSTOP), the {way.fs_name} filled with zeros "
        "up to ENOSPC or remounted read-only, and the process continued (SIGCONT): the kernel returns the "
        "errors, nothing is mocked"
    )
    prior = work / "prior-results"  # a complete earlier result set, copied into the filesystem
    prior.mkdir(exist_ok=True)
    for n in ("results.json", "metrics.csv", "per_image.csv"):
        shutil.copyfile(work / "eval-results.json" / n, prior / n)
    run_real(fam, work, way, real_cases(quick), train=train, ev=ev, prior=prior)
