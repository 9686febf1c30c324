"""The real profile on a drawn stand-in: SynthFaces faces in CelebAMask-HQ's ids, written in the
flat layout the public subsets use (never a CelebA-HQ image), run with smoke-sized parameters."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fpliif.cli import main
from fpliif.data.info import dataset_info
from fpliif.data.synth.render import draw_sample
from fpliif.engine.evaluate import EvalResult, evaluate
from fpliif.metrics import IGNORE_INDEX
from fpliif.report import read_table
from fpliif.runs import runner
from fpliif.runs.cli import data_overrides
from fpliif.runs.profiles import load_profile
from fpliif.runs.study import Study
from fpliif.tables import transfer_synth_real
from fpliif.tables.common import LAPA_F1, group_metric

N_FACES = 20
SMOKE = [
    "train_config=smoke",
    "celeb_config=smoke",
    "batch_size=4",
    "eval_sizes=[64, 256]",
    "eval_dtype=fp32",
    "baseline_model=null",
    "multires_sizes=[64, 128]",
    "transfer_profile=smoke",
    "group_config=smoke",
    "group_overrides={}",
    "seeds=[0, 1]",
    "group_eval_size=64",
    "edge_weights=[]",
    "ablations={bn: {norm: batch}}",
]


def write_flat_subset(root: Path, n: int = N_FACES, size: int = 64) -> None:
    """``n`` drawn faces as ``train/images/*.jpg`` + ``train/masks/*.png`` (palette PNGs of ids)."""
    palette = [c for rgb in dataset_info("celebamask-hq").palette for c in rgb]
    for sub in ("images", "masks"):
        (root / "train" / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        image, label = draw_sample(0, "train", i, size=size, format="celebamask-hq")
        Image.fromarray(image).save(root / "train" / "images" / f"{i}.jpg", quality=95)
        mask = Image.fromarray(label).convert("P")
        mask.putpalette(palette)
        mask.save(root / "train" / "masks" / f"{i}.png")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    write_flat_subset(tmp / "subset")
    out = tmp / "out"
    names = ["01_train_evaluate", "table1_lapa", "table2_celebamask", "figure3_4_multiresolution"]
    names += ["figure10_11_worst_cases", "transfer_synth_real", "table7_seeds", "02_ablations"]
    overrides = [*data_overrides("real", str(tmp / "subset")), *SMOKE]
    runner.run_notebooks("real", only=names, out=out, overrides=overrides, log=lambda s: None)
    return out


def _table(out: Path, name: str) -> pd.DataFrame:
    return read_table(out / "tables" / f"{name}.csv").data


def test_data_option_points_root_and_table2_at_one_folder():
    assert data_overrides("real", "/x/y") == ['root="/x/y"', 'celeb_root="/x/y"']
    assert data_overrides("demo", "/x/y") == ['root="/x/y"']  # demo's Table 2 data is another set
    assert data_overrides("real", None) == []


def test_dry_run_plans_only_the_group_seeds_for_table7(tmp_path, capsys):
    """With CelebAMask-HQ as the main data, Table 7's CelebAMask-HQ row is the group's seeds: the plan
    lists those runs and no celeb seed run (a 28-epoch twin of the main run nothing would read)."""
    write_flat_subset(tmp_path / "subset", n=4)
    argv = ["run", "real", "--only", "table7_seeds", "--dry-run", "--data", str(tmp_path / "subset")]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    plan = capsys.readouterr().out
    assert "run group-base" in plan and "run group-seed1" in plan and "run group-seed2" in plan
    assert "run celeb" not in plan


def test_group_tables_say_whose_mean_f1_they_show(tmp_path):
    write_flat_subset(tmp_path / "subset", n=4)
    real = Study(load_profile("real", data_overrides("real", str(tmp_path / "subset"))), dry=True)
    assert group_metric(real) == "mean F1 (%), ours CelebAMask-HQ, paper LaPa"
    assert group_metric(Study(load_profile("demo"), dry=True)) == LAPA_F1


def test_real_profile_trains_once_and_fills_table2(real_run):
    runs = sorted(p.name for p in (real_run / "runs").iterdir())
    # Table 2's run is the main run, reused; so is the group's base here (the same smoke config)
    assert runs == ["group-bn", "group-seed1", "main"]
    t2 = _table(real_run, "table2_celebamask")
    ours = t2[(t2["source"] == "ours") & (t2["row"].isin(["Ours", "Ours64->256"]))]
    assert len(ours) == 2 and ours.iloc[:, -1].notna().all()  # the mean, at 256 and 64->256
    t1 = (real_run / "tables" / "table1_lapa.md").read_text()
    assert "not run" in t1 and "CelebAMask-HQ" in t1
    record = json.loads(next((real_run / "runs" / "main").glob("eval-*/results.json")).read_text())
    split = record["meta"]["data"]["split_record"]
    assert split["counts"] == {"train": 16, "val": 2, "test": 2} and split["split_seed"] == 0


def test_table7_is_the_groups_seeds_on_celebamask_hq(real_run):
    t7 = _table(real_run, "table7_seeds").set_index("dataset")
    assert t7.loc["celebamask-hq", "runs"] == 2 and t7.loc["lapa", "runs"] == 0
    text = (real_run / "tables" / "table7_seeds.md").read_text()
    assert "lapa, helen: not run in this profile (this profile's data is CelebAMask-HQ only)" in text


