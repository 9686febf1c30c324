"""Table 5: the edge-aware loss weight λ, LaPa mean F1 of the comparison group's λ runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .. import paper
from ..report import Table
from .common import (
    LAPA_F1,
    caption,
    comparison,
    group_budget,
    group_metric,
    group_notes,
    mean_f1,
    not_run_table,
)

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult
    from ..runs.study import Study

NAME = "table5_edge_weight"
TITLE = "Table 5: edge-aware loss weight λ, {metric}"  # metric: common.group_metric
PAPER_SIDE = "FP-LIIF on LaPa, Table 5"


def table(
    weights: Sequence[float],
    results: Sequence[EvalResult],
    runs: Sequence[str],
    *,
    size: int,
    caption: str,
    notes: list[str] | None = None,
    metric: str = LAPA_F1,
) -> Table:
    """One row per λ: the paper's mean F1, ours (the run's evaluation at ``size``), the difference."""
    df = comparison(
        [f"{w:g}" for w in weights],
        [paper.TABLE5.get(w, math.nan) for w in weights],
        [mean_f1(r, f"at{size}") for r in results],
        index_name="λ",
        extra={"run": list(runs)},
    )
    return Table(NAME, TITLE.format(metric=metric), caption, df, notes=notes or [])


def make(study: Study) -> Table:
    (weights,) = study.need("edge_weights")
    if not weights:
        data = pd.DataFrame({"λ": [str(k) for k in paper.TABLE5.index], "paper": paper.TABLE5.values})
        return not_run_table(
            NAME, TITLE.format(metric=LAPA_F1), data, reason="edge_weights is empty", profile=study.profile
        )
    specs = [study.group_spec("ew", w) for w in weights]
    results = [study.group_eval(s) for s in specs]
    (size,) = study.need("group_eval_size")
    cap = caption(group_budget(study), profile=study.profile, paper_side=PAPER_SIDE)
    notes = group_notes(study)
    return table(
        weights,
        results,
        [s.name for s in specs],
        size=size,
        caption=cap,
        notes=notes,
        metric=group_metric(study),
    )
