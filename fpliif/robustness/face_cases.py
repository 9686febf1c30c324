"""The damaged-data cases of Helen, prepared CelebAMask-HQ and raw CelebAMask-HQ (through ``prepare``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .damage import Mutation, bytes_op, cut, mv, put, rm, seq, text
from .data_case import SIZE, UNREADABLE, Catalogue, DataCase, Truth, with_pixel
from .data_trees import RAW_PARTS, H, W, helen_maps, image_for
from .images import bomb_png, encode

HELEN = Catalogue("helen", bad=("h_1",))
CELEBAMASK = Catalogue("celebamask-hq", bad=("1",))
CELEBAMASK_RAW = Catalogue("celebamask-raw", bad=("1",))
helen, celeb, raw = HELEN.case, CELEBAMASK.case, CELEBAMASK_RAW.case

# == Helen: one sample's image and class maps, the split lists ====================================
HIMG, HDIR, HMAP = "images/h_1.jpg", "labels/h_1", "labels/h_1/h_1_lbl03.png"


def _helen_maps_as(maps: list[np.ndarray], change: Callable[[np.ndarray], np.ndarray]) -> Mutation:
    """Every class map of h_1 replaced by ``change(map)``."""
    return seq(*[put(f"{HDIR}/h_1_lbl{c:02d}.png", encode(change(m), "PNG")) for c, m in enumerate(maps)])


@HELEN.group
def helen_class_maps(truth: Truth) -> list[DataCase]:
    maps = helen_maps(truth["h_1"], 1)
    return [
        helen("class map: zero bytes", put(HMAP, b""), "sample", [HMAP], "empty", loader=True),
        helen("class map: truncated by half", cut(HMAP, 0.5), "sample", [HMAP], UNREADABLE),
        helen("class map: a text file", text(HMAP, "nope"), "sample", [HMAP], "not a readable"),
        helen(
            "class map: random bytes",
            put(HMAP, np.random.default_rng(7).bytes(200)),
            "sample",
            [HMAP],
            UNREADABLE,
        ),
        helen(
            "class map: JPEG-compressed named .png",
            put(HMAP, encode(maps[3], "JPEG", quality=90)),
            "sample",
            [HMAP],
            "JPEG|lossy",
        ),
        helen("class map: decompression bomb header", put(HMAP, bomb_png()), "sample", [HMAP], "too large"),
        helen(
            "class map: another size than the others",
            put(HMAP, encode(maps[3][:12], "PNG")),
            "sample",
            [HDIR],
            "differ in size",
        ),
        helen(
            "class maps: all half size", _helen_maps_as(maps, lambda m: m[::2, ::2]), "sample", [HDIR], SIZE
        ),
        helen("class map: missing", rm(HMAP), "sample", [HDIR], "missing"),
        helen("class map: named .PNG", mv(HMAP, HMAP[:-4] + ".PNG"), "sample", [HDIR], "missing"),
        helen("class maps folder missing", rm(HDIR), "sample", [HDIR], "missing"),
        helen(
            "class map: grey stored as RGB (acceptable)",
            put(HMAP, encode(np.repeat(maps[3][..., None], 3, 2), "PNG")),
            "ok",
        ),
        helen(
            "class maps: 16-bit PNGs (acceptable, scaled to 8 bits)",
            _helen_maps_as(maps, lambda m: m.astype(np.uint16) * 257),
            "ok",
        ),
    ]


@HELEN.group
def helen_image(truth: Truth) -> list[DataCase]:
    transposed = image_for(truth["h_1"]).transpose(1, 0, 2).copy()
    return [
        helen("image: missing", rm(HIMG), "sample", [HIMG], "not found"),
        helen("image: zero bytes", put(HIMG, b""), "sample", [HIMG], "empty"),
        helen("image: truncated by half", cut(HIMG, 0.5), "sample", [HIMG], UNREADABLE, loader=True),
        helen("image: transposed", put(HIMG, encode(transposed, "PNG")), "sample", [HDIR], SIZE),
    ]


@HELEN.group
def helen_lists_and_folders(truth: Truth) -> list[DataCase]:
    lst = "exemplars.txt"
    return [
        helen("split list: missing", rm(lst), "fatal", [lst], "not found"),
        helen("split list: empty", put(lst, b""), "fatal", [lst], "empty"),
        helen("split list: a malformed line", put(lst, b"1 , h_0\n2 h_1\n"), "fatal", [lst], "line 2"),
        helen(
            "split list: a name listed twice",
            put(lst, b"1 , h_0\n2 , h_1\n3 , h_2\n4 , h_1\n"),
            "fatal",
            [lst],
            "twice",
        ),
        helen(
            "split list: a name with no files",
            put(lst, b"1 , h_0\n2 , h_1\n3 , h_2\n4 , ghost\n"),
            "sample",
            ["images/ghost.jpg"],
            "not found",
            bad=(),
        ),
        helen(
            "split list: binary garbage",
            put(lst, np.random.default_rng(8).bytes(64)),
            "fatal",
            [lst],
            "line|not|empty|decode",
        ),
        helen("images/ folder missing", rm("images"), "fatal", ["images"], "not found"),
        helen("labels/ folder missing", rm("labels"), "fatal", ["labels"], "not found"),
    ]


# == CelebAMask-HQ, prepared: labels here, images in the raw tree =================================
CLBL, CIMG = "prep/labels/1.png", "raw/CelebA-HQ-img/1.jpg"


@CELEBAMASK.group
def celeb_labels(truth: Truth) -> list[DataCase]:
    lab = truth["1"]
    ignore = lab.copy()
    ignore[-4:, :] = 255
    return [
        celeb("label: zero bytes", put(CLBL, b""), "sample", [CLBL], "empty"),
        celeb("label: truncated by half", cut(CLBL, 0.5), "sample", [CLBL], UNREADABLE, loader=True),
        celeb("label: a text file", text(CLBL, "x"), "sample", [CLBL], "not a readable"),
        celeb(
            "label: colour (RGB) map", put(CLBL, encode(image_for(lab), "PNG")), "sample", [CLBL], "mode RGB"
        ),
        celeb(
            "label: JPEG-compressed named .png",
            put(CLBL, encode(lab, "JPEG", quality=95)),
            "sample",
            [CLBL],
            "JPEG|lossy",
        ),
        *[
            celeb(
                f"label: one pixel with id {value} (0..18)",
                put(CLBL, encode(with_pixel(lab, (3, 3), value), "PNG")),
                "sample",
                [CLBL],
                "label ids",
            )
            for value in (19, 20, 200)
        ],
        celeb(
            "label: 255 (= ignore) pixels (acceptable)",
            put(CLBL, encode(ignore, "PNG")),
            "ok",
            truth={"1": ignore},
        ),
        celeb(
            "label: one row short (no integer ratio)",
            put(CLBL, encode(lab[:-1], "PNG")),
            "sample",
            [CLBL],
            SIZE,
        ),
        celeb("label: decompression bomb header", put(CLBL, bomb_png()), "sample", [CLBL], "too large"),
        celeb("label: missing", rm(CLBL), "sample", [CLBL], "not found"),
    ]


@CELEBAMASK.group
def celeb_images(truth: Truth) -> list[DataCase]:
    lab = truth["1"]
    return [
        celeb(
            "image: 1.5x the label (no integer ratio)",
            put(CIMG, encode(np.zeros((36, 48, 3), np.uint8), "JPEG")),
            "sample",
            [CLBL],
            SIZE,
        ),
        celeb(
            "image: same size as the label (acceptable: ratio 1)",
            put(CIMG, encode(image_for(lab), "PNG")),
            "ok",
            images={"1": image_for(lab)},
        ),
        celeb("image: 3x the label (acceptable: ratio 3)", put(CIMG, encode(image_for(lab, 3), "PNG")), "ok"),
        celeb("image: missing", rm(CIMG), "sample", [CIMG], "not found"),
        celeb("image: zero bytes", put(CIMG, b""), "sample", [CIMG], "empty"),
        celeb("image: truncated by half", cut(CIMG, 0.5), "sample", [CIMG], UNREADABLE),
    ]


@CELEBAMASK.group
def celeb_meta_and_lists(truth: Truth) -> list[DataCase]:
    meta, lst = "prep/fpliif-prepared.json", "prep/train.txt"
    return [
        celeb("fpliif-prepared.json missing", rm(meta), "fatal", [meta], "not found"),
        celeb("fpliif-prepared.json truncated", cut(meta, 0.5), "fatal", [meta], "JSON"),
        celeb(
            "fpliif-prepared.json without raw_root",
            text(meta, '{"dataset": "celebamask-hq"}'),
            "fatal",
            [meta],
            "raw_root",
        ),
        celeb("fpliif-prepared.json not an object", text(meta, "[1, 2]"), "fatal", [meta], "object|raw_root"),
        celeb("raw folder moved away", mv("raw", "raw-moved"), "fatal", ["raw/CelebA-HQ-img"], "not found"),
        celeb("split list missing", rm(lst), "fatal", [lst], "not found"),
        celeb("split list: a non-number line", put(lst, b"0\nfoo\n2\n"), "fatal", [lst], "line 2"),
        celeb("split list: an index listed twice", put(lst, b"0\n1\n2\n1\n"), "fatal", [lst], "twice"),
        celeb(
            "split list: an index with no files",
            put(lst, b"0\n1\n2\n77\n"),
            "sample",
            ["raw/CelebA-HQ-img/77.jpg"],
            "not found",
            bad=(),
        ),
    ]


# == CelebAMask-HQ distribution, through `prepare` ================================================
MASK, RIMG, MAPPING = (
    "CelebAMask-HQ-mask-anno/0/00001_skin.png",
    "CelebA-HQ-img/1.jpg",
    "CelebA-HQ-to-CelebA-mapping.txt",
)


@CELEBAMASK_RAW.group
def raw_masks(truth: Truth) -> list[DataCase]:
    tail, stray = "CelebAMask-HQ-mask-anno/0/00001_tail.png", "CelebAMask-HQ-mask-anno/0/00009_skin.png"
    blank = encode(np.zeros((H, W), np.uint8), "PNG")
    every_part = seq(*[rm(f"CelebAMask-HQ-mask-anno/0/00001_{p}.png") for p in (*RAW_PARTS, "l_brow")])
    return [
        raw("part mask: truncated by half", cut(MASK, 0.5), "sample", [MASK], UNREADABLE),
        raw("part mask: zero bytes", put(MASK, b""), "sample", [MASK], "empty"),
        raw("part mask: a text file", text(MASK, "no"), "sample", [MASK], "not a readable"),
        raw(
            "part mask: another size",
            put(MASK, encode(np.zeros((12, 16), np.uint8), "PNG")),
            "sample",
            [MASK],
            "differ in size",
        ),
        raw("part mask: an unknown part name", put(tail, blank), "sample", [tail], "unknown part"),
        raw("part masks: none for an image", every_part, "sample", [RIMG], "no part masks"),
        raw(
            "part masks: of an image not in the mapping",
            put(stray, blank),
            "sample",
            [stray],
            "lacks",
            bad=(),
        ),
    ]


@CELEBAMASK_RAW.group
def raw_images_and_mapping(truth: Truth) -> list[DataCase]:
    stray = "CelebA-HQ-img/9.jpg"
    return [
        raw("image: missing", rm(RIMG), "sample", [RIMG], "not found"),
        raw(
            "image: not a multiple of the masks' size",
            put(RIMG, encode(np.zeros((49, 64, 3), np.uint8), "JPEG")),
            "sample",
            [RIMG],
            SIZE,
        ),
        raw("image: zero bytes", put(RIMG, b""), "sample", [RIMG], "empty"),
        raw(
            "image: not in the mapping",
            put(stray, encode(np.zeros((48, 64, 3), np.uint8), "JPEG")),
            "sample",
            [stray],
            "not listed",
            bad=(),
        ),
        raw("mapping file missing", rm(MAPPING), "fatal", [MAPPING], "not found"),
        raw(
            "mapping file: an image listed twice",
            bytes_op(MAPPING, lambda b: b + b"1 100 000101.jpg\n"),
            "fatal",
            [MAPPING],
            "twice",
        ),
        raw(
            "mapping file: a malformed line",
            bytes_op(MAPPING, lambda b: b + b"7 x\n"),
            "fatal",
            [MAPPING],
            "line",
        ),
    ]
