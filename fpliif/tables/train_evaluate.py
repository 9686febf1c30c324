"""The main run: its training curves and its evaluation under every protocol (atX and X->256)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .. import paper
from ..report import Table
from .common import caption, describe, score_columns

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult
    from ..runs.study import Study

PROTOCOLS = "mean F1 and mIoU (%) per protocol: atX decodes and scores at X; X->256 decodes at X, upscales"


def eval_tables(result: EvalResult, caption: str, name: str = "main_eval") -> tuple[Table, Table]:
    """Two tables of an evaluation: mean F1 and mIoU per protocol key (with the paper's row name),
    and F1 per class (and composite) per protocol key."""
    rows, per_class = [], []
    for key, s in result.scores.items():
        head = {"protocol": key, "paper row": paper.OURS_ROWS.get(key, "")}
        rows.append({**head, "mean F1": 100 * s["mean_f1"], "mIoU": 100 * s["miou"]})
        cols = score_columns(s, result.class_names, [*result.class_names[1:], *(s.get("composite_f1") or {})])
        per_class.append({**head, **cols})
    labels = ("protocol", "paper row")
    return (
        Table(name, f"{name}: {PROTOCOLS}", caption, pd.DataFrame(rows), labels=labels),
        Table(
            f"{name}_per_class",
            f"{name}: F1 (%) per class and protocol",
            caption,
            pd.DataFrame(per_class),
            labels=labels,
        ),
    )


def make(study: Study) -> tuple[Table, Table]:
    """The main run's evaluation tables (``main_eval``, ``main_eval_per_class``)."""
    run, result = study.main_run(), study.main_eval()
    cap = caption(
        f"{describe(run, study.data.main())}; test split, {result.meta['dtype']}", profile=study.profile
    )
    return eval_tables(result, cap)


def training_figure(study: Study):
    """Loss and validation curves of the main run (``log.jsonl``)."""
    from .. import viz

    run = study.main_run()
    return viz.training_curves({run.name: run.log}, title=f"run {run.name} ({study.profile})")
