"""Face detection for ``fpliif predict`` and ``FaceParser``: offline, weights inside a pip package.

The detector is OpenCV's frontal-face Haar cascade (``haarcascade_frontalface_alt2.xml``), which
ships in the ``opencv-python-headless`` 4.x wheel (``cv2.data``); nothing is downloaded at run
time. It was chosen over the one other detector whose weights come inside a package this project
can install beside torch 2.14.1 without TensorFlow, scikit-image's LBP cascade
(``skimage.feature.Cascade`` with ``data.lbp_frontal_face_cascade_filename()``, kept here as
``SkimageLBPDetector`` for the comparison). ``python -m fpliif.photo.compare`` measures both
(README, "Parsing photos", has the table). Found / false detections, CPU seconds per image:

=============================================  ===============  ===============
set                                            Haar (chosen)    skimage LBP
=============================================  ===============  ===============
astronaut, 512x512, 1 face                     1 / 0, 0.15 s    1 / 1, 0.31 s
cameraman, 512x512, 1 face turned away         0 / 0, 0.11 s    0 / 0, 0.31 s
100 LFW faces tiled (77 px at detection)       99 / 1, 1.0 s    91 / 0, 1.5 s
100 LFW non-face patches tiled                 - / 0, 0.36 s    - / 0, 1.2 s
8 scenes of 3 SynthFaces, 60-240 px, 600x800   17/24 / 0, 0.10  15/24 / 2, 0.50
=============================================  ===============  ===============

The Haar cascade finds more faces (117 of 126 against 107) with fewer false alarms (1 against 3), at a
half to a fifth of the CPU time; the SynthFaces it misses are the smallest (60 px) and strongly
turned or rolled ones.

Looked at and left out: facenet-pytorch's MTCNN (weights in the wheel, but the package pins
torch < 2.3, so pip would replace torch), MediaPipe (no face model inside the 0.10.30+ and 1.x
wheels, which download it; 0.10.21 pulls jax and numpy 1.x), OpenCV 5.x (its wheel no longer
carries the cascades) and OpenCV's YuNet (``cv2.FaceDetectorYN`` needs an ONNX file that no
wheel carries).

A cascade finds upright, roughly frontal faces; profiles and strongly rolled heads are often
missed (``--no-detect`` then parses a whole, already cropped image). Its score is the cascade's
last-stage weight: higher is surer, not a probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Longest side a photo is shrunk to before detection: the cascade's cost grows with the pixels,
# and faces smaller than MIN_FACE there are not parsed well at the model's 256 px input anyway.
DETECT_MAX_SIDE = 1024
MIN_FACE = 24  # pixels, at the detection scale: the cascade's own window size
IOU_MERGE = 0.3  # boxes overlapping more than this are one face (keep the higher score)


@dataclass(frozen=True)
class FaceBox:
    """A detected face in image pixels: x0, y0 inclusive, x1, y1 exclusive; ``score`` (higher is surer)."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        """(x, y)."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def scaled(self, sx: float, sy: float) -> FaceBox:
        return FaceBox(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy, self.score)

    def to_dict(self) -> dict[str, float]:
        return {
            "x0": round(self.x0, 2),
            "y0": round(self.y0, 2),
            "x1": round(self.x1, 2),
            "y1": round(self.y1, 2),
            "score": round(self.score, 4),
        }


