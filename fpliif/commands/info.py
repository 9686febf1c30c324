"""``fpliif info``: the model's fingerprint (parameters, MACs per output size) beside the paper's."""

from __future__ import annotations

import argparse

import pandas as pd

from ..models import MODELS, build_model
from ..models.complexity import (
    PAPER_COUNTED_CLASSES,
    PAPER_GMACS,
    PAPER_PARAMS,
    PAPER_UNET_PARAMS,
    count_macs,
    count_parameters,
)


def fingerprint_table(name: str = "fpliif", num_classes: int = 11, input_size: int = 256) -> pd.DataFrame:
    """One row per output size: Table 6's GMACs beside ours in both counting conventions.

    ``paper_convention``: norms and the global pool counted as fvcore does, on the 19-class model the
    paper counted (``diff_%`` compares it with Table 6); ``macs``: conv and matmul multiply-accumulates
    of the model asked for (``num_classes``)."""
    model = build_model(name, num_classes=num_classes)
    counted = build_model(name, num_classes=PAPER_COUNTED_CLASSES)
    rows = []
    for size, paper in PAPER_GMACS.items():
        as_paper = count_macs(counted, input_size=input_size, out_size=size, convention="paper") / 1e9
        macs = count_macs(model, input_size=input_size, out_size=size) / 1e9
        rows.append(
            {
                "out_size": size,
                "paper_gmacs": paper,
                f"paper_convention_{PAPER_COUNTED_CLASSES}cls": round(as_paper, 2),
                "diff_%": round(100 * (as_paper / paper - 1), 2),
                f"macs_{num_classes}cls": round(macs, 2),
            }
        )
    return pd.DataFrame(rows)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="fpliif", choices=MODELS.names(), help="registered model name")
    p.add_argument("--num-classes", type=int, default=11, help="number of label classes")


def run(args: argparse.Namespace) -> int:
    model = build_model(args.model, num_classes=args.num_classes)
    params = count_parameters(model)
    paper = PAPER_UNET_PARAMS if model.config.decoder == "unet" else PAPER_PARAMS
    diff = 100 * (params / paper - 1)
    print(f"{args.model}: {params:,} parameters (paper: {paper / 1e6:.2f} M, {diff:+.2f}%)")
    if model.config.decoder == "liif":
        print(
            "GMACs for a 256x256 input: Table 6, ours counted as the paper counted "
            f"({PAPER_COUNTED_CLASSES} classes, norms and pooling as fvcore counts them), "
            "and conv/matmul multiply-accumulates alone:"
        )
        print(fingerprint_table(args.model, args.num_classes).to_string(index=False))
    return 0
