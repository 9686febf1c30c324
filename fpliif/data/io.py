"""Image and label-map files: reading that names the file on failure, and atomic writing.

Every failure to read becomes a ``DataError`` (or ``SampleError``) that names the file and says
what is wrong with it: missing, empty, not an image, truncated, the wrong kind of map.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError
from ..fileio import atomic_write

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
# Single-channel modes whose pixel values are label ids.
LABEL_MODES = ("L", "P", "I", "I;16", "1")
# Lossy formats: their pixel values are approximations, so they cannot hold ids or class maps.
LOSSY_FORMATS = ("JPEG", "MPO")
# Grey modes wider than 8 bits: scaled to 0..255 by their range, never clipped.
WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")

_WORKER_PREFIX = re.compile(r"Caught \w+ in (DataLoader worker process \d+)")


class SampleError(DataError):
    """A sample that cannot be used, found while reading it.

    A DataLoader worker re-raises an exception in the main process by calling its type with one
    argument, the worker's formatted traceback. ``DataError`` needs two, so the DataLoader would
    fall back to a RuntimeError whose first line names no file; this type accepts the one-argument
    form and recovers the file and the problem from the traceback's last line.
    """

    def __init__(self, path: str | Path, problem: str | None = None) -> None:
        if problem is None:
            path, problem = _parse_worker_message(str(path))
        super().__init__(path, problem)


def _parse_worker_message(message: str) -> tuple[str, str]:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else message
    _, _, text = last.partition(f"{SampleError.__name__}: ")
    path, _, problem = (text or last).partition(": ")
    worker = _WORKER_PREFIX.search(message)
    if worker:
        problem = f"{problem} (raised in {worker.group(1)})"
    return path, problem or "unreadable sample"


def _open(path: Path, kind: str) -> Image.Image:
    """Open and fully decode an image file; problems become ``SampleError``s naming the file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SampleError(path, f"{kind} file not found") from None
    except OSError as exc:
        raise SampleError(path, f"cannot read {kind} file ({exc.strerror or exc})") from None
    if size == 0:
        raise SampleError(path, f"empty {kind} file (0 bytes)")
    try:
        img = Image.open(path)
    except UnidentifiedImageError:
        raise SampleError(path, f"not a readable {kind} (unknown format or corrupt header)") from None
    except Image.DecompressionBombError as exc:
        raise SampleError(path, f"{kind} too large to decode safely ({exc})") from None
    except OSError as exc:
        raise SampleError(path, f"cannot read {kind} file ({exc.strerror or exc})") from None
    try:
        img.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise SampleError(path, f"truncated or corrupt {kind} ({exc})") from None
    return img


def _refuse_lossy(img: Image.Image, path: Path, kind: str) -> None:
    if img.format in LOSSY_FORMATS:
        raise SampleError(
            path, f"{kind} is {img.format}-compressed: lossy compression changes its values; store it as PNG"
        )


def _grey8(img: Image.Image) -> np.ndarray:
    """A grey image of a mode wider than 8 bits -> uint8 [H,W], scaled by its range (not clipped)."""
    a = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        hi = 1.0 if a.size and np.nanmax(a) <= 1.0 else 255.0
    else:
        hi = 65535.0 if img.mode.startswith("I;16") or (a.size and a.max() > 255) else 255.0
    return np.clip(np.nan_to_num(a) / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)


def read_image(path: str | Path, *, photo: bool = False) -> np.ndarray:
    """An RGB image file -> uint8 [H,W,3]; grey wider than 8 bits is scaled to 8 bits by its range.

    Dataset images (the default) are converted as stored (grey and RGBA to RGB; alpha dropped),
    and problems raise ``SampleError``. ``photo=True`` reads any still image a user has: the
    first frame of an animation, turned upright by its EXIF orientation, transparent pixels
    composited over white; problems raise a ``DataError`` naming the file.
    """
    if photo:
        return _read_photo(Path(path))
    img = _open(Path(path), "image")
    if img.mode in WIDE_MODES:
        return np.repeat(_grey8(img)[..., None], 3, axis=2)
    return np.array(img.convert("RGB"))


