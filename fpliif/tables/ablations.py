"""Section 5.1 ablations: LaPa mean F1 of the comparison group's variants beside the paper's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .. import paper
from ..report import Table
from ..runs.study import ABLATION_LABELS
from .common import (
    LAPA_F1,
    NOT_RUN,
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

NAME = "ablations"
TITLE = "Section 5.1 ablations: {metric}"  # metric: common.group_metric
PAPER_SIDE = "FP-LIIF on LaPa, section 5.1 (no-ensemble: not reported)"
# variant -> the model name of its row in paper.ABLATIONS
PAPER_KEYS = {
    "base": "fpliif",
    "nonorm": "fpliif-nonorm",
    "bn": "fpliif-bn",
    "unet": "fpliif-unet",
    "noens": "fpliif-noens",
}


def table(
    names: Sequence[str],
    results: Sequence[EvalResult | None],
    parameters: Sequence[int | None],
    runs: Sequence[str],
    *,
    size: int,
    caption: str,
    notes: list[str] | None = None,
    metric: str = LAPA_F1,
) -> Table:
    """One row per variant (``base`` and the ablation names): the paper's mean F1, ours (the run's
    evaluation at ``size``; None: not run), the difference, the model's parameters and the run."""
    df = comparison(
        [ABLATION_LABELS.get(n, n) for n in names],
        [paper.ABLATIONS.get(PAPER_KEYS.get(n, n), math.nan) for n in names],
        [math.nan if r is None else mean_f1(r, f"at{size}") for r in results],
        index_name="variant",
        extra={"params (M)": [math.nan if p is None else p / 1e6 for p in parameters], "run": list(runs)},
    )
    return Table(
        NAME, TITLE.format(metric=metric), caption, df, column_decimals={"params (M)": 3}, notes=notes or []
    )


def not_run(profile: str) -> Table:
    labels = [
        ABLATION_LABELS.get(k.replace("fpliif-", "").replace("fpliif", "base"), k)
        for k in paper.ABLATIONS.index
    ]
    data = pd.DataFrame({"variant": labels, "paper": paper.ABLATIONS.values})
    return not_run_table(
        NAME, TITLE.format(metric=LAPA_F1), data, reason="ablations is empty", profile=profile
    )


def make(study: Study) -> Table:
    (ablations,) = study.need("ablations")
    if not ablations:
        return not_run(study.profile)
    base, _ = study.group_base()
    names = ["base", *ablations]
    specs = [base if n == "base" else study.group_spec("ablation", n) for n in names]
    runs = [study.run(s, records_only=True) for s in specs]
    results = [study.group_eval(s) for s in specs]
    (size,) = study.need("group_eval_size")
    cap = caption(group_budget(study), profile=study.profile, paper_side=PAPER_SIDE)
    # the paper's variants this profile leaves out keep their row, with the paper's number only
    skipped = [k for k in PAPER_KEYS if k not in names]
    notes = group_notes(study)
    if skipped:
        labels = ", ".join(ABLATION_LABELS.get(k, k) for k in skipped)
        notes.append(f"{labels}: {NOT_RUN} (not in the ablations parameter)")
    return table(
        [*names, *skipped],
        [*results, *[None] * len(skipped)],
        [*(r.parameters() for r in runs), *[None] * len(skipped)],
        [*(s.name for s in specs), *["—"] * len(skipped)],
        size=size,
        caption=cap,
        notes=notes,
        metric=group_metric(study),
    )
