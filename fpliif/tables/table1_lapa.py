"""Table 1: LaPa, per-class F1, with the lower-resolution rows (the paper's "Ours" rows beside ours)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import paper
from ..report import Table
from .common import (
    NOT_RUN,
    caption,
    data_notes,
    describe,
    eval_text,
    ours_rows,
    per_class_table,
)

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult
    from ..runs.study import Study

PAPER_SIDE = "FP-LIIF trained on LaPa with the paper's recipe (A100s, 400 epochs)"


def table(result: EvalResult, *, caption: str, notes: list[str] | None = None) -> Table:
    """Table 1 from an evaluation of the main run (every protocol key that names a paper row)."""
    ours = ours_rows(result, [*paper.LAPA_COLUMNS, "mean"])
    return per_class_table(1, ours, caption=caption, notes=notes or [])


def make(study: Study) -> Table:
    if study.main_is_celebamask():
        cap = caption(f"{NOT_RUN}: the main run trains on CelebAMask-HQ (Table 2)", profile=study.profile)
        return per_class_table(1, {}, caption=cap)
    data, run, result = study.data.main(), study.main_run(), study.main_eval()
    cap = caption(f"{describe(run, data)}; {eval_text(result)}", profile=study.profile, paper_side=PAPER_SIDE)
    return table(result, caption=cap, notes=data_notes(data))
