"""The ``fpliif bench`` command: options (``configure``), the run, its records and the targets table
(``run``)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine.evaluate import adaptive_settings, add_adaptive_options
from ..fileio import atomic_write
from ..models.adaptive import AdaptiveSettings
from ..precision import DTYPES, EMULATED_BF16, native_bf16
from .config import BenchConfig
from .quality import quality_check
from .suite import run_bench
from .summary import summary
from .timing import load_average


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.replace(",", " ").split())


def _names(text: str) -> tuple[str, ...]:
    return tuple(t for t in text.replace(",", " ").split())


def _help(text: str) -> str:
    """Help for an option whose default depends on --quick: states it itself ("%(default).0s"
    prints nothing but stops argparse from appending "(default: None)")."""
    return text + "%(default).0s"


def configure(p: argparse.ArgumentParser) -> None:
    full, quick = BenchConfig(), BenchConfig.quick_config()

    def both(field_name: str) -> str:
        f, q = getattr(full, field_name), getattr(quick, field_name)
        show = lambda v: (",".join(map(str, v)) or "none") if isinstance(v, tuple) else str(v)  # noqa: E731
        return f" (default {show(f)}; with --quick {show(q)})"

    p.add_argument("--out", type=Path, default=None, help="write the records to this JSON file")
    p.add_argument(
        "--device", default="cpu", help="cpu or cuda[:N] (on CUDA the dtypes default to fp32,fp16,bf16)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help=_help("CPU threads (default: every core this process may use)"),
    )
    p.add_argument("--sizes", type=_ints, default=None, help=_help("FP-LIIF output sizes" + both("sizes")))
    p.add_argument("--batches", type=_ints, default=None, help=_help("batch sizes" + both("batches")))
    p.add_argument("--dtypes", type=_names, default=None, help=_help("fp32, bf16, fp16" + both("dtypes")))
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=_help("timed calls per row; the median is reported" + both("repeats")),
    )
    p.add_argument(
        "--warmup", type=int, default=None, help=_help("untimed calls before timing" + both("warmup"))
    )
    p.add_argument("--models", type=_names, default=None, help=_help("models" + both("models")))
    p.add_argument("--backends", type=_names, default=None, help=_help("FP-LIIF backends" + both("backends")))
    p.add_argument(
        "--eager-batches",
        type=_ints,
        default=None,
        help=_help("batches of the eager FP-LIIF rows" + both("eager_batches")),
    )
    p.add_argument(
        "--peer-batches",
        type=_ints,
        default=None,
        help=_help("batches of the peer rows" + both("peer_batches")),
    )
    p.add_argument(
        "--pair-repeats",
        type=int,
        default=None,
        help=_help("rounds of the interleaved ratio pairs, 0 to skip" + both("pair_repeats")),
    )
    p.add_argument("--no-memory", action="store_true", help="skip the 2048x2048 memory probe")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the fast path's encoder (time it compiled)"
    )
    p.add_argument(
        "--quick", action="store_true", help="a seconds-long subset: FP-LIIF at 64, batch 1, no peers"
    )
    q = p.add_argument_group(
        "quality", "also score a checkpoint's test mean F1 through the fp32 and bf16 paths"
    )
    q.add_argument("--quality-checkpoint", type=Path, default=None, help="an fpliif checkpoint")
    q.add_argument(
        "--quality-dataset", default=None, help="dataset name for fpliif.data.build_dataset (e.g. lapa)"
    )
    q.add_argument("--quality-root", type=Path, default=None, help="the dataset's folder")
    q.add_argument("--quality-split", default="test", help="split to score")
    a = p.add_argument_group(
        "adaptive decoding",
        "the fast path's adaptive decoding beside its dense decoding, on the same model and images",
    )
    a.add_argument(
        "--adaptive-sizes",
        type=_ints,
        default=None,
        help=_help("output sizes of the adaptive rows, 0 for none" + both("adaptive_sizes")),
    )
    add_adaptive_options(a)
    a.add_argument(
        "--adaptive-checkpoint",
        type=Path,
        default=None,
        help="time, and score (test mean F1, dense vs adaptive), this checkpoint (.pt or weights "
        "folder) on its test images (default: random weights and images)%(default).0s",
    )
    a.add_argument("--adaptive-dataset", default=None, help="the checkpoint's dataset name (e.g. synth)")
    a.add_argument("--adaptive-root", type=Path, default=None, help="the dataset's folder")
    a.add_argument(
        "--adaptive-images",
        type=int,
        default=None,
        help=_help("test images the timed rows cycle through" + both("adaptive_images")),
    )
    a.add_argument(
        "--adaptive-quality-limit",
        type=int,
        default=None,
        help="test images the F1 check scores (default: the whole split)%(default).0s",
    )


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The ``BenchConfig`` of the command line (the ``--quick`` subset or the full run, overridden)."""
    over: dict[str, Any] = {
        "device": args.device,
        "threads": args.threads,
        "sizes": args.sizes,
        "batches": args.batches,
        "dtypes": args.dtypes,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "models": args.models,
        "backends": args.backends,
        "eager_batches": args.eager_batches,
        "peer_batches": args.peer_batches,
        "pair_repeats": args.pair_repeats,
        "compile": args.compile or None,
        "adaptive_images": args.adaptive_images,
    }
    if args.device.startswith("cuda") and args.dtypes is None:
        over["dtypes"] = ("fp32", "fp16", "bf16")
    if args.quick:
        cfg = BenchConfig.quick_config(**over)
    else:
        cfg = BenchConfig(**{k: v for k, v in over.items() if v is not None})
    if args.no_memory:
        cfg.memory_size = None
    if args.adaptive_sizes is not None:
        cfg.adaptive_sizes = tuple(s for s in args.adaptive_sizes if s > 0)
    cfg.adaptive_settings = adaptive_settings(args)
    if args.adaptive_checkpoint is not None:
        if args.adaptive_dataset is None or args.adaptive_root is None:
            raise ValueError("--adaptive-checkpoint needs --adaptive-dataset and --adaptive-root")
        cfg.adaptive_checkpoint = args.adaptive_checkpoint
        cfg.adaptive_dataset, cfg.adaptive_root = args.adaptive_dataset, args.adaptive_root
        cfg.adaptive_quality_limit = args.adaptive_quality_limit
    for d in cfg.dtypes:
        if d not in DTYPES:
            raise ValueError(f"unknown dtype {d!r}; choose from {', '.join(DTYPES)}")
    return cfg


