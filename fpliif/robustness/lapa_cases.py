"""The damaged-data cases of the LaPa layout: one sample's image and label (``lapa_1``), and the folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .damage import (
    Mutation,
    as_dir,
    chmod0,
    cp,
    cut,
    cut_name,
    dangling,
    flip,
    idat,
    mv,
    put,
    reencode,
    rm,
    seq,
    swap,
    text,
)
from .data_case import SIZE, UNREADABLE, Catalogue, DataCase, Truth, with_pixel
from .data_trees import image_for, tiny_labels
from .images import HTML, bomb_png, encode

LAPA = Catalogue("lapa", bad=("lapa_1",))
lapa = LAPA.case
IMG, LBL = "train/images/lapa_1.jpg", "train/labels/lapa_1.png"


@LAPA.group
def image_unreadable(truth: Truth) -> list[DataCase]:
    return [
        lapa("image: zero bytes", put(IMG, b""), "sample", [IMG], "empty", loader=True),
        *[
            lapa(f"image: truncated {cut_name(n)}", cut(IMG, n), "sample", [IMG], UNREADABLE, loader=n == 0.5)
            for n in (1, 16, 100, 0.25, 0.5, 0.75, -2, -1)
        ],
        lapa("image: a text file", text(IMG, "this is not a picture\n"), "sample", [IMG], "not a readable"),
        lapa("image: an HTML error page", put(IMG, HTML), "sample", [IMG], "not a readable"),
        lapa(
            "image: random bytes", put(IMG, np.random.default_rng(5).bytes(700)), "sample", [IMG], UNREADABLE
        ),
        lapa("image: JPEG header only", cut(IMG, 20), "sample", [IMG], UNREADABLE),
        lapa(
            "image: a directory named like it",
            as_dir(IMG),
            "sample",
            [IMG],
            "cannot read|directory",
            loader=True,
        ),
        lapa("image: dangling symlink", dangling(IMG), "sample", [IMG], "not found"),
        lapa("image: decompression bomb header", put(IMG, bomb_png()), "sample", [IMG], "too large"),
    ]


@LAPA.group
def image_size(truth: Truth) -> list[DataCase]:
    lab = truth["lapa_1"]
    pic = image_for(lab)
    return [
        lapa("image: 1x1 pixel", put(IMG, encode(pic[:1, :1], "PNG")), "sample", [LBL], SIZE),
        lapa(
            "image: twice the label's size", put(IMG, encode(image_for(lab, 2), "PNG")), "sample", [LBL], SIZE
        ),
        lapa(
            "image: transposed (W x H)",
            put(IMG, encode(pic.transpose(1, 0, 2).copy(), "PNG")),
            "sample",
            [LBL],
            SIZE,
        ),
        lapa(
            "image: one column short",
            put(IMG, encode(pic[:, :-1], "PNG")),
            "sample",
            [LBL],
            SIZE,
            loader=True,
        ),
    ]


@LAPA.group
def image_files(truth: Truth) -> list[DataCase]:
    pic = image_for(truth["lapa_1"])
    bmp, png = IMG[:-4] + ".bmp", IMG[:-4] + ".png"
    return [
        lapa("image: missing", rm(IMG), "sample", [LBL], "without an image"),
        lapa(
            "image: renamed .bmp (not an image extension)", mv(IMG, bmp), "sample", [LBL], "without an image"
        ),
        lapa(
            "image: a second image with the same name (.png)",
            put(png, encode(pic, "PNG")),
            "sample",
            [IMG, png],
            "same name|share|duplicate",
        ),
        lapa(
            "image: unreadable permissions (chmod 000)",
            chmod0(IMG),
            "sample",
            [IMG],
            "cannot read|permission",
            needs_non_root=True,
        ),
    ]


@LAPA.group
def image_acceptable(truth: Truth) -> list[DataCase]:
    """Other encodings of the same picture are not data errors: they must read, with the right label."""
    pic = image_for(truth["lapa_1"])
    alpha = np.dstack([pic, np.full(pic.shape[:2], 77, np.uint8)])
    grey16 = (pic[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    return [
        *[
            lapa(
                f"image: {fmt}-encoded but named .jpg (acceptable)",
                put(IMG, encode(pic, fmt, **opts)),
                "ok",
                images={"lapa_1": pic},
            )
            for fmt, opts in (("PNG", {}), ("TIFF", {}), ("BMP", {}), ("WEBP", {"lossless": True}))
        ],
        lapa("image: GIF (palette) named .jpg (acceptable)", put(IMG, encode(pic, "GIF")), "ok"),
        lapa("image: CMYK JPEG (acceptable)", reencode(IMG, "JPEG", lambda i: i.convert("CMYK")), "ok"),
        lapa("image: greyscale JPEG (acceptable)", reencode(IMG, "JPEG", lambda i: i.convert("L")), "ok"),
        lapa("image: RGBA PNG (acceptable)", put(IMG, encode(alpha, "PNG")), "ok", images={"lapa_1": pic}),
        lapa(
            "image: 16-bit greyscale PNG (acceptable, scaled to 8 bits)",
            put(IMG, encode(grey16, "PNG")),
            "ok",
            images={"lapa_1": np.repeat(pic[..., :1], 3, axis=2)},
        ),
        lapa("image: extension .JPG (acceptable)", mv(IMG, IMG[:-4] + ".JPG"), "ok"),
        lapa("image: extension .jpeg (acceptable)", mv(IMG, IMG[:-4] + ".jpeg"), "ok"),
    ]


def _idat_end(b: bytes) -> int:
    """The last byte of a PNG's first IDAT chunk."""
    at = b.index(b"IDAT")
    return at + 4 + int.from_bytes(b[at - 4 : at], "big") - 1


