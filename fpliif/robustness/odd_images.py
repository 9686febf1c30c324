"""Family ``predict``: odd image files through ``fpliif predict``.

A decodable image must give label and overlay maps of the right size whose labels are the
model's prediction on the correctly decoded (upright, composited, scaled) pixels; anything else
must exit 2 with a line naming the file and write nothing for it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .common import Family, run_cli, short
from .images import HTML, bomb_png, encode, png_chunk

TITLE = "Odd images for `fpliif predict`"
PASS_MEANS = (
    "a decodable image gives label and overlay maps of the right size whose labels are the model's "
    "prediction on the correctly decoded (upright, composited, scaled) pixels; anything else "
    "exits 2 with "
    "a line naming the file and writes nothing for it"
)


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _exif(orientation: int, fmt: str) -> Callable[[Path], np.ndarray]:
    """An image stored 40 wide x 20 high with an EXIF orientation; returns the upright pixels."""

    def write(path: Path) -> np.ndarray:
        from PIL import Image

        stored = _rgb(20, 40, orientation)
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(stored).save(path, format=fmt, exif=exif.tobytes())
        turn = {3: 2, 6: -1, 8: 1}[orientation]  # quarter turns counter-clockwise that make it upright
        return np.rot90(stored, turn).copy()

    return write


def _frames(fmt: str) -> Callable[[Path], np.ndarray]:
    def write(path: Path) -> np.ndarray:
        from PIL import Image

        frames = [Image.fromarray(_rgb(30, 30, s)) for s in range(3)]
        if fmt == "GIF":
            frames = [f.convert("P") for f in frames]
        frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB")) if fmt == "GIF" else _rgb(30, 30, 0)

    return write


def _saved(array: Any, fmt: str | None = None, expect: Any = "same", **options: Any) -> Callable[[Path], Any]:
    """Write ``array`` (or a PIL image); expect: the upright RGB it must decode to, "same" (= array),
    or None (lossy: only the size is checked)."""

    def write(path: Path) -> Any:
        from PIL import Image

        img = Image.fromarray(array) if isinstance(array, np.ndarray) else array
        img.save(path, format=fmt, **options)
        return array if isinstance(expect, str) else expect

    return write


GoodImages = dict[str, tuple[Callable[[Path], Any], tuple[int, int]]]
BadFiles = dict[str, tuple[Callable[[Path], None], str]]


def predict_cases() -> tuple[GoodImages, BadFiles]:
    """(good, bad): name -> (writer, output (H, W)) and name -> (writer, message fragment)."""
    from PIL import Image

    grey16 = (np.arange(64 * 48, dtype=np.uint16) * 20).reshape(64, 48)
    rgba = np.dstack([_rgb(20, 30), np.random.default_rng(3).integers(0, 256, (20, 30), dtype=np.uint8)])
    a = rgba[..., 3:].astype(np.float64) / 255
    over_white = np.round(rgba[..., :3] * a + 255 * (1 - a)).astype(np.uint8)
    floats = np.random.default_rng(0).random((12, 14), dtype=np.float32)
    palette = Image.fromarray(_rgb(24, 36)).convert("P")
    good: GoodImages = {
        "one_pixel.png": (_saved(_rgb(1, 1)), (1, 1)),
        "two_by_two.png": (_saved(_rgb(2, 2)), (2, 2)),
        "wide_50x10000.jpg": (_saved(_rgb(50, 10000), expect=None), (50, 10000)),
        "tall_10000x50.png": (_saved(_rgb(10000, 50)), (10000, 50)),
        "grey16.png": (
            _saved(
                grey16, expect=np.repeat(((grey16 / 65535 * 255) + 0.5).astype(np.uint8)[..., None], 3, 2)
            ),
            (64, 48),
        ),
        "grey8.jpg": (_saved(_rgb(33, 21)[..., 0], expect=None), (33, 21)),
        "cmyk.jpg": (_saved(Image.fromarray(_rgb(40, 30)).convert("CMYK"), expect=None), (40, 30)),
        "palette.png": (_saved(palette, expect=np.asarray(palette.convert("RGB"))), (24, 36)),
        "palette_transparent.png": (_saved(palette, expect=None, transparency=0), (24, 36)),
        "rgba.png": (_saved(Image.fromarray(rgba), expect=over_white), (20, 30)),
        "grey_alpha.png": (
            _saved(Image.fromarray(_rgb(20, 30)[..., :2].copy(), "LA"), expect=None),
            (20, 30),
        ),
        "bilevel.png": (_saved(Image.fromarray(_rgb(17, 19)).convert("1"), expect=None), (17, 19)),
        "animated.gif": (_frames("GIF"), (30, 30)),
        "animated.png": (_frames("PNG"), (30, 30)),
        "multipage.tiff": (_frames("TIFF"), (30, 30)),
        "exif_rotate90.jpg": (lambda p: (_exif(6, "JPEG")(p), None)[1], (40, 20)),
        "exif_rotate90.png": (_exif(6, "PNG"), (40, 20)),
        "exif_rotate180.png": (_exif(3, "PNG"), (20, 40)),
        "exif_rotate270.png": (_exif(8, "PNG"), (40, 20)),
        "float.tiff": (
            _saved(floats, expect=np.repeat((floats * 255 + 0.5).astype(np.uint8)[..., None], 3, 2)),
            (12, 14),
        ),
        "int32.tiff": (
            _saved((np.arange(12 * 14, dtype=np.int32) * 300).reshape(12, 14), expect=None),
            (12, 14),
        ),
        "image.webp": (_saved(_rgb(26, 18), lossless=True), (26, 18)),
        "image.bmp": (_saved(_rgb(26, 18)), (26, 18)),
        "image.tga": (_saved(_rgb(26, 18)), (26, 18)),
        "progressive.jpg": (_saved(_rgb(26, 18), expect=None, progressive=True), (26, 18)),
        "interlaced.png": (_saved(_rgb(26, 18), interlace=1), (26, 18)),
        "jpeg_named.png": (_saved(_rgb(22, 22), "JPEG", expect=None), (22, 22)),
        "png_named.jpg": (_saved(_rgb(22, 22), "PNG"), (22, 22)),
    }

    def truncated(fmt: str) -> Callable[[Path], None]:
        return lambda p: p.write_bytes(encode(_rgb(64, 64), fmt)[:300])

    zero_width = b"\\x89PNG\\r\\n\\x1a\\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 5, 8, 0, 0, 0, 0))
    bad: BadFiles = {
        "empty.jpg": (lambda p: p.write_bytes(b""), "empty file"),
        "text.jpg": (lambda p: p.write_text("not an image at all\\n"), "not an image"),
        "html_error_page.jpg": (lambda p: p.write_bytes(HTML), "not an image"),
        "random_bytes.png": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(500)), "not an image"),
        "truncated.jpg": (truncated("JPEG"), "truncated or corrupt"),
        "truncated.png": (truncated("PNG"), "truncated or corrupt"),
        "pdf_named.jpg": (
            lambda p: p.write_bytes(b"%PDF-1.4\\n1 0 obj << >> endobj\\n%%EOF\\n"),
            "not an image",
        ),
        "gzip_named.png": (lambda p: p.write_bytes(__import__("gzip").compress(b"pixels")), "not an image"),
        "drawing.svg": (lambda p: p.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>'), "not an image"),
        "zero_width.png": (lambda p: p.write_bytes(zero_width), "not an image|corrupt|no pixels"),
        "bomb.png": (lambda p: p.write_bytes(bomb_png()), "too large"),
        "a_folder.jpg": (lambda p: p.mkdir(), "is a folder"),
        "missing.jpg": (lambda p: None, "no such file"),
    }
    return good, bad


def _good_case(
    fam: Family,
    name: str,
    write: Callable[[Path], Any],
    shape: tuple[int, int],
    model: Any,
    work: Path,
    ckpt: Path,
) -> None:
    """A decodable image: right output size, the expected upright pixels, the model's labels."""
    from PIL import Image

    from ..data.io import read_image
    from ..engine.predict import predict_labels

    path = work / "in" / name
    path.parent.mkdir(exist_ok=True)
    expected_rgb = write(path)
    out = work / "out"
    rc, _, err = run_cli(["predict", str(path), "--checkpoint", str(ckpt), "--out", str(out), "--no-detect"])
    if rc != 0:
        fam.add(f"odd image: {name}", False, f"exit {rc}: {short(err)}")
        return
    label = np.asarray(Image.open(out / f"{path.stem}_label.png"))
    overlay = np.asarray(Image.open(out / f"{path.stem}_overlay.png"))
    problems = []
    if label.shape != shape or overlay.shape[1:] != (shape[1], 3) or overlay.shape[0] < shape[0]:
        problems.append(f"label {label.shape}, overlay {overlay.shape}, expected {shape}")
    rgb = read_image(path, photo=True)
    if expected_rgb is not None and (
        rgb.shape != expected_rgb.shape or np.abs(rgb.astype(int) - expected_rgb).max() > 1
    ):
        problems.append("decoded pixels differ from the expected upright RGB")
    elif not problems and label.size <= 1_000_000:
        again = predict_labels(model, rgb, input_size=64)
        if not np.array_equal(again, label):
            problems.append("label map differs from the model's prediction on the decoded image")
    checks = "size" + (", pixels" if expected_rgb is not None else "") + ", labels"
    fam.add(
        f"odd image: {name}",
        not problems,
        "; ".join(problems) or f"{shape[1]}x{shape[0]} output ({checks} ok)",
    )


