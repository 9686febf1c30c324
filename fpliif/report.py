"""Ours beside the paper's: comparison tables with differences, written as CSV and Markdown.

    table = per_class_table(1, ours=ours_rows(result, LAPA_COLUMNS), caption="Ours: ...")
    table.save("results/demo/tables")      # table1_lapa.csv and table1_lapa.md
    read_table("results/demo/tables/table1_lapa.csv").to_markdown() == table.to_markdown()

Every table keeps the paper's numbers in their own rows or columns, ours beside them and the
difference (ours - paper), and carries a caption line saying which data, profile and commit our
numbers come from. Rendering is deterministic: fixed decimals per column, fixed column order,
``\\n`` line ends and no timestamps, so a stored CSV always renders to the same Markdown bytes.

CSV layout: ``# key: value`` metadata lines (title, caption, notes, decimals, label columns),
then the table with every number already formatted; empty cells are missing values.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import paper

MISSING_MD = "—"  # Markdown cell of a missing value (empty in the CSV)
NOT_RUN = "not run in this profile"
DIFF = "ours − paper"


@dataclass
class Table:
    """A titled, captioned table. ``labels`` are the text columns; every other column is numeric."""

    name: str  # file stem: tables/<name>.csv and .md
    title: str
    caption: str
    data: pd.DataFrame
    labels: tuple[str, ...] = ()
    decimals: int = 2
    column_decimals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = self.data.reset_index(drop=True)
        if not self.labels:
            self.labels = tuple(c for c in self.data.columns if not _is_numeric(self.data[c]))
        missing = [c for c in self.labels if c not in self.data.columns]
        if missing:
            raise ValueError(f"label columns {missing} are not columns of the table")
        for c in self.data.columns:  # integer columns print without decimals
            if c not in self.labels and pd.api.types.is_integer_dtype(self.data[c]):
                self.column_decimals.setdefault(str(c), 0)

    # -- formatting -------------------------------------------------------------------------
    def cell(self, column: str, value: Any) -> str:
        """One cell as text: labels as they are, numbers with the column's decimals, "" if missing."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if column in self.labels:
            return str(value)
        if isinstance(value, str):
            value = float(value) if value.strip() else math.nan
            if math.isnan(value):
                return ""
        digits = self.column_decimals.get(column, self.decimals)
        text = f"{float(value):.{digits}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text  # no "-0.00"

    def formatted(self) -> pd.DataFrame:
        """The table as text cells (what the CSV holds)."""
        return pd.DataFrame(
            {c: [self.cell(c, v) for v in self.data[c]] for c in self.data.columns}, dtype=object
        )

    def to_markdown(self) -> str:
        cells = self.formatted()
        cols = [str(c) for c in cells.columns]
        align = [":---" if c in self.labels else "---:" for c in cells.columns]
        lines = [f"**{self.title}**", "", self.caption, ""]
        lines.append("| " + " | ".join(_md_escape(c) for c in cols) + " |")
        lines.append("|" + "|".join(align) + "|")
        for row in cells.itertuples(index=False):
            lines.append("| " + " | ".join(_md_escape(v) if v != "" else MISSING_MD for v in row) + " |")
        if self.notes:
            lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:  # Jupyter shows a Table as its Markdown
        return self.to_markdown()

    def to_csv(self) -> str:
        meta = [
            ("title", self.title),
            ("caption", self.caption),
            ("labels", json.dumps(list(self.labels), ensure_ascii=False)),
            ("decimals", str(self.decimals)),
        ]
        if self.column_decimals:
            meta.append(("column_decimals", json.dumps(self.column_decimals, sort_keys=True)))
        meta += [("note", note) for note in self.notes]
        head = "".join(f"# {k}: {_one_line(v)}\n" for k, v in meta)
        buf = io.StringIO()
        self.formatted().to_csv(buf, index=False, lineterminator="\n")
        return head + buf.getvalue()

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``<folder>/<name>.csv`` and ``.md``; returns both paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"csv": folder / f"{self.name}.csv", "md": folder / f"{self.name}.md"}
        paths["csv"].write_text(self.to_csv())
        paths["md"].write_text(self.to_markdown())
        return paths


def read_table(path: str | Path) -> Table:
    """A table written by ``Table.save`` (its numbers as floats, its labels as text)."""
    path = Path(path)
    text = path.read_text()
    meta: dict[str, Any] = {"note": []}
    body_start = 0
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if not line.startswith("# "):
            body_start = i
            break
        key, _, value = line[2:].rstrip("\n").partition(": ")
        if key == "note":
            meta["note"].append(value)
        else:
            meta[key] = value
    else:
        body_start = len(lines)
    labels = tuple(json.loads(meta.get("labels", "[]")))
    raw = pd.read_csv(io.StringIO("".join(lines[body_start:])), dtype=str, keep_default_na=False)
    data = pd.DataFrame(
        {
            c: raw[c].tolist() if c in labels else [float(v) if v != "" else math.nan for v in raw[c]]
            for c in raw.columns
        }
    )
    return Table(
        name=path.stem,
        title=meta.get("title", path.stem),
        caption=meta.get("caption", ""),
        data=data,
        labels=labels,
        decimals=int(meta.get("decimals", 2)),
        column_decimals={k: int(v) for k, v in json.loads(meta.get("column_decimals", "{}")).items()},
        notes=list(meta["note"]),
    )


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


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
        from .provenance import git_commit

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


__all__ = [
    "DIFF",
    "NOT_RUN",
    "Table",
    "caption",
    "comparison",
    "not_run_table",
    "ours_rows",
    "per_class_comparison",
    "per_class_table",
    "read_table",
    "relative_diff",
    "score_columns",
]