@LAPA.group
def label_unreadable(truth: Truth) -> list[DataCase]:
    flips = (
        ("header", lambda b: 18),
        ("data start", idat(2)),
        ("data middle", idat(12)),
        ("data end", _idat_end),
    )
    return [
        lapa("label: zero bytes", put(LBL, b""), "sample", [LBL], "empty", loader=True),
        *[
            lapa(f"label: truncated {cut_name(n)}", cut(LBL, n), "sample", [LBL], UNREADABLE, loader=n == 0.5)
            for n in (1, 8, 33, 0.25, 0.5, 0.75)
        ],
        # only the end chunk lost: the pixels may still be complete
        *[
            lapa(f"label: truncated {cut_name(n)}", cut(LBL, n), "either", [LBL], UNREADABLE)
            for n in (-1, -12, -13)
        ],
        lapa("label: a text file", text(LBL, "0 1 2 3\n"), "sample", [LBL], "not a readable"),
        lapa("label: an HTML error page", put(LBL, HTML), "sample", [LBL], "not a readable"),
        lapa(
            "label: random bytes", put(LBL, np.random.default_rng(6).bytes(300)), "sample", [LBL], UNREADABLE
        ),
        *[
            lapa(f"label: a flipped byte in the PNG {where}", flip(LBL, at), "either", [LBL], UNREADABLE)
            for where, at in flips
        ],
    ]


@LAPA.group
def label_content(truth: Truth) -> list[DataCase]:
    lab = truth["lapa_1"]
    return [
        lapa(
            "label: JPEG-compressed (lossy ids) named .png",
            put(LBL, encode(lab, "JPEG", quality=95)),
            "sample",
            [LBL],
            "JPEG|lossy",
            loader=True,
        ),
        lapa("label: colour (RGB) map", put(LBL, encode(image_for(lab), "PNG")), "sample", [LBL], "mode RGB"),
        lapa(
            "label: grey ids stored as RGB",
            put(LBL, encode(np.repeat(lab[..., None], 3, 2), "PNG")),
            "sample",
            [LBL],
            "mode RGB",
        ),
        lapa("label: RGBA", put(LBL, encode(np.dstack([lab] * 4), "PNG")), "sample", [LBL], "mode RGBA"),
        lapa(
            "label: grey + alpha (LA)",
            put(LBL, encode(np.dstack([lab, lab]), "PNG")),
            "sample",
            [LBL],
            "mode LA",
        ),
        lapa(
            "label: float TIFF named .png",
            put(LBL, encode(lab.astype(np.float32), "TIFF")),
            "sample",
            [LBL],
            "mode F",
        ),
        lapa(
            "label: 16-bit ids above 255",
            put(LBL, encode(lab.astype(np.uint16) + 300, "PNG")),
            "sample",
            [LBL],
            "do not fit|label ids",
        ),
        *[
            lapa(
                f"label: one pixel with id {value} (LaPa has 0..10)",
                put(LBL, encode(with_pixel(lab, (5, 7), value), "PNG")),
                "sample",
                [LBL],
                r"label ids",
                loader=value == 100,
            )
            for value in (11, 12, 19, 100, 254)
        ],
        lapa(
            "label: every pixel id 11",
            put(LBL, encode(np.full_like(lab, 11), "PNG")),
            "sample",
            [LBL],
            "label ids",
        ),
    ]


