"""Shapes in face coordinates and the head pose that maps them to pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def ellipse(cx: float, cy: float, a: float, b: float, n: int = 32, angle: float = 0.0) -> np.ndarray:
    """Points [n,2] (x, y) of an ellipse with half-axes a, b rotated by ``angle``."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = a * np.cos(t), b * np.sin(t)
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def band(xs: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Polygon between two curves y = top(xs) and y = bottom(xs)."""
    return np.concatenate([np.stack([xs, top], 1), np.stack([xs[::-1], bottom[::-1]], 1)])


def rotate(points: np.ndarray, cx: float, cy: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    d = points - (cx, cy)
    return np.stack([cx + c * d[:, 0] - s * d[:, 1], cy + s * d[:, 0] + c * d[:, 1]], axis=1)


@dataclass
class Pose:
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
        return rotate(pts * self.scale, 0.0, 0.0, self.roll) + (self.cx, self.cy)

    def to_face(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixels -> face coordinates (u, v), ignoring yaw: what shading needs."""
        c, s = math.cos(self.roll), math.sin(self.roll)
        dx, dy = (cols - self.cx) / self.scale, (rows - self.cy) / self.scale
        return (c * dx + s * dy).astype(np.float32), (-s * dx + c * dy).astype(np.float32)
