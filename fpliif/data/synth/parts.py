"""The parts a SynthFaces face is painted from: their label ids and how often the optional ones appear."""

from __future__ import annotations

import numpy as np

# Ids of the 19-class map the generator paints (CelebAMask-HQ's official order, (docs/paper.md, "Datasets")).
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