def test_ablations_keep_the_papers_rows_of_variants_not_run(real_run):
    t = _table(real_run, "ablations")
    ran, skipped = t[t["run"] != "—"], t[t["run"] == "—"]
    assert ran["run"].tolist() == ["group-base", "group-bn"] and ran["ours"].notna().all()
    assert len(skipped) == 3 and skipped["ours"].isna().all()
    assert skipped["paper"].notna().sum() == 2  # the paper reports no no-ensemble number
    text = (real_run / "tables" / "ablations.md").read_text()
    assert "mean F1 (%), ours CelebAMask-HQ, paper LaPa" in text
    assert "not run in this profile (not in the ablations parameter)" in text


def test_face_figures_stay_out_of_the_notebooks(real_run):
    assert (real_run / "figures" / "faces" / "figure3_4_multiresolution.png").is_file()
    assert not (real_run / "figures" / "figure3_4_multiresolution.png").exists()
    nb = json.loads((real_run / "notebooks" / "figure3_4_multiresolution.ipynb").read_text())
    mimes = {m for c in nb["cells"] for o in c.get("outputs", []) for m in (o.get("data") or {})}
    assert "image/png" not in mimes
    curves = json.loads((real_run / "notebooks" / "01_train_evaluate.ipynb").read_text())
    assert any("image/png" in (o.get("data") or {}) for c in curves["cells"] for o in c.get("outputs", []))


def test_worst_cases_are_figure_10_only_and_kept_local(real_run):
    """The main run is CelebAMask-HQ's: Figure 10 (CelebAMask-HQ) shows it, Figure 11 (LaPa) would
    repeat it and is not drawn; the faces go to the local figures folder only."""
    tables = {p.stem for p in (real_run / "tables").glob("figure1*.csv")}
    assert tables == {"figure10_worst_cases"}
    rows = _table(real_run, "figure10_worst_cases")
    assert len(rows) == 2 and rows["mean F1 ours"].between(0, 100).all()
    assert (real_run / "figures" / "faces" / "figure10_worst_cases_celeb.png").is_file()
    nb = (real_run / "notebooks" / "figure10_11_worst_cases.ipynb").read_text()
    assert "Figure 11 (lapa): not run in this profile" in nb and "image/png" not in nb


def test_transfer_table_scores_both_models_in_lapa_classes(real_run):
    t = _table(real_run, "transfer_synth_real")
    assert list(t.columns) == ["class", "SynthFaces-trained", "real-trained", "gap"]
    assert list(t["class"]) == [*dataset_info("lapa").class_names[1:], "Mean"]
    assert np.allclose(t["gap"], t["real-trained"] - t["SynthFaces-trained"], equal_nan=True)
    synth = EvalResult.load(real_run / "transfer" / "synth")
    assert synth.meta["data"]["images"] == 2 and synth.class_names == dataset_info("lapa").class_names
    mean = 100 * synth.scores["at256"]["mean_f1"]
    assert math.isclose(t["SynthFaces-trained"].iloc[-1], mean, abs_tol=0.005)  # the CSV holds 2 decimals


def test_celeb_to_lapa_is_synthfaces_mapping_with_glasses_left_out():
    lut = transfer_synth_real.celeb_to_lapa()
    names = dataset_info("celebamask-hq").class_names
    lapa = dataset_info("lapa").class_names
    by_name = {names[i]: (lapa[v] if v != IGNORE_INDEX else None) for i, v in enumerate(lut)}
    assert by_name["skin"] == "skin" and by_name["nose"] == "nose" and by_name["hair"] == "hair"
    assert by_name["l_ear"] == "skin" and by_name["neck"] == "background" and by_name["cloth"] == "background"
    assert by_name["eye_g"] is None
    assert transfer_synth_real.celeb_to_lapa(ignore_glasses=False)[names.index("eye_g")] == lapa.index("skin")


class _ColourModel(torch.nn.Module):
    """Predicts class 1 where the red channel is bright, class 2 elsewhere (3 classes)."""

    def forward(self, images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        red = torch.nn.functional.interpolate(images[:, :1], size=size, mode="nearest")
        bright = (red > 0.5).float()
        return torch.cat([torch.zeros_like(bright), bright, 1 - bright], dim=1)


def test_evaluate_maps_truth_and_prediction_ids():
    image = torch.zeros(3, 4, 4)
    image[0, :, :2] = 1.0  # left half bright: predicted 1, right half: 2
    label = torch.tensor([[5, 5, 7, 7]] * 2 + [[5, 5, 9, 9]] * 2)  # ids of another label set
    data = [{"image": image, "label": label, "name": "a"}]
    truth = [0] * 10
    truth[5], truth[7], truth[9] = 1, 2, IGNORE_INDEX  # id 9 is left out of the score
    result = evaluate(
        _ColourModel(), data, num_classes=3, sizes=[4], score_size=4, input_size=4, progress=False,
        fast=False, label_map=truth, pred_map=[0, 1, 2],
    )  # fmt: skip
    s = result.scores["at4"]
    assert s["pixels"] == 12 and s["f1"][1:] == [1.0, 1.0]
    swapped = evaluate(
        _ColourModel(), data, num_classes=3, sizes=[4], score_size=4, input_size=4, progress=False,
        fast=False, label_map=truth, pred_map=[0, 2, 1],
    )  # fmt: skip
    assert swapped.scores["at4"]["f1"][1:] == [0.0, 0.0]
