"""The tables' numbers: each builder fed with small stored records whose answers are known."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fpliif import paper
from fpliif.data import dataset_info
from fpliif.engine.evaluate import EvalResult
from fpliif.runs.study import ABLATION_LABELS, Study
from fpliif.tables import (
    ablations,
    table4_complexity,
    table5_edge_weight,
    table6_resolution_speed,
    table7_seeds,
    table9_lightweight,
)
from fpliif.tables.common import DIFF, NOT_RUN, SYNTH_NOTE, mean_f1

NAMES = dataset_info("lapa").class_names  # in label-id order: background, skin, left_brow, ...


def scores(mean: float | None, f1: list[float | None] | None = None, overall: float | None = None) -> dict:
    """One protocol key's scores as ``scores_from_confusion`` writes them (None: a JSON null)."""
    f1 = f1 if f1 is not None else [0.99, *[mean] * 10]
    entry = {
        "f1": f1,
        "iou": [0.5] * len(f1),
        "support": [100] * len(f1),
        "mean_f1": mean,
        "miou": 0.5,
        "pixel_acc": 0.9,
        "pixels": 1100,
        "class_names": NAMES,
    }
    if overall is not None:
        entry["composite_f1"] = {"eyes": 0.1, "brows": 0.2, "mouth": 0.3, "overall": overall}
    return entry


def record(folder: Path, keyed: dict[str, dict], images: int = 6) -> EvalResult:
    """An evaluation record (results.json as the evaluator writes it) in ``folder``, read back."""
    folder.mkdir(parents=True)
    meta = {"sizes": [64], "score_size": 64, "dtype": "fp32", "data": {"split": "test", "images": images}}
    payload = {"meta": meta, "class_names": NAMES, "scores": keyed}
    (folder / "results.json").write_text(json.dumps(payload, indent=2))
    return EvalResult.load(folder)


def test_table5_lays_each_lambda_beside_the_paper(tmp_path):
    results = [
        record(tmp_path / "ew0", {"at64": scores(0.5)}),
        record(tmp_path / "ew10", {"at64": scores(0.625)}),
        record(tmp_path / "base", {"at64": scores(None)}),  # NaN in the run: an empty cell
    ]
    runs = ["group-ew0", "group-ew10", "group-base"]
    t = table5_edge_weight.table([0, 10, 40], results, runs, size=64, caption="c", notes=[SYNTH_NOTE])
    assert t.name == "table5_edge_weight" and t.notes == [SYNTH_NOTE]
    assert list(t.data.columns) == ["λ", "paper", "ours", DIFF, "run"]
    cells = t.formatted()
    assert cells["λ"].tolist() == ["0", "10", "40"]
    assert cells["paper"].tolist() == ["91.73", "92.20", "92.40"]
    assert cells["ours"].tolist() == ["50.00", "62.50", ""]
    assert cells[DIFF].tolist() == ["-41.73", "-29.70", ""]
    assert cells["run"].tolist() == runs


def test_table5_not_run_keeps_the_papers_numbers(tmp_path):
    t = table5_edge_weight.make(Study({"profile": "t", "out": str(tmp_path), "edge_weights": []}))
    assert t.data["paper"].tolist() == paper.TABLE5.tolist()
    assert f"Ours: {NOT_RUN}: edge_weights is empty." in t.notes