class Detector(Protocol):
    name: str

    def __call__(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in an RGB uint8 image [H,W,3], boxes in its pixels, highest score first."""
        ...


def _grey_small(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """(grey uint8 [h,w] shrunk so its longest side is at most ``max_side``, shrink factor <= 1)."""
    from PIL import Image

    h, w = rgb.shape[:2]
    grey = Image.fromarray(np.ascontiguousarray(rgb[..., :3])).convert("L")
    factor = min(1.0, max_side / max(h, w))
    if factor < 1.0:
        grey = grey.resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.BILINEAR)
    return np.asarray(grey), factor


def iou(a: FaceBox, b: FaceBox) -> float:
    ix = max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def merge_boxes(boxes: list[FaceBox], threshold: float = IOU_MERGE) -> list[FaceBox]:
    """Non-maximum suppression: the highest-scoring box of each overlapping group, highest first.
    A box lying mostly inside a larger, surer one (a face part found as a face) is dropped too."""
    kept: list[FaceBox] = []
    for box in sorted(boxes, key=lambda b: -b.score):
        area = max(box.width * box.height, 1e-9)
        if all(
            iou(box, k) <= threshold
            and max(0.0, min(box.x1, k.x1) - max(box.x0, k.x0))
            * max(0.0, min(box.y1, k.y1) - max(box.y0, k.y0))
            <= 0.6 * area
            for k in kept
        ):
            kept.append(box)
    return kept


@dataclass
class OpenCVCascadeDetector:
    """OpenCV's frontal-face Haar cascade (``cv2.data``), grouped with ``min_neighbors``."""

    cascade: str = "haarcascade_frontalface_alt2.xml"
    min_neighbors: int = 4  # overlapping raw hits a face needs: fewer finds more and errs more
    scale_factor: float = 1.1
    max_side: int = DETECT_MAX_SIDE
    name: str = "opencv-haar"

    def __post_init__(self) -> None:
        import cv2

        path = f"{cv2.data.haarcascades}{self.cascade}"
        self._classifier = cv2.CascadeClassifier(path)
        if self._classifier.empty():
            raise RuntimeError(f"OpenCV could not load the face cascade {path}")

    def __call__(self, rgb: np.ndarray) -> list[FaceBox]:
        grey, factor = _grey_small(rgb, self.max_side)
        if min(grey.shape) < MIN_FACE:
            return []
        rects, _, weights = self._classifier.detectMultiScale3(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(MIN_FACE, MIN_FACE),
            outputRejectLevels=True,
        )
        boxes = [
            FaceBox(float(x), float(y), float(x + w), float(y + h), float(s)).scaled(1 / factor, 1 / factor)
            for (x, y, w, h), s in zip(np.asarray(rects).reshape(-1, 4), np.ravel(weights), strict=True)
        ]
        return merge_boxes(boxes)


@dataclass
class SkimageLBPDetector:
    """scikit-image's LBP frontal-face cascade (``skimage.feature.Cascade``); no score, so 1.0."""

    min_neighbors: int = 4
    scale_factor: float = 1.2
    step_ratio: float = 1.0
    max_side: int = DETECT_MAX_SIDE
    name: str = "skimage-lbp"

    def __post_init__(self) -> None:
        from skimage import data
        from skimage.feature import Cascade

        self._cascade = Cascade(data.lbp_frontal_face_cascade_filename())

    def __call__(self, rgb: np.ndarray) -> list[FaceBox]:
        grey, factor = _grey_small(rgb, self.max_side)
        if min(grey.shape) < MIN_FACE:
            return []
        hits = self._cascade.detect_multi_scale(
            img=grey.astype(np.float32) / 255,
            scale_factor=self.scale_factor,
            step_ratio=self.step_ratio,
            min_size=(MIN_FACE, MIN_FACE),
            max_size=grey.shape,
            min_neighbor_number=self.min_neighbors,
        )
        boxes = [
            FaceBox(float(d["c"]), float(d["r"]), float(d["c"] + d["width"]), float(d["r"] + d["height"]))
            for d in hits
        ]
        return [b.scaled(1 / factor, 1 / factor) for b in merge_boxes(boxes)]


DETECTORS = {"opencv-haar": OpenCVCascadeDetector, "skimage-lbp": SkimageLBPDetector}
DEFAULT_DETECTOR = "opencv-haar"


def make_detector(name: str = DEFAULT_DETECTOR) -> Detector:
    if name not in DETECTORS:
        raise ValueError(f"unknown face detector {name!r}; known: {', '.join(DETECTORS)}")
    return DETECTORS[name]()


__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "Detector",
    "FaceBox",
    "OpenCVCascadeDetector",
    "SkimageLBPDetector",
    "iou",
    "make_detector",
    "merge_boxes",
]
