"""The head around the features, back to front: hair, neck and clothes, ears, the face's outline,
then what lies in front of the features (the hairline or a fringe, a hat, an occluding object).

Each function paints one step of ``render.PAINT_ORDER`` on ``face.canvas``.
"""

from __future__ import annotations

import numpy as np

from .face import Face
from .geometry import band, ellipse
from .parts import (
    CLOTH,
    EAR_R,
    HAIR,
    HAT,
    L_EAR,
    NECK,
    NECK_L,
    P_EARRINGS,
    P_FRINGE,
    P_HAT,
    P_NECKLACE,
    P_OCCLUDER,
    R_EAR,
    SKIN,
)
from .shading import fabric, flat, random_colour, rgb, strands


def hair_back(face: Face) -> None:
    if face.style == "bald":
        return
    cap = ellipse(0, face.hair_cy, face.hair_w, face.hair_top + face.hair_cy, 48)
    face.canvas.paint(HAIR, face.rigid(cap), face.hair_shader)
    if face.hair_end > 0:
        flare = face.rng.uniform(0.0, 0.45) if face.style == "long" else face.rng.uniform(0, 0.1)
        w, cy, end = face.hair_w, face.hair_cy, face.hair_end
        back = np.array([[-w, cy], [w, cy], [w + flare, end], [-w - flare, end]])
        face.canvas.paint(HAIR, face.rigid(back), face.hair_shader)


def neck_and_clothes(face: Face) -> None:
    rng, canvas, yaw = face.rng, face.canvas, face.pose.yaw
    w = rng.uniform(0.5, 0.68)
    bottom = face.hh_low + 3
    neck = np.array([[-w, 0.2], [w, 0.2], [w * 1.12, bottom], [-w * 1.12, bottom]]) + (yaw * 0.3, 0)
    canvas.paint(NECK, face.rigid(neck), face.surface(face.skin * rgb(0.86, 0.84, 0.84), relief=0.5))
    jaw_shadow = np.array(
        [[-w * 1.1, 0.4], [w * 1.1, 0.4], [w * 1.1, face.hh_low + 0.18], [-w * 1.1, face.hh_low + 0.18]]
    )
    canvas.paint(
        NECK, face.rigid(jaw_shadow), face.surface(face.skin * 0.68, relief=0.5), only=NECK, label=False
    )

    collar_y = face.hh_low + rng.uniform(0.35, 0.8)
    shoulder_w, dip, slope = rng.uniform(1.9, 2.9), rng.uniform(0.1, 0.5), rng.uniform(0.0, 0.35)
    xs = np.linspace(-w * 1.15, w * 1.15, 15)
    rel = np.abs(xs) / (w * 1.15)
    neckline = (
        collar_y - 0.15 + dip * ((1 - rel) if rng.random() < 0.3 else np.sqrt(1 - rel**2))
    )  # V or round
    below = face.hh_low + 6
    cloth = np.concatenate(
        [
            [[-shoulder_w, below], [-shoulder_w, collar_y + slope]],
            np.stack([xs, neckline], 1),
            [[shoulder_w, collar_y + slope], [shoulder_w, below]],
        ]
    ) + (yaw * 0.2, 0)
    canvas.paint(CLOTH, face.rigid(cloth), fabric(random_colour(rng), face.look, rng))

    if rng.random() < P_NECKLACE:
        xs = np.linspace(-w * 0.98, w * 0.98, 21)
        hang = collar_y - 0.25 + rng.uniform(0.1, 0.5) * (1 - (xs / w) ** 2)
        thick = rng.uniform(0.05, 0.08)
        metal = rgb(0.85, 0.7, 0.3) if rng.random() < 0.5 else rgb(0.82, 0.82, 0.86)
        shader = flat(metal * rng.uniform(0.8, 1.1), face.look, texture=0.2, grain=0.08)
        canvas.paint(NECK_L, face.rigid(band(xs + yaw * 0.25, hang - thick / 2, hang + thick / 2)), shader)
        if rng.random() < 0.5:  # a pendant
            canvas.paint(NECK_L, face.rigid(ellipse(yaw * 0.25, hang.max() + 0.07, 0.07, 0.09, 16)), shader)


def ears(face: Face) -> None:
    rng, canvas = face.rng, face.canvas
    ear_y, ear_h = rng.uniform(-0.12, 0.06), rng.uniform(0.26, 0.33)
    earrings, stud = rng.random() < P_EARRINGS, rng.random() < 0.5
    metal = rgb(0.9, 0.75, 0.3) if rng.random() < 0.6 else random_colour(rng)
    for side, part in ((1, L_EAR), (-1, R_EAR)):
        visible = float(
            np.clip(1 - side * face.pose.yaw * 2.6, 0, 1.6)
        )  # the far ear hides as the head turns
        if visible < 0.25:
            continue
        width = rng.uniform(0.13, 0.18) * visible
        cx = side * (0.96 + 0.45 * width)
        rr, _ = canvas.paint(
            part,
            face.rigid(ellipse(cx, ear_y, width, ear_h, 24)),
            face.surface(face.skin * rgb(0.95, 0.88, 0.86), relief=0.6),
        )
        if not rr.size:
            continue
        inner = ellipse(cx + side * 0.02, ear_y, width * 0.5, ear_h * 0.6, 16)
        canvas.paint(
            part, face.rigid(inner), face.surface(face.skin * 0.7, relief=0.6), only=part, label=False
        )
        if earrings:
            lobe_y = ear_y + ear_h * 0.92
            drop = (
                ellipse(cx, lobe_y + 0.05, 0.055, 0.055, 12)
                if stud
                else ellipse(cx, lobe_y + 0.12, 0.05, 0.11, 16)
            )
            canvas.paint(EAR_R, face.rigid(drop), flat(metal, face.look, texture=0.3, grain=0.1))


