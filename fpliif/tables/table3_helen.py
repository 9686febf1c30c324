"""Table 3: Helen, F1 with the set-level composites (eyes, brows, mouth, overall)."""

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

PAPER_SIDE = "FP-LIIF trained on Helen (Table 3)"
NO_HELEN = (
    "No Helen data in this profile: SynthFaces' LaPa layout uses Helen's 11 label ids "
    '(docs/paper.md, "Datasets"), so this table scores the main run on its test split with Helen\'s '
    "set-level composites (eyes, brows, mouth, overall)."
)


def table(result: EvalResult, *, caption: str, notes: list[str] | None = None) -> Table:
    """Table 3 from an evaluation at 256 with Helen's composites (its "Ours" row)."""
    ours = ours_rows(result, list(paper.HELEN_COLUMNS), rows={"at256": "Ours"})
    return per_class_table(3, ours, caption=caption, notes=notes or [])


def make(study: Study) -> Table:
    """The Helen run's Table 3 or, without Helen data, the main run's (SynthFaces uses Helen's ids)."""
    if study.data.helen() is not None:
        spec = study.helen_spec()
        if spec is None:
            return per_class_table(
                3, {}, caption=caption(f"{NOT_RUN} (helen_seeds empty)", profile=study.profile)
            )
        data, run, result = study.data.helen(), study.run(spec), study.helen_eval()
        notes: list[str] = []
    elif study.main_is_celebamask():
        reason = "no Helen data, and the main run's CelebAMask-HQ classes are not Helen's ids"
        return per_class_table(3, {}, caption=caption(f"{NOT_RUN} ({reason})", profile=study.profile))
    else:
        data, run, result = study.data.main(), study.main_run(), study.main_eval()
        notes = [NO_HELEN, *data_notes(data)]
    cap = caption(f"{describe(run, data)}; {eval_text(result)}", profile=study.profile, paper_side=PAPER_SIDE)
    return table(result, caption=cap, notes=notes)
