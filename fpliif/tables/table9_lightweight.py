"""Table 9: a lightweight segmentation model beside ours. The paper's is SFNet; ours is the light
peer ``baseline_model`` trained exactly like the main run (SFNet has no maintained CPU implementation)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from .. import paper
from ..report import Table
from .common import caption, data_notes, describe, eval_text, score_columns

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult
    from ..runs.study import Study

TITLE = "Table 9: a lightweight segmentation model beside ours, F1 (%)"
PAPER_SIDE = "Table 9 (SFNet and FP-LIIF on LaPa); gap = FP-LIIF − peer"


def table(
    result: EvalResult,
    peer_result: EvalResult | None,
    *,
    peer: str | None,
    caption: str,
    notes: list[str] | None = None,
) -> Table:
    """Per class at 256: SFNet and FP-LIIF in the paper, the peer (``peer_result``; None: not run)
    and FP-LIIF (``result``) here, each pair's gap, and ours − the paper's FP-LIIF.

    A CelebAMask-HQ result (19 classes) is shown in Table 2's classes: the paper's FP-LIIF column
    then comes from Table 2 and SFNet's is empty (the paper compares the two on LaPa only)."""
    celeb = len(result.class_names) == len(paper.CELEBAMASK_COLUMNS) + 1
    headers = paper.CELEBAMASK_COLUMNS if celeb else paper.LAPA_COLUMNS
    cols = [*headers, "mean"]
    t9 = paper.TABLE9
    if celeb:
        t9 = pd.DataFrame({"SFNet": math.nan, "Ours": paper.per_class_table(2).loc["Ours"]}).reindex(cols)
    ours = score_columns(result.scores["at256"], result.class_names, cols)
    if peer_result is not None:
        light = score_columns(peer_result.scores["at256"], peer_result.class_names, cols)
    else:
        light = {c: math.nan for c in cols}
    df = pd.DataFrame(
        {
            "class": [*headers.values(), "Mean"],
            "SFNet paper": [t9.loc[c, "SFNet"] for c in cols],
            "FP-LIIF paper": [t9.loc[c, "Ours"] for c in cols],
            "gap paper": [t9.loc[c, "Ours"] - t9.loc[c, "SFNet"] for c in cols],
            f"{peer or 'peer'} ours": [light[c] for c in cols],
            "FP-LIIF ours": [ours[c] for c in cols],
            "gap ours": [ours[c] - light[c] for c in cols],
            "FP-LIIF ours − paper": [ours[c] - t9.loc[c, "Ours"] for c in cols],
        }
    )
    notes = [
        "CelebAMask-HQ: the paper's FP-LIIF column is Table 2's; the paper has no SFNet on it."
        if celeb
        else paper.TABLE9_NOTE,
        f"SFNet has no maintained CPU implementation; our light peer is {peer or '(none)'}.",
        *(notes or []),
    ]
    return Table("table9_lightweight", TITLE, caption, df, notes=notes)


def make(study: Study) -> Table:
    (peer,) = study.need("baseline_model")
    data, run, result = study.data.main(), study.main_run(), study.main_eval()
    peer_result = None
    peer_text = "; peer: not run (baseline_model unset)"
    if peer:
        peer_result = study.baseline_eval("lapa")
        peer_run = study.run(study.baseline_spec("lapa"))
        peer_text = f"; peer: run {peer_run.name}: {peer_run.describe()}"
    cap = caption(
        f"{describe(run, data)}{peer_text}; {eval_text(result)}", profile=study.profile, paper_side=PAPER_SIDE
    )
    return table(result, peer_result, peer=peer, caption=cap, notes=data_notes(data))
