"""A real full or read-only filesystem under a running command; stdlib only, run as a script:

    python faultfs.py SPEC.json RESULT.json

It runs wherever mounting is allowed (a user + mount namespace, a mount namespace as root, or as
root itself: ``disk_real.WAYS``). It mounts a small filesystem at ``spec["mount"]`` (a tmpfs, or
a loop-mounted ext4 image), starts ``spec["argv"]``, waits for the trigger file, stops the process
(SIGSTOP), records the watched files, fills the filesystem up or remounts it read-only, lets the
process go on (SIGCONT), collects what happened and unmounts. The kernel returns the errors:
nothing is mocked. With ``"probe": true`` it only mounts, writes a file and unmounts.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _sh(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


def mount(spec: dict) -> str | None:
    """Mount the filesystem of ``spec`` (``fs``: tmpfs or ext4, ``size_mb``); an error, or None."""
    mnt, size_mb = spec["mount"], int(spec["size_mb"])
    if spec["fs"] == "tmpfs":
        r = _sh("mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", mnt)
    else:
        with open(spec["image"], "wb") as f:
            f.truncate(size_mb << 20)
        r = _sh("mkfs.ext4", "-q", "-F", "-m", "0", spec["image"])  # -m 0: no blocks kept for root
        if r.returncode:
            return f"mkfs.ext4 failed: {r.stderr.strip()}"
        r = _sh("mount", "-o", "loop", spec["image"], mnt)
    return f"mount failed: {r.stderr.strip()}" if r.returncode else None


def unmount(spec: dict) -> None:
    """Unmount (lazily if something still holds it) and remove the ext4 image."""
    if os.path.ismount(spec["mount"]) and _sh("umount", spec["mount"]).returncode:
        _sh("umount", "-l", spec["mount"])
    if spec["fs"] == "ext4" and os.path.exists(spec["image"]):
        os.unlink(spec["image"])


def probe(spec: dict) -> dict:
    """Can a filesystem be mounted here, written to and unmounted?"""
    error = mount(spec)
    if error:
        return {"error": error}
    try:
        Path(spec["mount"], "probe").write_text("ok")
    finally:
        unmount(spec)
    return {"ok": True}


def _sha(p: str) -> str | None:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest() if os.path.isfile(p) else None


def _listing(folder: str) -> list[str]:
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def _communicate(proc: subprocess.Popen, timeout: float) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")


def _write_until_full(fd: int, chunk: int) -> int:
    written = 0
    try:
        while True:
            written += os.write(fd, b"\0" * chunk)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    return written


def _fill(mnt: Path, leave: int) -> None:
    """Write zeros until the filesystem is full; then give ``leave`` bytes back. Rounds until one
    writes nothing: ext4 gives back space it had held for delayed writes once they are flushed."""
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while sum(_write_until_full(fd, chunk) for chunk in (1 << 20, 4096, 1)):
            with contextlib.suppress(OSError):
                os.fsync(fd)
    finally:
        os.close(fd)
    if leave:  # the next write starts, then runs out
        os.truncate(mnt / "filler", max(0, os.path.getsize(mnt / "filler") - leave))


def _remount_ro(mnt: Path, proc: subprocess.Popen) -> bool:
    """Remount read-only under the stopped process (EBUSY while a file is open for writing: let it
    finish that first)."""
    for _ in range(200):
        if _sh("mount", "-o", "remount,ro", str(mnt)).returncode == 0:
            return True
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.005)
        os.kill(proc.pid, signal.SIGSTOP)
    return False


def _read_only_from_start(spec: dict, mnt: Path) -> dict:
    """The output folder is read-only before the command starts."""
    os.makedirs(spec["folder"], exist_ok=True)
    subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
    with open(spec["log"], "wb") as log:
        proc = subprocess.Popen(spec["argv"], stdout=log, stderr=subprocess.PIPE, cwd=spec["cwd"])
    err = _communicate(proc, spec["timeout"])
    listing = _listing(spec["folder"])
    return {
        "rc": proc.returncode,
        "stderr": err,
        "before": {},
        "after": {},
        "listing": listing,
        "at_fault": listing,
    }


def _fault_while_running(spec: dict, mnt: Path) -> dict:
    """Start the command, stop it at the trigger, apply the fault, let it go on."""
    with open(spec["log"], "wb") as log:
        proc = subprocess.Popen(spec["argv"], stdout=log, stderr=subprocess.PIPE, cwd=spec["cwd"])
    trigger, lines = Path(spec["trigger"]), int(spec.get("lines", 0))
    end = time.time() + spec["timeout"]
    while proc.poll() is None and time.time() < end:
        if trigger.is_file() and len(trigger.read_bytes().splitlines()) >= lines:
            break
        time.sleep(0.005)
    if proc.poll() is not None:
        return {"error": f"finished (exit {proc.returncode}) before the fault: {proc.stderr.read()[-500:]!r}"}
    os.kill(proc.pid, signal.SIGSTOP)
    if spec["fault"] == "enospc":
        _fill(mnt, int(spec.get("leave") or 0))
    elif not _remount_ro(mnt, proc):
        os.kill(proc.pid, signal.SIGKILL)
        return {"error": "could not remount read-only"}
    before = {p: _sha(p) for p in spec["watch"]}  # the files as the fault found them
    at_fault = _listing(spec["folder"])
    os.kill(proc.pid, signal.SIGCONT)
    err = _communicate(proc, spec["timeout"])
    after = {p: _sha(p) for p in spec["watch"]}
    for p in spec["watch"]:  # copied out: the filesystem goes away with this process
        if os.path.isfile(p):
            shutil.copyfile(p, Path(spec["export"]) / Path(p).name)
    listing = _listing(spec["folder"])
    return {
        "rc": proc.returncode,
        "stderr": err,
        "before": before,
        "after": after,
        "listing": listing,
        "at_fault": at_fault,
    }


def control(spec: dict) -> dict:
    """Mount, run the command under the fault, unmount: what happened (or ``{"error": ...}``)."""
    error = mount(spec)
    if error:
        return {"error": error}
    mnt = Path(spec["mount"])
    try:
        for src, dst in spec.get("copy_in", []):
            shutil.copytree(src, mnt / dst)
        if spec.get("before_start"):
            return _read_only_from_start(spec, mnt)
        return _fault_while_running(spec, mnt)
    finally:
        unmount(spec)


def main(argv: list[str]) -> int:
    spec: dict[str, Any] = json.loads(Path(argv[0]).read_text())
    result = probe(spec) if spec.get("probe") else control(spec)
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