def test_ablation_table_rows_parameters_and_paper_keys(tmp_path):
    names = ["base", "bn", "noens"]
    results = [
        record(tmp_path / n, {"at64": scores(m)}) for n, m in zip(names, [0.55, 0.2, 0.4], strict=True)
    ]
    t = ablations.table(
        names,
        results,
        [2_289_163, 2_289_419, 9_359_000],
        ["group-base", "group-bn", "group-noens"],
        size=64,
        caption="c",
    )
    cells = t.formatted()
    assert cells["variant"].tolist() == [ABLATION_LABELS[n] for n in names]
    assert cells["paper"].tolist() == ["92.40", "92.32", ""]  # the no-ensemble variant is not reported
    assert cells["ours"].tolist() == ["55.00", "20.00", "40.00"]
    assert cells[DIFF].tolist() == ["-37.40", "-72.32", ""]
    assert cells["params (M)"].tolist() == ["2.289", "2.289", "9.359"]
    assert cells["run"].tolist() == ["group-base", "group-bn", "group-noens"]
    skipped = ablations.table(
        ["base", "unet"], [results[0], None], [2_289_163, None], ["group-base", "—"], size=64, caption="c"
    )
    cells = skipped.formatted()
    assert cells["paper"].tolist() == ["92.40", "84.90"] and cells["ours"].tolist() == ["55.00", ""]
    assert cells["params (M)"].tolist() == ["2.289", ""]


def test_ablation_table_not_run_names_every_variant(tmp_path):
    t = ablations.make(Study({"profile": "t", "out": str(tmp_path), "ablations": {}}))
    assert t.data["variant"].tolist() == [
        ABLATION_LABELS[k] for k in ("base", "bn", "nonorm", "unet", "noens")
    ]


def test_table7_mean_and_sample_sd_over_seeds(tmp_path):
    group = [
        record(tmp_path / f"seed{s}", {"at64": scores(m, overall=o)})
        for s, m, o in ((0, 0.5, 0.4), (1, 0.6, 0.5), (2, 0.7, 0.6))
    ]
    celeb = record(tmp_path / "celeb", {"at256": scores(0.8)})
    values = {
        "lapa": [mean_f1(r, "at64") for r in group],
        "celebamask-hq": [mean_f1(celeb, "at256")],
        "helen": [mean_f1(r, "at64", composite="overall") for r in group],
    }
    t = table7_seeds.table(values, caption="c", notes=["n"])
    d = t.data.set_index("dataset")
    assert d.loc["lapa", "mean ours"] == pytest.approx(60.0)
    assert d.loc["lapa", "sd ours"] == pytest.approx(10.0)  # ddof 1
    assert d.loc["lapa", "mean ours − paper"] == pytest.approx(60.0 - 92.35)
    assert d.loc["helen", "mean ours"] == pytest.approx(50.0) and d.loc["helen", "sd ours"] == pytest.approx(
        10.0
    )
    assert d.loc["celebamask-hq", "mean ours"] == pytest.approx(80.0) and math.isnan(
        d.loc["celebamask-hq", "sd ours"]
    )
    assert d["runs"].tolist() == [3.0, 1.0, 3.0]
    cells = t.formatted().set_index("dataset")
    assert cells.loc["celebamask-hq"].tolist() == ["85.90", "0.20", "80.00", "", "1", "-5.90"]
    assert cells.loc["lapa", "runs"] == "3" and cells.loc["lapa", "sd paper"] == "0.06"


def test_table7_without_runs_is_empty_but_keeps_the_paper(tmp_path):
    t = table7_seeds.table({}, caption="c")
    assert t.data["mean paper"].tolist() == paper.TABLE7["mean"].tolist()
    assert t.data["runs"].tolist() == [0.0, 0.0, 0.0] and t.data["mean ours"].isna().all()


