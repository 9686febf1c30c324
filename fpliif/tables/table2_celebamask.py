"""Table 2: CelebAMask-HQ, per-class F1, with the lower-resolution rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import paper
from ..report import Table
from .common import NOT_RUN, caption, data_notes, describe, eval_text, ours_rows, per_class_table

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult
    from ..runs.study import Study

PAPER_SIDE = "FP-LIIF trained on CelebAMask-HQ with the paper's recipe (Table 2)"


def table(result: EvalResult, *, caption: str, notes: list[str] | None = None) -> Table:
    """Table 2 from an evaluation of the (first) CelebAMask-HQ run."""
    ours = ours_rows(result, [*paper.CELEBAMASK_COLUMNS, "mean"])
    return per_class_table(2, ours, caption=caption, notes=notes or [])


def make(study: Study) -> Table:
    spec = study.celeb_spec()
    if spec is None:
        cap = caption(f"{NOT_RUN} (celeb_dataset or celeb_seeds unset)", profile=study.profile)
        return per_class_table(2, {}, caption=cap)
    data, run, result = study.data.celeb(), study.run(spec), study.celeb_eval()
    cap = caption(f"{describe(run, data)}; {eval_text(result)}", profile=study.profile, paper_side=PAPER_SIDE)
    return table(result, caption=cap, notes=data_notes(data))
