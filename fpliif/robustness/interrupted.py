"""Family ``interrupted``: ``fpliif train`` SIGKILLed at seeded points and inside its writes, then resumed.

The training runs in a subprocess (deterministic CPU mode). After every kill each checkpoint on
disk must load; the resumed run must end identical to an uninterrupted run with the same seed.
A kill inside a write is made certain by a child that holds itself inside that write
(``paused_main``) until it is killed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .common import (
    EPOCHS,
    TRAIN_SETS,
    Family,
    child_env,
    one_line_error,
    python,
    short,
    tiny_synth,
    tmp_files,
)

TITLE = "Interrupted training (SIGKILL, then --resume)"
PASS_MEANS = (
    "after every kill each `*.pt` in the run folder loads with `weights_only=True`; the resumed run "
    "ends with the same weights, optimizer and scheduler state, counters, metrics, best.pt and "
    "log.jsonl as an uninterrupted run with the same seed (deterministic CPU mode), and leaves "
    "no temp file"
)
_PAUSE_ENV, _SIGNAL_ENV = "FPLIIF_ROBUSTNESS_PAUSE", "FPLIIF_ROBUSTNESS_SIGNAL"
_PAUSED_CHILD = (
    "import sys; from fpliif.robustness.interrupted import paused_main; sys.exit(paused_main(sys.argv[1:]))"
)
LOG_FIELDS = ("epoch", "step", "lr", "loss", "ce", "edge_ce", "val_mean_f1", "val_miou", "best_mean_f1")


def paused_main(argv: list[str]) -> int:
    """``fpliif ARGV`` that, at the Nth time it opens for writing the file named in
    ``$FPLIIF_ROBUSTNESS_PAUSE`` (``last.pt:2`` and ``best.pt:1``: their temp files; ``config.yaml:1``:
    any file named like it), lets half of the bytes through (half of the earlier file's size, else
    of the first write), flushes them to disk, touches ``$FPLIIF_ROBUSTNESS_SIGNAL`` and waits to be
    killed: a SIGKILL that lands inside that write, every time, however the file is written."""
    target, nth = os.environ[_PAUSE_ENV].rsplit(":", 1)
    signal_file = Path(os.environ[_SIGNAL_ENV])
    count = 0

    def hold(f: Any, data: bytes, where: str) -> None:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
        signal_file.write_text(f"{where} {os.fstat(f.fileno()).st_size}")
        while True:
            time.sleep(1)

    import builtins

    real_open = builtins.open

    class Stall:
        """Passes writes through until half of the file is written, then holds the process."""

        def __init__(self, f: Any, earlier: int) -> None:
            self.f, self.done = f, 0
            self.threshold = earlier // 2 if earlier > 1 else None

        def write(self, data: Any) -> int:
            raw = data.encode() if isinstance(data, str) else bytes(data)
            if self.threshold is None:  # no earlier file: half of this (first) write
                self.threshold = max(1, len(raw) // 2)
            if self.done + len(raw) < self.threshold:
                self.done += len(raw)
                return self.f.write(data)
            if hasattr(self.f, "buffer"):
                self.f.flush()
            hold(getattr(self.f, "buffer", self.f), raw[: self.threshold - self.done], str(self.f.name))
            return 0

        def close(self) -> None:  # everything written before half: hold before the rename
            hold(getattr(self.f, "buffer", self.f), b"", str(self.f.name))

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.f, name)

    def targeted(name: str) -> bool:
        return "config.yaml" in name if target == "config.yaml" else name.startswith(f".{target}.tmp-")

    def fake_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        nonlocal count
        name = os.path.basename(os.fspath(file)) if isinstance(file, str | os.PathLike) else ""
        if any(c in mode for c in "wax") and targeted(name):
            count += 1
            if count == int(nth):
                final = Path(os.fspath(file)).with_name(target)  # its size before this write
                earlier = final.stat().st_size if final.is_file() else 0
                return Stall(real_open(file, mode, *a, **k), earlier)
        return real_open(file, mode, *a, **k)

    builtins.open = io.open = fake_open
    from ..cli import main

    return main(argv)


def _train_argv(data: Path, out: Path, *, resume: bool = False, own_config: bool = False) -> list[str]:
    if own_config:  # what a user types after a crash: the run's saved config.yaml is used
        return ["train", "--resume", "--out", str(out), "--no-progress"]
    argv = ["train", "--config", "smoke", "--deterministic", "--data-root", str(data), "--out", str(out)]
    argv += ["--epochs", str(EPOCHS), "--no-progress", *(x for s in TRAIN_SETS for x in ("-o", s))]
    return argv + (["--resume"] if resume else [])


@dataclass
class _Launch:
    proc: subprocess.Popen
    started: float
    started_ns: int
    log: Path
    signal: Path | None = None

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _launch(argv: list[str], log: Path, pause: str | None = None) -> _Launch:
    env = child_env()
    sig = None
    if pause:
        sig = log.with_suffix(".paused")
        sig.unlink(missing_ok=True)
        env.update({_PAUSE_ENV: pause, _SIGNAL_ENV: str(sig)})
        cmd = [python(), "-c", _PAUSED_CHILD, *argv]
    else:
        cmd = [python(), "-m", "fpliif", *argv]
    with open(log, "wb") as f:
        started, started_ns = time.perf_counter(), time.time_ns()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=log.parent)
    return _Launch(proc, started, started_ns, log, sig)


def _log_records(run: Path) -> tuple[list[dict], list[str]]:
    """(parsed records, problems) of ``run/log.jsonl``."""
    path = run / "log.jsonl"
    if not path.exists():
        return [], []
    records, problems = [], []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            problems.append(f"log.jsonl line {number} is not JSON (a partial write): {line[:40]!r}")
    return records, problems


def _inspect_run(run: Path) -> tuple[bool, str, dict[str, int]]:
    """After a kill: does every ``*.pt`` load (weights_only=True)? (ok, description, {file: epoch})."""
    from ..engine.checkpoint import load_checkpoint
    from ..errors import CheckpointError

    epochs, bad = {}, []
    for p in sorted(run.glob("*.pt")):
        try:
            epochs[p.name] = int(load_checkpoint(p).get("epoch", -1))
        except CheckpointError as exc:
            bad.append(f"{p.name}: {short(exc, 120)}")
    records, problems = _log_records(run)
    tmp = tmp_files(run)
    parts = [", ".join(f"{k} epoch {v}" for k, v in epochs.items()) or "no checkpoint yet"]
    parts.append(f"log {len(records)} lines" + (f" + {len(problems)} partial" if problems else ""))
    if tmp:
        parts.append(f"temp files {tmp}")
    if bad:
        parts.append("UNLOADABLE " + "; ".join(bad))
    return not bad, ", ".join(parts), epochs


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(torch.equal(a, b))
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


COMPARED = (
    "model",
    "optimizer",
    "scheduler",
    "epoch",
    "step",
    "best_mean_f1",
    "metrics",
    "class_names",
    "model_name",
    "model_config",
)


def state_digest(ckpt: dict) -> str:
    """sha256 of what must be identical between runs: weights, optimizer and scheduler state,
    counters and metrics (not the write time or the commit)."""
    import torch

    h = hashlib.sha256()

    def feed(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            h.update(f"T{x.dtype}{tuple(x.shape)}".encode())
            h.update(
                x.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                if x.numel()
                else b""
            )
        elif isinstance(x, dict):
            for k in sorted(x, key=str):
                h.update(f"K{k!r}".encode())
                feed(x[k])
        elif isinstance(x, list | tuple):
            h.update(f"L{len(x)}".encode())
            for v in x:
                feed(v)
        else:
            h.update(f"V{x!r}".encode())

    for key in COMPARED:
        h.update(key.encode())
        feed(ckpt.get(key))
    return h.hexdigest()


def _compare_checkpoint(ref: Path, got: Path) -> list[str]:
    from ..engine.checkpoint import load_checkpoint

    if not got.exists():
        return [
            f"{got.name} is missing (the uninterrupted run has one, epoch {load_checkpoint(ref)['epoch']})"
        ]
    a, b = load_checkpoint(ref), load_checkpoint(got)
    diffs = [key for key in COMPARED if not _same(a.get(key), b.get(key))]
    cfg_a, cfg_b = (json.loads(json.dumps(c.get("train_config") or {})) for c in (a, b))
    for c in (cfg_a, cfg_b):
        c.get("run", {}).pop("out", None)
    if cfg_a != cfg_b:
        diffs.append("train_config")
    if diffs:
        return [f"{got.name} differs in {', '.join(diffs)} (epoch {b.get('epoch')} vs {a.get('epoch')})"]
    return []


def _compare_logs(ref: Path, got: Path) -> list[str]:
    a, _ = _log_records(ref)
    b, problems = _log_records(got)
    epochs = [r.get("epoch") for r in b]
    if epochs != list(range(1, len(a) + 1)):
        problems.append(f"epochs logged {epochs}, expected 1..{len(a)} once each")
    by_epoch = {r.get("epoch"): r for r in b}
    for r in a:
        other = by_epoch.get(r["epoch"])
        if other is not None and any(r.get(k) != other.get(k) for k in LOG_FIELDS):
            problems.append(f"epoch {r['epoch']}: metrics differ")
    return problems


def _wait_for(pred: Callable[[], bool], launch: _Launch, timeout: float) -> bool:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if pred():
            return True
        if launch.proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


class _Chain:
    """One run folder driven through kills and resumes, with a case per check."""

    def __init__(self, fam: Family, name: str, data: Path, run: Path, timeout: float) -> None:
        self.fam, self.name, self.data, self.run, self.timeout = fam, name, data, run, timeout
        self.launches = 0
        self.kills: list[str] = []
        run.parent.mkdir(parents=True, exist_ok=True)

    def launch(self, *, pause: str | None = None, own_config: bool = False) -> _Launch:
        resume = self.launches > 0
        self.launches += 1
        argv = _train_argv(self.data, self.run, resume=resume, own_config=own_config and resume)
        return _launch(argv, self.run.parent / f"{self.run.name}-{self.launches}.log", pause)

    def after_kill(self, how: str) -> None:
        ok, state, _ = _inspect_run(self.run)
        self.kills.append(how)
        self.fam.add(
            f"{self.name}: kill {len(self.kills)} ({how}): every checkpoint on disk loads", ok, state
        )

    def kill_paused(self, launch: _Launch, what: str) -> bool:
        assert launch.signal is not None
        if not _wait_for(launch.signal.exists, launch, self.timeout):
            launch.kill()
            self.fam.add(
                f"{self.name}: kill inside {what}", False, f"never reached: {short(launch.output())}"
            )
            return False
        launch.kill()
        written = launch.signal.read_text().rsplit(" ", 1)[-1]
        self.after_kill(f"SIGKILL inside the write of {what}, {written} bytes of it on disk")
        return True

    def kill_timed(self, launch: _Launch, epoch: int, frac: float, epoch_s: float) -> bool:
        """SIGKILL ``frac`` of an epoch after this launch starts training epoch ``epoch``."""

        def training() -> bool:
            cfg = self.run / "config.yaml"
            started = cfg.exists() and cfg.stat().st_mtime_ns >= launch.started_ns - 50_000_000
            return started and len(_log_records(self.run)[0]) >= epoch - 1

        if not _wait_for(training, launch, self.timeout):
            self.ended_early(launch)
            return False
        time.sleep(frac * epoch_s)
        if launch.proc.poll() is not None:
            return False
        launch.kill()
        self.after_kill(f"SIGKILL {frac:.2f} of an epoch into epoch {epoch}")
        return True

    def ended_early(self, launch: _Launch) -> None:
        """The process ended before the kill point: fine if it finished, a failure otherwise."""
        rc = launch.wait(self.timeout)
        if rc != 0:
            self.fam.add(
                f"{self.name}: launch {self.launches} ran until the kill point",
                False,
                f"exit {rc}: {short(launch.output()[-400:])}",
            )

    def kill_startup(self, launch: _Launch, seconds: float) -> bool:
        try:
            launch.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            launch.kill()
        else:
            self.ended_early(launch)
            return False
        self.after_kill(f"SIGKILL {seconds:.1f} s after start, before training")
        return True

    def finish(self, *, own_config: bool = False) -> tuple[int | None, str]:
        launch = self.launch(own_config=own_config)
        rc = launch.wait(self.timeout)
        return rc, launch.output()

    def compare(self, ref: Path, *, bugs: dict[str, str | None]) -> None:
        """Cases: last.pt, best.pt, log.jsonl and temp files against the uninterrupted ``ref``."""
        from ..engine.checkpoint import load_checkpoint

        problems = _compare_checkpoint(ref / "last.pt", self.run / "last.pt")
        digest = state_digest(load_checkpoint(self.run / "last.pt")) if not problems else "-"
        self.fam.add(
            f"{self.name}: final last.pt equals the uninterrupted run's (weights, optimizer, scheduler, "
            "counters, metrics)",
            not problems,
            "; ".join(problems) or f"state digest {digest[:16]}, identical",
            bug=bugs.get("last"),
        )
        always = self.name != "A"  # A's random kills hit those windows only by chance
        problems = _compare_checkpoint(ref / "best.pt", self.run / "best.pt")
        self.fam.add(
            f"{self.name}: best.pt equals the uninterrupted run's",
            not problems,
            "; ".join(problems) or "identical",
            bug=bugs.get("best"),
            always=always,
        )
        problems = _compare_logs(ref, self.run)
        self.fam.add(
            f"{self.name}: log.jsonl holds every epoch once, metrics equal",
            not problems,
            "; ".join(problems) or f"{EPOCHS} records, equal",
            bug=bugs.get("log"),
            always=always,
        )
        tmp = tmp_files(self.run)
        self.fam.add(
            f"{self.name}: no temp files left once the run completed",
            not tmp,
            f"left: {tmp}" if tmp else "none",
            bug=bugs.get("tmp"),
        )


@dataclass
class _Reference:
    """The uninterrupted run every chain is compared with, and its timings (kill points use them)."""

    run: Path
    seconds: float
    epoch_s: float
    startup_s: float
    digest: str


def _reference(fam: Family, data: Path, work: Path) -> _Reference | None:
    from ..engine.checkpoint import load_checkpoint

    ref = work / "uninterrupted"
    t0 = time.perf_counter()
    launch = _launch(_train_argv(data, ref), work / "uninterrupted.log")
    rc = launch.wait(300)
    ref_s = time.perf_counter() - t0
    if rc != 0:
        fam.add("uninterrupted reference run", False, f"exit {rc}: {short(launch.output()[-600:])}")
        return None
    records, _ = _log_records(ref)
    elapsed = [r["elapsed_s"] for r in records]
    epoch_s = float(np.mean(np.diff([0.0, *elapsed])))
    startup_s = max(0.3, ref_s - elapsed[-1])  # imports, data, model: before the first epoch
    digest = state_digest(load_checkpoint(ref / "last.pt"))
    fam.evidence.append(
        f"uninterrupted run: {EPOCHS} epochs of fpliif-tiny on 8 SynthFaces images at 32 px (deterministic, "
        f"fp32, 1 thread) in {ref_s:.1f} s, {epoch_s:.2f} s per epoch; last.pt state digest {digest[:16]}"
    )
    return _Reference(ref, ref_s, epoch_s, startup_s, digest)


def _chain_a(
    fam: Family, data: Path, work: Path, ref: _Reference, timeout: float, rng: Any, quick: bool
) -> None:
    """Kills at seeded random points (start-up, mid-epoch) and inside a last.pt write."""
    chain = _Chain(fam, "A", data, work / "A", timeout)
    plan: list[tuple[str, float]] = (
        [] if quick else [("startup", float(rng.uniform(0.2, 0.8)) * ref.startup_s)]
    )
    plan += [("epoch", float(rng.uniform())), ("last.pt", float(rng.integers(1, 3)))]
    plan += [] if quick else [("epoch", float(rng.uniform())), ("epoch", float(rng.uniform()))]
    own = False
    for kind, value in plan:
        _, _, epochs = _inspect_run(chain.run)
        done = epochs.get("last.pt", 0)
        if done >= EPOCHS - 1:
            break
        own = own and (chain.run / "config.yaml").exists()  # what a user can resume from
        if kind == "startup":
            chain.kill_startup(chain.launch(own_config=own), value)
        elif kind == "last.pt":
            chain.kill_paused(chain.launch(pause=f"last.pt:{int(value)}", own_config=own), "last.pt")
        else:
            target = int(min(EPOCHS - 1, done + 1 + rng.integers(0, 2)))
            chain.kill_timed(chain.launch(own_config=own), target, value, ref.epoch_s)
        own = not own  # resume alternately with the same command and with the run's own config
    rc, out = chain.finish(own_config=own and (chain.run / "config.yaml").exists())
    fam.add(
        f"A: resumed after {len(chain.kills)} kills and completed",
        rc == 0 and len(chain.kills) >= 2,
        f"exit {rc}; {chain.launches} launches; kills: {'; '.join(chain.kills)}"
        + ("" if rc == 0 else f"; {short(out[-400:])}"),
    )
    if rc == 0:
        chain.compare(ref.run, bugs={})


def _chain_b(fam: Family, data: Path, work: Path, ref: _Reference, timeout: float) -> None:
    """A kill inside the first write of best.pt, i.e. after last.pt of that epoch was saved."""
    chain = _Chain(fam, "B", data, work / "B", timeout)
    if chain.kill_paused(chain.launch(pause="best.pt:1"), "best.pt (its first write, epoch 1)"):
        rc, out = chain.finish()
        fam.add(
            "B: resumed and completed", rc == 0, f"exit {rc}" + ("" if rc == 0 else f"; {short(out[-400:])}")
        )
        if rc == 0:
            chain.compare(ref.run, bugs={})


def _chain_c(fam: Family, data: Path, work: Path, ref: _Reference, timeout: float) -> None:
    """A kill inside the first write of config.yaml, then `fpliif train --resume --out RUN`."""
    chain = _Chain(fam, "C", data, work / "C", timeout)
    if not chain.kill_paused(chain.launch(pause="config.yaml:1"), "config.yaml (first launch)"):
        return
    launch = chain.launch(own_config=True)
    rc = launch.wait(max(60.0, 3 * ref.seconds))
    out = launch.output()
    ok_err, line = one_line_error(rc or 0, out, "train")
    what = "C: `--resume` without --config after a kill inside config.yaml: same run, or a clear error"
    if rc == 0:
        problems = _compare_checkpoint(ref.run / "last.pt", chain.run / "last.pt")
        fam.add(what, not problems, "; ".join(problems) or "identical to the uninterrupted run")
    elif rc is None:
        fam.add(what, False, "ran past the time limit: it trains another configuration")
    else:
        clear = ok_err and "--config" in line
        fam.add(what, clear, f"exit {rc}: {line if ok_err else short(out[-300:])}")


def run(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    work.mkdir(parents=True, exist_ok=True)
    data = tiny_synth(work / "synth", seed)
    ref = _reference(fam, data, work)
    if ref is None:
        return
    timeout = max(120.0, 6 * ref.seconds)
    _chain_a(fam, data, work, ref, timeout, np.random.default_rng([seed, 7]), quick)
    _chain_b(fam, data, work, ref, timeout)
    _chain_c(fam, data, work, ref, timeout)

    kills = [c for c in fam.cases if "every checkpoint on disk loads" in c.name]
    finals = [c for c in fam.cases if "final last.pt equals" in c.name]
    fam.evidence.append(
        f"{sum(c.passed for c in kills)} of {len(kills)} kills left only loadable checkpoints; "
        f"{sum(c.passed for c in finals)} of {len(finals)} resumed runs ended with a last.pt identical "
        "to the uninterrupted run's (state digest above)"
    )
    fam.evidence.append(
        "kill points come from the seed (start-up fraction, epoch, fraction of an epoch); where a timed "
        "kill lands (a training step, validation, a checkpoint or log write) depends on the machine's "
        "speed, so chain A's best.pt/log.jsonl cases can differ between runs; the held kills (inside "
        "last.pt, best.pt, config.yaml) land in their write every time"
    )
