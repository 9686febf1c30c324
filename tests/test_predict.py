"""``fpliif predict`` on the odd images users have: a correct output or a clear error naming the file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fpliif.cli import main
from fpliif.data.io import read_image


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint):
    return tiny_checkpoint


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _exif_rotated(path):
    img = Image.fromarray(_rgb(20, 40))  # stored 40 wide, 20 high
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    img.save(path, exif=exif.tobytes())


def _animated(path):
    frames = [Image.fromarray(_rgb(30, 30, s)).convert("P") for s in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)


def _truncated(path):
    buf = io.BytesIO()
    Image.fromarray(_rgb(64, 64)).save(buf, format="JPEG")
    path.write_bytes(buf.getvalue()[:300])


# name -> (writer, expected (H, W) of the output, or an error fragment)
GOOD = {
    "one_pixel.png": (lambda p: Image.fromarray(_rgb(1, 1)).save(p), (1, 1)),
    "wide.jpg": (lambda p: Image.fromarray(_rgb(50, 10000)).save(p), (50, 10000)),
    "tall.png": (lambda p: Image.fromarray(_rgb(3000, 7)).save(p), (3000, 7)),
    "grey16.png": (
        lambda p: Image.fromarray((np.arange(64 * 48, dtype=np.uint16) * 20).reshape(64, 48)).save(p),
        (64, 48),
    ),
    "grey8.jpg": (lambda p: Image.fromarray(_rgb(33, 21)[..., 0]).save(p), (33, 21)),
    "cmyk.jpg": (lambda p: Image.fromarray(_rgb(40, 30)).convert("CMYK").save(p), (40, 30)),
    "palette.png": (lambda p: Image.fromarray(_rgb(24, 36)).convert("P").save(p), (24, 36)),
    "palette_transparent.png": (
        lambda p: Image.fromarray(_rgb(24, 36)).convert("P").save(p, transparency=0),
        (24, 36),
    ),
    "rgba.png": (
        lambda p: Image.fromarray(np.dstack([_rgb(20, 30), np.full((20, 30), 128, np.uint8)])).save(p),
        (20, 30),
    ),
    "grey_alpha.png": (lambda p: Image.fromarray(_rgb(20, 30)[..., :2].copy()).convert("LA").save(p), None),
    "bilevel.png": (lambda p: Image.fromarray(_rgb(17, 19)).convert("1").save(p), (17, 19)),
    "animated.gif": (_animated, (30, 30)),
    "exif_rotated.jpg": (_exif_rotated, (40, 20)),
    "float.tiff": (
        lambda p: Image.fromarray(np.random.default_rng(0).random((12, 14), dtype=np.float32)).save(p),
        (12, 14),
    ),
    "int32.tiff": (
        lambda p: Image.fromarray((np.arange(12 * 14, dtype=np.int32) * 300).reshape(12, 14)).save(p),
        (12, 14),
    ),
    "image.webp": (lambda p: Image.fromarray(_rgb(26, 18)).save(p), (26, 18)),
    "image.bmp": (lambda p: Image.fromarray(_rgb(26, 18)).save(p), (26, 18)),
    "image.tga": (lambda p: Image.fromarray(_rgb(26, 18)).save(p), (26, 18)),
    "jpeg_named.png": (lambda p: Image.fromarray(_rgb(22, 22)).save(p, format="JPEG"), (22, 22)),
}
BAD = {
    "empty.jpg": (lambda p: p.write_bytes(b""), "empty file"),
    "text.jpg": (lambda p: p.write_text("not an image at all\n"), "not an image"),
    "truncated.jpg": (_truncated, "truncated or corrupt"),
    "random_bytes.png": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(500)), "not an image"),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_odd_images_give_correct_outputs(name, tmp_path, checkpoint):
    writer, expected = GOOD[name]
    path = tmp_path / name
    writer(path)
    if expected is None:  # size as stored
        expected = Image.open(path).size[::-1]
    out = tmp_path / "out"
    assert main(["predict", str(path), "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    label = np.asarray(Image.open(out / f"{path.stem}_label.png"))
    overlay = np.asarray(Image.open(out / f"{path.stem}_overlay.png"))
    assert label.shape == tuple(expected)
    assert overlay.shape[1:] == (expected[1], 3) and overlay.shape[0] >= expected[0]  # a legend below
    assert label.max() < 11


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_with_the_file_named(name, tmp_path, checkpoint, capsys):
    writer, fragment = BAD[name]
    path = tmp_path / name
    writer(path)
    assert main(["predict", str(path), "--checkpoint", str(checkpoint), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and fragment in err


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        read_image(tmp_path / "nope.jpg", photo=True)
    with pytest.raises(Exception, match="is a folder"):
        read_image(tmp_path, photo=True)


def test_requested_size_and_mixed_batch(tmp_path, checkpoint, capsys):
    good = tmp_path / "a.png"
    Image.fromarray(_rgb(40, 60)).save(good)
    bad = tmp_path / "b.jpg"
    bad.write_bytes(b"")
    out = tmp_path / "o"
    rc = main(
        [
            "predict",
            str(good),
            str(bad),
            "--checkpoint",
            str(checkpoint),
            "--out",
            str(out),
            "--size",
            "96x128",
        ]
    )
    assert rc == 2  # one failed, the other was still written
    assert np.asarray(Image.open(out / "a_label.png")).shape == (96, 128)
    assert "1 of 2 image(s) failed" in capsys.readouterr().err


def test_read_image_modes_are_upright_rgb(tmp_path):
    p = tmp_path / "r.jpg"
    _exif_rotated(p)
    rgb = read_image(p, photo=True)
    assert rgb.shape == (40, 20, 3) and rgb.dtype == np.uint8
    p16 = tmp_path / "g.png"
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(p16)
    assert read_image(p16, photo=True).min() == 255  # 16-bit full scale -> 8-bit full scale
