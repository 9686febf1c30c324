"""``fpliif synth``: write a SynthFaces set (see ``fpliif.data.synth``)."""

from __future__ import annotations

import argparse
import time

from .render import FORMATS
from .writer import generate


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", required=True, help="folder to write (new, empty, or an earlier run with the same settings)"
    )
    p.add_argument(
        "--format", choices=FORMATS, default="lapa", help="LaPa layout (11 classes) or CelebAMask-HQ's (19)"
    )
    p.add_argument("--n-train", type=int, default=2000, help="training images")
    p.add_argument("--n-val", type=int, default=200, help="validation images")
    p.add_argument("--n-test", type=int, default=200, help="test images")
    p.add_argument("--size", type=int, default=256, help="label map side in pixels")
    p.add_argument(
        "--image-scale",
        type=int,
        choices=(1, 2),
        default=1,
        help="image side / label side (celebamask-hq: 2 as the real set)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed; each image depends on (seed, split, index) only"
    )
    p.add_argument("--workers", type=int, default=2, help="processes")


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = generate(
        args.out,
        format=args.format,
        n_train=args.n_train,
        n_val=args.n_val,
        n_test=args.n_test,
        size=args.size,
        seed=args.seed,
        workers=args.workers,
        image_scale=args.image_scale,
        progress=True,
    )
    total = args.n_train + args.n_val + args.n_test
    print(f"wrote {total} SynthFaces images ({args.format}) to {out} in {time.perf_counter() - start:.1f} s")
    if args.format == "celebamask-hq":
        print(f"next: fpliif prepare celebamask-hq --root {out} --out {out}-prepared")
    return 0
