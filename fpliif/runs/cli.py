"""The ``fpliif run`` command: ``configure(parser)`` and ``run(args)``.

fpliif run quick                         # the README's main command: every notebook -> results/quick/
fpliif run demo --only table1 table5     # a subset (every notebook also runs alone)
fpliif run paper --dry-run               # check parameters and paths; say what would run
fpliif run real --data data/celebamask-subset   # every notebook on a real CelebAMask-HQ subset
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from . import notebooks
from .notebooks import select_notebooks
from .paths import resolve
from .plan import dry_run
from .profiles import load_profile
from .runner import NotebookFailed, run_notebooks


def configure(p: argparse.ArgumentParser) -> None:
    p.epilog = "notebooks, in order:\n" + "\n".join(f"  {n}" for n in notebooks.NOTEBOOKS)
    p.add_argument("profile", help="smoke, quick, demo, real, paper (configs/profiles/) or a YAML path")
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these notebooks (name or prefix)%(default).0s"
    )
    p.add_argument(
        "--out",
        default=None,
        help="results folder (default: the profile's out, results/<profile>)%(default).0s",
    )
    p.add_argument(
        "-p",
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile parameter (VALUE parsed as YAML), e.g. -p epochs=1 (repeatable)",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="the main data's folder (the profile's root; also celeb_root where the two are one folder)",
    )
    p.add_argument("--dry-run", action="store_true", help="check parameters and paths; say what would run")
    p.add_argument(
        "--kernel",
        default=None,
        help="Jupyter kernel name (default: python3, this environment's)%(default).0s",
    )
    p.add_argument("--log-output", action="store_true", help="stream the notebooks' outputs to the terminal")


def data_overrides(profile: str, folder: str | None) -> list[str]:
    """``-p`` overrides that point a profile's main data (and Table 2's, when it is the same folder)
    at ``folder``."""
    if folder is None:
        return []
    params = load_profile(profile)
    over = [f"root={json.dumps(folder)}"]
    if params.get("celeb_root") is not None and params.get("celeb_root") == params.get("root"):
        over.append(f"celeb_root={json.dumps(folder)}")
    return over


def run(args: argparse.Namespace) -> int:
    args.params = [*data_overrides(args.profile, args.data), *args.params]
    if args.dry_run:
        params = load_profile(args.profile, args.params)
        if args.out is not None:
            params["out"] = args.out
        lines, problems = dry_run(params, select_notebooks(args.only), profile=args.profile)
        print("\n".join(lines))
        if problems:
            print(f"\n{len(problems)} problem(s) - this profile would not run here as it is:")
            print("\n".join(f"  - {p}" for p in problems))
            return 1
        print("\nno problems found")
        return 0
    try:
        run_notebooks(
            args.profile,
            only=args.only,
            out=args.out,
            overrides=args.params,
            kernel=args.kernel,
            log_output=args.log_output,
        )
    except NotebookFailed:
        if getattr(args, "debug", False):
            _print_failure_traceback(args)
        raise
    return 0


def _print_failure_traceback(args: argparse.Namespace) -> None:
    with contextlib.suppress(Exception):
        params = load_profile(args.profile, args.params)
        out = resolve(args.out or params.get("out") or f"results/{args.profile}")
        manifest = json.loads((out / "manifest.json").read_text())
        for entry in manifest["notebooks"].values():
            if entry.get("status") == "failed" and entry.get("traceback"):
                print(entry["traceback"], file=sys.stderr)


__all__ = ["configure", "run"]
