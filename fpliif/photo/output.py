"""Files people can open: palette label PNGs, overlays with a legend, ``classes.json``.

A label PNG is written in PIL mode "P" with the label set's palette: image viewers show the
classes in colour while the pixel values stay the class ids (``np.asarray(Image.open(path))``
gives them back). The overlay blends ``viz.colorize`` over the photo (``viz.overlay``), outlines
the faces found and adds a legend strip of the classes present. ``render_parse`` does all of it
for one image and one PNG (the README's figures use it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..fileio import atomic_write
from ..viz import overlay

if TYPE_CHECKING:
    from .detect import FaceBox
    from .parser import FaceParser, ImageLike

LEGEND_ROW = 18  # pixels per legend row
LEGEND_MIN_WIDTH = 64  # narrower overlays get no legend: it would not be legible
BOX_COLOUR = (255, 255, 255)


def palette_image(labels: np.ndarray, palette: Sequence[tuple[int, int, int]]) -> Image.Image:
    """Label ids uint8 [H,W] as a mode "P" image whose palette is ``palette`` (ids past it: white)."""
    img = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    flat = [255] * 768
    for i, colour in enumerate(palette):
        flat[3 * i : 3 * i + 3] = [int(v) for v in colour]
    img.putpalette(flat)
    return img


def save_label_png(path: str | Path, labels: np.ndarray, palette: Sequence[tuple[int, int, int]]) -> Path:
    """Write ``labels`` as a palette PNG (atomically); its pixel values are the class ids."""
    img = palette_image(labels, palette)
    return atomic_write(path, lambda f: img.save(f, "PNG"), durable=False)


def classes_json(class_names: Sequence[str], palette: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    """{"classes": [{"id", "name", "colour"}]}: what each id of the label PNGs means."""
    return {
        "classes": [
            {"id": i, "name": n, "colour": [int(v) for v in c]}
            for i, (n, c) in enumerate(zip(class_names, palette, strict=True))
        ]
    }


def write_classes_json(
    path: str | Path, class_names: Sequence[str], palette: Sequence[tuple[int, int, int]]
) -> Path:
    return atomic_write(path, json.dumps(classes_json(class_names, palette), indent=2) + "\n")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def legend_strip(
    width: int,
    class_ids: Sequence[int],
    class_names: Sequence[str],
    palette: Sequence[tuple[int, int, int]],
) -> np.ndarray:
    """A white strip uint8 [h,width,3] with a colour swatch and the name of each class in ``class_ids``."""
    font = _font(12)
    entries = [(palette[i], class_names[i]) for i in class_ids]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    cell = max([int(probe.textlength(n, font=font)) for _, n in entries] + [40]) + LEGEND_ROW + 12
    per_row = max(1, width // cell)
    rows = max(1, -(-len(entries) // per_row))
    strip = Image.new("RGB", (width, rows * LEGEND_ROW + 6), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    for k, (colour, name) in enumerate(entries):
        r, c = divmod(k, per_row)
        x, y = 4 + c * cell, 3 + r * LEGEND_ROW
        draw.rectangle((x, y + 2, x + 12, y + 14), fill=tuple(colour), outline=(120, 120, 120))
        draw.text((x + 17, y + 1), name, fill=(0, 0, 0), font=font)
    return np.asarray(strip)


def overlay_with_legend(
    rgb: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    palette: Sequence[tuple[int, int, int]],
    *,
    alpha: float = 0.5,
    faces: Sequence[FaceBox] = (),
    hidden: Sequence[int] = (),
) -> np.ndarray:
    """The colour labels over the photo (resized to the label map's size), the ``faces`` outlined,
    and a legend of the classes present below: uint8 [H + legend, W, 3] (no legend when nothing
    is labelled or the map is narrower than ``LEGEND_MIN_WIDTH``). Classes in ``hidden`` are left
    unpainted (the notebook's toggles)."""
    h, w = labels.shape
    sy, sx = h / rgb.shape[0], w / rgb.shape[1]  # face boxes are in the photo's pixels
    if rgb.shape[:2] != (h, w):
        rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BICUBIC))
    shown = labels.copy()
    for k in hidden:
        shown[labels == k] = 0
    pic = Image.fromarray(overlay(rgb, shown, palette, alpha))
    if faces:
        draw = ImageDraw.Draw(pic)
        for f in faces:
            draw.rectangle((f.x0 * sx, f.y0 * sy, f.x1 * sx - 1, f.y1 * sy - 1), outline=BOX_COLOUR, width=2)
    present = [int(i) for i in np.unique(shown) if i != 0 and i < len(class_names)]
    if not present or w < LEGEND_MIN_WIDTH:
        return np.asarray(pic)
    return np.concatenate([np.asarray(pic), legend_strip(w, present, class_names, palette)], axis=0)


def render_parse(
    image: ImageLike,
    out: str | Path,
    *,
    parser: FaceParser | None = None,
    weights: str | Path | None = None,
    size: int | tuple[int, int] | None = None,
    alpha: float = 0.5,
    show_faces: bool = True,
) -> Path:
    """Parse ``image`` and write its overlay with a legend to the PNG ``out``; ``parser`` (or a
    ``FaceParser`` loaded from ``weights``, None: the shipped ones) does the parsing."""
    from .parser import as_rgb, load_pretrained

    parser = parser or load_pretrained(weights)
    rgb = as_rgb(image)
    result = parser.parse(rgb, size=size)
    pic = overlay_with_legend(
        rgb,
        result.labels,
        parser.class_names,
        parser.palette,
        alpha=alpha,
        faces=result.faces if show_faces else (),
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, lambda f: Image.fromarray(pic).save(f, "PNG"), durable=False)


__all__ = [
    "classes_json",
    "legend_strip",
    "overlay_with_legend",
    "palette_image",
    "render_parse",
    "save_label_png",
    "write_classes_json",
]
