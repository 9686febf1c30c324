"""One random face: its pose, look and proportions, drawn from the generator in a fixed order.

The part painters (``head``, ``features``) read what several parts share from a ``Face``.
"""

from __future__ import annotations

import math

import numpy as np

from . import shading
from .canvas import Canvas
from .geometry import Pose
from .parts import HAIR_STYLES, P_GLASSES, P_SUNGLASSES
from .shading import Colour, Look, Shader, background, hair_colour, skin_colour, smooth_noise, strands


def choose(rng: np.random.Generator, probabilities: dict[str, float]) -> str:
    names = list(probabilities)
    return names[rng.choice(len(names), p=list(probabilities.values()))]


class Face:
    """A face's random draws, the canvas it is painted on and the maps from face units to pixels.

    Sizes are in face units (half the face width); ``rigid`` maps parts that keep their place
    as the head turns (outline, ears, hair, neck), ``feat`` the features that move with the yaw.
    """

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.rng = rng
        self.size = S = size
        self.pose = Pose(
            cx=S * (0.5 + rng.uniform(-0.08, 0.08)),
            cy=S * (0.5 + rng.uniform(-0.06, 0.06)),
            scale=S * rng.uniform(0.24, 0.34),
            roll=math.radians(float(np.clip(rng.normal(0, 11), -28, 28))),
            yaw=float(np.clip(rng.normal(0, 0.16), -0.35, 0.35)),
            pitch=float(rng.uniform(-0.15, 0.15)),
        )
        light = rng.normal(size=2)
        self.look = Look(
            skin=skin_colour(rng),
            hair=hair_colour(rng),
            light=(light / (np.linalg.norm(light) + 1e-6)).astype(np.float32),
            light_strength=float(rng.uniform(0.05, 0.4)),
            texture=smooth_noise(rng, S, int(rng.integers(6, 16))),
            grain=rng.standard_normal((S, S), dtype=np.float32),
        )
        self.canvas = Canvas(S, background(rng, S), np.zeros((S, S), dtype=np.uint8))
        self.skin = self.look.skin
        # Head and features.
        self.hh_top, self.hh_low = rng.uniform(1.25, 1.45), rng.uniform(1.2, 1.45)  # half heights
        self.ex, self.ey = rng.uniform(0.36, 0.44), rng.uniform(-0.12, -0.02)  # eye centre
        self.ew = rng.uniform(0.2, 0.25)
        self.eh = self.ew * rng.uniform(0.38, 0.55)
        self.by, self.bt = self.ey - rng.uniform(0.24, 0.34), rng.uniform(0.1, 0.15)  # brow height, thickness
        self.style = choose(rng, HAIR_STYLES)
        self.hair_w = rng.uniform(1.08, 1.32)
        self.hair_top = self.hh_top + rng.uniform(0.12, 0.45)
        self.hair_cy = -0.2
        self.hair_end = {"medium": rng.uniform(0.2, 0.9), "long": self.hh_low + rng.uniform(0.6, 2.2)}.get(
            self.style, 0.0
        )
        self.hair_shader = strands(self.pose, self.look, self.look.hair, rng, radial=True)
        self.glasses = rng.random() < P_GLASSES
        self.sunglasses = self.glasses and rng.random() < P_SUNGLASSES
        self.lenses: list[np.ndarray] = []  # the glass inside each frame, pixel polygons

    def rigid(self, pts: np.ndarray) -> np.ndarray:
        return self.pose.to_image(pts)

    def feat(self, pts: np.ndarray, depth: float | np.ndarray = 0.0) -> np.ndarray:
        return self.pose.to_image(self.pose.warp(pts, depth))

    def surface(self, colour: Colour, **kw: float) -> Shader:
        return shading.surface(self.pose, self.look, colour, **kw)
