"""``FaceParser``: label maps for any photo, in two lines.

    parser = fpliif.load_pretrained()         # the shipped weights, or a .pt / weights folder
    labels = parser(image)                    # path, PIL image or uint8 [H,W,3] -> int [H,W]

Each face the detector finds (``detect``) is cut as a square crop that looks like a training crop
(``crops``), resized to the model's input size, decoded at the crop's own size in the output map
(the implicit decoder takes any output size) and pasted back; overlapping crops resolve pixel by
pixel to the surer face, and pixels outside every face are background (0). ``detect=False``
parses the whole image as one face crop, as for aligned datasets. ``parse`` returns the faces,
crops and per-pixel confidence too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..data.io import photo_rgb, read_image
from ..data.transforms import resize_image
from ..precision import autocast, pick_dtype, resolve_dtype
from ..sizes import fit_size
from .crops import CROP_SCALE, Crop, cut, paste, region, square_crop
from .detect import DEFAULT_DETECTOR, Detector, FaceBox, make_detector

if TYPE_CHECKING:
    from ..models.adaptive import AdaptiveSettings

MAX_OUTPUT_PIXELS = 64 * 1024 * 1024  # refuse absurd outputs (a 8192x8192 map is still fine)

ImageLike = str | Path | Image.Image | np.ndarray


def as_rgb(image: ImageLike) -> np.ndarray:
    """A path, a PIL image or an array (uint8 [H,W,3], [H,W] grey or [H,W,4]) -> uint8 [H,W,3]."""
    if isinstance(image, str | Path):
        return read_image(image, photo=True)
    if isinstance(image, Image.Image):
        return photo_rgb(image)
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise ValueError(f"an image array must be uint8 [H,W,3], got {a.dtype} {a.shape}")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or min(a.shape[:2]) < 1:
        raise ValueError(f"an image array must be uint8 [H,W,3], got shape {a.shape}")
    return np.ascontiguousarray(a[..., :3])


@dataclass
class PhotoResult:
    """One parsed photo: ``labels`` int [H,W] (uint8), ``confidence`` float32 [H,W] (the winning
    face's maximum softmax probability, 0 outside every face), the ``faces`` found and the
    ``crops`` parsed, both in the photo's pixels (one whole-image crop without detection)."""

    labels: np.ndarray
    confidence: np.ndarray
    faces: list[FaceBox]
    crops: list[Crop]
    image_size: tuple[int, int]

    def faces_json(self) -> dict[str, Any]:
        return {
            "image_size": {"height": self.image_size[0], "width": self.image_size[1]},
            "label_size": {"height": int(self.labels.shape[0]), "width": int(self.labels.shape[1])},
            "faces": [
                {**f.to_dict(), "crop": c.to_dict()} for f, c in zip(self.faces, self.crops, strict=False)
            ],
        }


def no_face_message(name: str = "") -> str:
    where = f" in {name}" if name else ""
    return (
        f"no face found{where}: its label map is all background "
        "(--no-detect / detect=False parses the whole image as one face)"
    )


class FaceParser:
    """A segmentation model with its labels and input size, a face detector, and the crop rule.

    ``model``: any ``Segmenter``-like module, ``model(images [1,3,S,S] in [0,1], out_size) ->
    logits [1,K,h,w]``; an ``FPLIIF`` runs through its fast inference path. ``size``: the output
    size (None: the photo's own; N: the longer side N, aspect kept; (H, W): exact).
    """

    def __init__(
        self,
        *,
        model: nn.Module,
        class_names: Sequence[str],
        palette: Sequence[tuple[int, int, int]],
        input_size: int = 256,
        detect: bool = True,
        size: int | tuple[int, int] | None = None,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype = "fp32",
        detector: Detector | None = None,
        crop_scale: float = CROP_SCALE,
        source: str = "",
        verbose: bool = True,
        fast: bool = True,
        decode: str = "dense",
        adaptive: AdaptiveSettings | None = None,
    ) -> None:
        from ..models import FPLIIF
        from ..models.fast import optimize_for_inference

        self.device = torch.device(device)
        self.dtype = resolve_dtype(pick_dtype(dtype, self.device))
        model = model.to(self.device).eval()
        self.autocast_dtype = self.dtype
        if fast and isinstance(model, FPLIIF):  # same outputs (fp32), less work; large outputs in chunks
            model = optimize_for_inference(model, dtype=self.dtype, decode=decode, adaptive=adaptive)
            self.autocast_dtype = torch.float32  # the fast path runs its own precision
        elif decode != "dense":
            raise ValueError(f"decode={decode!r} runs on the fast path of an FP-LIIF model (fast=True)")
        self.model = model
        self.class_names = list(class_names)
        self.palette = [tuple(int(v) for v in c) for c in palette]
        self.input_size = int(input_size)
        self.detect = detect
        self.size = size
        self.crop_scale = crop_scale
        self.source = source
        self.verbose = verbose
        self._detector = detector

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            self._detector = make_detector(DEFAULT_DETECTOR)
        return self._detector

    @property
    def temperature(self) -> float:
        return float(getattr(getattr(self.model, "config", None), "temperature", 1.0))

    def classes(self) -> dict[int, dict[str, Any]]:
        """{id: {"name", "colour"}}."""
        return {
            i: {"name": n, "colour": list(c)}
            for i, (n, c) in enumerate(zip(self.class_names, self.palette, strict=True))
        }

    def __call__(self, image: ImageLike) -> np.ndarray:
        """The label map of ``image``, uint8 [H,W] at its size (or ``size``); one line on stderr
        when no face is found (the map is then all background)."""
        result = self.parse(image)
        if self.detect and not result.faces and self.verbose:
            print(
                f"fpliif: {no_face_message(str(image) if isinstance(image, str | Path) else '')}",
                file=sys.stderr,
            )
        return result.labels

    @torch.inference_mode()
    def parse_crop(self, rgb: np.ndarray, out_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(labels uint8 [h,w], confidence float32 [h,w]) of one crop uint8 [H,W,3] decoded at
        ``out_hw`` = (h, w)."""
        if out_hw[0] * out_hw[1] > MAX_OUTPUT_PIXELS:
            raise ValueError(
                f"output of {out_hw[0]}x{out_hw[1]} pixels is too large (limit {MAX_OUTPUT_PIXELS:,})"
            )
        image = torch.from_numpy(np.array(rgb, dtype=np.float32, copy=True)).permute(2, 0, 1).div_(255)
        image = resize_image(image, (self.input_size, self.input_size))[None].to(self.device)
        with autocast(self.device, self.autocast_dtype):
            logits = self.model(image, out_hw)
        probs = torch.softmax(logits.float() / self.temperature, dim=1)[0]
        confidence, labels = probs.max(dim=0)
        return labels.to(torch.uint8).cpu().numpy(), confidence.cpu().numpy()

    def find_faces(self, rgb: np.ndarray) -> list[FaceBox]:
        return self.detector(rgb)

    def parse(
        self,
        image: ImageLike,
        *,
        size: int | tuple[int, int] | None = None,
        detect: bool | None = None,
        faces: Sequence[FaceBox] | None = None,
    ) -> PhotoResult:
        """Parse one photo. ``size`` and ``detect`` override the parser's; ``faces`` (boxes in the
        photo's pixels) skips the detector."""
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        out_hw = fit_size((h, w), size if size is not None else self.size)
        if out_hw[0] * out_hw[1] > MAX_OUTPUT_PIXELS:
            raise ValueError(
                f"output of {out_hw[0]}x{out_hw[1]} pixels is too large (limit {MAX_OUTPUT_PIXELS:,})"
            )
        detect = self.detect if detect is None else detect
        if not detect and faces is None:
            labels, confidence = self.parse_crop(rgb, out_hw)
            return PhotoResult(labels, confidence, [], [Crop(0, 0, max(h, w))], (h, w))
        found = list(faces) if faces is not None else self.find_faces(rgb)
        labels = np.zeros(out_hw, np.uint8)
        confidence = np.zeros(out_hw, np.float32)
        crops = [square_crop(f, scale=self.crop_scale) for f in found]
        for crop in crops:
            box = region(crop, (h, w), out_hw)
            crop_labels, crop_conf = self.parse_crop(cut(rgb, crop), (box[1] - box[0], box[3] - box[2]))
            paste(labels, confidence, crop_labels, crop_conf, box)
        return PhotoResult(labels, confidence, found, crops, (h, w))


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_pretrained(
    weights: str | Path | None = None,
    *,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "fp32",
    detect: bool = True,
    size: int | tuple[int, int] | None = None,
    fast: bool = True,
    decode: str = "dense",
    adaptive: AdaptiveSettings | None = None,
) -> FaceParser:
    """A ``FaceParser`` from ``weights``: None (the shipped ``results/real/model/``), a folder
    with ``model.safetensors`` + ``config.json``, or a ``.pt`` checkpoint of ``fpliif train``.
    ``device``: auto (CUDA when there is one), cpu, cuda or cuda:N; ``dtype``: fp32, bf16, fp16,
    or auto (bf16 where the hardware has it natively, else fp32);
    ``fast=False`` runs the paper-faithful forward instead of the fast inference path;
    ``decode="adaptive"`` queries the pixel MLP only where the coarse answer is uncertain
    (``models.adaptive``, with ``adaptive`` settings or their defaults)."""
    from ..weights import load_weights

    model, meta = load_weights(weights)
    return FaceParser(
        model=model,
        class_names=meta.class_names,
        palette=meta.palette,
        input_size=meta.image_size,
        detect=detect,
        size=size,
        device=resolve_device(device),
        dtype=dtype,
        source=meta.source,
        fast=fast,
        decode=decode,
        adaptive=adaptive,
    )


__all__ = ["MAX_OUTPUT_PIXELS", "FaceParser", "PhotoResult", "as_rgb", "load_pretrained", "no_face_message"]
