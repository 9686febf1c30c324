"""Face crops that look like the training crops, and pasting their label maps back into the photo.

The model was trained on whole aligned crops: CelebAMask-HQ and LaPa crops show the whole head,
hair and some neck, and a detector's face box (brows to chin, cheek to cheek) covers about the
middle half of such a crop; a SynthFaces face's Haar box is 0.5-0.55 of its image side. So each
face is cut as a square ``CROP_SCALE`` = 2 times its box's side, centred on the box. A crop that
reaches past the photo's edge is filled by repeating the edge pixels (no hard artificial border
for the model to parse as a boundary).

Each crop is decoded at its own size in the output map and pasted back. Where crops overlap, each
pixel takes the label of the face whose softmax is surer there (the larger maximum probability);
pixels no crop covers are background, id 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detect import FaceBox

CROP_SCALE = 2.0  # crop side / face-box side: the box is the middle half of the crop, as in training


@dataclass(frozen=True)
class Crop:
    """A square region of a photo in its pixels: top-left (x0, y0) and ``side``; it may reach
    past the photo's edges."""

    x0: int
    y0: int
    side: int

    @property
    def x1(self) -> int:
        return self.x0 + self.side

    @property
    def y1(self) -> int:
        return self.y0 + self.side

    def to_dict(self) -> dict[str, int]:
        return {"x0": self.x0, "y0": self.y0, "side": self.side}


def square_crop(face: FaceBox, *, scale: float = CROP_SCALE) -> Crop:
    """The square crop around ``face``: ``scale`` times its longer side, on its centre."""
    side = max(1, round(max(face.width, face.height) * scale))
    cx, cy = face.center
    return Crop(x0=round(cx - side / 2), y0=round(cy - side / 2), side=side)


def whole_image(height: int, width: int) -> Crop:
    """The crop that is the whole photo (``--no-detect``), not square when the photo is not."""
    return Crop(x0=0, y0=0, side=max(height, width))


def cut(rgb: np.ndarray, crop: Crop) -> np.ndarray:
    """The crop's pixels, uint8 [side,side,3]; parts past the photo repeat its edge pixels."""
    h, w = rgb.shape[:2]
    ys = np.clip(np.arange(crop.y0, crop.y1), 0, h - 1)
    xs = np.clip(np.arange(crop.x0, crop.x1), 0, w - 1)
    return rgb[ys][:, xs]


def region(crop: Crop, image_hw: tuple[int, int], out_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """The crop in output-map pixels, (y0, y1, x0, x1), unclipped: the photo is ``image_hw`` and
    the map ``out_hw`` (H, W); the two may differ in size and in aspect."""
    sy, sx = out_hw[0] / image_hw[0], out_hw[1] / image_hw[1]
    y0, x0 = round(crop.y0 * sy), round(crop.x0 * sx)
    return y0, max(y0 + 1, round(crop.y1 * sy)), x0, max(x0 + 1, round(crop.x1 * sx))


def paste(
    labels: np.ndarray,
    confidence: np.ndarray,
    crop_labels: np.ndarray,
    crop_confidence: np.ndarray,
    box: tuple[int, int, int, int],
) -> None:
    """Paste one face's labels [h,w] and confidences [h,w] at ``box`` = (y0, y1, x0, x1) of the
    output maps ``labels`` and ``confidence`` [H,W], in place, where the face is surer than what
    is there; the parts of ``box`` outside the map are dropped."""
    y0, y1, x0, x1 = box
    if crop_labels.shape != (y1 - y0, x1 - x0) or crop_confidence.shape != crop_labels.shape:
        raise ValueError(f"crop maps {crop_labels.shape} do not fit box {box}")
    h, w = labels.shape
    cy0, cx0 = max(0, -y0), max(0, -x0)
    ty0, ty1, tx0, tx1 = max(0, y0), min(h, y1), max(0, x0), min(w, x1)
    if ty1 <= ty0 or tx1 <= tx0:
        return
    src_l = crop_labels[cy0 : cy0 + ty1 - ty0, cx0 : cx0 + tx1 - tx0]
    src_c = crop_confidence[cy0 : cy0 + ty1 - ty0, cx0 : cx0 + tx1 - tx0]
    dst_l = labels[ty0:ty1, tx0:tx1]
    dst_c = confidence[ty0:ty1, tx0:tx1]
    better = src_c > dst_c
    dst_l[better] = src_l[better]
    dst_c[better] = src_c[better]


__all__ = ["CROP_SCALE", "Crop", "cut", "paste", "region", "square_crop", "whole_image"]
