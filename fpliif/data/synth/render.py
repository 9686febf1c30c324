"""One SynthFaces sample: the face painted back to front, then the camera's light, blur and noise.

Every sample depends only on (seed, split, index) through its own generator, so any number of
workers writes the same files. The steps draw from that generator in ``PAINT_ORDER``: changing
the order, or any draw within a step, changes every image (bump ``VERSION`` then).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .canvas import Canvas
from .face import Face
from .features import brows, eyes, glasses_finish, glasses_label, mouth, nose
from .head import ears, hair_back, hair_front, hat, neck_and_clothes, occluder, outline
from .parts import EYE_G, TO_LAPA

FORMATS = ("lapa", "celebamask-hq")
SPLITS = ("train", "val", "test")
VERSION = 1

# Back to front; the glasses' label goes under the eyes and brows (the official order), their
# lenses and frames over them.
PAINT_ORDER = (
    hair_back,
    neck_and_clothes,
    ears,
    outline,
    nose,
    glasses_label,
    eyes,
    brows,
    mouth,
    glasses_finish,
    hair_front,
    hat,
    occluder,
)


def paint_face(rng: np.random.Generator, size: int) -> Canvas:
    face = Face(rng, size)
    for step in PAINT_ORDER:
        step(face)
    return face.canvas


def finish(rng: np.random.Generator, canvas: Canvas) -> np.ndarray:
    """Global light, colour cast, blur and sensor noise: float image -> uint8 [S,S,3]."""
    S = canvas.size
    ramp = np.linspace(-0.5, 0.5, S, dtype=np.float32)
    gx, gy = rng.uniform(-0.4, 0.4, 2)
    light = rng.uniform(0.75, 1.15) * (1 + gx * ramp[None, :] + gy * ramp[:, None])
    cast = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    image = np.clip(canvas.image * light[..., None] * cast, 0, 1)
    pil = Image.fromarray((image * 255 + 0.5).astype(np.uint8))
    pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1) * S / 256))
    noise = rng.standard_normal((S, S, 1), dtype=np.float32) * rng.uniform(1, 7)
    return np.clip(np.asarray(pil, dtype=np.float32) + noise, 0, 255).astype(np.uint8)


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([VERSION, seed, SPLITS.index(split), index])


def draw_face(seed: int, split: str, index: int, size: int, image_scale: int) -> tuple[np.ndarray, Canvas]:
    """The finished image uint8 [S*image_scale, S*image_scale, 3] and the canvas it was painted on."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    rng = sample_rng(seed, split, index)
    canvas = paint_face(rng, size * image_scale)
    return finish(rng, canvas), canvas


def label_map(canvas: Canvas, format: str, image_scale: int) -> np.ndarray:
    """Labels uint8 [S,S] at the mask size: the 19 painted ids, or LaPa's 11 with glasses taking the
    label of what they cover."""
    label = canvas.label
    if format == "lapa":
        label = TO_LAPA[label]
        if canvas.under_glasses is not None:
            glass = canvas.label == EYE_G
            label[glass] = TO_LAPA[canvas.under_glasses[glass]]
    return label[::image_scale, ::image_scale]


def draw_sample(
    seed: int, split: str, index: int, *, size: int = 256, format: str = "lapa", image_scale: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """One face: image uint8 [S*image_scale, S*image_scale, 3] and label uint8 [S,S] in ``format``'s ids."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    image, canvas = draw_face(seed, split, index, size, image_scale)
    return image, label_map(canvas, format, image_scale)