def outline(face: Face) -> None:
    """The face's skin (the jaw narrows it, the chin turns with the yaw), with a blush at times."""
    rng, hh_top, hh_low = face.rng, face.hh_top, face.hh_low
    jaw = rng.uniform(0.15, 0.4)
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    x, y = np.sin(t), -np.cos(t)
    y = np.where(y < 0, y * hh_top, y * hh_low)
    x = x * np.where(y > 0, 1 - jaw * (y / hh_low) ** 2, 1 - 0.06 * (y / hh_top) ** 2)
    x = x + face.pose.yaw * 0.35 * np.clip(y, 0, None) / hh_low  # the chin turns with the face
    face.canvas.paint(SKIN, face.rigid(np.stack([x, y], 1)), face.surface(face.skin))
    if rng.random() < 0.35:  # blush
        for side in (1, -1):
            cheek = face.feat(ellipse(side * 0.55, 0.35, 0.25, 0.16, 16))
            face.canvas.paint(
                SKIN, cheek, face.surface(face.skin * rgb(1.02, 0.9, 0.9)), only=SKIN, label=False
            )


def hair_front(face: Face) -> None:
    """The hairline, or a fringe low enough to reach the brows, and locks over the ears."""
    if face.style == "bald":
        return
    rng = face.rng
    xs = np.linspace(-1.15, 1.15, 31)
    fringe = rng.random() < P_FRINGE
    if fringe:
        base = face.by - face.bt * rng.uniform(-0.3, 0.9)
        hairline = base + 0.05 * np.sin(xs * rng.uniform(8, 20) + rng.uniform(0, 6)) + 0.1 * xs**4
    else:
        base, parting = -face.hh_top * rng.uniform(0.55, 0.8), rng.uniform(-0.5, 0.5)
        hairline = base + 0.25 * np.abs(xs) ** 2.5 - 0.08 * np.exp(-(((xs - parting) / 0.12) ** 2))
    hairline = hairline + rng.uniform(-0.1, 0.1) * xs
    crown = ellipse(0, face.hair_cy, face.hair_w, face.hair_top + face.hair_cy, 48)
    crown = crown[crown[:, 1] < face.hair_cy]
    front = np.concatenate([np.stack([xs, hairline], 1), crown[np.argsort(-crown[:, 0])]])
    shader = strands(face.pose, face.look, face.look.hair, rng, radial=not fringe)
    face.canvas.paint(HAIR, face.feat(front) if fringe else face.rigid(front), shader)
    if face.style == "short":
        return
    for side in (1, -1):
        if rng.random() < 0.55:
            w = rng.uniform(0.18, 0.35)
            end = face.hair_end if face.style == "long" else min(face.hair_end, rng.uniform(0.1, 0.6))
            lock = np.array(
                [
                    [side * (0.98 - w * 0.5), -0.7],
                    [side * (1.05 + w), -0.55],
                    [side * (1.1 + w), end - 0.1],
                    [side * (1.0 + w * 0.6), end + 0.06],
                    [side * (0.95 - w * 0.2), end - 0.05],
                ]
            )
            face.canvas.paint(HAIR, face.rigid(lock), face.hair_shader)


def hat(face: Face) -> None:
    rng = face.rng
    if rng.random() >= P_HAT:
        return
    y_b, hw = -face.hh_top * rng.uniform(0.45, 0.75), rng.uniform(1.12, 1.4)
    shader = fabric(random_colour(rng), face.look, rng)
    dome = ellipse(0, y_b, hw, rng.uniform(0.7, 1.1), 40)
    dome = dome[dome[:, 1] <= y_b]
    hatband = np.array(
        [[-hw, y_b - 0.01], [hw, y_b - 0.01], [hw * 1.02, y_b + 0.16], [-hw * 1.02, y_b + 0.16]]
    )
    face.canvas.paint(HAT, face.rigid(dome[np.argsort(dome[:, 0])]), shader)
    face.canvas.paint(HAT, face.rigid(hatband), shader)
    if rng.random() < 0.4:
        brim = ellipse(rng.uniform(-0.4, 0.4), y_b + 0.15, rng.uniform(1.4, 1.8), rng.uniform(0.08, 0.16), 32)
        face.canvas.paint(HAT, face.rigid(brim), shader)


def occluder(face: Face) -> None:
    """An object in front of the face (a hand-coloured one at times), labelled background."""
    rng = face.rng
    if rng.random() >= P_OCCLUDER:
        return
    colour = face.skin * rng.uniform(0.85, 1.1) if rng.random() < 0.4 else random_colour(rng)
    centre, axes = (
        (rng.uniform(-0.9, 0.9), rng.uniform(0.2, 1.3)),
        (rng.uniform(0.25, 0.55), rng.uniform(0.18, 0.4)),
    )
    blob = ellipse(*centre, *axes, 24, rng.uniform(0, np.pi))
    face.canvas.paint(0, face.rigid(blob), flat(np.clip(colour, 0, 1), face.look, 0.1))