def _bad_case(
    fam: Family, name: str, write: Callable[[Path], None], fragment: str, work: Path, ckpt: Path
) -> None:
    """A file that is no usable image: exit 2, a line naming it, nothing written for it."""
    path = work / "in" / name
    write(path)
    out = work / "out-bad"
    rc, _, err = run_cli(["predict", str(path), "--checkpoint", str(ckpt), "--out", str(out)])
    lines = [line for line in err.strip().splitlines() if line.strip()]
    message = next((line for line in lines if str(path) in line), short(err))
    ok = rc == 2 and re.search(fragment, message) is not None and "Traceback" not in err
    written = list(out.glob(f"{path.stem}_*")) if out.is_dir() else []
    fam.add(f"refused file: {name}", ok and not written, message + (f"; wrote {written}" if written else ""))


def run(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    import torch

    from ..engine.checkpoint import atomic_save, load_model, make_checkpoint
    from ..models import build_model

    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    ckpt = work / "tiny.pt"
    train_config = {"data": {"image_size": 64}}
    model = build_model("fpliif-tiny", num_classes=11)
    atomic_save(
        make_checkpoint(model, model_name="fpliif-tiny", dataset="lapa", train_config=train_config), ckpt
    )
    model, _ = load_model(ckpt)
    good, bad = predict_cases()
    for name, (write, shape) in good.items():
        _good_case(fam, name, write, shape, model, work, ckpt)
    for name, (write, fragment) in bad.items():
        _bad_case(fam, name, write, fragment, work, ckpt)
    # a mixed batch: the good image is still written, the run exits non-zero and says how many failed
    a, b = work / "in" / "one_pixel.png", work / "in" / "empty.jpg"
    rc, _, err = run_cli(
        [
            "predict",
            str(a),
            str(b),
            "--checkpoint",
            str(ckpt),
            "--out",
            str(work / "mixed"),
            "--size",
            "96x128",
        ]
    )
    written = (work / "mixed" / "one_pixel_label.png").is_file()
    fam.add(
        "a batch of one good and one bad file (--size 96x128)",
        rc == 2 and written and "1 of 2 image(s) failed" in err,
        f"exit {rc}; good one written: {written}; "
        f"{short(err.strip().splitlines()[-1] if err.strip() else '')}",
    )
    fam.evidence.append(
        f"{len(good)} decodable odd images (output size checked; decoded pixels checked against the "
        "independently "
        "known upright RGB where the format is lossless; the label map re-predicted from the decoded image), "
        f"{len(bad)} files that must be refused naming the file"
    )
