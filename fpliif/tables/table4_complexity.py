"""Table 4: parameters, multiply-accumulates and speed of FP-LIIF and its peers beside the paper's.

Parameters and MACs are counted exactly on the models (hardware-independent); the speeds are the
bench's records on this machine, beside the paper's A100 FPS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import paper
from ..report import Table
from .common import bench_note, caption, latency, relative_diff

if TYPE_CHECKING:
    from ..runs.study import Study

TITLE = "Table 4: size and speed"
OURS = (
    "parameters (11 classes) and multiply-accumulates counted exactly on the models (hardware-independent; "
    "fpliif.models.complexity, 256x256 input and output): 'paper's count' as the paper counted (fvcore's "
    "convention, on the 19-class model), 'conv+matmul' conv and matmul multiply-accumulates alone "
    "(11 classes)"
)
PAPER_SIDE = 'Table 4 and docs/paper.md, "Counting operations" (GFLOPs are multiply-accumulates)'
# params (M), GMACs counted as the paper counts (19 classes), GMACs conv+matmul (11 classes), latency
Measured = tuple[float, float, float, Mapping[str, Any] | None]


def measured(
    records: Sequence[Mapping[str, Any]],
    name: str,
    bench_name: str,
    input_size: int = 256,
    out_size: int = 256,
) -> Measured:
    """Our 11-class ``name``: parameters (M), GMACs at ``input_size`` -> ``out_size`` in the paper's
    convention (on the 19-class model, as the paper counted) and as conv and matmul multiply-accumulates,
    and the bench's latency record of ``bench_name`` (fast, else eager; a peer timed at its own size
    otherwise)."""
    from ..models import build_model
    from ..models.complexity import PAPER_COUNTED_CLASSES, count_macs, count_parameters

    model = build_model(name, num_classes=11).to("meta")
    macs = count_macs(model, input_size=input_size, out_size=out_size) / 1e9
    counted = build_model(name, num_classes=PAPER_COUNTED_CLASSES).to("meta")
    as_paper = count_macs(counted, input_size=input_size, out_size=out_size, convention="paper") / 1e9
    rec = latency(records, bench_name, out_size) or latency(records, bench_name, out_size, backend="eager")
    if rec is None and bench_name != name:  # a peer timed at its own size (BiSeNet: 512)
        rec = next(
            (
                r
                for r in records
                if r.get("kind") == "latency"
                and r["model"] == bench_name
                and r["dtype"] == "fp32"
                and r["batch"] == 1
            ),
            None,
        )
    return count_parameters(model) / 1e6, as_paper, macs, rec


def _measured_as(rec: Mapping[str, Any] | None) -> str:
    if not rec:
        return ""
    return f"{rec['backend']} {rec['dtype']} b1 {rec['input_size']}->{rec['out_size']}"


def _row(
    label: str, paper_params: float, paper_gflops: float, paper_fps: float, ours: Measured | None
) -> dict:
    params, as_paper, macs, rec = ours if ours else (math.nan, math.nan, math.nan, None)
    return {
        "model": label,
        "params paper (M)": paper_params,
        "params ours (M)": params,
        "params diff (%)": relative_diff(params, paper_params),
        "GFLOPs paper": paper_gflops,
        "GMACs ours, paper's count": as_paper,
        "GMACs diff (%)": relative_diff(as_paper, paper_gflops),
        "GMACs ours, conv+matmul": macs,
        "FPS paper (A100)": paper_fps,
        "FPS here": rec["fps"] if rec else math.nan,
        "GFLOP/s here": rec["gflops_per_s"] if rec else math.nan,
        "measured as": _measured_as(rec),
    }


def table(
    records: Sequence[Mapping[str, Any]], *, peer: str | None, bench_args: Sequence[str], profile: str
) -> Table:
    """Table 4 from the bench's records; ``peer``: the light peer of Table 9 (a row of its own)."""
    from ..models.complexity import PAPER_UNET_PARAMS

    t4 = paper.TABLE4
    row = t4.loc["FP-LIIF (ours)"]
    rows = [
        _row("FP-LIIF", row.params_m, row.gflops, row.fps_a100, measured(records, "fpliif", "fpliif")),
        _row(
            "FP-LIIF, U-Net decoder (5.1)",
            PAPER_UNET_PARAMS / 1e6,
            math.nan,
            math.nan,
            measured(records, "fpliif-unet", "fpliif-unet"),
        ),
    ]
    notes = [paper.TABLE4_NOTE]
    if peer:
        bench_name = "bisenet" if peer.startswith("bisenet") else peer
        ours = measured(records, peer, bench_name)
        rows.append(_row(f"{peer} (Table 9's light peer)", math.nan, math.nan, math.nan, ours))
        notes.append(
            f"{peer}: parameters and MACs of the 11-class model at 256x256 as trained here; its speed "
            "comes from the bench's 'bisenet' row where measured (BiSeNet V1/ResNet-18 at the "
            "bench's own input size, see 'measured as')."
        )
    for name in ("DML_CSR", "EAGR", "AGRNet", "FARL"):
        r = t4.loc[name]
        rows.append(_row(name, r.params_m, r.gflops, r.fps_a100, None))
    if not any(r for r in records if r.get("kind") == "latency" and r.get("out_size") == 256):
        notes.append("FPS at 256 not measured in this profile (see Table 6 for the sizes the bench ran).")
    cap = caption(f"{OURS}; {bench_note(records, bench_args)}", profile=profile, paper_side=PAPER_SIDE)
    dec = {
        "params paper (M)": 2,
        "params ours (M)": 3,
        "FPS paper (A100)": 0,
        "GFLOP/s here": 1,
        "FPS here": 2,
    }
    return Table(
        "table4_complexity", TITLE, cap, pd.DataFrame(rows), decimals=2, column_decimals=dec, notes=notes
    )


def make(study: Study) -> Table:
    (peer,) = study.need("baseline_model")
    records = study.bench()
    args = study.bench_args()
    return table(records, peer=peer, bench_args=args, profile=study.profile)
