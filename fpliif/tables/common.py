"""What the tables and figures share: ours beside the paper's, captions, and showing what was made.

* layouts: ``per_class_table`` (Tables 1-3: the paper's "Ours" rows, ours and the difference),
  ``comparison`` (one value per row: paper | ours | ours − paper) and ``not_run_table``;
* captions: ``caption`` (where ours come from: data, run, profile, commit; then the paper's side),
  ``describe`` (data and run), ``eval_text`` (what was scored), ``group_budget``;
* values: ``score_columns``/``ours_rows``/``mean_f1`` from evaluation records, ``latency`` from
  bench records;
* ``show(study, item)``: a table (``tables/<name>.csv``, ``.md``) or figure (``figures/<name>.png``)
  saved into the profile's folder and displayed in the notebook.

Every table keeps the paper's numbers in their own rows or columns, ours beside them and the
difference (ours - paper), and carries a caption saying which data, profile and commit ours come from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import paper
from ..report import Table

if TYPE_CHECKING:
    from ..runs.data_refs import DataRef
    from ..runs.study import Study
    from ..runs.training import Run

NOT_RUN = "not run in this profile"
DIFF = "ours − paper"
SYNTH_NOTE = (
    "Ours are measured on synthetic faces (SynthFaces), not on the paper's dataset: the difference "
    "column says how far this short CPU run is from the paper's numbers, it is not a reproduction claim."
)

SUBSET_NOTE = (
    "Real CelebAMask-HQ images, but a public subset of 1,000 (800 for training) and a CPU budget: "
    "the paper trained on 24,183 images for 400 epochs on GPUs. These are not the paper's numbers."
)


# -- ours from evaluation results ---------------------------------------------------------------
def score_columns(
    scores: Mapping[str, Any], class_names: Sequence[str], columns: Sequence[str]
) -> dict[str, float]:
    """Percentages of one ``EvalResult.scores`` entry for ``columns``: class names, composites
    (Helen's eyes, brows, mouth, overall) and ``mean`` (mean F1 without the background)."""
    names = list(class_names)
    composite = scores.get("composite_f1") or {}
    out: dict[str, float] = {}
    for col in columns:
        if col == "mean":
            value = scores.get("mean_f1")
        elif col in names:
            value = scores["f1"][names.index(col)]
        elif col in composite:
            value = composite[col]
        else:
            value = None
        out[col] = 100 * float(value) if value is not None and not _isnan(value) else math.nan
    return out


def ours_rows(
    result: Any, columns: Sequence[str], rows: Mapping[str, str] = paper.OURS_ROWS
) -> dict[str, dict[str, float]]:
    """{paper row name: {column: our F1 in %}} for every protocol key of ``result.scores`` that
    names one of the paper's rows (``fpliif.paper.OURS_ROWS``: "at256" -> "Ours", ...)."""
    return {
        row: score_columns(result.scores[key], result.class_names, columns)
        for key, row in rows.items()
        if key in result.scores
    }


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# -- comparison tables --------------------------------------------------------------------------
def per_class_comparison(
    paper_rows: pd.DataFrame,
    ours: Mapping[str, Mapping[str, float]],
    columns: Mapping[str, str],
    rows: Sequence[str],
) -> pd.DataFrame:
    """Three lines per paper row: the paper's values, ours (empty where not run) and ours - paper.

    ``paper_rows``: methods x our column keys (``fpliif.paper.per_class_table``); ``ours``:
    {row: {key: value}}; ``columns``: key -> header, in output order; ``rows``: the paper rows.
    """
    records = []
    for row in rows:
        p = paper_rows.loc[row] if row in paper_rows.index else pd.Series(dtype=float)
        o = ours.get(row) or {}
        vals_p = {h: float(p.get(k, math.nan)) for k, h in columns.items()}
        vals_o = {h: float(o.get(k, math.nan)) for k, h in columns.items()}
        records.append({"row": row, "source": "paper", **vals_p})
        records.append({"row": row, "source": "ours", **vals_o})
        records.append({"row": row, "source": DIFF, **{h: vals_o[h] - vals_p[h] for h in vals_p}})
    return pd.DataFrame(records, columns=["row", "source", *columns.values()])


def per_class_table(
    number: int,
    ours: Mapping[str, Mapping[str, float]],
    *,
    caption: str,
    rows: Sequence[str] | None = None,
    notes: Sequence[str] = (),
    name: str | None = None,
) -> Table:
    """Table 1 (LaPa), 2 (CelebAMask-HQ) or 3 (Helen): the paper's "Ours" rows beside ours."""
    heads = {1: paper.LAPA_COLUMNS, 2: paper.CELEBAMASK_COLUMNS, 3: paper.HELEN_COLUMNS}[number]
    columns = dict(heads)
    if number in (1, 2):
        columns["mean"] = "Mean"
    titles = {
        1: ("table1_lapa", "Table 1: LaPa, per-class F1 (%)"),
        2: ("table2_celebamask", "Table 2: CelebAMask-HQ, per-class F1 (%)"),
        3: ("table3_helen", "Table 3: Helen, F1 (%) with the set-level composites"),
    }
    stem, title = titles[number]
    rows = list(rows or ([r for r in paper.OURS_ROWS.values()] if number in (1, 2) else ["Ours"]))
    data = per_class_comparison(paper.per_class_table(number), ours, columns, rows)
    notes = list(notes)
    missing = [r for r in rows if r not in ours]
    if missing:
        notes.append(f"{', '.join(missing)}: {NOT_RUN} (empty cells).")
    return Table(name or stem, title, caption, data, labels=("row", "source"), notes=notes)


def comparison(
    index: Sequence[Any],
    paper_values: Sequence[float],
    ours_values: Sequence[float],
    *,
    index_name: str,
    paper_label: str = "paper",
    ours_label: str = "ours",
    relative: bool = False,
    extra: Mapping[str, Sequence[Any]] | None = None,
) -> pd.DataFrame:
    """index | paper | ours | ours - paper (or % difference when ``relative``) | extra columns."""
    p = [_num(v) for v in paper_values]
    o = [_num(v) for v in ours_values]
    if relative:
        diff = [100 * (b / a - 1) if a and not math.isnan(a) else math.nan for a, b in zip(p, o, strict=True)]
        diff_name = "diff (%)"
    else:
        diff = [b - a for a, b in zip(p, o, strict=True)]
        diff_name = DIFF
    data = {index_name: [str(i) for i in index], paper_label: p, ours_label: o, diff_name: diff}
    for k, v in (extra or {}).items():
        data[k] = list(v)
    return pd.DataFrame(data)


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def relative_diff(ours: float, theirs: float) -> float:
    """100 * (ours / theirs - 1), NaN when either is missing."""
    a, b = _num(ours), _num(theirs)
    return 100 * (a / b - 1) if b and not math.isnan(a) and not math.isnan(b) else math.nan


def caption(ours: str, *, profile: str, commit: str | None = None, paper_side: str = "") -> str:
    """The caption line: where our numbers come from (data, run, profile, commit), then the paper's."""
    if commit is None:
        from ..provenance import git_commit

        full = git_commit()  # (its short=True form asks git for nothing: shorten here)
        commit = full if full == "unknown" else full[:10] + ("-dirty" if full.endswith("-dirty") else "")
    text = f"Ours: {ours.rstrip('.')}; profile {profile}, commit {commit}."
    if paper_side:
        text += f" Paper: {paper_side.rstrip('.')}."
    return text


def not_run_table(name: str, title: str, paper_data: pd.DataFrame, *, reason: str, profile: str) -> Table:
    """A table that shows the paper's numbers and says that ours were not made in this profile."""
    return Table(
        name,
        title,
        f"Ours: {NOT_RUN} ({reason}); profile {profile}. Paper's numbers only.",
        paper_data,
        notes=[f"Ours: {NOT_RUN}: {reason}."],
    )


# -- captions ---------------------------------------------------------------------------------------
def describe(run: Run, data: DataRef) -> str:
    """The data and the run ours come from, for a caption."""
    return f"{data.label}; run {run.name}: {run.describe()}"


def eval_text(result: Any, size: int = 256) -> str:
    """What an evaluation scored: split, images, score size, precision."""
    n = (result.meta.get("data") or {}).get("images", "?")
    return f"test split ({n} images), scored at {size}x{size}, {result.meta.get('dtype', 'fp32')}"


def data_notes(data: DataRef) -> list[str]:
    """The note that these numbers are not the paper's: SynthFaces, or a small real subset."""
    return [SYNTH_NOTE] if data.synthetic else [SUBSET_NOTE] if data.subset else []


def group_notes(study: Study) -> list[str]:
    """The notes of the comparison group's tables (5, 7's group column, the ablations)."""
    notes = data_notes(study.data.group())
    if study.main_is_celebamask():
        notes.append(
            "Ours are CelebAMask-HQ mean F1 (18 classes), the paper's LaPa mean F1 (10 classes): "
            "compare how the rows rank and differ, not the values across the two columns."
        )
    return notes


LAPA_F1 = "LaPa mean F1 (%)"


def group_metric(study: Study) -> str:
    """What the group tables (5, the ablations) score: LaPa's mean F1 as the paper does, or in the
    real profile CelebAMask-HQ's beside the paper's LaPa numbers."""
    return "mean F1 (%), ours CelebAMask-HQ, paper LaPa" if study.main_is_celebamask() else LAPA_F1


def group_budget(study: Study) -> str:
    """The comparison group's data and shared budget (the captions of Tables 5, 7 and the ablations)."""
    base, _ = study.group_base()
    run = study.run(base, records_only=True)
    (size,) = study.need("group_eval_size")
    return (
        f"{study.data.group().label}; every run of the group shares run group-base's budget: "
        f"{run.describe()}; test split scored at {size}x{size}"
    )


# -- values from evaluation and bench records ---------------------------------------------------------
def mean_f1(result: Any, key: str, composite: str | None = None) -> float:
    """Mean F1 (%) of protocol ``key`` (e.g. "at64") of an ``EvalResult``, or a composite's F1."""
    s = result.scores[key]
    value = (s.get("composite_f1") or {}).get(composite) if composite else s["mean_f1"]
    return 100 * value if value is not None else math.nan


def latency(
    records: Sequence[Mapping[str, Any]],
    model: str | None,
    size: int,
    backend: str = "fast",
    dtype: str = "fp32",
    pred: int | None = None,
) -> Mapping[str, Any] | None:
    """The bench's batch-1 latency record of ``model`` (None: any model) decoding at ``size``
    (``pred``: the size it predicts at before upscaling to ``size``; default ``size``), or None."""
    for r in records:
        if (
            r.get("kind") == "latency"
            and model in (None, r["model"])
            and r["backend"] == backend
            and r["dtype"] == dtype
            and r["out_size"] == size
            and r.get("pred_size", size) == (size if pred is None else pred)
            and r["batch"] == 1
        ):
            return r
    return None


def bench_note(records: Sequence[Mapping[str, Any]], args: Sequence[str]) -> str:
    """Where and how the speeds were measured (for the captions of Tables 4 and 6)."""
    lat = [r for r in records if r.get("kind") == "latency"]
    if not lat:
        return "no speed measured in this profile"
    r0 = lat[0]
    loads = [r.get("load_before") for r in lat if r.get("load_before") is not None]
    noisy = sum(1 for r in lat if r.get("noisy"))
    text = (
        f"speed measured here by `fpliif bench {' '.join(args)}` on {r0.get('cpu') or r0.get('device')} "
        f"({r0.get('threads')} threads, load average {min(loads):.1f}-{max(loads):.1f} during the rows"
        if loads
        else f"speed measured here by `fpliif bench {' '.join(args)}` on {r0.get('cpu')}"
    )
    text += f"; {noisy} of {len(lat)} rows flagged noisy)" if loads else ")"
    for r in records:
        if r.get("kind") == "skipped":
            text += f"; {r['dtype']} not measured: {r['reason']}"
    return text + "; the paper's FPS are an A100's: different hardware, not comparable"


# -- in a notebook ----------------------------------------------------------------------------------
FACES_DIR = "faces"  # figures/faces/: figures that show real faces, kept out of git


def shows_real_faces(study: Study) -> bool:
    """Whether the data this notebook declares hold real photographs (any that is not SynthFaces)."""
    refs = [study.data.main()] if "dataset" in study.p else []
    if "celeb_dataset" in study.p:
        refs.append(study.data.celeb())
    if "helen_dataset" in study.p:
        refs.append(study.data.helen())
    return any(ref is not None and not ref.synthetic for ref in refs)


def show(study: Study, item: Any, name: str | None = None, *, faces: bool = False) -> None:
    """Save a ``Table`` (tables/<name>.csv, .md) or a figure (figures/<name>.png) into the
    profile's folder and display it (in a notebook; a no-op elsewhere). A table is shown as a
    styled DataFrame with its caption and notes below. Returns nothing, so a cell ending in
    ``show(...)`` echoes no path.

    ``faces``: the figure shows face images. On real data (CelebA-HQ may not be redistributed) it
    goes to figures/faces/, which git ignores, and the notebook shows only where it is, so that
    an executed notebook embeds no real face."""
    from IPython.display import Image, Markdown, display

    from .. import viz

    if isinstance(item, Table):
        if name:
            item.name = name
        item.save(study.tables_dir)
        display(item.styled())
        display(Markdown("\n".join([item.caption, *(f"- {n}" for n in item.notes)])))
        return
    if name is None:
        raise ValueError("a figure needs a name")
    private = faces and shows_real_faces(study)
    folder = study.figures_dir / FACES_DIR if private else study.figures_dir
    path = viz.save(item, folder / f"{name}.png")
    if private:
        display(Markdown(f"Figure saved to `{path}`, not shown here: it shows real CelebA-HQ faces."))
    else:
        display(Image(filename=str(path)))


def note(text: str) -> None:
    """Display a Markdown note (e.g. that a part is not run in this profile), its text also the
    plain-text form."""
    from IPython.display import display

    display({"text/markdown": text, "text/plain": text}, raw=True)


__all__ = [
    "DIFF",
    "NOT_RUN",
    "SYNTH_NOTE",
    "bench_note",
    "caption",
    "comparison",
    "describe",
    "eval_text",
    "group_budget",
    "latency",
    "mean_f1",
    "not_run_table",
    "note",
    "ours_rows",
    "per_class_comparison",
    "per_class_table",
    "relative_diff",
    "score_columns",
    "show",
    "data_notes",
]