def print_targets(records: Sequence[dict[str, Any]], cfg: BenchConfig) -> None:
    """The summary's targets, one line each, at the sizes of the run's upscale rows."""
    print("targets (batch 1):")
    sizes = {"size": cfg.upscale[1], "small": cfg.upscale[0]} if cfg.upscale else {}
    for row in summary(records, **sizes):
        met = {True: "met", False: "NOT met", None: "not measured"}[row["met"]]
        if row["reference"]:
            met = "context, no goal" if row["goal"] != row["goal"] else f"reference, {met}"
        noisy = "  (noisy: other processes were busy; re-run on a quiet machine)" if row["noisy"] else ""
        bound = f"  [{row['bound_note']}: {row['bound']:.2f}]" if row["bound_note"] else ""
        if row["method"] == "interleaved pair":
            bound += f"  [interleaved; separate rows: {row['value_rows']:.2f}]"
        print(f"  {row['target']:68s} {row['value']:10.3f}  goal {row['goal']:.4g}  {met}{noisy}{bound}")


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.quality_checkpoint is not None and (args.quality_dataset is None or args.quality_root is None):
        raise ValueError("--quality-checkpoint needs --quality-dataset and --quality-root")
    t0 = time.perf_counter()
    records = run_bench(cfg, log=lambda s: print(s, flush=True))
    if args.quality_checkpoint is not None and not native_bf16(cfg.device):
        print(f"quality: not measured (it compares bf16 with fp32): {EMULATED_BF16}")
    elif args.quality_checkpoint is not None:
        res = quality_check(
            args.quality_checkpoint,
            args.quality_dataset,
            args.quality_root,
            split=args.quality_split,
            device=cfg.device,
        )
        records.append({"kind": "quality", "model": "checkpoint", "backend": "fast", **res})
        print(f"quality: mean F1 {res['mean_f1']} -> bf16 - fp32 = {res['delta_points']:+.3f} points")
    if cfg.adaptive_checkpoint is not None:
        from .adaptive import adaptive_quality

        for dtype in cfg.dtypes:
            (res,) = adaptive_quality(
                cfg.adaptive_checkpoint,
                str(cfg.adaptive_dataset),
                cfg.adaptive_root,  # type: ignore[arg-type]
                settings=(cfg.adaptive_settings or AdaptiveSettings(),),
                dtype=dtype,
                limit=cfg.adaptive_quality_limit,
                device=cfg.device,
            )
            records.append(res)
            print(
                f"adaptive quality ({dtype}, {res['images']} images): mean F1 {res['mean_f1']} -> "
                f"adaptive - dense = {res['delta_points']:+.3f} points, {100 * res['agreement']:.2f}% agree, "
                f"{100 * res['share_queried']:.1f}% of pixels queried"
            )
    wall = time.perf_counter() - t0
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, json.dumps(records, indent=1, default=float))
        print(f"wrote {len(records)} records to {args.out}")
    print_targets(records, cfg)
    print(f"bench wall time {wall:.0f}s, load average now {load_average()}")
    return 0
