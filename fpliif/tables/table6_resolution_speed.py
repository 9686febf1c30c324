"""Table 6: one 256x256 input decoded at each output size: the paper's GFLOPs and A100 FPS beside our
exact MAC count and the bench's speeds here; with the bench's adaptive rows (beyond the paper), the
adaptive decoding's speed, share of pixels queried and agreement with dense beside them."""

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

TITLE = "Table 6: output size, cost and speed"
PAPER_SIDE = "Table 6, A100, 256x256 input"
GMACS_NOTE = (
    "The paper's 'GFLOPs' are multiply-accumulates counted as fvcore counts them on the 19-class model "
    "(norms at 5 operations per element, the global pool at 1): 'GMACs ours, paper's count' counts ours "
    "that way and 'diff (%)' compares it with the paper; 'GMACs ours, conv+matmul' is conv and matmul "
    'multiply-accumulates alone on the 11-class model (docs/paper.md, "Counting operations"); 512 is '
    "ours only."
)
ADAPTIVE_NOTE = (
    "Adaptive decoding is beyond the paper (docs/paper.md, 'Adaptive decoding'): a coarse grid, exact "
    "queries only where it is uncertain. 'adaptive / dense' is its FPS over the dense fast path's on "
    "the same model and images; 'pixels queried' counts every grid's queries over the output pixels; "
    "'agree' is the share of pixels with the dense label. Measured on {source}."
)


def _adaptive_row(
    records: Sequence[Mapping[str, Any]], backend: str, size: int, dtype: str
) -> Mapping | None:
    """The bench's adaptive (or its dense companion) row at ``size``, any model, or None."""
    return latency(records, None, size, backend=backend, dtype=dtype)


def _adaptive_columns(records: Sequence[Mapping[str, Any]], size: int) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for dtype in ("fp32", "bf16"):
        a, d = _adaptive_row(records, "adaptive", size, dtype), _adaptive_row(records, "dense", size, dtype)
        row[f"FPS here, adaptive {dtype}"] = a["fps"] if a else math.nan
        row[f"adaptive / dense, {dtype}"] = a["fps"] / d["fps"] if a and d else math.nan
    a = _adaptive_row(records, "adaptive", size, "fp32") or _adaptive_row(records, "adaptive", size, "bf16")
    row["adaptive: pixels queried (%)"] = 100 * a["share_queried"] if a else math.nan
    row["adaptive: agree with dense (%)"] = 100 * a["agreement"] if a else math.nan
    return row


def _size_row(
    records: Sequence[Mapping[str, Any]], size: int, as_paper: float, macs: float
) -> dict[str, Any]:
    p = paper.TABLE6.loc[size] if size in paper.TABLE6.index else None
    recs = {
        "fast fp32": latency(records, "fpliif", size),
        "fast bf16": latency(records, "fpliif", size, dtype="bf16"),
        "eager fp32": latency(records, "fpliif", size, backend="eager"),
    }
    return {
        "output size": str(size),
        "GFLOPs paper": p.gflops if p is not None else math.nan,
        "GMACs ours, paper's count": as_paper,
        "diff (%)": relative_diff(as_paper, p.gflops if p is not None else math.nan),
        "GMACs ours, conv+matmul": macs,
        "FPS paper (A100)": p.fps_a100 if p is not None else math.nan,
        **{f"FPS here, {k}": (r["fps"] if r else math.nan) for k, r in recs.items()},
        "GFLOP/s here, fast fp32": recs["fast fp32"]["gflops_per_s"] if recs["fast fp32"] else math.nan,
    }


def table(records: Sequence[Mapping[str, Any]], *, bench_args: Sequence[str], profile: str) -> Table:
    """Table 6 from the bench's records: one row per output size, then the 64->256 rows."""
    from ..models import build_model
    from ..models.complexity import PAPER_COUNTED_CLASSES, count_macs

    model = build_model("fpliif", num_classes=11).to("meta")
    counted = build_model("fpliif", num_classes=PAPER_COUNTED_CLASSES).to("meta")
    rows = [
        _size_row(
            records,
            s,
            count_macs(counted, input_size=256, out_size=s, convention="paper") / 1e9,
            count_macs(model, input_size=256, out_size=s) / 1e9,
        )
        for s in [*paper.TABLE6.index, 512]
    ]
    for dtype in ("fp32", "bf16"):
        r = latency(records, "fpliif", 256, dtype=dtype, pred=64)
        e = latency(records, "fpliif", 256, backend="eager", dtype=dtype, pred=64)
        if r or e:
            row = {"output size": f"64->256 ({dtype})", "GMACs ours, conv+matmul": (r or e)["paper_gmacs"]}
            if r:
                row[f"FPS here, fast {dtype}"] = r["fps"]
            if e and dtype == "fp32":
                row["FPS here, eager fp32"] = e["fps"]
            rows.append(row)
    measured = sorted(
        {r["out_size"] for r in records if r.get("kind") == "latency" and r["model"] == "fpliif"}
    )
    notes = [
        GMACS_NOTE,
        f"Output sizes measured by the bench in this profile: {measured or 'none'}; others empty.",
    ]
    adaptive = [r for r in records if r.get("kind") == "latency" and r.get("backend") == "adaptive"]
    if adaptive:
        sizes = {int(r["output size"]): r for r in rows if str(r["output size"]).isdigit()}
        for size in sorted({r["out_size"] for r in adaptive}):
            if size not in sizes:  # e.g. 1024: the dense fast path on the adaptive rows' model
                d32 = _adaptive_row(records, "dense", size, "fp32")
                sizes[size] = {
                    "output size": str(size),
                    "FPS here, fast fp32": d32["fps"] if d32 else math.nan,
                }
                after = [i for i, r in enumerate(rows) if str(r["output size"]).isdigit()]
                rows.insert(after[-1] + 1, sizes[size])
            sizes[size].update(_adaptive_columns(records, size))
        notes.append(ADAPTIVE_NOTE.format(source=adaptive[0].get("source", "the bench's model")))
    cap = caption(
        f"exact MAC counts in both conventions; {bench_note(records, bench_args)}",
        profile=profile,
        paper_side=PAPER_SIDE,
    )
    columns = list(dict.fromkeys(k for r in rows for k in r))
    df = pd.DataFrame(rows, columns=columns)
    dec = {"FPS paper (A100)": 0, "GFLOP/s here, fast fp32": 1}
    dec |= {c: 2 for c in columns if c.startswith("adaptive")}
    return Table("table6_resolution_speed", TITLE, cap, df, column_decimals=dec, notes=notes)


def make(study: Study) -> Table:
    records = study.bench()
    args = study.bench_args()
    return table(records, bench_args=args, profile=study.profile)
