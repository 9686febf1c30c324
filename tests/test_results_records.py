"""Every number of a committed results table equals the evaluation record committed beside it.

Each table is rebuilt by its own module's ``table()`` from the stored ``EvalResult`` records and
compared cell by cell with the committed CSV (the formatted numbers, as the CSV holds them)."""

from __future__ import annotations

import pandas as pd
import pytest

from fpliif.engine.evaluate import EvalResult
from fpliif.provenance import REPO_ROOT
from fpliif.report import Table, read_table
from fpliif.tables import table2_celebamask, table9_lightweight, train_evaluate

REAL = REPO_ROOT / "results" / "real"
MAIN_EVAL = REAL / "runs" / "main" / "eval-test-64-96-128-192-256-to256-bf16"


def _same_cells(rebuilt: Table, name: str) -> None:
    committed = read_table(REAL / "tables" / f"{name}.csv")
    ours = rebuilt.formatted().reset_index(drop=True)
    theirs = committed.formatted().reset_index(drop=True)
    assert list(ours.columns) == list(theirs.columns), name
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, obj=name)


def _load(folder) -> EvalResult:
    assert (folder / "results.json").is_file(), f"{folder} is not committed"
    return EvalResult.load(folder)


def test_main_eval_tables_equal_their_record():
    overview, per_class = train_evaluate.eval_tables(_load(MAIN_EVAL), caption="")
    _same_cells(overview, "main_eval")
    _same_cells(per_class, "main_eval_per_class")


def test_table2_equals_its_record():
    _same_cells(table2_celebamask.table(_load(MAIN_EVAL), caption=""), "table2_celebamask")


def test_table9_equals_its_records():
    peer = _load(next((REAL / "runs" / "main-bisenet-r18").glob("eval-test-256-to256-*")))
    rebuilt = table9_lightweight.table(_load(MAIN_EVAL), peer, peer="bisenet-r18", caption="")
    _same_cells(rebuilt, "table9_lightweight")


def test_a_changed_record_is_caught():
    result = _load(MAIN_EVAL)
    result.scores["at256"]["mean_f1"] += 0.001  # 0.1 points
    with pytest.raises(AssertionError):
        _same_cells(table2_celebamask.table(result, caption=""), "table2_celebamask")
