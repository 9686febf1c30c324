"""Colours and shaders: skin, hair, cloth and the cluttered background a face is painted with.

A shader maps the pixels (rows, cols) a polygon covers to their colours, float32 [N, 3].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .geometry import Pose

Colour = np.ndarray  # float32 [3] in [0, 1]
Shader = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows, cols) -> float32 [N, 3]


def rgb(*values: float) -> Colour:
    return np.asarray(values, dtype=np.float32)


def smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise float32 [S,S], about unit variance: a ``cells`` x ``cells`` grid, upsampled."""
    grid = Image.fromarray(rng.standard_normal((cells, cells)).astype(np.float32))
    return np.asarray(grid.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def skin_colour(rng: np.random.Generator) -> Colour:
    t = rng.uniform(0.0, 1.0) ** 0.8
    dark, light = rgb(0.32, 0.19, 0.12), rgb(0.97, 0.80, 0.68)
    return np.clip(dark + t * (light - dark) + rng.uniform(-0.03, 0.03, 3), 0.05, 1).astype(np.float32)


def hair_colour(rng: np.random.Generator) -> Colour:
    base = {
        "black": (0.06, 0.05, 0.05),
        "dark brown": (0.20, 0.12, 0.07),
        "brown": (0.40, 0.25, 0.13),
        "blonde": (0.85, 0.70, 0.45),
        "red": (0.60, 0.24, 0.10),
        "grey": (0.62, 0.62, 0.62),
        "dyed": tuple(rng.uniform(0.1, 0.9, 3)),
    }
    names = list(base)
    name = names[rng.choice(len(names), p=[0.28, 0.25, 0.18, 0.12, 0.06, 0.06, 0.05])]
    return np.clip(rgb(*base[name]) * rng.uniform(0.8, 1.2), 0, 1).astype(np.float32)


def random_colour(rng: np.random.Generator) -> Colour:
    return rng.uniform(0.05, 0.95, 3).astype(np.float32)


@dataclass
class Look:
    """Per-face appearance shared by the shaders."""

    skin: Colour
    hair: Colour
    light: np.ndarray  # unit vector (x, y) in face coordinates: where the light comes from
    light_strength: float
    texture: np.ndarray  # low-frequency noise [S,S]
    grain: np.ndarray  # per-pixel noise [S,S]


def surface(pose: Pose, look: Look, colour: Colour, *, relief: float = 1.0, grain: float = 0.02) -> Shader:
    """Shader for a part of the head: directional light, darker towards the silhouette, mottling."""

    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        u, v = pose.to_face(rr, cc)
        lit = 1 + look.light_strength * relief * (u * look.light[0] + v * look.light[1]) * 0.6
        rim = 1 - 0.25 * relief * np.clip(u * u + (v / 1.4) ** 2 - 0.55, 0, None)
        f = lit * rim * (1 + 0.04 * look.texture[rr, cc])
        return colour[None] * f[:, None] + grain * look.grain[rr, cc, None]

    return shade


def strands(pose: Pose, look: Look, colour: Colour, rng: np.random.Generator, radial: bool) -> Shader:
    """Shader for hair: streaks along the strands (radial from the crown or vertical) and sheen."""
    freq, amp = rng.uniform(18, 40), rng.uniform(0.12, 0.3)

    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        u, v = pose.to_face(rr, cc)
        phase = np.arctan2(u, v + 2.2) * 4 if radial else u
        streak = np.sin(freq * phase + 2.5 * look.texture[rr, cc])
        sheen = 1 + 0.35 * np.exp(-(((v + 1.0) / 0.35) ** 2)) * look.light_strength
        f = (1 + amp * streak) * sheen
        return np.clip(colour[None] * f[:, None] + 0.03 * look.grain[rr, cc, None], 0, 1)

    return shade


def flat(colour: Colour, look: Look, texture: float = 0.05, grain: float = 0.03) -> Shader:
    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        f = 1 + texture * look.texture[rr, cc]
        return colour[None] * f[:, None] + grain * look.grain[rr, cc, None]

    return shade


def fabric(colour: Colour, look: Look, rng: np.random.Generator) -> Shader:
    """Clothes and hats: plain, striped or checked, with folds."""
    kind = rng.choice(3, p=[0.55, 0.3, 0.15])
    second = random_colour(rng)
    period = rng.uniform(4, 14) * look.texture.shape[0] / 256
    angle = rng.uniform(0, np.pi)

    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        folds = 1 + 0.12 * look.texture[rr, cc]
        if kind == 0:
            out = colour[None] * folds[:, None]
        else:
            a = np.sin((cc * math.cos(angle) + rr * math.sin(angle)) / period) > 0
            if kind == 2:
                a ^= np.sin((-cc * math.sin(angle) + rr * math.cos(angle)) / period) > 0
            out = np.where(a[:, None], colour[None], second[None]) * folds[:, None]
        return out + 0.03 * look.grain[rr, cc, None]

    return shade


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Gradient plus clutter: random rectangles, ellipses, polygons and bars. float32 [S,S,3]."""
    c1, c2 = random_colour(rng), random_colour(rng)
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.arange(size, dtype=np.float32) / size - 0.5)[:, None] * math.sin(angle) + (
        np.arange(size, dtype=np.float32) / size - 0.5
    )[None, :] * math.cos(angle)
    base = c1[None, None] + (t[..., None] + 0.5) * (c2 - c1)[None, None]
    img = Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 9))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.05, 0.6, 2) * size
        kind = rng.integers(4)
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 2:
            pts = rng.uniform(-0.1, 1.1, (int(rng.integers(3, 7)), 2)) * size
            draw.polygon([tuple(p) for p in pts], fill=colour)
        else:
            draw.line(
                [x0, y0, x0 + w, y0 + h], fill=colour, width=max(1, int(rng.uniform(0.005, 0.04) * size))
            )
    return np.asarray(img, dtype=np.float32) / 255
