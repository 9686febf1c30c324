"""Weights folders (safetensors + config.json), ``load_pretrained`` and ``fpliif predict`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import fpliif
from fpliif import weights
from fpliif.cli import main
from fpliif.engine.checkpoint import load_model
from fpliif.photo.compare import synth_scene


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    for name, extra in (("fp32", []), ("fp16", ["--fp16"])):
        argv = ["export", "--format", "safetensors", "--checkpoint", str(tiny_checkpoint)]
        assert main([*argv, "--out", str(root / name), "--licence", "MIT", *extra]) == 0
    return root


@torch.no_grad()
def test_safetensors_round_trip_gives_the_same_logits(tiny_checkpoint, exported):
    original, _ = load_model(tiny_checkpoint)
    images = torch.rand(2, 3, 48, 48)
    want = original(images, (40, 56))
    model, meta = weights.load_weights(exported / "fp32")
    assert torch.equal(model(images, (40, 56)), want)
    half, _ = weights.load_weights(exported / "fp16")
    assert next(half.parameters()).dtype == torch.float32
    got = half(images, (40, 56))
    assert not torch.equal(got, want) and torch.allclose(got, want, atol=2e-2 * float(want.abs().max()))
    assert (exported / "fp16" / weights.WEIGHTS_FILE).stat().st_size < 0.6 * (
        exported / "fp32" / weights.WEIGHTS_FILE
    ).stat().st_size
    assert meta.class_names[1] == "skin" and meta.palette[1] == (204, 0, 0) and meta.image_size == 256


def test_config_json_rebuilds_and_describes_the_model(exported):
    config = json.loads((exported / "fp16" / "config.json").read_text())
    assert config["model_name"] == "fpliif-tiny" and config["num_classes"] == 11
    assert fpliif.build_model(config["model_name"], **config["model_config"]).config.channels == 16
    assert len(config["class_names"]) == len(config["palette"]) == 11 and config["image_size"] == 256
    assert config["weights_dtype"] == "fp16" and config["licence"] == "MIT"
    assert {"data", "budget", "scores"} <= set(config)


def test_load_pretrained_reads_a_folder_and_a_checkpoint_alike(tiny_checkpoint, exported):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    a = fpliif.load_pretrained(exported / "fp32", device="cpu", detect=False)(rgb)
    b = fpliif.load_pretrained(tiny_checkpoint, device="cpu", detect=False)(rgb)
    assert a.shape == (40, 60) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert fpliif.load_pretrained(tiny_checkpoint, detect=False, size=30)(rgb).shape == (20, 30)


def test_missing_shipped_weights_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(weights, "SHIPPED", tmp_path / "results" / "real" / "model")
    with pytest.raises(weights.WeightsNotFoundError, match="results/real/model/.*--checkpoint"):
        fpliif.load_pretrained()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    assert main(["predict", str(tmp_path / "a.png"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "using the shipped weights" in err[0] and "results/real/model/" in err[-1] and len(err) == 2


def test_predict_a_folder_end_to_end(tiny_checkpoint, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(synth_scene((200, 130), canvas=(360, 480), index=0).image).save(photos / "two.png")
    Image.fromarray(synth_scene((), canvas=(120, 160), index=3).image).save(photos / "none.png")
    (photos / "notes.txt").write_text("not an image, left alone")
    out, faces = tmp_path / "out", tmp_path / "faces.json"
    argv = ["predict", str(photos), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main([*argv, "--faces-json", str(faces), "--size", "240"]) == 0
    err = capsys.readouterr().err
    assert "no face found in" in err and "none.png" in err
    label = Image.open(out / "two_label.png")
    assert label.mode == "P" and label.size == (240, 180)
    ids = np.asarray(label)
    assert ids.max() < 11 and ids.any() and not np.asarray(Image.open(out / "none_label.png")).any()
    assert Image.open(out / "two_overlay.png").size[0] == 240
    found = json.loads(faces.read_text())["images"]
    two, none = found[str(photos / "two.png")]["faces"], found[str(photos / "none.png")]["faces"]
    assert len(two) == 2 and none == [] and {"x0", "y0", "x1", "y1", "score", "crop"} <= set(two[0])
    classes = json.loads((out / "classes.json").read_text())["classes"]
    assert classes[1] == {"id": 1, "name": "skin", "colour": [204, 0, 0]}


def test_predict_globs_and_no_detect(tiny_checkpoint, tmp_path):
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((30, 40, 3), 90, np.uint8)).save(tmp_path / name)
    out = tmp_path / "out"
    argv = ["predict", str(tmp_path / "*.png"), "--checkpoint", str(tiny_checkpoint), "--out", str(out)]
    assert main([*argv, "--no-detect", "--size", "15x25"]) == 0
    for name in ("a", "b"):
        assert np.asarray(Image.open(out / f"{name}_label.png")).shape == (15, 25)
    assert main(["predict", str(tmp_path / "*.jpeg"), "--checkpoint", str(tiny_checkpoint)]) == 2