def test_table9_per_class_peer_ours_and_gaps(tmp_path):
    ours_f1 = [0.99, 0.90, 0.80, 0.81, 0.85, 0.86, 0.88, 0.70, 0.75, 0.78, 0.95]
    peer_f1 = [0.99, 0.91, 0.60, 0.61, 0.80, 0.79, 0.84, 0.72, 0.70, 0.76, 0.93]
    ours = record(tmp_path / "main", {"at256": scores(0.828, ours_f1), "at64": scores(0.5)})
    peer = record(tmp_path / "peer", {"at256": scores(0.766, peer_f1)})
    t = table9_lightweight.table(ours, peer, peer="bisenet-r18", caption="c", notes=[SYNTH_NOTE])
    d = t.data.set_index("class")
    assert list(d.index) == [*paper.LAPA_COLUMNS.values(), "Mean"]
    assert d.loc["Skin", "SFNet paper"] == 94.75 and d.loc["Skin", "gap paper"] == pytest.approx(2.85)
    assert d.loc["Skin", "bisenet-r18 ours"] == pytest.approx(91.0)
    assert d.loc["Skin", "FP-LIIF ours"] == pytest.approx(90.0)
    assert d.loc["Skin", "gap ours"] == pytest.approx(-1.0)
    assert d.loc["Skin", "FP-LIIF ours − paper"] == pytest.approx(90.0 - 97.6)
    assert d.loc["L-Brow", "gap ours"] == pytest.approx(20.0)  # left_brow: 80 vs 60
    assert d.loc["Hair", "FP-LIIF ours"] == pytest.approx(95.0)
    assert d.loc["Mean", "FP-LIIF ours"] == pytest.approx(82.8) and d.loc[
        "Mean", "gap ours"
    ] == pytest.approx(6.2)
    assert t.notes == [
        paper.TABLE9_NOTE,
        "SFNet has no maintained CPU implementation; our light peer is bisenet-r18.",
        SYNTH_NOTE,
    ]
    alone = table9_lightweight.table(ours, None, peer=None, caption="c")
    assert alone.data["peer ours"].isna().all() and alone.data["gap ours"].isna().all()
    assert "our light peer is (none)." in alone.notes[1]


def test_speed_tables_read_the_peer_and_upscale_rows():
    """Table 4's light peer takes the bench's BiSeNet row at the bench's own size (512) when there
    is none at 256; Table 6's 64->256 row shows the fast and the paper-faithful eager FPS."""

    def lat(model, backend, out, fps, pred=None, inp=256):
        return {
            "kind": "latency",
            "model": model,
            "backend": backend,
            "dtype": "fp32",
            "input_size": inp,
            "out_size": out,
            "pred_size": pred or out,
            "batch": 1,
            "fps": fps,
            "gflops_per_s": 100.0,
            "gmacs": 1.0,
            "paper_gmacs": 27.2,
            "cpu": "test cpu",
            "threads": 2,
        }

    records = [
        lat("fpliif", "fast", 256, 1.0),
        lat("fpliif", "fast", 256, 3.0, pred=64),
        lat("fpliif", "eager", 256, 0.5),
        lat("fpliif", "eager", 256, 2.0, pred=64),
        lat("bisenet", "eager", 512, 6.0, inp=512),
    ]
    t4 = table4_complexity.table(records, peer="bisenet-r18", bench_args=["--quick"], profile="t")
    t4 = t4.data.set_index("model")
    peer = t4.loc["bisenet-r18 (Table 9's light peer)"]
    assert peer["FPS here"] == 6.0 and peer["measured as"] == "eager fp32 b1 512->512"
    assert t4.loc["FP-LIIF", "FPS here"] == 1.0
    t6 = table6_resolution_speed.table(records, bench_args=["--quick"], profile="t")
    t6 = t6.data.set_index("output size")
    assert t6.loc["64->256 (fp32)", "FPS here, fast fp32"] == 3.0
    assert t6.loc["64->256 (fp32)", "FPS here, eager fp32"] == 2.0
    assert t6.loc["256", "FPS here, eager fp32"] == 0.5
    # both counting conventions: the paper's (19 classes, norms and pool) lands on Table 6
    assert t6.loc["256", "GMACs ours, paper's count"] == pytest.approx(85.16, abs=0.005)
    assert t6.loc["64", "GMACs ours, paper's count"] == pytest.approx(27.47, abs=0.005)
    assert abs(t6.loc["256", "diff (%)"]) < 0.2 and abs(t6.loc["64", "diff (%)"]) < 0.2
    assert t6.loc["256", "GMACs ours, conv+matmul"] == pytest.approx(84.44, abs=0.005)
    assert t4.loc["FP-LIIF", "GMACs ours, paper's count"] == t6.loc["256", "GMACs ours, paper's count"]
    assert t4.loc["FP-LIIF", "GMACs ours, conv+matmul"] == t6.loc["256", "GMACs ours, conv+matmul"]
