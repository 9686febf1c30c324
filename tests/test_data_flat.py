"""CelebAMask-HQ subsets in the flat layout: reading, the drawn split, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fpliif.data import build_dataset
from fpliif.data.flat import split_names
from fpliif.data.info import dataset_info
from fpliif.errors import DataError

S = 32  # side of the drawn faces
SPLITS = ("train", "val", "test")


def _label(seed: int) -> np.ndarray:
    """4x4 blocks of ids 0..18, so every resize by a power of two keeps them."""
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 19, (S // 4, S // 4)), np.ones((4, 4), dtype=np.int64)).astype(np.uint8)


def _write_pair(folder: Path, name: str, label: np.ndarray, *, palette: bool = True) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "masks").mkdir(parents=True, exist_ok=True)
    colours = np.random.default_rng(1).integers(0, 256, (256, 3), dtype=np.uint8)
    Image.fromarray(colours[label]).save(folder / "images" / f"{name}.jpg", quality=95)
    mask = Image.fromarray(label)
    if palette:  # what the circulating subsets hold: palette PNGs whose values are the ids
        mask = mask.convert("P")
        mask.putpalette([c for rgb in dataset_info("celebamask-hq").palette for c in rgb])
    mask.save(folder / "masks" / f"{name}.png")


def make_single_folder(root: Path, n: int = 20) -> dict[str, np.ndarray]:
    labels = {f"face{i:02d}": _label(i) for i in range(n)}
    for i, (name, label) in enumerate(labels.items()):
        _write_pair(root / "train", name, label, palette=i % 2 == 0)
    return labels


def test_single_folder_is_split_reproducibly(tmp_path):
    labels = make_single_folder(tmp_path)
    parts = {
        s: build_dataset("celebamask-hq", tmp_path, s, image_size=None) for s in ("train", "val", "test")
    }
    assert [len(parts[s]) for s in ("train", "val", "test")] == [16, 2, 2]
    names = [n for ds in parts.values() for n in ds.names]
    assert sorted(names) == sorted(labels)  # disjoint and complete
    for ds in parts.values():
        assert ds.info.num_classes == 19
        assert ds.record["split_seed"] == 0 and ds.record["counts"] == {"train": 16, "val": 2, "test": 2}
        for i, name in enumerate(ds.names):
            assert np.array_equal(ds[i]["label"].numpy(), labels[name])  # palette values are the ids
    again = build_dataset("celebamask-hq", tmp_path, "test", image_size=None)
    assert again.names == parts["test"].names
    other = build_dataset("celebamask-hq", tmp_path, "test", image_size=None, split_seed=1)
    assert other.names != parts["test"].names and other.record["split_seed"] == 1


def test_split_names_counts_and_seed():
    names = [f"{i:04d}" for i in range(1000)]
    parts = split_names(names, 0)
    assert [len(parts[s]) for s in ("train", "val", "test")] == [800, 100, 100]
    assert set().union(*parts.values()) == set(names)
    assert split_names(list(reversed(names)), 0) == parts  # the order files are listed in does not matter
    assert split_names(names, 1)["test"] != parts["test"]


def test_three_split_folders_are_read_as_they_are(tmp_path):
    for s, split in enumerate(("train", "val", "test")):
        for i in range(2):
            _write_pair(tmp_path / split, f"{split}{i}", _label(10 * s + i))
    ds = build_dataset("celebamask-hq", tmp_path, "val", image_size=16)
    assert ds.names == ["val0", "val1"] and ds.record == {
        "layout": "flat",
        "folders": ["train", "val", "test"],
    }
    assert ds[0]["label"].shape == (16, 16) and ds[0]["image"].shape == (3, 16, 16)


def test_missing_split_folder_names_it(tmp_path):
    for split in ("train", "val"):
        _write_pair(tmp_path / split, "a", _label(0))
    with pytest.raises(DataError, match=r"split folder not found \(this subset has train, val\)") as exc:
        build_dataset("celebamask-hq", tmp_path, "test")
    assert exc.value.path == str(tmp_path / "test")


def test_bad_files_name_the_file(tmp_path):
    make_single_folder(tmp_path, n=10)
    masks = tmp_path / "train" / "masks"
    (masks / "face03.png").unlink()
    with pytest.raises(DataError, match=r"image without a label map") as exc:
        build_dataset("celebamask-hq", tmp_path, "train")
    assert exc.value.path.endswith("face03.jpg")
    (tmp_path / "train" / "images" / "face03.jpg").unlink()
    label = _label(4)
    label[0, 0] = 19  # one past CelebAMask-HQ's ids
    Image.fromarray(label).save(masks / "face04.png")
    Image.fromarray(np.zeros((S // 2, S // 2), dtype=np.uint8)).save(masks / "face05.png")
    splits = {
        s: build_dataset("celebamask-hq", tmp_path, s, image_size=None) for s in ("train", "val", "test")
    }
    owner = {n: ds for ds in splits.values() for n in ds.names}
    with pytest.raises(DataError, match=r"label ids \[19\] outside celebamask-hq's 0..18") as exc:
        owner["face04"][owner["face04"].names.index("face04")]
    assert exc.value.path == str(masks / "face04.png")
    with pytest.raises(DataError, match=r"label map is 16x16 but its image face05.jpg is 32x32") as exc:
        owner["face05"][owner["face05"].names.index("face05")]
    assert exc.value.path == str(masks / "face05.png")
    skipped = set()
    for split in ("train", "val", "test"):
        kept = build_dataset("celebamask-hq", tmp_path, split, image_size=None, skip_bad=True)
        assert not {"face04", "face05"} & set(kept.names)
        skipped |= {Path(f).name for f, _ in kept.skipped}
    assert {"face04.png", "face05.png"} <= skipped