@LAPA.group
def label_acceptable(truth: Truth) -> list[DataCase]:
    lab = truth["lapa_1"]
    ignore = lab.copy()
    ignore[:4, :8] = 255
    return [
        lapa(
            "label: 255 (= ignore) pixels (acceptable)",
            put(LBL, encode(ignore, "PNG")),
            "ok",
            truth={"lapa_1": ignore},
        ),
        lapa(
            "label: 16-bit PNG of valid ids (acceptable)",
            put(LBL, encode(lab.astype(np.uint16), "PNG")),
            "ok",
        ),
        lapa(
            "label: palette PNG of valid ids (acceptable)",
            reencode(LBL, "PNG", lambda i: i.convert("P")),
            "ok",
        ),
        lapa("label: GIF of valid ids named .png (acceptable)", put(LBL, encode(lab, "GIF")), "ok"),
    ]


@LAPA.group
def label_size(truth: Truth) -> list[DataCase]:
    lab = truth["lapa_1"]
    return [
        lapa("label: half size", put(LBL, encode(lab[::2, ::2], "PNG")), "sample", [LBL], SIZE),
        lapa(
            "label: one column more",
            put(LBL, encode(np.pad(lab, ((0, 0), (0, 1))), "PNG")),
            "sample",
            [LBL],
            SIZE,
        ),
        lapa("label: transposed", put(LBL, encode(lab.T.copy(), "PNG")), "sample", [LBL], SIZE),
        lapa(
            "label: twice the image's size",
            put(LBL, encode(np.kron(lab, np.ones((2, 2), np.uint8)), "PNG")),
            "sample",
            [LBL],
            SIZE,
            loader=True,
        ),
        lapa("label: 1x1", put(LBL, encode(lab[:1, :1], "PNG")), "sample", [LBL], SIZE),
        lapa("label: decompression bomb header", put(LBL, bomb_png()), "sample", [LBL], "too large"),
    ]


@LAPA.group
def label_files(truth: Truth) -> list[DataCase]:
    other, upper = "train/labels/lapa_9.png", LBL[:-4] + ".PNG"
    return [
        lapa("label: a directory named like it", as_dir(LBL), "sample", [LBL], "cannot read|directory"),
        lapa("label: dangling symlink", dangling(LBL), "sample", [LBL], "not found"),
        lapa("label: missing", rm(LBL), "sample", [IMG], "without a label"),
        lapa("label: renamed to another stem", mv(LBL, other), "sample", [IMG, other], "without"),
        lapa("label: named .jpg in labels/", mv(LBL, LBL[:-4] + ".jpg"), "sample", [IMG], "without a label"),
        lapa(
            "label: a second map with the same name (.PNG)",
            cp(LBL, upper),
            "sample",
            [LBL, upper],
            "same name|share|duplicate",
        ),
        lapa("label: extension .PNG (acceptable)", mv(LBL, upper), "ok"),
        lapa(
            "label: unreadable permissions (chmod 000)",
            chmod0(LBL),
            "sample",
            [LBL],
            "cannot read|permission",
            needs_non_root=True,
        ),
        lapa("image and label swapped", swap(IMG, LBL), "sample", [LBL], "mode RGB|JPEG", loader=True),
        lapa(
            "label of another sample, wrong size",
            put(LBL, encode(tiny_labels(9, 11, 16, 16), "PNG")),
            "sample",
            [LBL],
            SIZE,
        ),
    ]


def _make_dirs(*rels: str) -> Mutation:
    def mutate(root: Path) -> None:
        for rel in rels:
            (root / rel).mkdir()

    return mutate


@LAPA.group
def folders(truth: Truth) -> list[DataCase]:
    images, labels = "train/images", "train/labels"
    return [
        lapa("dataset folder missing", rm(""), "fatal", [""], "not found"),
        lapa("split folder missing", rm("train"), "fatal", ["train"], "not found"),
        lapa("images/ folder missing", rm(images), "fatal", [images], "not found"),
        lapa("labels/ folder missing", rm(labels), "fatal", [labels], "not found"),
        lapa("images/ is a file", seq(rm(images), put(images, b"x")), "fatal", [images], "not a folder"),
        lapa(
            "split folder empty",
            seq(rm(images), rm(labels), _make_dirs(images, labels)),
            "fatal",
            [""],
            "no usable samples",
        ),
    ]
