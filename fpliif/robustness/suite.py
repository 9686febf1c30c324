"""Run the families and the ``fpliif robustness`` command (``configure``/``run``)."""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from . import checkpoints, damaged_data, disk, interrupted, notebooks, odd_images
from .common import Family, SuiteResult, short
from .report import write_report

# family name -> its module (TITLE, PASS_MEANS, run(fam, work, *, quick, seed))
MODULES: dict[str, ModuleType] = {
    "interrupted": interrupted,
    "data": damaged_data,
    "checkpoints": checkpoints,
    "predict": odd_images,
    "disk": disk,
    "notebooks": notebooks,
}
FAMILIES = tuple(MODULES)
DEFAULT_OUT = "results/robustness.md"


def run_family(name: str, work: Path, *, quick: bool = False, seed: int = 0) -> Family:
    """Run one family in ``work/<name>``; a crash of the harness itself is recorded as a failed case."""
    import logging

    import torch

    module = MODULES[name]
    fam = Family(name, module.TITLE, module.PASS_MEANS)
    start = time.perf_counter()
    logging.disable(logging.WARNING)  # the skip warnings of hundreds of damaged trees
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny workloads; several threads on a busy machine spin and crawl
    try:
        with warnings.catch_warnings():  # expected by the cases: hostile pickles, bomb-sized headers
            warnings.filterwarnings("ignore", message=".*(pickle protocol|decompression bomb).*")
            module.run(fam, work / name, quick=quick, seed=seed)
    except Exception as exc:  # noqa: BLE001
        fam.add("the family ran to its end", False, f"harness error {type(exc).__name__}: {short(exc, 400)}")
    finally:
        logging.disable(logging.NOTSET)
        torch.set_num_threads(threads)
    fam.seconds = time.perf_counter() - start
    for case in fam.cases:
        case.detail = case.detail.replace(str(work), "<work>")
    fam.evidence = [e.replace(str(work), "<work>") for e in fam.evidence]
    return fam


def run_suite(
    *,
    families: tuple[str, ...] | list[str] = FAMILIES,
    quick: bool = False,
    seed: int = 0,
    workdir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SuiteResult:
    """Run the families (in a temporary folder unless ``workdir``) and return every case."""
    from ..provenance import git_commit, hardware, now, package_versions

    start = time.perf_counter()
    meta = {"time": now(), "commit": git_commit(), "hardware": hardware(), "versions": package_versions()}
    meta["platform"] = platform.platform()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fpliif-robustness-")))
        else:
            work = Path(workdir)
            work.mkdir(parents=True, exist_ok=True)
        done = []
        for name in families:
            fam = run_family(name, work, quick=quick, seed=seed)
            done.append(fam)
            if progress:
                progress(
                    f"{name}: {fam.tried} tried, {fam.count('pass')} passed, {len(fam.unexpected)} failed, "
                    f"{fam.count('known')} known bugs, {fam.count('n/a')} n/a ({fam.seconds:.0f} s)"
                    + (f"; {fam.caveat}" if fam.caveat else "")
                )
    return SuiteResult(done, seed, quick, time.perf_counter() - start, meta)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=DEFAULT_OUT, help="the Markdown report to write")
    p.add_argument("--quick", action="store_true", help="fewer kills and real-fault launches")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill points and of the generated data")
    p.add_argument(
        "--only",
        nargs="+",
        choices=FAMILIES,
        default=argparse.SUPPRESS,
        metavar="FAMILY",
        help=f"run only these families of {', '.join(FAMILIES)} (default: all)",
    )
    p.add_argument(
        "--workdir",
        default=argparse.SUPPRESS,
        help="keep the trees and runs here (default: a temporary folder, removed)",
    )


def run(args: argparse.Namespace) -> int:
    result = run_suite(
        families=getattr(args, "only", None) or FAMILIES,
        quick=args.quick,
        seed=args.seed,
        workdir=getattr(args, "workdir", None),
        progress=lambda line: print(f"fpliif robustness: {line}", flush=True),
    )
    cmd = (
        "fpliif robustness"
        + (" --quick" if args.quick else "")
        + (f" --seed {args.seed}" if args.seed else "")
    )
    if getattr(args, "only", None):
        cmd += " --only " + " ".join(args.only)
    path = write_report(result, args.out, cmd)
    unexpected = [c for f in result.families for c in f.unexpected]
    tried = sum(f.tried for f in result.families)
    passed = sum(f.count("pass") for f in result.families)
    known = sum(f.count("known") for f in result.families)
    print(
        f"fpliif robustness: {tried} cases tried, {passed} passed, {len(unexpected)} unexplained failures, "
        f"{known} failures from known bugs; {result.seconds:.0f} s; report: {path}"
    )
    for c in unexpected:
        print(f"  FAIL {c.name}: {short(c.detail, 300)}", file=sys.stderr)
    return 1 if unexpected else 0