def photo_rgb(img: Image.Image) -> np.ndarray:
    """A decoded PIL image as ``read_image(..., photo=True)`` reads a file: uint8 [H,W,3], turned
    upright by its EXIF orientation, transparent pixels over white, wide grey scaled to 8 bits."""
    img = ImageOps.exif_transpose(img) or img
    if img.width < 1 or img.height < 1:
        raise ValueError("image has no pixels")
    if img.mode in WIDE_MODES:
        return np.repeat(_grey8(img)[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.array(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.array(img.convert("RGB"))


def _read_photo(path: Path) -> np.ndarray:
    if not path.exists():
        raise DataError(path, "no such file")
    if path.is_dir():
        raise DataError(path, "is a folder, not an image")
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes)")
    try:
        with Image.open(path) as img:
            img.seek(0)  # first frame of animations
            img.load()
            return photo_rgb(img)
    except UnidentifiedImageError:
        raise DataError(path, "not an image Pillow can read (unknown or unsupported format)") from None
    except Image.DecompressionBombError as exc:
        raise DataError(path, f"image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataError(path, f"truncated or corrupt image ({exc})") from None


def read_label(path: str | Path) -> np.ndarray:
    """A label map of class ids (one channel: L, P or integer modes) -> uint8 [H,W].

    Colour maps are refused rather than guessed at, and so are ids above 255.
    """
    path = Path(path)
    img = _open(path, "label map")
    _refuse_lossy(img, path, "label map")
    if img.mode not in LABEL_MODES:
        raise SampleError(
            path,
            f"label map has mode {img.mode} ({len(img.getbands())} channels); expected one channel of ids",
        )
    arr = np.array(img)
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise SampleError(path, f"label ids {int(arr.min())}..{int(arr.max())} do not fit 0..255")
        arr = arr.astype(np.uint8)
    return arr


def read_grey(path: str | Path, kind: str = "mask") -> np.ndarray:
    """Any image as one grey channel, uint8 [H,W] (part masks and Helen's per-class maps).

    16-bit grey is scaled to 8 bits; a ``kind="label map"`` file in a lossy format is refused."""
    img = _open(Path(path), kind)
    if kind == "label map":
        _refuse_lossy(img, Path(path), kind)
    if img.mode in WIDE_MODES:
        return _grey8(img)
    return np.array(img.convert("L"))


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file header alone, without decoding the pixels."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SampleError(path, "image file not found") from None
    if size == 0:
        raise SampleError(path, "empty image file (0 bytes)")
    try:
        with Image.open(path) as img:
            return img.size
    except UnidentifiedImageError:
        raise SampleError(path, "not a readable image (unknown format or corrupt header)") from None
    except Image.DecompressionBombError as exc:
        raise SampleError(path, f"image too large to decode safely ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise SampleError(path, f"corrupt image header ({exc})") from None


def _write(path: str | Path, write: Any, *, durable: bool) -> None:
    """``fileio.atomic_write`` into a folder created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write, durable=durable)


def write_image(path: str | Path, image: np.ndarray, *, quality: int = 95) -> None:
    """uint8 [H,W,3] -> JPEG (quality ``quality``) or PNG, by the suffix of ``path``. Not fsynced:
    a generated dataset writes thousands of them (see ``fileio.atomic_write``)."""
    fmt = "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    # 4:4:4 chroma: thin parts keep their colour
    options = {"quality": quality, "subsampling": 0} if fmt == "JPEG" else {}
    _write(path, lambda f: Image.fromarray(image).save(f, fmt, **options), durable=False)


def write_label(path: str | Path, label: np.ndarray) -> None:
    """uint8 [H,W] ids (or a 0/255 mask) -> single-channel PNG (not fsynced, like ``write_image``)."""
    _write(
        path,
        lambda f: Image.fromarray(np.ascontiguousarray(label, dtype=np.uint8)).save(f, "PNG"),
        durable=False,
    )


def write_json(path: str | Path, data: Any) -> None:
    _write(path, json.dumps(data, indent=2) + "\n", durable=True)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, ValueError) as exc:
        raise DataError(path, f"not readable JSON ({exc})") from None


def write_report(path: str | Path, skipped: list[tuple[str, str]], **context: Any) -> Path:
    """A JSON report of skipped samples: ``context`` plus ``skipped: [{file, reason}]``."""
    path = Path(path)
    write_json(path, {**context, "skipped": [{"file": f, "reason": r} for f, r in skipped]})
    return path
