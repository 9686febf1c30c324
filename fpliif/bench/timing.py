"""Timing helpers: synchronised timed calls, the machine's load and a noise indicator, the run's context."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# A row during which other processes kept more than this share of the cores busy is flagged noisy.
NOISY_SHARE = 0.05


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing to wait for elsewhere."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], Any], *, warmup: int, repeats: int, device: torch.device) -> list[float]:
    """Seconds of each of ``repeats`` calls after ``warmup`` untimed ones (device synchronised)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(max(1, repeats)):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


class CpuWatch:
    """Share of the machine's cores that OTHER processes kept busy between start and stop (Linux):
    (busy jiffies of all CPUs - this process's CPU time) / (elapsed x cores). A noise indicator."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:  # pragma: no cover - not Linux
            return None
        busy = sum(int(v) for v in fields[:3]) + sum(int(v) for v in fields[5:8])  # user nice system irq...
        own = sum(os.times()[:2])
        return busy / os.sysconf("SC_CLK_TCK"), own, time.monotonic()

    def stop(self) -> float | None:
        end = self._sample()
        if end is None or self.start is None:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start, strict=True))
        cores = os.cpu_count() or 1
        return round(max(0.0, (busy - own) / max(wall, 1e-9) / cores), 3)


def load_average() -> float | None:
    """The 1-minute load average (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux/macOS
        return None


def default_threads() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


def run_context() -> dict[str, Any]:
    """What every record of a run carries: commit, time, CPU, GPU and torch version."""
    from ..provenance import git_commit, hardware, now

    hw = hardware()
    return {
        "commit": git_commit(),
        "time": now(),
        "cpu": hw.get("cpu"),
        "gpu": hw.get("gpu"),
        "torch": torch.__version__,
    }
