"""Comparison tables: deterministic rendering, CSV round trips, ours beside the paper's."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from fpliif import paper, report
from fpliif.report import MISSING_MD, Table
from fpliif.tables import common

ROOT = Path(__file__).resolve().parents[1]

GOLDEN_MD = """**Table X: a test**

Ours: somewhere; profile test, commit abc.

| λ | paper | ours | ours − paper | run |
|:---|---:|---:|---:|:---|
| 0 | 91.73 | 90.10 | -1.63 | r0 |
| 40 | 92.40 | — | — | r\\|40 |

- a note
"""

GOLDEN_CSV = """# title: Table X: a test
# caption: Ours: somewhere; profile test, commit abc.
# labels: ["λ", "run"]
# decimals: 2
# note: a note
λ,paper,ours,ours − paper,run
0,91.73,90.10,-1.63,r0
40,92.40,,,r|40
"""


def small_table() -> report.Table:
    df = common.comparison(
        [0, 40], [91.73, 92.4], [90.1, math.nan], index_name="λ", extra={"run": ["r0", "r|40"]}
    )
    return report.Table(
        "t",
        "Table X: a test",
        common.caption("somewhere", profile="test", commit="abc"),
        df,
        notes=["a note"],
    )


def test_golden_markdown_and_csv():
    t = small_table()
    assert t.to_markdown() == GOLDEN_MD
    assert t.to_csv() == GOLDEN_CSV


def test_rendering_twice_and_from_the_stored_csv_gives_identical_bytes(tmp_path):
    t = small_table()
    first = t.save(tmp_path / "a")
    second = t.save(tmp_path / "b")
    for kind in ("csv", "md"):
        assert first[kind].read_bytes() == second[kind].read_bytes()
    back = report.read_table(first["csv"])
    assert back.to_markdown() == first["md"].read_text()
    assert back.to_csv() == first["csv"].read_text()
    assert back.labels == ("λ", "run")
    assert back.data["ours"].isna().tolist() == [False, True]


def test_integer_columns_negative_zero_and_decimals():
    df = pd.DataFrame({"name": ["a", "b"], "size": [64, 256], "x": [-0.001, 1.23456]})
    t = report.Table("t", "T", "c", df, column_decimals={"x": 2})
    cells = t.formatted()
    assert cells["size"].tolist() == ["64", "256"]
    assert cells["x"].tolist() == ["0.00", "1.23"]  # never "-0.00"


@pytest.mark.parametrize(
    "csv", sorted(ROOT.glob("results/*/tables/*.csv")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_stored_tables_render_as_stored(csv):
    """Every committed (or locally made) table renders from its CSV to exactly its Markdown."""
    md = csv.with_suffix(".md")
    assert md.is_file(), f"{md} is missing"
    assert report.read_table(csv).to_markdown() == md.read_text()


def test_per_class_table_shows_paper_ours_and_difference():
    ours = {"Ours": {"skin": 90.0, "mean": 80.0}, "Ours128->256": {"skin": 89.0}}
    t = common.per_class_table(1, ours, caption="c")
    d = t.data.set_index(["row", "source"])
    assert d.loc[("Ours", "paper"), "Skin"] == 97.6
    assert d.loc[("Ours", "ours"), "Skin"] == 90.0
    assert d.loc[("Ours", common.DIFF), "Skin"] == pytest.approx(90.0 - 97.6)
    assert d.loc[("Ours", common.DIFF), "Mean"] == pytest.approx(80.0 - 92.41)
    assert math.isnan(d.loc[("Ours512", "ours"), "Skin"])
    assert list(t.data.columns) == ["row", "source", *paper.LAPA_COLUMNS.values(), "Mean"]
    assert any("Ours512" in n and common.NOT_RUN in n for n in t.notes)
    assert "Ours128->256" not in " ".join(t.notes)


def test_ours_rows_maps_protocol_keys_to_the_papers_rows():
    names = ["background", "skin", "nose"]
    scores = {
        "at256": {"f1": [0.9, 0.8, 0.7], "mean_f1": 0.75, "composite_f1": {"overall": 0.6}},
        "128->256": {"f1": [0.9, 0.5, float("nan")], "mean_f1": 0.5},
        "at96": {"f1": [0.9, 0.1, 0.1], "mean_f1": 0.1},  # no paper row
    }
    result = SimpleNamespace(scores=scores, class_names=names)
    rows = common.ours_rows(result, ["skin", "nose", "overall", "mean"])
    assert set(rows) == {"Ours", "Ours128->256"}
    assert rows["Ours"] == {"skin": 80.0, "nose": 70.0, "overall": 60.0, "mean": 75.0}
    assert math.isnan(rows["Ours128->256"]["nose"]) and math.isnan(rows["Ours128->256"]["overall"])


def test_relative_difference_and_caption():
    assert common.relative_diff(2.289163, 2.29) == pytest.approx(-0.0365, abs=1e-3)
    assert math.isnan(common.relative_diff(1.0, math.nan))
    cap = common.caption("SynthFaces; run main.", profile="demo", commit="abc", paper_side="LaPa.")
    assert cap == "Ours: SynthFaces; run main; profile demo, commit abc. Paper: LaPa."


def test_not_run_table_keeps_the_papers_numbers():
    data = pd.DataFrame({"λ": ["0", "40"], "paper": [91.73, 92.4]})
    t = common.not_run_table("t5", "Table 5", data, reason="edge_weights is empty", profile="quick")
    md = t.to_markdown()
    assert "91.73" in md and common.NOT_RUN in md and "profile quick" in md


def test_styled_shows_the_csv_numbers_and_the_title():
    t = Table(
        "x", "Table X: a title", "a caption", pd.DataFrame({"row": ["a", "b"], "v": [1.2345, float("nan")]})
    )
    html = t.styled().to_html()
    assert "1.23" in html and "1.2345" not in html and MISSING_MD in html
    assert "Table X: a title" in html and ">a<" in html
