"""Every number of a committed results table equals the records committed beside it.

Each table is rebuilt by its own module's ``table()`` from the stored ``EvalResult`` records (and,
for Tables 4 and 6, the stored bench records) and compared cell by cell with the committed CSV
(the formatted numbers, as the CSV holds them). The runs behind a table are those its CSV names
where it names them. Not covered: the class-frequency tables (counted from the data) and the
worst-case tables (re-predicted from the checkpoints, which stay local)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fpliif.engine.evaluate import EvalResult
from fpliif.provenance import REPO_ROOT
from fpliif.report import Table, read_table
from fpliif.runs.study import ABLATION_LABELS
from fpliif.tables import (
    ablations,
    table1_lapa,
    table2_celebamask,
    table3_helen,
    table4_complexity,
    table5_edge_weight,
    table6_resolution_speed,
    table7_seeds,
    table9_lightweight,
    train_evaluate,
    transfer_synth_real,
)
from fpliif.tables.common import mean_f1

REAL = REPO_ROOT / "results" / "real"
DEMO = REPO_ROOT / "results" / "demo"
FULL = "eval-test-64-96-128-192-256-to256-bf16"  # a main run's evaluation at every output size
AT256 = "eval-test-256-to256-bf16"
GROUP = "eval-test-64-to64-bf16"  # the demo group's runs are scored at 64


def _same_cells(rebuilt: Table, profile: Path, name: str) -> None:
    committed = read_table(profile / "tables" / f"{name}.csv")
    ours = rebuilt.formatted().reset_index(drop=True)
    theirs = committed.formatted().reset_index(drop=True)
    assert list(ours.columns) == list(theirs.columns), name
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, obj=name)


def _load(profile: Path, run: str, folder: str) -> EvalResult:
    path = profile / "runs" / run / folder
    assert (path / "results.json").is_file(), f"{path} is not committed"
    return EvalResult.load(path)


def _csv(profile: Path, name: str) -> pd.DataFrame:
    return read_table(profile / "tables" / f"{name}.csv").data


# ------------------------------------------------------------------------------------ real profile
def test_real_main_eval_tables_equal_their_record():
    overview, per_class = train_evaluate.eval_tables(_load(REAL, "main", FULL), caption="")
    _same_cells(overview, REAL, "main_eval")
    _same_cells(per_class, REAL, "main_eval_per_class")


def test_real_table2_equals_its_record():
    _same_cells(table2_celebamask.table(_load(REAL, "main", FULL), caption=""), REAL, "table2_celebamask")


def test_real_table9_equals_its_records():
    peer = _load(REAL, "main-bisenet-r18", AT256)
    rebuilt = table9_lightweight.table(_load(REAL, "main", FULL), peer, peer="bisenet-r18", caption="")
    _same_cells(rebuilt, REAL, "table9_lightweight")


def test_real_transfer_table_equals_its_records():
    results = {
        "SynthFaces-trained": EvalResult.load(REAL / "transfer" / "synth"),
        "real-trained": EvalResult.load(REAL / "transfer" / "real"),
    }
    _same_cells(transfer_synth_real.table(results, caption=""), REAL, "transfer_synth_real")


def test_real_table5_equals_its_records():
    committed = _csv(REAL, "table5_edge_weight")
    runs = list(committed["run"])
    results = [_load(REAL, r, AT256) for r in runs]
    rebuilt = table5_edge_weight.table(
        [float(w) for w in committed["λ"]], results, runs, size=256, caption=""
    )
    _same_cells(rebuilt, REAL, "table5_edge_weight")


def _same_ablations(profile: Path, folder: str, size: int) -> None:
    """The runs' rows from their records; variants a profile left out ("—") keep only the paper's."""
    committed = _csv(profile, "ablations")
    runs = list(committed["run"])
    label_to_name = {label: name for name, label in ABLATION_LABELS.items()}
    names = [label_to_name[v] for v in committed["variant"]]
    results = [None if r == "—" else _load(profile, r, folder) for r in runs]
    # the parameters are not in the records
    parameters = [
        None if r == "—" else round(p * 1e6) for r, p in zip(runs, committed["params (M)"], strict=True)
    ]
    rebuilt = ablations.table(names, results, parameters, runs, size=size, caption="")
    _same_cells(rebuilt, profile, "ablations")


def test_real_ablations_equal_their_records():
    _same_ablations(REAL, AT256, 256)


def test_real_table7_is_the_groups_seeds():
    seeds = [_load(REAL, r, AT256) for r in ("group-base", "group-seed1", "group-seed2")]
    values = {"celebamask-hq": [mean_f1(r, "at256") for r in seeds]}
    _same_cells(table7_seeds.table(values, caption=""), REAL, "table7_seeds")


# ------------------------------------------------------------------------------------ demo profile
def test_demo_main_run_tables_equal_their_record():
    main = _load(DEMO, "main", FULL)
    overview, per_class = train_evaluate.eval_tables(main, caption="")
    _same_cells(overview, DEMO, "main_eval")
    _same_cells(per_class, DEMO, "main_eval_per_class")
    _same_cells(table1_lapa.table(main, caption=""), DEMO, "table1_lapa")
    _same_cells(table3_helen.table(main, caption=""), DEMO, "table3_helen")


def test_demo_table2_equals_its_record():
    _same_cells(table2_celebamask.table(_load(DEMO, "celeb", FULL), caption=""), DEMO, "table2_celebamask")


def test_demo_table9_equals_its_records():
    peer = _load(DEMO, "main-bisenet-r18", AT256)
    rebuilt = table9_lightweight.table(_load(DEMO, "main", FULL), peer, peer="bisenet-r18", caption="")
    _same_cells(rebuilt, DEMO, "table9_lightweight")


def test_demo_table5_equals_its_records():
    committed = _csv(DEMO, "table5_edge_weight")
    runs = list(committed["run"])
    weights = [float(w) for w in committed["λ"]]
    results = [_load(DEMO, r, GROUP) for r in runs]
    rebuilt = table5_edge_weight.table(weights, results, runs, size=64, caption="")
    _same_cells(rebuilt, DEMO, "table5_edge_weight")


def test_demo_ablations_equal_their_records():
    _same_ablations(DEMO, GROUP, 64)


def test_demo_table7_equals_its_records():
    seeds = [_load(DEMO, r, GROUP) for r in ("group-base", "group-seed1", "group-seed2")]
    values = {
        "lapa": [mean_f1(r, "at64") for r in seeds],
        "helen": [mean_f1(r, "at64", composite="overall") for r in seeds],
        "celebamask-hq": [mean_f1(_load(DEMO, "celeb", FULL), "at256")],
    }
    _same_cells(table7_seeds.table(values, caption=""), DEMO, "table7_seeds")


@pytest.mark.parametrize("profile", [REAL, DEMO], ids=["real", "demo"])
def test_tables_4_and_6_equal_the_bench_record(profile):
    records = json.loads((profile / "bench" / "bench.json").read_text())
    args = json.loads((profile / "bench" / "bench-args.json").read_text())
    t4 = table4_complexity.table(records, peer="bisenet-r18", bench_args=args, profile=profile.name)
    _same_cells(t4, profile, "table4_complexity")
    t6 = table6_resolution_speed.table(records, bench_args=args, profile=profile.name)
    _same_cells(t6, profile, "table6_resolution_speed")


@pytest.mark.parametrize("profile", [REAL, DEMO], ids=["real", "demo"])
def test_a_changed_record_is_caught(profile):
    result = _load(profile, "main", FULL) if profile is REAL else _load(DEMO, "celeb", FULL)
    result.scores["at256"]["mean_f1"] += 0.001  # 0.1 points
    with pytest.raises(AssertionError):
        _same_cells(table2_celebamask.table(result, caption=""), profile, "table2_celebamask")


def test_every_committed_evaluation_record_reads():
    folders = sorted(Path(p).parent for p in (REPO_ROOT / "results").glob("*/runs/*/eval-*/results.json"))
    assert len(folders) >= 3
    for folder in folders:
        assert EvalResult.load(folder).scores, folder
