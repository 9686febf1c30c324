"""The weights shipped in results/real/model/: they load through the public API, their config.json
describes the model they hold, and they parse faces they never saw (a public-domain photograph and
drawn SynthFaces faces; a model trained on 800 real faces is not expected to be exact on drawings)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data

import fpliif
from fpliif.data.info import dataset_info
from fpliif.data.synth.render import draw_sample
from fpliif.models.complexity import count_parameters
from fpliif.weights import CONFIG_FILE, SHIPPED, WEIGHTS_FILE, load_weights

CELEB = dataset_info("celebamask-hq")


@pytest.fixture(scope="module")
def parser():
    return fpliif.load_pretrained()


def test_config_json_describes_the_weights(parser):
    config = json.loads((SHIPPED / CONFIG_FILE).read_text())
    assert (SHIPPED / WEIGHTS_FILE).stat().st_size < 10 * 2**20
    assert config["model_name"] == "fpliif" and config["num_classes"] == 19
    assert config["class_names"] == list(CELEB.class_names)
    assert [tuple(c) for c in config["palette"]] == [tuple(c) for c in CELEB.palette]
    model, meta = load_weights(None)
    assert config["model_config"] == model.config.to_dict() and meta.image_size == config["image_size"]
    assert round(count_parameters(model) / 1e6, 2) == 2.29  # the paper's model, not a variant
    assert config["image_size"] == 128 and config["licence"] and config["data"] and config["scores"]
    assert parser.class_names == list(CELEB.class_names)


def test_parses_the_astronaut_inside_the_face_it_finds(parser):
    photo = skimage.data.astronaut()
    result = parser.parse(photo)
    assert result.labels.shape == photo.shape[:2]
    assert len(result.faces) == 1
    box = result.faces[0]
    inside = result.labels[int(box.y0) : int(box.y1), int(box.x0) : int(box.x1)]
    found = {CELEB.class_names[i] for i in np.unique(inside)}
    assert {"skin", "nose", "l_eye", "r_eye", "hair"} <= found
    skin_share = (inside == CELEB.class_names.index("skin")).mean()
    assert 0.25 < skin_share < 0.9
    assert (result.labels[-100:] == 0).all()  # the bottom of the photo is far from any crop


def test_parses_drawn_faces_roughly(parser):
    whole = fpliif.load_pretrained(detect=False)
    agreement, hair_skin = [], []
    for i in range(4):
        image, truth = draw_sample(0, "test", i, size=256, format="celebamask-hq")
        labels = whole(image)
        assert labels.shape == truth.shape
        agreement.append((labels == truth).mean())
        for name in ("skin", "hair"):
            k = CELEB.class_names.index(name)
            hit = ((labels == k) & (truth == k)).sum()
            hair_skin.append(2 * hit / ((labels == k).sum() + (truth == k).sum()))
    assert np.mean(agreement) > 0.7  # measured 0.81 on the first three
    assert np.mean(hair_skin) > 0.6
