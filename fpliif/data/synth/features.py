"""The features, in the official order: nose, the glasses' label, eyes, brows, lips and mouth,
then the glasses' lenses and frames painted over them.

Each function paints one step of ``render.PAINT_ORDER`` on ``face.canvas``.
"""

from __future__ import annotations

import numpy as np

from .face import Face
from .geometry import band, ellipse, rotate
from .parts import (
    EYE_G,
    L_BROW,
    L_EYE,
    L_LIP,
    MOUTH,
    NOSE,
    P_CLOSED_EYES,
    P_OPEN_MOUTH,
    P_TEETH,
    R_BROW,
    R_EYE,
    SKIN,
    U_LIP,
)
from .shading import flat, random_colour, rgb, strands


def nose(face: Face) -> None:
    rng, pose, look, skin = face.rng, face.pose, face.look, face.skin
    ny, nw = rng.uniform(0.3, 0.45), rng.uniform(0.16, 0.24)  # tip height, half width
    top = face.ey + 0.02
    half = np.array([[0.08, top], [0.09, (top + ny) / 2], [nw * 0.8, ny - 0.1], [nw, ny - 0.02],
                     [nw * 0.85, ny + 0.05], [nw * 0.35, ny + 0.08], [0.0, ny + 0.09]])  # fmt: skip
    outline = np.concatenate([half, half[::-1][1:] * (-1, 1)])
    depth = np.clip((outline[:, 1] - top) / (ny - top), 0, 1) * 0.3  # the tip protrudes most
    poly = face.feat(outline, depth)
    axis = pose.warp(np.array([[0.0, ny]]), 0.3)[0, 0]

    def shade(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        """Skin, darker on the side away from the light and on the flanks, with a lit ridge."""
        u, v = pose.to_face(rr, cc)
        off = (u - axis) / np.maximum(np.interp(v, half[:, 1], half[:, 0]), 0.05)  # -1..1 across
        away = np.clip(off * -np.sign(look.light[0] + 1e-3), 0, 1)
        side = 1 - 0.2 * away - 0.3 * np.clip(np.abs(off) - 0.6, 0, 0.4) / 0.4
        ridge = 1 + 0.1 * np.exp(-((off / 0.3) ** 2))
        return face.surface(skin)(rr, cc) * (side * ridge)[:, None]

    shadow = poly + pose.scale * np.array([-look.light[0] * 0.05, 0.03])  # cast on the cheek
    face.canvas.paint(SKIN, shadow, face.surface(skin * 0.8), only=SKIN, label=False)
    face.canvas.paint(NOSE, poly, shade)
    for side in (1, -1):
        nostril = ellipse(side * nw * 0.45, ny + 0.03, nw * 0.22, 0.035, 12)
        face.canvas.paint(NOSE, face.feat(nostril, 0.3), skin * 0.35, only=NOSE, label=False)


def glasses_label(face: Face) -> None:
    """The glasses' label, under the eyes and brows as in the official order; drawn later."""
    if not face.glasses:
        return
    rng, canvas, ex, ey, ew = face.rng, face.canvas, face.ex, face.ey, face.ew
    canvas.under_glasses = canvas.label.copy()
    lw, lh, rim = ew * rng.uniform(1.45, 1.75), ew * rng.uniform(1.0, 1.3), rng.uniform(0.04, 0.07)
    for side in (1, -1):
        canvas.paint(EYE_G, face.feat(ellipse(side * ex, ey + 0.02, lw, lh, 32)), None)
        face.lenses.append(face.feat(ellipse(side * ex, ey + 0.02, lw - rim, lh - rim, 32)))
        xs = np.linspace(side * (ex + lw * 0.95), side * 1.0, 6)
        temple = band(xs, np.full(6, ey - lh * 0.4), np.full(6, ey - lh * 0.4 + rim))
        canvas.paint(EYE_G, face.feat(temple), None)
    xs = np.linspace(-(ex - lw * 0.95), ex - lw * 0.95, 5)
    canvas.paint(EYE_G, face.feat(band(xs, np.full(5, ey - 0.05), np.full(5, ey - 0.05 + rim)), 0.15), None)


def eyes(face: Face) -> None:
    rng, canvas, ex, ey, ew, eh = face.rng, face.canvas, face.ex, face.ey, face.ew, face.eh
    closed = rng.random() < P_CLOSED_EYES
    irises = [rgb(0.3, 0.18, 0.08), rgb(0.25, 0.4, 0.6), rgb(0.3, 0.45, 0.25), rgb(0.1, 0.07, 0.05)]
    iris_colour = irises[rng.integers(4)] * rng.uniform(0.7, 1.2)
    sclera = rgb(0.88, 0.86, 0.83) * rng.uniform(0.85, 1.05)
    gaze, tilt, lash_w = rng.uniform(-0.35, 0.35), rng.uniform(-0.05, 0.15), rng.uniform(0.035, 0.06)
    if face.sunglasses:  # hidden
        return
    xs = np.linspace(-1, 1, 15)
    for side, part in ((1, L_EYE), (-1, R_EYE)):
        cx = side * ex
        up = (0.035 if closed else eh) * (1 - xs**2) ** 0.7 * (1 + 0.12 * xs * side)
        low = (0.03 if closed else eh * 0.75) * (1 - xs**2) ** 0.9
        almond = rotate(band(cx + xs * ew, ey - up, ey + low), cx, ey, -side * tilt)
        socket = ellipse(cx, ey - eh * 0.9, ew * 1.2, eh * 1.1, 20)
        canvas.paint(SKIN, face.feat(socket), face.surface(face.skin * 0.86), only=SKIN, label=False)
        if closed:  # the lash line alone
            canvas.paint(part, face.feat(almond), face.skin * 0.3)
            continue
        canvas.paint(part, face.feat(almond), flat(sclera, face.look, 0.03))
        ix, iy = cx + gaze * ew * 0.45, ey + eh * 0.1
        for poly, colour in (
            (ellipse(ix, iy, eh * 0.95, eh * 0.95, 20), flat(iris_colour, face.look, 0.1, 0.04)),
            (ellipse(ix, iy, eh * 0.4, eh * 0.4, 12), rgb(0.03, 0.03, 0.03)),
            (
                rotate(band(cx + xs * ew, ey - up, ey - up + lash_w), cx, ey, -side * tilt),
                rgb(0.06, 0.05, 0.05),
            ),
            (ellipse(ix + 0.03, ey, eh * 0.16, eh * 0.16, 8), rgb(0.97, 0.97, 0.97)),  # catch light
        ):
            canvas.paint(part, face.feat(poly), colour, only=part, label=False)


def brows(face: Face) -> None:
    rng = face.rng
    colour = np.minimum(face.look.hair * rng.uniform(0.6, 1.0), face.skin * rng.uniform(0.3, 0.6))
    bx, by, bt = face.ex + rng.uniform(-0.02, 0.05), face.by, face.bt
    length, arch, tilt = rng.uniform(0.23, 0.3), rng.uniform(0.02, 0.09), rng.uniform(-0.1, 0.15)
    s = np.linspace(-1, 1, 13)  # inner end to outer end
    centre = by - arch * (1 - (s - 0.15) ** 2)
    half = bt * (1 - 0.45 * (s + 1) / 2) / 2  # thinner towards the outer end
    for side, part in ((1, L_BROW), (-1, R_BROW)):
        brow = rotate(
            band(side * (bx + s * length), centre - half, centre + half), side * bx, by, side * tilt
        )
        face.canvas.paint(part, face.feat(brow), strands(face.pose, face.look, colour, rng, radial=False))


def mouth(face: Face) -> None:
    """Lips around an inner mouth that is open (some with teeth) or closed to a seam."""
    rng, canvas = face.rng, face.canvas
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
        lip = random_colour(rng) * rgb(1.0, 0.4, 0.6)
    else:
        lip = np.clip(face.skin * rgb(0.85, 0.55, 0.55) + rng.uniform(-0.04, 0.06, 3), 0, 1).astype(
            np.float32
        )
    upper = band(xs, line - gap - ut * r * bow, line - gap)
    lower = band(xs, line + gap, line + gap + lt * r)
    canvas.paint(U_LIP, face.feat(upper, 0.1), face.surface(lip * 0.85, grain=0.015))
    canvas.paint(L_LIP, face.feat(lower, 0.1), face.surface(lip, grain=0.015))
    if opening > 0:
        inside = flat(rgb(0.25, 0.06, 0.07) * rng.uniform(0.5, 1.0), face.look, 0.1)
        canvas.paint(MOUTH, face.feat(band(xs, line - gap, line + gap), 0.1), inside)
        if rng.random() < P_TEETH:
            teeth = band(xs * 0.8, line - gap, line - gap + opening * rng.uniform(0.25, 0.45))
            canvas.paint(
                MOUTH,
                face.feat(teeth, 0.1),
                flat(rgb(0.9, 0.88, 0.8), face.look, 0.05),
                only=MOUTH,
                label=False,
            )
    else:
        seam = band(xs * 0.95, line - 0.012, line + 0.012)
        canvas.paint(U_LIP, face.feat(seam, 0.1), lip * 0.45, only=(U_LIP, L_LIP), label=False)


def glasses_finish(face: Face) -> None:
    """Tinted lenses over whatever lies beneath (the eyes too), then the frames."""
    if not face.glasses:
        return
    rng, canvas = face.rng, face.canvas
    if face.sunglasses:
        tint, alpha = rgb(0.05, 0.05, 0.07), 0.88
    else:
        tint, alpha = random_colour(rng), rng.uniform(0.08, 0.25)
    glass = np.zeros((face.size, face.size), dtype=bool)
    for poly in face.lenses:
        glass[canvas.fill(poly)] = True
    rr, cc = np.nonzero(glass)
    streak = np.clip(1 - np.abs((cc - rr) - (cc - rr).mean()) / (0.15 * face.pose.scale), 0, 1)  # glare
    canvas.image[rr, cc] = (
        (1 - alpha) * canvas.image[rr, cc] + alpha * tint + rng.uniform(0, 0.2) * streak[:, None]
    )
    frame_colour = random_colour(rng) * 0.5 if rng.random() < 0.5 else rgb(0.05, 0.05, 0.05)
    frame = (canvas.label == EYE_G) & ~glass
    canvas.image[frame] = frame_colour + 0.03 * face.look.grain[frame][:, None]
