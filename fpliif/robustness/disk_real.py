"""The disk family's real faults: a small filesystem filled up or turned read-only under ``fpliif``.

``faultfs.py`` does the work in a child process that may mount; the first of ``WAYS`` this machine
allows is used. Where it allows none, only the injected faults ran, and the report says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .common import EPOCHS, Family, checkpoint_epoch, child_env, is_root, one_line_error, python, short

CONTROLLER = Path(__file__).with_name("faultfs.py")
SIZE_MB = 64


@dataclass(frozen=True)
class Way:
    """One way to get a filesystem of our own to fill up or remount read-only."""

    how: str  # for the report
    prefix: tuple[str, ...]  # the command the controller runs under
    fs: str  # tmpfs or ext4
    needs_root: bool

    @property
    def fs_name(self) -> str:
        return "tmpfs" if self.fs == "tmpfs" else "ext4 image"

    @property
    def label(self) -> str:
        return f"{self.fs_name} via {' '.join(self.prefix) or 'mount as root'}"

    def missing(self) -> str | None:
        """Why this way cannot be tried here at all, or None."""
        if self.needs_root and not is_root():
            return "not root"
        tools = [*self.prefix[:1], "mount", "umount", *(["mkfs.ext4"] if self.fs == "ext4" else [])]
        absent = [t for t in tools if not shutil.which(t)]
        return f"no {'/'.join(absent)} command" if absent else None


WAYS = (
    Way(
        "a private tmpfs in a user + mount namespace (`unshare --user --map-root-user --mount`, no "
        "privileges needed)",
        ("unshare", "--user", "--map-root-user", "--mount"),
        "tmpfs",
        needs_root=False,
    ),
    Way(
        "a private tmpfs in a mount namespace (`unshare --mount`, as root)",
        ("unshare", "--mount"),
        "tmpfs",
        needs_root=True,
    ),
    Way(
        f"a size-limited tmpfs mounted as root (`mount -t tmpfs -o size={SIZE_MB}m`), unmounted after "
        "each case",
        (),
        "tmpfs",
        needs_root=True,
    ),
    Way(
        "a loop-mounted ext4 image (`mkfs.ext4`, `mount -o loop`, as root), unmounted after each case",
        (),
        "ext4",
        needs_root=True,
    ),
)


def run_controller(way: Way, spec: dict, work: Path, timeout: float) -> dict:
    """Run ``faultfs.py`` with ``spec`` the ``way`` says; its result, or ``{"error": ...}``."""
    spec = {**spec, "fs": way.fs, "image": str(work / "fs.img")}
    spec_file, result_file = work / "spec.json", work / "result.json"
    spec_file.write_text(json.dumps(spec))
    result_file.unlink(missing_ok=True)
    cmd = [*way.prefix, python(), str(CONTROLLER), str(spec_file), str(result_file)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=child_env())
    except (OSError, subprocess.SubprocessError) as exc:
        return {"error": f"controller failed: {short(exc)}"}
    finally:
        if not way.prefix and Path(spec["mount"]).is_mount():  # a controller that died mounted
            subprocess.run(["umount", "-l", spec["mount"]], capture_output=True)
    if not result_file.exists():
        return {"error": f"controller failed: {short(r.stderr[-800:])}"}
    return json.loads(result_file.read_text())


def find_way() -> tuple[Way | None, list[str]]:
    """The first way this machine allows (it mounted, wrote and unmounted a filesystem), and why
    each way before it did not work."""
    why: list[str] = []
    for way in WAYS:
        missing = way.missing()
        if missing:
            why.append(f"{way.label}: {missing}")
            continue
        with tempfile.TemporaryDirectory(prefix="fpliif-faultfs-") as d:
            (Path(d) / "mnt").mkdir()
            spec = {"probe": True, "mount": str(Path(d) / "mnt"), "size_mb": 8}
            res = run_controller(way, spec, Path(d), timeout=60)
        if res.get("ok"):
            return way, why
        why.append(f"{way.label}: {short(res.get('error'), 120)}")
    return None, why


REAL_CASES = (
    ("real: disk fills up during training (tmpfs filled once last.pt exists)", "train", "enospc"),
    ("real: disk runs out inside a checkpoint write (4 KiB left once last.pt exists)", "train", "enospc-4k"),
    (
        "real: output folder turns read-only during training (tmpfs remounted ro once last.pt exists)",
        "train",
        "erofs",
    ),
    ("real: output folder read-only from the start (fpliif train)", "train", "erofs-start"),
    ("real: disk fills up while fpliif eval writes its results", "eval", "enospc"),
    ("real: output folder turns read-only while fpliif eval writes its results", "eval", "erofs"),
)
QUICK = {("train", "enospc-4k"), ("train", "erofs"), ("eval", "erofs")}  # one of each kind


def real_cases(quick: bool) -> list[tuple[str, str, str]]:
    """(name, command, fault): with ``quick``, one full disk and one read-only folder in training,
    one in evaluation."""
    return [c for c in REAL_CASES if not quick or c[1:] in QUICK]


def _spec(command: str, fault: str, mnt: Path, train: list[str], ev: list[str], prior: Path) -> dict:
    """What the controller runs and watches for ``command`` under ``fault``."""
    if command == "train":
        folder = mnt / "run"
        argv = [*train, "--out", str(folder), "--epochs", str(EPOCHS), "-o", "run.threads=1"]
        spec = {
            "trigger": str(folder / "last.pt"),  # renamed into place: a complete checkpoint exists
            "copy_in": [],
            "watch": [str(folder / "last.pt"), str(folder / "best.pt")],
        }
    else:
        folder = mnt / "ev"
        argv = [*ev, "--sizes", "32", "64", "128", "256", "512", "--score-size", "256", "--out", str(folder)]
        spec = {
            "trigger": str(folder / "skipped.json"),
            "copy_in": [[str(prior), "ev"]] if fault == "erofs" else [],
            "watch": [str(folder / n) for n in ("results.json", "metrics.csv", "per_image.csv")],
        }
    return {
        **spec,
        "lines": 0,
        "argv": [python(), "-m", "fpliif", *argv],
        "mount": str(mnt),
        "size_mb": SIZE_MB,
        "fault": fault[:6],
        "timeout": 180,
        "folder": str(folder),
        "before_start": fault == "erofs-start",
        "leave": 4096 if fault == "enospc-4k" else 0,
    }


def _complete(folder: Path, names: list[str]) -> bool:
    """Every listed result file exported and parseable (JSON) or non-empty (CSV)."""
    for n in names:
        p = folder / n
        if not p.exists() or p.stat().st_size == 0:
            return False
        if n.endswith(".json"):
            try:
                json.loads(p.read_text())
            except ValueError:
                return False
    return True


def _judge_train(
    fam: Family, name: str, fault: str, res: dict, folder: Path, export: Path, error: tuple[bool, str]
) -> None:
    """After a fault in training: the last good checkpoint is intact and loads, no temp file;
    ``error``: (one clear line, that line) of its stderr."""
    last, best = str(folder / "last.pt"), str(folder / "best.pt")
    loadable, epoch = checkpoint_epoch(export / "last.pt") if (export / "last.pt").exists() else (False, None)
    same = res["before"][last] == res["after"][last] is not None
    best_same = res["before"][best] == res["after"][best]
    tmp = [n for n in res["listing"] if n.startswith(".") and ".tmp" in n]
    sha = str(res["after"][last])[:12]
    fam.add(
        f"{name}: last good checkpoint intact and loadable, no temp file",
        same and best_same and loadable and not tmp,
        f"last.pt {'unchanged' if same else 'CHANGED'} since the fault (sha256 {sha}), "
        f"loads: {loadable} (epoch {epoch}); best.pt {'unchanged' if best_same else 'CHANGED'}; "
        f"temp files: {tmp or 'none'}",
    )
    if fault == "erofs":
        ok, line = error
        fam.add(
            f"{name}: the error names the file it could not write (not a temp file)",
            ok and "Read-only file system" in line and ".tmp" not in line,
            line,
        )


def _judge_eval(fam: Family, name: str, fault: str, res: dict, export: Path) -> None:
    """After a fault in evaluation: earlier results intact, or no half-written result file."""
    if fault == "erofs":
        changed = [Path(p).name for p in res["before"] if res["before"][p] != res["after"][p]]
        fam.add(
            f"{name}: the earlier results are intact",
            not changed,
            f"changed: {changed}" if changed else "results.json, metrics.csv, per_image.csv unchanged",
        )
    else:
        partial = [n for n in res["listing"] if n.endswith((".json", ".csv")) and n != "skipped.json"]
        fam.add(
            f"{name}: no half-written result file left",
            not partial or _complete(export, partial),
            f"files left: {partial or 'none'}",
        )


def run_real(
    fam: Family,
    work: Path,
    way: Way,
    cases: list[tuple[str, str, str]],
    *,
    train: list[str],
    ev: list[str],
    prior: Path,
) -> None:
    """``cases`` (``real_cases``), each in a filesystem of its own made the ``way`` says.

    ``train``/``ev``: the ``fpliif`` arguments before ``--out``; ``prior``: a complete earlier result
    set, copied in for the read-only evaluation."""
    for name, command, fault in cases:
        name = name.replace("tmpfs", way.fs_name)
        case_dir = work / f"real-{command}-{fault}"
        export, mnt = case_dir / "export", case_dir / "mnt"
        export.mkdir(parents=True, exist_ok=True)
        mnt.mkdir(exist_ok=True)
        spec = _spec(command, fault, mnt, train, ev, prior)
        spec.update(cwd=str(case_dir), log=str(case_dir / "stdout.log"), export=str(export))
        res = run_controller(way, spec, case_dir, timeout=spec["timeout"] * 3)
        if "error" in res and res["error"].startswith("finished (exit 0)"):
            fam.na(name, "the command finished before the fault could be applied (timing); not counted")
            continue
        if "error" in res:
            fam.add(name, False, res["error"])
            continue
        ok, line = one_line_error(res["rc"], res["stderr"], command)
        cause = "No space left on device" if fault.startswith("enospc") else "Read-only file system"
        named = spec["folder"] in line
        if fault == "erofs-start":
            fam.add(
                f"{name}: one-line error naming the folder's file and '{cause}', nothing written",
                ok and cause in line and named and not res["listing"],
                f"exit {res['rc']}: {line}",
            )
            continue
        fam.add(
            f"{name}: one-line error naming the file and '{cause}'",
            ok and cause in line and named,
            f"exit {res['rc']}: {line}",
        )
        if command == "train":
            _judge_train(fam, name, fault, res, Path(spec["folder"]), export, (ok, line))
        else:
            _judge_eval(fam, name, fault, res, export)
