"""What every family shares: the case records, in-process CLI calls, child processes, the tiny run."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The tiny training run the interrupted and disk families drive: fpliif-tiny on SynthFaces at 32 px.
EPOCHS = 6
TRAIN_SETS = (
    "optim.amp=fp32",
    "data.image_size=32",
    "optim.sample_points=256",
    "optim.lr_step=2",
    "optim.lr_gamma=0.5",
    "run.threads=1",
)


# -- results -----------------------------------------------------------------------------------
@dataclass
class Case:
    """One thing tried. ``status``: pass, fail, known (fails because of ``bug``), n/a (with ``detail``)."""

    name: str
    status: str
    detail: str = ""
    bug: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class Family:
    """The cases of one family, what passing means for them, and the evidence they add up to.

    ``caveat``: what the family could not try on this machine, said plainly in the report."""

    name: str
    title: str
    pass_means: str
    cases: list[Case] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    seconds: float = 0.0
    caveat: str | None = None

    def add(
        self, name: str, ok: bool, detail: str = "", *, bug: str | None = None, always: bool = True
    ) -> Case:
        """``bug``: the known bug that explains a failure; ``always``: the case triggers it every time
        (a pass then means it is fixed), rather than only when a random kill lands in its window."""
        status = "pass" if ok else ("known" if bug else "fail")
        if ok and bug and always:
            detail = f"{detail} (known bug {bug} no longer shows: remove its marker)".strip()
        case = Case(name, status, detail, bug if not ok else None)
        self.cases.append(case)
        return case

    def na(self, name: str, why: str) -> None:
        self.cases.append(Case(name, "n/a", why))

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.cases)

    @property
    def tried(self) -> int:
        return sum(c.status != "n/a" for c in self.cases)

    @property
    def unexpected(self) -> list[Case]:
        return [c for c in self.cases if c.status == "fail"]


@dataclass
class SuiteResult:
    families: list[Family]
    seed: int
    quick: bool
    seconds: float
    meta: dict[str, Any]


# -- helpers -----------------------------------------------------------------------------------
def short(text: Any, n: int = 240) -> str:
    """``text`` on one line, cut to ``n`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def tmp_files(folder: Path) -> list[str]:
    """Checkpoint temp files (atomic_save's ``.<name>.tmp-<pid>``) and other dot-temp files."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def captured() -> Iterator[dict[str, str]]:
    """Capture stdout and stderr of in-process CLI calls (the dict is filled on exit)."""
    out, err = io.StringIO(), io.StringIO()
    box: dict[str, str] = {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            yield box
        finally:
            box["out"], box["err"] = out.getvalue(), err.getvalue()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``fpliif ARGV`` in this process: (exit code, stdout, stderr). Tracebacks are failures."""
    from ..cli import main

    with captured() as box:
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
        except BaseException as exc:  # noqa: BLE001 - an uncaught exception is what we look for
            rc = -1
            print(f"UNCAUGHT {type(exc).__name__}: {exc}", file=sys.stderr)
    return rc, box["out"], box["err"]


def one_line_error(rc: int, err: str, command: str) -> tuple[bool, str]:
    """A non-zero exit with exactly one ``fpliif CMD: error: ...`` line, no traceback."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"fpliif {command}: error: ")]
    ok = rc not in (0, -1) and len(errors) >= 1 and "Traceback" not in err
    return ok, errors[-1] if errors else short(err or f"exit {rc}, no message")


def python() -> str:
    return sys.executable


def child_env() -> dict[str, str]:
    """This environment for a child process: one thread, unbuffered, this source tree first."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def tiny_synth(folder: Path, seed: int) -> Path:
    """The SynthFaces data of the tiny run (8 train, 2 val, 2 test images at 32 px), made once per seed."""
    import json

    from ..data.synth import META_FILE, generate

    meta = folder / META_FILE
    if not meta.is_file() or json.loads(meta.read_text()).get("seed") != seed:
        generate(folder, format="lapa", n_train=8, n_val=2, n_test=2, size=32, seed=seed, workers=1)
    return folder


def checkpoint_epoch(path: Path) -> tuple[bool, int | None]:
    """(loads with weights_only=True, its epoch)."""
    from ..engine.checkpoint import load_checkpoint
    from ..errors import CheckpointError

    try:
        return True, int(load_checkpoint(path)["epoch"])
    except CheckpointError:
        return False, None
