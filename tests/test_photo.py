"""Parsing photos: faces found in drawn scenes, crops like the training crops, labels pasted back
inside the right boxes at the photo's size, overlaps resolved by confidence, empty scenes, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from fpliif.photo.compare import matches, synth_scene
from fpliif.photo.crops import CROP_SCALE, Crop, cut, paste, region, square_crop
from fpliif.photo.detect import FaceBox, make_detector, merge_boxes
from fpliif.photo.output import overlay_with_legend, save_label_png
from fpliif.photo.parser import FaceParser
from fpliif.sizes import fit_size

NAMES = [f"c{i}" for i in range(11)]
PALETTE = [(0, 0, 0)] + [(20 * i, 255 - 20 * i, 7 * i) for i in range(1, 11)]


class Constant(nn.Module):
    """Logits [B,K,h,w] that pick class ``cls`` everywhere with a fixed confidence."""

    def __init__(self, cls: int = 1, k: int = 11) -> None:
        super().__init__()
        self.cls, self.k = cls, k

    def forward(self, images: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
        logits = torch.zeros(images.shape[0], self.k, *out_size)
        logits[:, self.cls] = 5.0
        return logits


class Brightness(nn.Module):
    """Class 1 for bright crops, class 2 for dark ones; the further from grey, the surer."""

    def forward(self, images: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
        m = images.mean()
        logits = torch.zeros(images.shape[0], 3, *out_size)
        logits[:, 1] = 10 * m
        logits[:, 2] = 10 * (1 - m)
        return logits


def _parser(model: nn.Module, **kw) -> FaceParser:
    k = 3 if isinstance(model, Brightness) else 11
    return FaceParser(model=model, class_names=NAMES[:k], palette=PALETTE[:k], input_size=32, **kw)


@pytest.fixture(scope="module")
def scene():
    return synth_scene((200, 130), canvas=(360, 480), index=0)


@pytest.fixture(scope="module")
def detector():
    return make_detector("opencv-haar")


def test_crop_is_square_twice_the_box_and_repeats_edges():
    crop = square_crop(FaceBox(10, 20, 50, 80))  # 40 x 60, centre (30, 50)
    assert CROP_SCALE == 2.0 and crop == Crop(x0=-30, y0=-10, side=120)
    rgb = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    out = cut(rgb, Crop(x0=-2, y0=3, side=4))
    assert out.shape == (4, 4, 3)
    # rows and columns past the edge repeat the last ones
    assert (out[0, 0] == rgb[3, 0]).all() and (out[3, 3] == rgb[4, 1]).all()
    assert region(Crop(10, 20, 40), (100, 200), (50, 100)) == (10, 30, 5, 25)


def test_paste_keeps_the_surer_label_and_clips_at_the_edges():
    labels, conf = np.zeros((6, 6), np.uint8), np.zeros((6, 6), np.float32)
    paste(labels, conf, np.full((4, 4), 1, np.uint8), np.full((4, 4), 0.9, np.float32), (0, 4, 0, 4))
    paste(labels, conf, np.full((4, 4), 2, np.uint8), np.full((4, 4), 0.6, np.float32), (2, 6, 2, 6))
    paste(labels, conf, np.full((4, 4), 3, np.uint8), np.full((4, 4), 0.99, np.float32), (-2, 2, 4, 8))
    assert labels[3, 3] == 1 and labels[5, 5] == 2 and labels[0, 0] == 1
    assert labels[0, 5] == 3 and labels[1, 4] == 3 and labels[2, 4] == 2
    assert conf[3, 3] == pytest.approx(0.9) and labels[5, 0] == 0 and conf[5, 0] == 0


def test_merge_boxes_keeps_the_surer_of_overlapping_ones():
    boxes = [FaceBox(0, 0, 10, 10, 1.0), FaceBox(1, 1, 11, 11, 2.0), FaceBox(30, 30, 40, 40, 0.5)]
    assert merge_boxes(boxes) == [boxes[1], boxes[2]]


def test_detector_finds_the_drawn_faces_of_a_scene(scene, detector):
    found = detector(scene.image)
    assert matches(found, scene.faces) == (2, 0)
    assert all(f.score > 0 for f in found)


def test_detector_finds_the_astronaut(detector):
    from skimage import data

    found = detector(data.astronaut())
    assert len(found) == 1
    cx, cy = found[0].center
    assert 175 < cx < 270 and 60 < cy < 165


def test_labels_land_inside_the_face_crops_at_the_photos_size(scene, detector):
    parser = _parser(Constant(cls=4), detector=detector)
    result = parser.parse(scene.image)
    assert result.labels.shape == scene.image.shape[:2] and result.labels.dtype == np.uint8
    inside = np.zeros(scene.image.shape[:2], bool)
    for crop in result.crops:
        inside[max(0, crop.y0) : crop.y1, max(0, crop.x0) : crop.x1] = True
    assert (result.labels[inside] == 4).all() and (result.labels[~inside] == 0).all()
    assert (result.confidence[~inside] == 0).all()
    for face in scene.faces:  # each true face centre is labelled
        cx, cy = face.center
        assert result.labels[int(cy), int(cx)] == 4
    half = parser.parse(scene.image, size=240)  # longer side 240, aspect kept
    assert half.labels.shape == (180, 240)
    assert (half.labels[::2, ::2][inside[::4, ::4]] == 4).mean() > 0.95


def test_overlapping_crops_resolve_to_the_surer_face():
    rgb = np.full((100, 160, 3), 128, np.uint8)
    rgb[:, :70] = 250  # a bright face on the left (sure class 1), a darker one on the right (class 2)
    rgb[:, 90:] = 60
    left, right = FaceBox(20, 30, 60, 70), FaceBox(80, 30, 120, 70)  # crops 80 wide: they overlap
    result = _parser(Brightness()).parse(rgb, faces=[left, right])
    crops = [square_crop(left), square_crop(right)]
    assert crops[0].x1 > crops[1].x0  # they do overlap
    overlap = result.labels[40:60, crops[1].x0 : crops[0].x1]
    assert (overlap == 1).all()  # the brighter crop is surer
    assert (result.labels[40:60, crops[0].x1 : crops[1].x1 - 1] == 2).all()
    assert (result.labels[:, : max(0, crops[0].x0)] == 0).all()


def test_a_photo_without_faces_is_background_with_a_message(detector, capsys):
    empty = synth_scene((), canvas=(240, 320), index=3).image
    labels = _parser(Constant(), detector=detector)(empty)
    assert labels.shape == (240, 320) and not labels.any()
    err = capsys.readouterr().err
    assert "no face found" in err and len(err.strip().splitlines()) == 1


def test_no_detect_parses_the_whole_image_as_one_face():
    rgb = np.zeros((30, 50, 3), np.uint8)
    result = _parser(Constant(cls=7), detect=False).parse(rgb, size=(60, 80))
    assert result.labels.shape == (60, 80) and (result.labels == 7).all() and result.faces == []


def test_path_pil_and_array_inputs_agree(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "x.png")
    parser = _parser(Brightness(), detect=False)
    a = parser(rgb)
    assert np.array_equal(a, parser(tmp_path / "x.png")) and np.array_equal(a, parser(Image.fromarray(rgb)))
    assert parser(rgb[..., 0]).shape == (20, 30)  # grey array
    with pytest.raises(ValueError, match="uint8"):
        parser(rgb.astype(np.float32))


def test_fit_size_keeps_the_aspect_for_one_number():
    assert fit_size((600, 800), 512) == (384, 512)
    assert fit_size((800, 600), 512) == (512, 384)
    assert fit_size((600, 800), (100, 100)) == (100, 100)
    assert fit_size((600, 800), None) == (600, 800)


def test_palette_png_keeps_the_ids_and_shows_colours(tmp_path):
    labels = np.arange(12 * 11, dtype=np.uint8).reshape(12, 11) % 11
    path = save_label_png(tmp_path / "l.png", labels, PALETTE)
    img = Image.open(path)
    assert img.mode == "P" and np.array_equal(np.asarray(img), labels)
    assert np.array_equal(np.asarray(img.convert("RGB"))[0, 3], PALETTE[3])


def test_overlay_has_a_legend_of_the_classes_present():
    rgb = np.full((80, 120, 3), 100, np.uint8)
    labels = np.zeros((80, 120), np.uint8)
    assert overlay_with_legend(rgb, labels, NAMES, PALETTE).shape == (80, 120, 3)  # nothing to explain
    labels[10:30, 10:30] = 3
    pic = overlay_with_legend(rgb, labels, NAMES, PALETTE, faces=[FaceBox(5, 5, 40, 40)])
    assert pic.shape[0] > 80 and pic.shape[1:] == (120, 3)
    assert (pic[20, 20] != rgb[20, 20]).any() and (pic[60, 100] == rgb[60, 100]).all()
    hidden = overlay_with_legend(rgb, labels, NAMES, PALETTE, hidden=[3])
    assert hidden.shape == (80, 120, 3) and (hidden == rgb).all()


def test_render_parse_writes_the_overlay_png(scene, detector, tmp_path):
    from fpliif.photo.output import render_parse

    path = render_parse(
        scene.image, tmp_path / "fig" / "o.png", parser=_parser(Constant(cls=2), detector=detector)
    )
    pic = np.asarray(Image.open(path))
    assert pic.shape[1:] == (480, 3) and pic.shape[0] > 360  # the photo and a legend below
    cx, cy = scene.faces[0].center
    assert (pic[int(cy), int(cx)] != scene.image[int(cy), int(cx)]).any()
