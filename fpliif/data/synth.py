"""SynthFaces: procedurally drawn faces with exact label maps, the project's built-in dataset.

    fpliif synth --out data/synth --format lapa --n-train 2000 --n-val 200 --n-test 200 --size 256

Each face is painted back to front with scikit-image polygons (background clutter, hair, neck,
clothes, ears, face, nose, glasses, eyes, brows, lips, fringe, hat, occluder), so the label map
is exact by construction. A face varies in what makes face parsing hard: roll, yaw and pitch,
scale and position; skin, hair and lip colours; directional light, shading and colour casts;
skin, hair and cloth texture, blur and sensor noise; cluttered backgrounds; thin brows, lash
lines and lips (a few pixels at 128-256 px, never one-pixel slivers); fringes over the brows,
glasses (some of them sunglasses that hide the eyes) and occluding objects; open (some with
teeth) and closed mouths; closed eyes; rare accessories (probabilities below).

Left and right follow the anatomical convention of ``fpliif.data.info``: ``l_eye`` is the
subject's left eye, on the image's right.

Formats (``format``):
- ``lapa``: LaPa's layout and 11 classes: ``{split}/images/{split}_{i:05d}.jpg`` and
  ``labels/*.png``. Ears count as skin; neck, clothes, hats and jewellery as background; glasses
  take the label of what they cover.
- ``celebamask-hq``: CelebAMask-HQ's distribution layout and 19 classes: ``CelebA-HQ-img/{k}.jpg``,
  one white-on-black mask per present part in ``CelebAMask-HQ-mask-anno/{k // 2000}/`` and
  ``CelebA-HQ-to-CelebA-mapping.txt`` whose original indices give the requested split sizes under
  the official rule; ``fpliif prepare celebamask-hq`` turns it into label maps as for the real
  set. Like the real masks, a part's mask may extend under parts painted after it in the official
  order (the skin under the eyes, the hair under a hat), so the merge reproduces the drawn map.
  ``image_scale=2`` writes images at twice the mask size, as the real set (1024 vs 512) does.

Every image depends only on (seed, split, index): files are identical for any number of workers.
``synthfaces.json`` at the root records format, counts, size and seed (``build_dataset("synth")``
reads it).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from skimage.draw import polygon as fill_polygon
from tqdm import tqdm

from ..errors import DataError
from .celebamask import IMAGES, MAPPING, MASKS, TRAIN_END, VAL_END
from .info import CELEBAMASK_PARTS
from .io import read_json, write_image, write_json, write_label

FORMATS = ("lapa", "celebamask-hq")
SPLITS = ("train", "val", "test")
META_FILE = "synthfaces.json"
VERSION = 1
CELEBA_SIZE = 202599  # images in CelebA: original indices run 0..202598

# Ids of the 19-class map the generator paints (CelebAMask-HQ's official order, NOTES.md).
(SKIN, NOSE, EYE_G, L_EYE, R_EYE, L_BROW, R_BROW, L_EAR, R_EAR, MOUTH, U_LIP, L_LIP, HAIR, HAT, EAR_R, NECK_L,
 NECK, CLOTH) = range(1, 19)  # fmt: skip
# 19 -> 11 classes (LaPa). EYE_G never reaches the table: glasses take the label beneath them.
TO_LAPA = np.array([0, 1, 6, 1, 4, 5, 2, 3, 1, 1, 8, 7, 9, 10, 0, 0, 0, 0, 0], dtype=np.uint8)

# How often the optional parts appear (per face). CelebAMask-HQ has roughly 5 % hats and
# necklaces and 5-10 % glasses; earrings need a visible ear.
P_GLASSES = 0.08
P_SUNGLASSES = 0.25  # of the glasses
P_HAT = 0.05
P_EARRINGS = 0.2  # of the faces with a visible ear
P_NECKLACE = 0.1
P_OCCLUDER = 0.08
P_OPEN_MOUTH = 0.4
P_TEETH = 0.6  # of the open mouths
P_CLOSED_EYES = 0.05
P_FRINGE = 0.22  # a fringe low enough to cover part of the brows
HAIR_STYLES = {"bald": 0.04, "short": 0.32, "medium": 0.34, "long": 0.30}

Colour = np.ndarray  # float32 [3] in [0, 1]
Shader = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rows, cols) -> float32 [N, 3]


def _rgb(*values: float) -> Colour:
    return np.asarray(values, dtype=np.float32)


# -- geometry -----------------------------------------------------------------------------------


def _ellipse(cx: float, cy: float, a: float, b: float, n: int = 32, angle: float = 0.0) -> np.ndarray:
    """Points [n,2] (x, y) of an ellipse with half-axes a, b rotated by ``angle``."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = a * np.cos(t), b * np.sin(t)
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _band(xs: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Polygon between two curves y = top(xs) and y = bottom(xs)."""
    return np.concatenate([np.stack([xs, top], 1), np.stack([xs[::-1], bottom[::-1]], 1)])


def _rotate(points: np.ndarray, cx: float, cy: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    d = points - (cx, cy)
    return np.stack([cx + c * d[:, 0] - s * d[:, 1], cy + s * d[:, 0] + c * d[:, 1]], axis=1)


@dataclass
class _Pose:
    """Face coordinates (unit: half the face width, y down, origin at the face centre) to pixels."""

    cx: float
    cy: float
    scale: float  # pixels per face unit
    roll: float
    yaw: float  # > 0 turns the face towards the image's right
    pitch: float

    def warp(self, pts: np.ndarray, depth: float | np.ndarray = 0.0) -> np.ndarray:
        """Move points on the face's surface as the head turns (a sphere for yaw; ``depth`` protrudes)."""
        x = np.clip(pts[:, 0] / 1.05, -1.0, 1.0)
        angle = np.clip(np.arcsin(x) + self.yaw, -np.pi / 2, np.pi / 2)
        x = 1.05 * np.sin(angle) + depth * math.sin(self.yaw)
        return np.stack([x, pts[:, 1] * (1 - 0.12 * abs(self.pitch)) + 0.3 * self.pitch], axis=1)

    def to_image(self, pts: np.ndarray) -> np.ndarray:
        return _rotate(pts * self.scale, 0.0, 0.0, self.roll) + (self.cx, self.cy)

    def to_face(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels -> face coordinates (u, v), ignoring yaw: what shading needs."""
        c, s = math.cos(self.roll), math.sin(self.roll)
        dx, dy = (cols - self.cx) / self.scale, (rows - self.cy) / self.scale
        return (c * dx + s * dy).astype(np.float32), (-s * dx + c * dy).astype(np.float32)


# -- the canvas ---------------------------------------------------------------------------------


@dataclass
class _Canvas:
    """The image being painted (float32 [S,S,3]), its 19-class labels and each part's painted extent."""

    size: int
    image: np.ndarray
    label: np.ndarray
    extents: dict[int, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    under_glasses: np.ndarray | None = None

    def fill(self, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return fill_polygon(poly[:, 1], poly[:, 0], (self.size, self.size))

    def paint(
        self,
        part: int,
        poly: np.ndarray,
        shader: Shader | Colour | None,
        *,
        only: int | tuple[int, ...] | None = None,
        label: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Paint a polygon (pixel coordinates) as ``part`` (0 = background); ``only`` restricts it to
        pixels already labelled so, ``label=False`` changes the image alone, ``shader=None`` the
        label alone."""
        rr, cc = self.fill(poly)
        if only is not None and rr.size:
            keep = np.isin(self.label[rr, cc], only)
            rr, cc = rr[keep], cc[keep]
        if rr.size == 0:
            return rr, cc
        if shader is not None:
            self.image[rr, cc] = shader(rr, cc) if callable(shader) else shader
        if label:
            self.label[rr, cc] = part
            if part:
                self.extents.setdefault(part, []).append((rr, cc))
        return rr, cc

    def part_masks(self) -> dict[int, np.ndarray]:
        """For each painted part p, bool [S,S]: where it was painted and is still p or covered by a
        part that comes later in the official order (ids > p). Merging them reproduces ``label``."""
        masks = {}
        for part, extents in self.extents.items():
            full = np.zeros(self.label.shape, dtype=bool)
            for rr, cc in extents:
                full[rr, cc] = True
            mask = full & (self.label >= part)
            if mask.any():
                masks[part] = mask
        return masks


# -- appearance ---------------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise float32 [S,S], about unit variance: a ``cells`` x ``cells`` grid, upsampled."""
    grid = Image.fromarray(rng.standard_normal((cells, cells)).astype(np.float32))
    return np.asarray(grid.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def _skin_colour(rng: np.random.Generator) -> Colour:
    t = rng.uniform(0.0, 1.0) ** 0.8
    dark, light = _rgb(0.32, 0.19, 0.12), _rgb(0.97, 0.80, 0.68)
    return np.clip(dark + t * (light - dark) + rng.uniform(-0.03, 0.03, 3), 0.05, 1).astype(np.float32)


def _hair_colour(rng: np.random.Generator) -> Colour:
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
    return np.clip(_rgb(*base[name]) * rng.uniform(0.8, 1.2), 0, 1).astype(np.float32)


def _random_colour(rng: np.random.Generator) -> Colour:
    return rng.uniform(0.05, 0.95, 3).astype(np.float32)


@dataclass
class _Look:
    """Per-face appearance shared by the shaders."""

    skin: Colour
    hair: Colour
    light: np.ndarray  # unit vector (x, y) in face coordinates: where the light comes from
    light_strength: float
    texture: np.ndarray  # low-frequency noise [S,S]
    grain: np.ndarray  # per-pixel noise [S,S]


def _surface(pose: _Pose, look: _Look, colour: Colour, *, relief: float = 1.0, grain: float = 0.02) -> Shader:
    """Shader for a part of the head: directional light, darker towards the silhouette, mottling."""

    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        u, v = pose.to_face(rr, cc)
        lit = 1 + look.light_strength * relief * (u * look.light[0] + v * look.light[1]) * 0.6
        rim = 1 - 0.25 * relief * np.clip(u * u + (v / 1.4) ** 2 - 0.55, 0, None)
        f = lit * rim * (1 + 0.04 * look.texture[rr, cc])
        return colour[None] * f[:, None] + grain * look.grain[rr, cc, None]

    return shade


def _strands(pose: _Pose, look: _Look, colour: Colour, rng: np.random.Generator, radial: bool) -> Shader:
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


def _flat(colour: Colour, look: _Look, texture: float = 0.05, grain: float = 0.03) -> Shader:
    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        f = 1 + texture * look.texture[rr, cc]
        return colour[None] * f[:, None] + grain * look.grain[rr, cc, None]

    return shade


def _fabric(colour: Colour, look: _Look, rng: np.random.Generator) -> Shader:
    """Clothes and hats: plain, striped or checked, with folds."""
    kind = rng.choice(3, p=[0.55, 0.3, 0.15])
    second = _random_colour(rng)
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


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Gradient plus clutter: random rectangles, ellipses, polygons and bars. float32 [S,S,3]."""
    c1, c2 = _random_colour(rng), _random_colour(rng)
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


# -- one face -----------------------------------------------------------------------------------


def _choose(rng: np.random.Generator, probabilities: dict[str, float]) -> str:
    names = list(probabilities)
    return names[rng.choice(len(names), p=list(probabilities.values()))]


class _Painter:
    """Paints one face back to front, part by part; what several parts share lives on ``self``.

    Sizes are in face units (half the face width); ``rigid`` maps parts that keep their place
    as the head turns (outline, ears, hair, neck), ``feat`` the features that move with the yaw.
    """

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.rng = rng
        self.size = S = size
        self.pose = _Pose(
            cx=S * (0.5 + rng.uniform(-0.08, 0.08)),
            cy=S * (0.5 + rng.uniform(-0.06, 0.06)),
            scale=S * rng.uniform(0.24, 0.34),
            roll=math.radians(float(np.clip(rng.normal(0, 11), -28, 28))),
            yaw=float(np.clip(rng.normal(0, 0.16), -0.35, 0.35)),
            pitch=float(rng.uniform(-0.15, 0.15)),
        )
        light = rng.normal(size=2)
        self.look = _Look(
            skin=_skin_colour(rng),
            hair=_hair_colour(rng),
            light=(light / (np.linalg.norm(light) + 1e-6)).astype(np.float32),
            light_strength=float(rng.uniform(0.05, 0.4)),
            texture=_smooth_noise(rng, S, int(rng.integers(6, 16))),
            grain=rng.standard_normal((S, S), dtype=np.float32),
        )
        self.canvas = _Canvas(S, _background(rng, S), np.zeros((S, S), dtype=np.uint8))
        self.skin = self.look.skin
        # Head and features.
        self.hh_top, self.hh_low = rng.uniform(1.25, 1.45), rng.uniform(1.2, 1.45)  # half heights
        self.ex, self.ey = rng.uniform(0.36, 0.44), rng.uniform(-0.12, -0.02)  # eye centre
        self.ew = rng.uniform(0.2, 0.25)
        self.eh = self.ew * rng.uniform(0.38, 0.55)
        self.by, self.bt = self.ey - rng.uniform(0.24, 0.34), rng.uniform(0.1, 0.15)  # brow height, thickness
        self.style = _choose(rng, HAIR_STYLES)
        self.hair_w = rng.uniform(1.08, 1.32)
        self.hair_top = self.hh_top + rng.uniform(0.12, 0.45)
        self.hair_cy = -0.2
        self.hair_end = {"medium": rng.uniform(0.2, 0.9), "long": self.hh_low + rng.uniform(0.6, 2.2)}.get(
            self.style, 0.0
        )
        self.hair_shader = _strands(self.pose, self.look, self.look.hair, rng, radial=True)
        self.glasses = rng.random() < P_GLASSES
        self.sunglasses = self.glasses and rng.random() < P_SUNGLASSES
        self.lenses: list[np.ndarray] = []  # the glass inside each frame, pixel polygons

    def rigid(self, pts: np.ndarray) -> np.ndarray:
        return self.pose.to_image(pts)

    def feat(self, pts: np.ndarray, depth: float | np.ndarray = 0.0) -> np.ndarray:
        return self.pose.to_image(self.pose.warp(pts, depth))

    def surface(self, colour: Colour, **kw: float) -> Shader:
        return _surface(self.pose, self.look, colour, **kw)

    def paint(self) -> _Canvas:
        for step in (
            self.hair_back,
            self.neck_and_clothes,
            self.ears,
            self.face,
            self.nose,
            self.glasses_label,
            self.eyes,
            self.brows,
            self.mouth,
            self.glasses_finish,
            self.hair_front,
            self.hat,
            self.occluder,
        ):
            step()
        return self.canvas

    def hair_back(self) -> None:
        if self.style == "bald":
            return
        cap = _ellipse(0, self.hair_cy, self.hair_w, self.hair_top + self.hair_cy, 48)
        self.canvas.paint(HAIR, self.rigid(cap), self.hair_shader)
        if self.hair_end > 0:
            flare = self.rng.uniform(0.0, 0.45) if self.style == "long" else self.rng.uniform(0, 0.1)
            w, cy, end = self.hair_w, self.hair_cy, self.hair_end
            back = np.array([[-w, cy], [w, cy], [w + flare, end], [-w - flare, end]])
            self.canvas.paint(HAIR, self.rigid(back), self.hair_shader)

    def neck_and_clothes(self) -> None:
        rng, canvas, yaw = self.rng, self.canvas, self.pose.yaw
        self.neck_w = w = rng.uniform(0.5, 0.68)
        bottom = self.hh_low + 3
        neck = np.array([[-w, 0.2], [w, 0.2], [w * 1.12, bottom], [-w * 1.12, bottom]]) + (yaw * 0.3, 0)
        canvas.paint(NECK, self.rigid(neck), self.surface(self.skin * _rgb(0.86, 0.84, 0.84), relief=0.5))
        jaw_shadow = np.array(
            [[-w * 1.1, 0.4], [w * 1.1, 0.4], [w * 1.1, self.hh_low + 0.18], [-w * 1.1, self.hh_low + 0.18]]
        )
        canvas.paint(
            NECK, self.rigid(jaw_shadow), self.surface(self.skin * 0.68, relief=0.5), only=NECK, label=False
        )

        collar_y = self.hh_low + rng.uniform(0.35, 0.8)
        shoulder_w, dip, slope = rng.uniform(1.9, 2.9), rng.uniform(0.1, 0.5), rng.uniform(0.0, 0.35)
        xs = np.linspace(-w * 1.15, w * 1.15, 15)
        rel = np.abs(xs) / (w * 1.15)
        neckline = (
            collar_y - 0.15 + dip * ((1 - rel) if rng.random() < 0.3 else np.sqrt(1 - rel**2))
        )  # V or round
        below = self.hh_low + 6
        cloth = np.concatenate(
            [
                [[-shoulder_w, below], [-shoulder_w, collar_y + slope]],
                np.stack([xs, neckline], 1),
                [[shoulder_w, collar_y + slope], [shoulder_w, below]],
            ]
        ) + (yaw * 0.2, 0)
        canvas.paint(CLOTH, self.rigid(cloth), _fabric(_random_colour(rng), self.look, rng))

        if rng.random() < P_NECKLACE:
            xs = np.linspace(-w * 0.98, w * 0.98, 21)
            hang = collar_y - 0.25 + rng.uniform(0.1, 0.5) * (1 - (xs / w) ** 2)
            thick = rng.uniform(0.05, 0.08)
            metal = _rgb(0.85, 0.7, 0.3) if rng.random() < 0.5 else _rgb(0.82, 0.82, 0.86)
            shader = _flat(metal * rng.uniform(0.8, 1.1), self.look, texture=0.2, grain=0.08)
            canvas.paint(
                NECK_L, self.rigid(_band(xs + yaw * 0.25, hang - thick / 2, hang + thick / 2)), shader
            )
            if rng.random() < 0.5:  # a pendant
                canvas.paint(
                    NECK_L, self.rigid(_ellipse(yaw * 0.25, hang.max() + 0.07, 0.07, 0.09, 16)), shader
                )

    def ears(self) -> None:
        rng, canvas = self.rng, self.canvas
        ear_y, ear_h = rng.uniform(-0.12, 0.06), rng.uniform(0.26, 0.33)
        earrings, stud = rng.random() < P_EARRINGS, rng.random() < 0.5
        metal = _rgb(0.9, 0.75, 0.3) if rng.random() < 0.6 else _random_colour(rng)
        for side, part in ((1, L_EAR), (-1, R_EAR)):
            visible = float(
                np.clip(1 - side * self.pose.yaw * 2.6, 0, 1.6)
            )  # the far ear hides as the head turns
            if visible < 0.25:
                continue
            width = rng.uniform(0.13, 0.18) * visible
            cx = side * (0.96 + 0.45 * width)
            rr, _ = canvas.paint(
                part,
                self.rigid(_ellipse(cx, ear_y, width, ear_h, 24)),
                self.surface(self.skin * _rgb(0.95, 0.88, 0.86), relief=0.6),
            )
            if not rr.size:
                continue
            inner = _ellipse(cx + side * 0.02, ear_y, width * 0.5, ear_h * 0.6, 16)
            canvas.paint(
                part, self.rigid(inner), self.surface(self.skin * 0.7, relief=0.6), only=part, label=False
            )
            if earrings:
                lobe_y = ear_y + ear_h * 0.92
                drop = (
                    _ellipse(cx, lobe_y + 0.05, 0.055, 0.055, 12)
                    if stud
                    else _ellipse(cx, lobe_y + 0.12, 0.05, 0.11, 16)
                )
                canvas.paint(EAR_R, self.rigid(drop), _flat(metal, self.look, texture=0.3, grain=0.1))

    def face(self) -> None:
        rng, hh_top, hh_low = self.rng, self.hh_top, self.hh_low
        jaw = rng.uniform(0.15, 0.4)
        t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        x, y = np.sin(t), -np.cos(t)
        y = np.where(y < 0, y * hh_top, y * hh_low)
        x = x * np.where(y > 0, 1 - jaw * (y / hh_low) ** 2, 1 - 0.06 * (y / hh_top) ** 2)
        x = x + self.pose.yaw * 0.35 * np.clip(y, 0, None) / hh_low  # the chin turns with the face
        self.canvas.paint(SKIN, self.rigid(np.stack([x, y], 1)), self.surface(self.skin))
        if rng.random() < 0.35:  # blush
            for side in (1, -1):
                cheek = self.feat(_ellipse(side * 0.55, 0.35, 0.25, 0.16, 16))
                self.canvas.paint(
                    SKIN, cheek, self.surface(self.skin * _rgb(1.02, 0.9, 0.9)), only=SKIN, label=False
                )

    def nose(self) -> None:
        rng, pose, look, skin = self.rng, self.pose, self.look, self.skin
        ny, nw = rng.uniform(0.3, 0.45), rng.uniform(0.16, 0.24)  # tip height, half width
        top = self.ey + 0.02
        half = np.array([[0.08, top], [0.09, (top + ny) / 2], [nw * 0.8, ny - 0.1], [nw, ny - 0.02],
                         [nw * 0.85, ny + 0.05], [nw * 0.35, ny + 0.08], [0.0, ny + 0.09]])  # fmt: skip
        outline = np.concatenate([half, half[::-1][1:] * (-1, 1)])
        depth = np.clip((outline[:, 1] - top) / (ny - top), 0, 1) * 0.3  # the tip protrudes most
        poly = self.feat(outline, depth)
        axis = pose.warp(np.array([[0.0, ny]]), 0.3)[0, 0]

        def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
            """Skin, darker on the side away from the light and on the flanks, with a lit ridge."""
            u, v = pose.to_face(rr, cc)
            off = (u - axis) / np.maximum(np.interp(v, half[:, 1], half[:, 0]), 0.05)  # -1..1 across
            away = np.clip(off * -np.sign(look.light[0] + 1e-3), 0, 1)
            side = 1 - 0.2 * away - 0.3 * np.clip(np.abs(off) - 0.6, 0, 0.4) / 0.4
            ridge = 1 + 0.1 * np.exp(-((off / 0.3) ** 2))
            return self.surface(skin)(rr, cc) * (side * ridge)[:, None]

        shadow = poly + pose.scale * np.array([-look.light[0] * 0.05, 0.03])  # cast on the cheek
        self.canvas.paint(SKIN, shadow, self.surface(skin * 0.8), only=SKIN, label=False)
        self.canvas.paint(NOSE, poly, shade)
        for side in (1, -1):
            nostril = _ellipse(side * nw * 0.45, ny + 0.03, nw * 0.22, 0.035, 12)
            self.canvas.paint(NOSE, self.feat(nostril, 0.3), skin * 0.35, only=NOSE, label=False)

    def glasses_label(self) -> None:
        """The glasses' label, under the eyes and brows as in the official order; drawn later."""
        if not self.glasses:
            return
        rng, canvas, ex, ey, ew = self.rng, self.canvas, self.ex, self.ey, self.ew
        canvas.under_glasses = canvas.label.copy()
        lw, lh, rim = ew * rng.uniform(1.45, 1.75), ew * rng.uniform(1.0, 1.3), rng.uniform(0.04, 0.07)
        for side in (1, -1):
            canvas.paint(EYE_G, self.feat(_ellipse(side * ex, ey + 0.02, lw, lh, 32)), None)
            self.lenses.append(self.feat(_ellipse(side * ex, ey + 0.02, lw - rim, lh - rim, 32)))
            xs = np.linspace(side * (ex + lw * 0.95), side * 1.0, 6)
            temple = _band(xs, np.full(6, ey - lh * 0.4), np.full(6, ey - lh * 0.4 + rim))
            canvas.paint(EYE_G, self.feat(temple), None)
        xs = np.linspace(-(ex - lw * 0.95), ex - lw * 0.95, 5)
        canvas.paint(
            EYE_G, self.feat(_band(xs, np.full(5, ey - 0.05), np.full(5, ey - 0.05 + rim)), 0.15), None
        )

    def eyes(self) -> None:
        rng, canvas, ex, ey, ew, eh = self.rng, self.canvas, self.ex, self.ey, self.ew, self.eh
        closed = rng.random() < P_CLOSED_EYES
        irises = [_rgb(0.3, 0.18, 0.08), _rgb(0.25, 0.4, 0.6), _rgb(0.3, 0.45, 0.25), _rgb(0.1, 0.07, 0.05)]
        iris_colour = irises[rng.integers(4)] * rng.uniform(0.7, 1.2)
        sclera = _rgb(0.88, 0.86, 0.83) * rng.uniform(0.85, 1.05)
        gaze, tilt, lash_w = rng.uniform(-0.35, 0.35), rng.uniform(-0.05, 0.15), rng.uniform(0.035, 0.06)
        if self.sunglasses:  # hidden
            return
        xs = np.linspace(-1, 1, 15)
        for side, part in ((1, L_EYE), (-1, R_EYE)):
            cx = side * ex
            up = (0.035 if closed else eh) * (1 - xs**2) ** 0.7 * (1 + 0.12 * xs * side)
            low = (0.03 if closed else eh * 0.75) * (1 - xs**2) ** 0.9
            almond = _rotate(_band(cx + xs * ew, ey - up, ey + low), cx, ey, -side * tilt)
            socket = _ellipse(cx, ey - eh * 0.9, ew * 1.2, eh * 1.1, 20)
            canvas.paint(SKIN, self.feat(socket), self.surface(self.skin * 0.86), only=SKIN, label=False)
            if closed:  # the lash line alone
                canvas.paint(part, self.feat(almond), self.skin * 0.3)
                continue
            canvas.paint(part, self.feat(almond), _flat(sclera, self.look, 0.03))
            ix, iy = cx + gaze * ew * 0.45, ey + eh * 0.1
            for poly, colour in (
                (_ellipse(ix, iy, eh * 0.95, eh * 0.95, 20), _flat(iris_colour, self.look, 0.1, 0.04)),
                (_ellipse(ix, iy, eh * 0.4, eh * 0.4, 12), _rgb(0.03, 0.03, 0.03)),
                (
                    _rotate(_band(cx + xs * ew, ey - up, ey - up + lash_w), cx, ey, -side * tilt),
                    _rgb(0.06, 0.05, 0.05),
                ),
                (_ellipse(ix + 0.03, ey, eh * 0.16, eh * 0.16, 8), _rgb(0.97, 0.97, 0.97)),  # catch light
            ):
                canvas.paint(part, self.feat(poly), colour, only=part, label=False)

    def brows(self) -> None:
        rng = self.rng
        colour = np.minimum(self.look.hair * rng.uniform(0.6, 1.0), self.skin * rng.uniform(0.3, 0.6))
        bx, by, bt = self.ex + rng.uniform(-0.02, 0.05), self.by, self.bt
        length, arch, tilt = rng.uniform(0.23, 0.3), rng.uniform(0.02, 0.09), rng.uniform(-0.1, 0.15)
        s = np.linspace(-1, 1, 13)  # inner end to outer end
        centre = by - arch * (1 - (s - 0.15) ** 2)
        half = bt * (1 - 0.45 * (s + 1) / 2) / 2  # thinner towards the outer end
        for side, part in ((1, L_BROW), (-1, R_BROW)):
            brow = _rotate(
                _band(side * (bx + s * length), centre - half, centre + half), side * bx, by, side * tilt
            )
            self.canvas.paint(
                part, self.feat(brow), _strands(self.pose, self.look, colour, rng, radial=False)
            )

    def mouth(self) -> None:
        """Lips around an inner mouth that is open (some with teeth) or closed to a seam."""
        rng, canvas = self.rng, self.canvas
        my, mw = rng.uniform(0.62, 0.8), rng.uniform(0.27, 0.38)
        ut, lt = rng.uniform(0.08, 0.12), rng.uniform(0.1, 0.15)
        smile = rng.uniform(-0.05, 0.09)
        opening = rng.uniform(0.06, 0.22) if rng.random() < P_OPEN_MOUTH else 0.0
        xs = np.linspace(-mw, mw, 25)
        r = np.sqrt(np.clip(1 - (xs / mw) ** 2, 0, None))
        line = my - smile * (xs / mw) ** 2
        gap = opening / 2 * np.clip(1 - (xs / (0.85 * mw)) ** 2, 0, None)
        bow = 1 - 0.3 * np.exp(-((xs / 0.07) ** 2)) + 0.15 * np.exp(-(((np.abs(xs) - 0.1) / 0.08) ** 2))
        if rng.random() < 0.15:  # lipstick
            lip = _random_colour(rng) * _rgb(1.0, 0.4, 0.6)
        else:
            lip = np.clip(self.skin * _rgb(0.85, 0.55, 0.55) + rng.uniform(-0.04, 0.06, 3), 0, 1).astype(
                np.float32
            )
        upper = _band(xs, line - gap - ut * r * bow, line - gap)
        lower = _band(xs, line + gap, line + gap + lt * r)
        canvas.paint(U_LIP, self.feat(upper, 0.1), self.surface(lip * 0.85, grain=0.015))
        canvas.paint(L_LIP, self.feat(lower, 0.1), self.surface(lip, grain=0.015))
        if opening > 0:
            inside = _flat(_rgb(0.25, 0.06, 0.07) * rng.uniform(0.5, 1.0), self.look, 0.1)
            canvas.paint(MOUTH, self.feat(_band(xs, line - gap, line + gap), 0.1), inside)
            if rng.random() < P_TEETH:
                teeth = _band(xs * 0.8, line - gap, line - gap + opening * rng.uniform(0.25, 0.45))
                canvas.paint(
                    MOUTH,
                    self.feat(teeth, 0.1),
                    _flat(_rgb(0.9, 0.88, 0.8), self.look, 0.05),
                    only=MOUTH,
                    label=False,
                )
        else:
            seam = _band(xs * 0.95, line - 0.012, line + 0.012)
            canvas.paint(U_LIP, self.feat(seam, 0.1), lip * 0.45, only=(U_LIP, L_LIP), label=False)

    def glasses_finish(self) -> None:
        """Tinted lenses over whatever lies beneath (the eyes too), then the frames."""
        if not self.glasses:
            return
        rng, canvas = self.rng, self.canvas
        if self.sunglasses:
            tint, alpha = _rgb(0.05, 0.05, 0.07), 0.88
        else:
            tint, alpha = _random_colour(rng), rng.uniform(0.08, 0.25)
        glass = np.zeros((self.size, self.size), dtype=bool)
        for poly in self.lenses:
            glass[canvas.fill(poly)] = True
        rr, cc = np.nonzero(glass)
        streak = np.clip(1 - np.abs((cc - rr) - (cc - rr).mean()) / (0.15 * self.pose.scale), 0, 1)  # glare
        canvas.image[rr, cc] = (
            (1 - alpha) * canvas.image[rr, cc] + alpha * tint + rng.uniform(0, 0.2) * streak[:, None]
        )
        frame_colour = _random_colour(rng) * 0.5 if rng.random() < 0.5 else _rgb(0.05, 0.05, 0.05)
        frame = (canvas.label == EYE_G) & ~glass
        canvas.image[frame] = frame_colour + 0.03 * self.look.grain[frame][:, None]

    def hair_front(self) -> None:
        """The hairline, or a fringe low enough to reach the brows, and locks over the ears."""
        if self.style == "bald":
            return
        rng = self.rng
        xs = np.linspace(-1.15, 1.15, 31)
        fringe = rng.random() < P_FRINGE
        if fringe:
            base = self.by - self.bt * rng.uniform(-0.3, 0.9)
            hairline = base + 0.05 * np.sin(xs * rng.uniform(8, 20) + rng.uniform(0, 6)) + 0.1 * xs**4
        else:
            base, parting = -self.hh_top * rng.uniform(0.55, 0.8), rng.uniform(-0.5, 0.5)
            hairline = base + 0.25 * np.abs(xs) ** 2.5 - 0.08 * np.exp(-(((xs - parting) / 0.12) ** 2))
        hairline = hairline + rng.uniform(-0.1, 0.1) * xs
        crown = _ellipse(0, self.hair_cy, self.hair_w, self.hair_top + self.hair_cy, 48)
        crown = crown[crown[:, 1] < self.hair_cy]
        front = np.concatenate([np.stack([xs, hairline], 1), crown[np.argsort(-crown[:, 0])]])
        shader = _strands(self.pose, self.look, self.look.hair, rng, radial=not fringe)
        self.canvas.paint(HAIR, self.feat(front) if fringe else self.rigid(front), shader)
        if self.style == "short":
            return
        for side in (1, -1):
            if rng.random() < 0.55:
                w = rng.uniform(0.18, 0.35)
                end = self.hair_end if self.style == "long" else min(self.hair_end, rng.uniform(0.1, 0.6))
                lock = np.array(
                    [
                        [side * (0.98 - w * 0.5), -0.7],
                        [side * (1.05 + w), -0.55],
                        [side * (1.1 + w), end - 0.1],
                        [side * (1.0 + w * 0.6), end + 0.06],
                        [side * (0.95 - w * 0.2), end - 0.05],
                    ]
                )
                self.canvas.paint(HAIR, self.rigid(lock), self.hair_shader)

    def hat(self) -> None:
        rng = self.rng
        if rng.random() >= P_HAT:
            return
        y_b, hw = -self.hh_top * rng.uniform(0.45, 0.75), rng.uniform(1.12, 1.4)
        shader = _fabric(_random_colour(rng), self.look, rng)
        dome = _ellipse(0, y_b, hw, rng.uniform(0.7, 1.1), 40)
        dome = dome[dome[:, 1] <= y_b]
        band = np.array(
            [[-hw, y_b - 0.01], [hw, y_b - 0.01], [hw * 1.02, y_b + 0.16], [-hw * 1.02, y_b + 0.16]]
        )
        self.canvas.paint(HAT, self.rigid(dome[np.argsort(dome[:, 0])]), shader)
        self.canvas.paint(HAT, self.rigid(band), shader)
        if rng.random() < 0.4:
            brim = _ellipse(
                rng.uniform(-0.4, 0.4), y_b + 0.15, rng.uniform(1.4, 1.8), rng.uniform(0.08, 0.16), 32
            )
            self.canvas.paint(HAT, self.rigid(brim), shader)

    def occluder(self) -> None:
        """An object in front of the face (a hand-coloured one at times), labelled background."""
        rng = self.rng
        if rng.random() >= P_OCCLUDER:
            return
        colour = self.skin * rng.uniform(0.85, 1.1) if rng.random() < 0.4 else _random_colour(rng)
        centre, axes = (
            (rng.uniform(-0.9, 0.9), rng.uniform(0.2, 1.3)),
            (rng.uniform(0.25, 0.55), rng.uniform(0.18, 0.4)),
        )
        blob = _ellipse(*centre, *axes, 24, rng.uniform(0, np.pi))
        self.canvas.paint(0, self.rigid(blob), _flat(np.clip(colour, 0, 1), self.look, 0.1))


def _finish(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
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


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([VERSION, seed, SPLITS.index(split), index])


def _draw(seed: int, split: str, index: int, size: int, image_scale: int) -> tuple[np.ndarray, _Canvas]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    rng = _rng(seed, split, index)
    canvas = _Painter(rng, size * image_scale).paint()
    return _finish(rng, canvas), canvas


def _labels(canvas: _Canvas, format: str, image_scale: int) -> np.ndarray:
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
    image, canvas = _draw(seed, split, index, size, image_scale)
    return image, _labels(canvas, format, image_scale)


# -- writing a dataset --------------------------------------------------------------------------


def celebamask_plan(n_train: int, n_val: int, n_test: int, seed: int) -> list[tuple[str, int, int]]:
    """For each CelebA-HQ index k: (split, index within the split, original CelebA index).

    The splits are interleaved over k, as in the real set, and the original indices fall in the
    official ranges so the mapping file yields the requested split sizes.
    """
    rng = np.random.default_rng([VERSION, seed, 7])
    ranges = {"train": (0, TRAIN_END), "val": (TRAIN_END, VAL_END), "test": (VAL_END, CELEBA_SIZE)}
    counts = {"train": n_train, "val": n_val, "test": n_test}
    for split, (lo, hi) in ranges.items():
        if counts[split] > hi - lo:
            raise ValueError(
                f"{split}: at most {hi - lo} images fit CelebA's index range, got {counts[split]}"
            )
    order = rng.permutation(np.repeat(np.arange(3), [n_train, n_val, n_test]))
    origs = {s: iter(np.sort(rng.choice(np.arange(*ranges[s]), counts[s], replace=False))) for s in SPLITS}
    seen = dict.fromkeys(SPLITS, 0)
    plan = []
    for code in order:
        split = SPLITS[code]
        plan.append((split, seen[split], int(next(origs[split]))))
        seen[split] += 1
    return plan


def lapa_name(split: str, index: int) -> str:
    return f"{split}_{index:05d}"


@dataclass(frozen=True)
class _Job:
    split: str
    index: int
    k: int  # CelebA-HQ index (celebamask-hq format), else -1


def _write_one(job: _Job, *, out: Path, format: str, size: int, seed: int, image_scale: int) -> None:
    image, canvas = _draw(seed, job.split, job.index, size, image_scale)
    if format == "lapa":
        name = lapa_name(job.split, job.index)
        write_image(out / job.split / "images" / f"{name}.jpg", image)
        write_label(out / job.split / "labels" / f"{name}.png", _labels(canvas, format, image_scale))
        return
    write_image(out / IMAGES / f"{job.k}.jpg", image)
    folder = out / MASKS / str(job.k // 2000)
    for part, mask in canvas.part_masks().items():
        mask = mask[::image_scale, ::image_scale]
        if mask.any():
            write_label(folder / f"{job.k:05d}_{CELEBAMASK_PARTS[part - 1]}.png", mask.astype(np.uint8) * 255)


def generate(
    out: str | Path,
    *,
    format: str = "lapa",
    n_train: int,
    n_val: int,
    n_test: int,
    size: int = 256,
    seed: int = 0,
    workers: int = 2,
    image_scale: int = 1,
    progress: bool = False,
) -> Path:
    """Write a SynthFaces set to ``out`` (see the module docstring); returns ``out``.

    Refuses a folder that holds anything but a SynthFaces set of the same settings.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if min(n_train, n_val, n_test) < 0 or n_train + n_val + n_test == 0:
        raise ValueError("split sizes must be non-negative and not all zero")
    if size < 16 or image_scale not in (1, 2):
        raise ValueError(f"size must be at least 16 and image_scale 1 or 2, got {size}, {image_scale}")
    out = Path(out)
    meta = {
        "generator": "fpliif SynthFaces",
        "version": VERSION,
        "format": format,
        "counts": {"train": n_train, "val": n_val, "test": n_test},
        "size": size,
        "image_scale": image_scale,
        "seed": seed,
        "num_classes": 11 if format == "lapa" else 19,
    }
    _check_target(out, meta)
    if format == "lapa":
        jobs = [_Job(s, i, -1) for s, n in meta["counts"].items() for i in range(n)]
    else:
        plan = celebamask_plan(n_train, n_val, n_test, seed)
        jobs = [_Job(split, i, k) for k, (split, i, _) in enumerate(plan)]
        out.mkdir(parents=True, exist_ok=True)
        lines = ["idx orig_idx orig_file"] + [
            f"{k} {orig} {orig + 1:06d}.jpg" for k, (_, _, orig) in enumerate(plan)
        ]
        (out / MAPPING).write_text("\n".join(lines) + "\n")
    work = partial(_write_one, out=out, format=format, size=size, seed=seed, image_scale=image_scale)
    workers = max(1, min(workers, len(jobs)))
    bar = partial(tqdm, total=len(jobs), desc=f"synth {format}", unit="img", disable=not progress)
    if workers == 1:
        for _ in bar(map(work, jobs)):
            pass
    else:
        with get_context().Pool(workers) as pool:
            for _ in bar(pool.imap_unordered(work, jobs, chunksize=8)):
                pass
    write_json(out / META_FILE, meta)
    return out


def _check_target(out: Path, meta: dict) -> None:
    if (out / META_FILE).is_file():
        old = read_json(out / META_FILE)
        if old != meta:
            diff = ", ".join(f"{k}: {old.get(k)} -> {v}" for k, v in meta.items() if old.get(k) != v)
            raise DataError(out, f"holds another SynthFaces set ({diff}); choose another --out or delete it")
    elif out.exists():
        own = {"train", "val", "test"} if meta["format"] == "lapa" else {IMAGES, MASKS, MAPPING}
        foreign = sorted(p.name for p in out.iterdir() if p.name not in own)
        if foreign:
            raise DataError(
                out, f"not empty ({', '.join(foreign[:3])}); choose a new or empty folder for --out"
            )


def read_meta(root: str | Path) -> dict:
    """The ``synthfaces.json`` of a generated tree (a clear error if ``root`` is none)."""
    root = Path(root)
    if not (root / META_FILE).is_file():
        raise DataError(
            root, f"not a SynthFaces folder (no {META_FILE}); create one with `fpliif synth --out {root}`"
        )
    return read_json(root / META_FILE)


# -- command ------------------------------------------------------------------------------------


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", required=True, help="folder to write (new, empty, or an earlier run with the same settings)"
    )
    p.add_argument(
        "--format", choices=FORMATS, default="lapa", help="LaPa layout (11 classes) or CelebAMask-HQ's (19)"
    )
    p.add_argument("--n-train", type=int, default=2000, help="training images")
    p.add_argument("--n-val", type=int, default=200, help="validation images")
    p.add_argument("--n-test", type=int, default=200, help="test images")
    p.add_argument("--size", type=int, default=256, help="label map side in pixels")
    p.add_argument(
        "--image-scale",
        type=int,
        choices=(1, 2),
        default=1,
        help="image side / label side (celebamask-hq: 2 as the real set)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed; each image depends on (seed, split, index) only"
    )
    p.add_argument("--workers", type=int, default=2, help="processes")


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = generate(
        args.out,
        format=args.format,
        n_train=args.n_train,
        n_val=args.n_val,
        n_test=args.n_test,
        size=args.size,
        seed=args.seed,
        workers=args.workers,
        image_scale=args.image_scale,
        progress=True,
    )
    total = args.n_train + args.n_val + args.n_test
    print(f"wrote {total} SynthFaces images ({args.format}) to {out} in {time.perf_counter() - start:.1f} s")
    if args.format == "celebamask-hq":
        print(f"next: fpliif prepare celebamask-hq --root {out} --out {out}-prepared")
    return 0
