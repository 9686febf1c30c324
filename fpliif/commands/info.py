"""``fpliif info``: the model's fingerprint (parameters, MACs per output size) beside the paper's."""

from __future__ import annotations

import argparse

import pandas as pd

from ..models import MODELS, build_model
from ..models.complexity import PAPER_GMACS, PAPER_PARAMS, PAPER_UNET_PARAMS, count_macs, count_parameters


def fingerprint_table(name: str = "fpliif", num_classes: int = 11, input_size: int = 256) -> pd.DataFrame:
    """One row per output size: our MACs (G) beside Table 6's, and the relative difference."""
    model = build_model(name, num_classes=num_classes)
    rows = []
    for size, paper in PAPER_GMACS.items():
        ours = count_macs(model, input_size=input_size, out_size=size) / 1e9
        rows.append(
            {
                "out_size": size,
                "gmacs": round(ours, 2),
                "paper_gmacs": paper,
                "diff_%": round(100 * (ours / paper - 1), 2),
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
        print("multiply-accumulates for a 256x256 input (paper: Table 6):")
        print(fingerprint_table(args.model, args.num_classes).to_string(index=False))
    return 0
