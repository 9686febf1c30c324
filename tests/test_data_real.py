"""The real datasets' layouts (tiny trees written here) read back, and every bad-data case."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fpliif.cli import main
from fpliif.data import DataError, build_dataset, dataset_info
from fpliif.data.celebamask import prepare, split_of
from fpliif.data.info import CELEBAMASK_PARTS

H, W = 24, 32  # not square, so a swapped axis shows


def _label(seed: int, num_classes: int, h: int = H, w: int = W) -> np.ndarray:
    """Blocks of random ids (4x4 pixels), so nearest resizing by 2 keeps them exactly."""
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, num_classes, (h // 4, w // 4)), np.ones((4, 4), dtype=np.int64)).astype(
        np.uint8
    )


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, quality=95) if path.suffix == ".jpg" else Image.fromarray(array).save(
        path
    )


def _image_for(label: np.ndarray, scale: int = 1) -> np.ndarray:
    colours = np.random.default_rng(1).integers(0, 256, (256, 3), dtype=np.uint8)
    return np.kron(colours[label], np.ones((scale, scale, 1), dtype=np.uint8))


def make_lapa(
    root: Path, counts=(("train", 3), ("val", 1), ("test", 2))
) -> dict[tuple[str, str], np.ndarray]:
    labels = {}
    for s, (split, n) in enumerate(counts):
        for i in range(n):
            name = f"{1000 + i}_{s}"
            label = _label(10 * s + i, 11)
            _write(root / split / "images" / f"{name}.jpg", _image_for(label))
            _write(root / split / "labels" / f"{name}.png", label)
            labels[split, name] = label
    return labels


def make_helen(root: Path) -> dict[tuple[str, str], np.ndarray]:
    labels = {}
    root.mkdir(parents=True, exist_ok=True)
    lists = {"train": "exemplars.txt", "val": "tuning.txt", "test": "testing.txt"}
    for s, (split, file) in enumerate(lists.items()):
        names = [f"{100 + s}{i}_{i + 1}" for i in range(2)]
        (root / file).write_text("".join(f"{i + 1} , {n}\n" for i, n in enumerate(names)))
        for i, name in enumerate(names):
            label = _label(20 * s + i, 11)
            _write(root / "images" / f"{name}.jpg", _image_for(label))
            rng = np.random.default_rng(i)
            for c in range(11):  # the true class is the brightest map, the others hold noise
                grey = np.where(label == c, 200, rng.integers(0, 150, label.shape)).astype(np.uint8)
                _write(root / "labels" / name / f"{name}_lbl{c:02d}.png", grey)
            labels[split, name] = label
    return labels


def make_celebamask(root: Path) -> dict[str, np.ndarray]:
    """Images at twice the masks' size; overlapping part masks whose merge order matters."""
    origs = {0: 5, 1: 170000, 2: 190000, 3: 162770, 4: 182638, 5: 100}  # train val test train test train
    labels = {}
    for k in origs:
        parts = {
            "skin": (slice(2, 22), slice(4, 28)),  # the face, under everything painted later
            "l_eye": (slice(8, 12), slice(18, 24)),
            "r_eye": (slice(8, 12), slice(8, 14)),
            "hair": (slice(0, 8), slice(0, 32)),  # over the forehead
            "hat": (slice(0, 4), slice(6, 26)),  # over the hair
            "neck": (slice(18, 24), slice(10, 22)),  # after the hair and skin in the official order
        }
        if k % 2:
            parts["ear_r"] = (slice(14, 18), slice(0, 3))
        expected = np.zeros((H, W), dtype=np.uint8)
        for part in CELEBAMASK_PARTS:  # the official order
            if part in parts:
                mask = np.zeros((H, W), dtype=np.uint8)
                mask[parts[part]] = 255
                _write(root / "CelebAMask-HQ-mask-anno" / str(k // 2000) / f"{k:05d}_{part}.png", mask)
                expected[parts[part]] = CELEBAMASK_PARTS.index(part) + 1
        _write(root / "CelebA-HQ-img" / f"{k}.jpg", _image_for(expected, scale=2))
        labels[str(k)] = expected
    lines = ["idx orig_idx orig_file"] + [f"{k} {o} {o + 1:06d}.jpg" for k, o in origs.items()]
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(lines) + "\n")
    return labels


# -- reading the layouts -----------------------------------------------------------------------


def test_lapa_reads_labels_and_images(tmp_path):
    labels = make_lapa(tmp_path)
    for split in ("train", "val", "test"):
        ds = build_dataset("lapa", tmp_path, split, image_size=None)
        assert ds.names == sorted(n for s, n in labels if s == split)
        for item in ds:
            assert item["image"].dtype == torch.float32 and item["image"].shape == (3, H, W)
            assert item["image"].min() >= 0 and item["image"].max() <= 1
            assert item["label"].dtype == torch.int64
            assert torch.equal(item["label"], torch.from_numpy(labels[split, item["name"]]).long())
    assert ds.info.num_classes == 11 and ds.skipped == []


def test_resize_square_and_pair_keeps_label_ids(tmp_path):
    labels = make_lapa(tmp_path)
    item = build_dataset("lapa", tmp_path, "train", image_size=(12, 16))[0]
    assert item["image"].shape == (3, 12, 16) and item["label"].shape == (12, 16)
    # Blocks of 4 pixels halve exactly under nearest resizing: no blended ids.
    assert torch.equal(item["label"], torch.from_numpy(labels["train", item["name"]][1::2, 1::2]).long())
    item = build_dataset("lapa", tmp_path, "train", image_size=40)[0]
    assert item["image"].shape == (3, 40, 40)
    assert set(item["label"].unique().tolist()) <= set(np.unique(labels["train", item["name"]]).tolist())


def test_helen_merges_per_class_maps_by_argmax(tmp_path):
    labels = make_helen(tmp_path)
    for split in ("train", "val", "test"):
        ds = build_dataset("helen", tmp_path, split, image_size=None)
        assert len(ds) == 2
        for item in ds:
            assert torch.equal(item["label"], torch.from_numpy(labels[split, item["name"]]).long())
    assert ds.info.composites["mouth"] == (7, 8, 9)


def test_celebamask_prepare_merges_in_official_order_and_splits(tmp_path):
    raw, out = tmp_path / "raw", tmp_path / "prepared"
    labels = make_celebamask(raw)
    result = prepare(raw, out, workers=2, progress=False)
    assert result.counts == {"train": 3, "val": 1, "test": 2}
    assert (out / "val.txt").read_text().split() == ["1"]
    for split in ("train", "val", "test"):
        ds = build_dataset("celebamask-hq", out, split, image_size=None)
        for item in ds:
            # Images are 2x the masks: the native size is the label maps'.
            assert item["image"].shape == (3, H, W)
            assert torch.equal(item["label"], torch.from_numpy(labels[item["name"]]).long())
    assert ds.info.num_classes == 19
    # Resumable and idempotent: a second run writes nothing and changes nothing.
    before = {p.name: p.read_bytes() for p in (out / "labels").iterdir()}
    again = prepare(raw, out, workers=1, progress=False)
    assert again.written == 0 and again.kept == 6
    assert before == {p.name: p.read_bytes() for p in (out / "labels").iterdir()}


def test_celebamask_split_rule():
    assert [split_of(i) for i in (0, 162770, 162771, 182637, 182638)] == [
        "train",
        "train",
        "val",
        "val",
        "test",
    ]


def test_raw_celebamask_folder_names_the_command(tmp_path):
    make_celebamask(tmp_path / "raw")
    with pytest.raises(DataError, match=r"fpliif prepare celebamask-hq --root .*raw --out"):
        build_dataset("celebamask-hq", tmp_path / "raw", "train")


def test_dataset_info_tables():
    lapa, cm = dataset_info("lapa"), dataset_info("celebamask-hq")
    assert lapa.class_names[4] == "left_eye" and lapa.num_classes == len(lapa.palette) == 11
    assert cm.class_names[1:] == list(CELEBAMASK_PARTS) and cm.num_classes == len(cm.palette) == 19
    lut = cm.flip_lut()
    assert [lut[i] for i in (4, 5, 6, 7, 8, 9, 1, 255)] == [5, 4, 7, 6, 9, 8, 1, 255]
    assert dataset_info("synth", format="celebamask-hq").num_classes == 19
    with pytest.raises(KeyError):
        dataset_info("nope")


def test_cache_keeps_samples_and_still_augments(tmp_path):
    make_lapa(tmp_path)
    ds = build_dataset("lapa", tmp_path, "train", image_size=16, augment=True, cache=True)
    for p in (tmp_path / "train").rglob("*.*"):
        p.unlink()  # from now on only the cache can serve
    a, b = ds[0], ds[0]
    assert a["image"].shape == (3, 16, 16) and not torch.equal(a["image"], b["image"])


# -- bad data ----------------------------------------------------------------------------------


def test_missing_root_and_split_folders(tmp_path):
    with pytest.raises(DataError, match="folder not found") as exc:
        build_dataset("lapa", tmp_path / "nope", "train")
    assert exc.value.path == str(tmp_path / "nope")
    make_lapa(tmp_path)
    for p in (tmp_path / "val").rglob("*"):
        if p.is_file():
            p.unlink()
    for d in sorted((tmp_path / "val").rglob("*"), reverse=True):
        d.rmdir()
    (tmp_path / "val").rmdir()
    with pytest.raises(DataError, match="'val' split") as exc:
        build_dataset("lapa", tmp_path, "val", skip_bad=True)  # no skipping a missing folder
    assert exc.value.path == str(tmp_path / "val")


def test_missing_split_list_and_mapping_file(tmp_path):
    make_helen(tmp_path / "helen")
    (tmp_path / "helen" / "testing.txt").unlink()
    with pytest.raises(DataError, match="split list not found") as exc:
        build_dataset("helen", tmp_path / "helen", "test")
    assert exc.value.path.endswith("testing.txt")
    make_celebamask(tmp_path / "cm")
    (tmp_path / "cm" / "CelebA-HQ-to-CelebA-mapping.txt").unlink()
    with pytest.raises(DataError, match="mapping file not found"):
        prepare(tmp_path / "cm", tmp_path / "out", progress=False)


def _break(path: Path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif how == "not an image":
        path.write_text("hello")


@pytest.mark.parametrize(
    ("how", "message"),
    [("empty", "empty image file"), ("truncated", "truncated"), ("not an image", "not a readable image")],
)
def test_unreadable_images_name_the_file(tmp_path, how, message):
    make_lapa(tmp_path)
    bad = tmp_path / "train" / "images" / "1001_0.jpg"
    _break(bad, how)
    ds = build_dataset("lapa", tmp_path, "train")  # cheap checks only: found when read
    with pytest.raises(DataError, match=message) as exc:
        ds[ds.names.index("1001_0")]
    assert exc.value.path == str(bad)
    ds = build_dataset("lapa", tmp_path, "train", skip_bad=True)
    assert "1001_0" not in ds.names and len(ds) == 2
    assert ds.skipped == [(str(bad), exc.value.problem)]


def test_label_size_mismatch_and_ids_out_of_range(tmp_path):
    labels = make_lapa(tmp_path)
    small = tmp_path / "train" / "labels" / "1000_0.png"
    _write(small, np.zeros((H // 2, W // 2), dtype=np.uint8))
    out_of_range = tmp_path / "train" / "labels" / "1001_0.png"
    label = _label(0, 11)
    label[0, 0], label[5, 5] = 11, 200
    _write(out_of_range, label)
    ds = build_dataset("lapa", tmp_path, "train", image_size=None)
    with pytest.raises(DataError, match=r"label map is 16x12 but its image 1000_0.jpg is 32x24") as exc:
        ds[0]
    assert exc.value.path == str(small)
    with pytest.raises(DataError, match=r"label ids \[11, 200\] outside lapa's 0..10") as exc:
        ds[1]
    assert exc.value.path == str(out_of_range)
    good = ds[2]  # the good one still reads, with the ids written
    assert ds.names[2] == "1002_0"
    assert np.array_equal(good["label"].numpy(), labels["train", "1002_0"])


def test_colour_label_maps_are_refused(tmp_path):
    make_lapa(tmp_path)
    path = tmp_path / "test" / "labels" / "1000_2.png"
    _write(path, np.zeros((H, W, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="mode RGB"):
        build_dataset("lapa", tmp_path, "test")[0]


def test_unpaired_files_fail_at_construction_or_are_skipped(tmp_path):
    make_lapa(tmp_path)
    (tmp_path / "train" / "labels" / "1000_0.png").unlink()
    (tmp_path / "train" / "images" / "1002_0.jpg").unlink()
    with pytest.raises(DataError, match=r"image without a label map .*1 more like it") as exc:
        build_dataset("lapa", tmp_path, "train")
    assert exc.value.path.endswith("1000_0.jpg")
    report = tmp_path / "report.json"
    ds = build_dataset("lapa", tmp_path, "train", skip_bad=True, report=report)
    assert ds.names == ["1001_0"]
    data = json.loads(report.read_text())
    assert data["kept"] == 1 and data["split"] == "train"
    reasons = {Path(s["file"]).name: s["reason"] for s in data["skipped"]}
    assert reasons.keys() == {"1000_0.jpg", "1002_0.png"}
    assert "label map without an image" in reasons["1002_0.png"]


def test_helen_bad_samples(tmp_path):
    make_helen(tmp_path)
    (tmp_path / "labels" / "1000_1" / "1000_1_lbl07.png").unlink()
    _write(tmp_path / "labels" / "1011_2" / "1011_2_lbl03.png", np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(DataError, match="label maps missing: 1000_1_lbl07.png"):
        build_dataset("helen", tmp_path, "train")
    assert build_dataset("helen", tmp_path, "train", skip_bad=True).names == ["1001_2"]
    val = build_dataset("helen", tmp_path, "val")
    with pytest.raises(DataError, match="per-class label maps differ in size") as exc:
        val[val.names.index("1011_2")]
    assert exc.value.path.endswith("1011_2")
    val = build_dataset("helen", tmp_path, "val", skip_bad=True)
    assert val.names == ["1010_1"] and "differ in size" in val.skipped[0][1]


def test_prepare_bad_samples_and_report(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "out"
    make_celebamask(raw)
    masks = raw / "CelebAMask-HQ-mask-anno" / "0"
    _write(masks / "00002_nose.png", np.zeros((H // 2, W // 2), dtype=np.uint8))  # a mask of another size
    (raw / "CelebA-HQ-img" / "4.jpg").unlink()  # masks without their image
    _write(raw / "CelebA-HQ-img" / "3.jpg", np.zeros((H * 2 + 1, W * 2, 3), dtype=np.uint8))  # no multiple
    assert main(["prepare", "celebamask-hq", "--root", str(raw), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fpliif prepare: error: ") and "4.jpg: image listed in" in err and "\n" not in err
    code = main(
        ["prepare", "celebamask-hq", "--root", str(raw), "--out", str(out), "--skip-bad", "--workers", "2"]
    )
    assert code == 0
    assert "skipped 3 bad images; report:" in capsys.readouterr().out
    reasons = {
        Path(s["file"]).name: s["reason"]
        for s in json.loads((out / "prepare-report.json").read_text())["skipped"]
    }
    assert reasons.keys() == {"4.jpg", "3.jpg", "00002_nose.png"}
    assert "differ in size: this one is 16x12, the others 32x24" in reasons["00002_nose.png"]
    assert "is 64x49 but its part masks are 32x24" in reasons["3.jpg"]
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["0.png", "1.png", "5.png"]
    assert (out / "train.txt").read_text().split() == ["0", "5"]


def test_dataloader_worker_errors_still_name_the_file(tmp_path):
    make_lapa(tmp_path)
    bad = tmp_path / "val" / "images" / "1000_1.jpg"
    _break(bad, "truncated")
    loader = torch.utils.data.DataLoader(build_dataset("lapa", tmp_path, "val"), num_workers=1)
    with pytest.raises(DataError) as exc:
        next(iter(loader))
    assert exc.value.path == str(bad)
    assert "truncated" in exc.value.problem and "DataLoader worker process 0" in exc.value.problem
