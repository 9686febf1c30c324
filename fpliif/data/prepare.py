"""``fpliif prepare``: turn a dataset as distributed into what ``build_dataset`` reads.

Only CelebAMask-HQ needs it (its part masks are merged into label maps); LaPa and Helen are read
as distributed. See ``fpliif.data.celebamask`` for the output layout.
"""

from __future__ import annotations

import argparse
import os
import time

from .celebamask import prepare


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", choices=["celebamask-hq"], help="dataset to prepare")
    p.add_argument(
        "--root",
        required=True,
        help="the distribution folder (CelebA-HQ-img/, CelebAMask-HQ-mask-anno/, ...)",
    )
    p.add_argument(
        "--out",
        required=True,
        help="folder for the label maps and split lists (then: build_dataset(..., OUT))",
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    p.add_argument(
        "--skip-bad", action="store_true", help="leave bad images out and write OUT/prepare-report.json"
    )


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    result = prepare(args.root, args.out, workers=args.workers, skip_bad=args.skip_bad)
    counts = ", ".join(f"{split} {n}" for split, n in result.counts.items())
    print(
        f"prepared {args.dataset} in {result.out} ({counts}): wrote {result.written} label maps "
        f"in {time.perf_counter() - start:.1f} s, kept {result.kept} from an earlier run"
    )
    if result.skipped:
        print(f"skipped {len(result.skipped)} bad images; report: {result.report}")
    return 0
