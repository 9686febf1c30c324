"""Table 7: mean and standard deviation of the mean F1 over runs that differ only in their seed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .. import paper
from ..report import Table
from .common import NOT_RUN, caption, data_notes, group_budget, mean_f1

if TYPE_CHECKING:
    from ..runs.study import Study

TITLE = "Table 7: mean F1 (%) over seeds"
PAPER_SIDE = "Table 7: mean and SD of the mean F1 over runs"
HELEN_FROM_GROUP = (
    "helen: no Helen data in this profile; the group's seed runs scored with Helen's "
    "'overall' composite on the LaPa-layout test split (SynthFaces uses Helen's ids)."
)
DATASETS = ("lapa", "celebamask-hq", "helen")


def table(values: Mapping[str, Sequence[float]], *, caption: str, notes: list[str] | None = None) -> Table:
    """One row per dataset of ``paper.TABLE7``: the paper's mean and SD beside the mean and
    sample SD (ddof 1) of ``values[dataset]`` (mean F1 in %, one per seed; missing: not run)."""
    rows = []
    for ds in DATASETS:
        vals = list(values.get(ds) or [])
        p = paper.TABLE7.loc[ds]
        mean = sum(vals) / len(vals) if vals else math.nan
        sd = pd.Series(vals).std(ddof=1) if len(vals) > 1 else math.nan
        rows.append(
            {
                "dataset": ds,
                "mean paper": p["mean"],
                "sd paper": p["sd"],
                "mean ours": mean,
                "sd ours": sd,
                "runs": float(len(vals)),
                "mean ours − paper": mean - p["mean"],
            }
        )
    return Table(
        "table7_seeds", TITLE, caption, pd.DataFrame(rows), column_decimals={"runs": 0}, notes=notes or []
    )


def make(study: Study) -> Table:
    """LaPa: the group's seed runs; Helen: its seed runs, or without Helen data the group's seed runs
    scored with Helen's 'overall' composite; CelebAMask-HQ: the celeb runs' seeds."""
    (seeds,) = study.need("seeds")
    values: dict[str, list[float]] = {ds: [] for ds in DATASETS}
    notes: list[str] = []
    if seeds:
        (size,) = study.need("group_eval_size")
        results = [study.group_eval(study.group_spec("seed", s)) for s in seeds]
        group_column = "celebamask-hq" if study.main_is_celebamask() else "lapa"
        values[group_column] = [mean_f1(r, f"at{size}") for r in results]
        if study.data.helen() is None and group_column == "lapa":
            values["helen"] = [mean_f1(r, f"at{size}", composite="overall") for r in results]
            notes.append(HELEN_FROM_GROUP)
    else:
        notes.append(f"lapa: {NOT_RUN} (seeds is empty)")
    (celeb_seeds,) = study.need("celeb_seeds")
    if study.main_is_celebamask():  # the group's seeds fill the CelebAMask-HQ column
        if study.data.helen() is None:
            notes.append(f"lapa, helen: {NOT_RUN} (this profile's data is CelebAMask-HQ only)")
    elif study.data.celeb() is not None and celeb_seeds:
        for s in celeb_seeds:
            values["celebamask-hq"].append(
                mean_f1(study.celeb_eval(None if s == celeb_seeds[0] else s), "at256")
            )
    else:
        notes.append(f"celebamask-hq: {NOT_RUN} (celeb_dataset or celeb_seeds unset)")
    if study.data.helen() is not None:
        (helen_seeds,) = study.need("helen_seeds")
        for s in helen_seeds or []:
            result = study.helen_eval(None if s == helen_seeds[0] else s)
            values["helen"].append(mean_f1(result, "at256", composite="overall"))
    group_columns = "celebamask-hq" if study.main_is_celebamask() else "lapa, helen"
    ours = (
        f"{group_columns}: seeds {list(seeds)} of the group ({group_budget(study)})"
        if seeds
        else f"{group_columns}: not run"
    )
    if values["celebamask-hq"] and not study.main_is_celebamask():
        ours += f"; celebamask-hq: seeds {list(celeb_seeds)} of run celeb's config (scored at 256)"
    cap = caption(ours, profile=study.profile, paper_side=PAPER_SIDE)
    return table(values, caption=cap, notes=notes + data_notes(study.data.main()))
