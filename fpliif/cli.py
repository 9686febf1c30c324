"""The ``fpliif`` command line: ``fpliif <command> --help`` shows each command's options and defaults.

Each command lives next to the code it drives; a module listed in ``COMMANDS`` provides
``configure(parser)`` (adds the arguments) and ``run(args) -> int`` (does the work). Only the
module of the command being run is imported, so ``fpliif --help`` answers without loading torch.
Errors a user can act on are printed as one line with a non-zero exit; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import FpliifError

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("fpliif.engine.train", "train a model (the paper's recipe; runs under torchrun for DDP)"),
    "eval": ("fpliif.engine.evaluate", "score a checkpoint: F1/IoU per class and size, X->256 rows"),
    "predict": ("fpliif.engine.predict", "label maps and overlays for any image"),
    "info": ("fpliif.commands.info", "model fingerprint: parameters and MACs beside the paper's"),
    "bench": (
        "fpliif.bench.cli",
        "speed here: FP-LIIF (fast, eager, onnxruntime) and peers vs the matmul peak",
    ),
    "export": ("fpliif.export", "write an ONNX model at a fixed output size, checked with onnxruntime"),
    "synth": ("fpliif.data.synth.command", "draw a SynthFaces dataset (LaPa or CelebAMask-HQ layout)"),
    "prepare": ("fpliif.data.prepare", "merge CelebAMask-HQ's part masks into label maps and splits"),
    "run": ("fpliif.runs.cli", "run the notebooks of a profile (smoke, quick, demo, paper) into results/"),
    "robustness": ("fpliif.robustness", "faults and bad input, tried for real: results/robustness.md"),
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults and keeps the epilog's line breaks."""


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; only the commands in ``only`` (all when None) get their
    options, which needs their modules imported."""
    parser = argparse.ArgumentParser(prog="fpliif", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fpliif {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
        if only is None or name in only:
            mod = importlib.import_module(module)
            mod.configure(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=[chosen] if chosen in COMMANDS else [])
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("fpliif: interrupted", file=sys.stderr)
        return 130
    except (FpliifError, OSError, ValueError, KeyError, RuntimeError) as exc:
        if args.debug:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"fpliif {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
