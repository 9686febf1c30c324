"""SynthFaces: determinism, class coverage and rarity, thin parts, and both layouts read back."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import ndimage

from fpliif.cli import main
from fpliif.data import DataError, build_dataset
from fpliif.data.celebamask import prepare, read_mapping, split_of
from fpliif.data.synth import celebamask_plan, draw_sample, generate, lapa_name


def _labels(n: int, size: int, fmt: str, split: str = "train") -> list[np.ndarray]:
    return [draw_sample(3, split, i, size=size, format=fmt)[1] for i in range(n)]


@pytest.fixture(scope="module")
def celebamask_labels() -> list[np.ndarray]:
    return _labels(200, 64, "celebamask-hq")


def test_draw_is_deterministic_and_depends_on_seed_split_index():
    img, lab = draw_sample(0, "train", 5, size=48)
    img2, lab2 = draw_sample(0, "train", 5, size=48)
    assert img.dtype == np.uint8 and img.shape == (48, 48, 3) and lab.shape == (48, 48)
    assert np.array_equal(img, img2) and np.array_equal(lab, lab2)
    for other in (
        draw_sample(1, "train", 5, size=48),
        draw_sample(0, "val", 5, size=48),
        draw_sample(0, "train", 6, size=48),
    ):
        assert not np.array_equal(img, other[0])


def test_generation_is_identical_for_any_worker_count(tmp_path):
    a = generate(tmp_path / "a", n_train=4, n_val=1, n_test=1, size=40, seed=2, workers=1)
    b = generate(tmp_path / "b", n_train=4, n_val=1, n_test=1, size=40, seed=2, workers=2)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 13  # 6 images, 6 label maps, the metadata
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    meta = json.loads((a / "synthfaces.json").read_text())
    assert (
        meta["format"] == "lapa" and meta["counts"] == {"train": 4, "val": 1, "test": 1} and meta["seed"] == 2
    )


def test_every_class_occurs_and_accessories_are_rare(celebamask_labels):
    presence = np.mean([np.bincount(lab.ravel(), minlength=19)[:19] > 0 for lab in celebamask_labels], axis=0)
    assert presence.min() > 0, presence  # all 19 classes, rare ones included
    for common in (1, 2, 4, 5, 6, 7, 11, 12, 17):  # skin, nose, eyes, brows, lips, neck
        assert presence[common] > 0.9, (common, presence[common])
    for rare in (3, 14, 15, 16):  # glasses, hat, earrings, necklace
        assert presence[rare] < 0.25, (rare, presence[rare])
    lapa = _labels(60, 64, "lapa")
    assert set(np.unique(np.concatenate([lab.ravel() for lab in lapa])).tolist()) == set(range(11))


def test_left_means_the_subjects_left(celebamask_labels):
    """l_eye (4) and l_brow (6) lie on the image's right (larger x) of their right-hand partners."""
    cols = np.arange(64)
    votes = []
    for lab in celebamask_labels:
        for left, right in ((4, 5), (6, 7)):
            if (lab == left).any() and (lab == right).any():
                votes.append(
                    cols[np.nonzero(lab == left)[1]].mean() > cols[np.nonzero(lab == right)[1]].mean()
                )
    assert len(votes) > 300 and np.mean(votes) > 0.97


def test_thin_parts_are_a_few_pixels_wide():
    """At 128 px, brows and lips survive an erosion by a 3x3 square: at least 3 pixels across somewhere."""
    labels = _labels(40, 128, "lapa")
    for part in (2, 3, 7, 9):  # brows, upper and lower lip
        present = [lab == part for lab in labels if (lab == part).sum() > 20]
        thick = [ndimage.binary_erosion(mask, np.ones((3, 3))).any() for mask in present]
        assert len(present) >= 30 and np.mean(thick) > 0.9, (part, np.mean(thick))


def test_lapa_format_reads_back_as_drawn(tmp_path):
    root = generate(tmp_path / "s", n_train=3, n_val=1, n_test=2, size=48, seed=4)
    ds = build_dataset("synth", root, "test", image_size=None)
    assert ds.info.name == "synth-lapa" and ds.names == [lapa_name("test", 0), lapa_name("test", 1)]
    for i, item in enumerate(ds):
        image, label = draw_sample(4, "test", i, size=48)
        assert torch.equal(item["label"], torch.from_numpy(label).long())
        jpeg_error = (item["image"] * 255 - torch.from_numpy(image).permute(2, 0, 1).float()).abs().mean()
        assert jpeg_error < 4


def test_prepare_reproduces_the_drawn_label_maps(tmp_path):
    raw = generate(
        tmp_path / "raw", format="celebamask-hq", n_train=5, n_val=2, n_test=2, size=40, seed=1, image_scale=2
    )
    mapping = read_mapping(raw / "CelebA-HQ-to-CelebA-mapping.txt")
    plan = celebamask_plan(5, 2, 2, 1)
    assert [split_of(mapping[k]) for k in range(9)] == [split for split, _, _ in plan]
    with pytest.raises(DataError, match=r"fpliif prepare celebamask-hq --root"):
        build_dataset("synth", raw, "train")
    prepare(raw, tmp_path / "prep", workers=2, progress=False)
    seen = 0
    for split in ("train", "val", "test"):
        ds = build_dataset("synth", tmp_path / "prep", split, image_size=None)
        assert ds.info.name == "synth-celebamask-hq"
        for item in ds:
            split_k, index, _ = plan[int(item["name"])]
            image, label = draw_sample(1, split_k, index, size=40, format="celebamask-hq", image_scale=2)
            assert split_k == split and image.shape == (80, 80, 3)
            assert item["image"].shape == (3, 40, 40)  # the 2x image resized to its label map
            assert torch.equal(item["label"], torch.from_numpy(label).long())
            seen += 1
    assert seen == 9


def test_plan_meets_the_requested_split_sizes():
    plan = celebamask_plan(30, 7, 5, seed=0)
    assert [sum(split_of(o) == s for _, _, o in plan) for s in ("train", "val", "test")] == [30, 7, 5]
    assert sorted(i for s, i, _ in plan if s == "val") == list(range(7))
    assert plan[:10] != sorted(plan[:10])  # the splits are interleaved, as in the real set


def test_generate_refuses_a_foreign_or_different_folder(tmp_path):
    generate(tmp_path / "s", n_train=1, n_val=1, n_test=1, size=32)
    generate(tmp_path / "s", n_train=1, n_val=1, n_test=1, size=32)  # the same set again: fine
    with pytest.raises(DataError, match="holds another SynthFaces set"):
        generate(tmp_path / "s", n_train=2, n_val=1, n_test=1, size=32)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate(tmp_path / "other", n_train=1, n_val=1, n_test=1, size=32)
    with pytest.raises(DataError, match="not a SynthFaces folder"):
        build_dataset("synth", tmp_path / "other", "train")


def test_synth_command(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["synth", "--out", str(out), "--n-train", "2", "--n-val", "1", "--n-test", "1", "--size", "32"]
    assert main([*args, "--format", "celebamask-hq", "--workers", "1"]) == 0
    assert "fpliif prepare celebamask-hq --root" in capsys.readouterr().out
    assert len(list((out / "CelebA-HQ-img").iterdir())) == 4
    assert main([*args, "--seed", "5"]) == 2  # another set in the same folder
    assert "holds another SynthFaces set" in capsys.readouterr().err
