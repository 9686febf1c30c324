"""A results table (``Table``): titled, captioned, written as CSV and Markdown, read back from its CSV.

    table = Table("table5_edge_weight", "Table 5: ...", caption, dataframe)
    table.save("results/demo/tables")      # table5_edge_weight.csv and table5_edge_weight.md
    read_table("results/demo/tables/table5_edge_weight.csv").to_markdown() == table.to_markdown()

The paper's tables beside ours are laid out by ``fpliif.tables.common``. Rendering is
deterministic: fixed decimals per column, fixed column order, ``\\n`` line ends and no timestamps,
so a stored CSV always renders to the same Markdown bytes.

CSV layout: ``# key: value`` metadata lines (title, caption, notes, decimals, label columns),
then the table with every number already formatted; empty cells are missing values.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

MISSING_MD = "—"  # Markdown cell of a missing value (empty in the CSV)


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

    def styled(self) -> Any:
        """The table as a pandas ``Styler`` for notebooks: the CSV's numbers (each column's
        decimals), missing cells as in the Markdown, no index, the title as its caption."""
        formats = {
            c: (lambda v, c=c: self.cell(str(c), v) or MISSING_MD)
            for c in self.data.columns
            if c not in self.labels
        }
        return self.data.style.format(formats).hide(axis="index").set_caption(self.title)

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


__all__ = ["MISSING_MD", "Table", "read_table"]
