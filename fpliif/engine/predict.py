"""``fpliif predict``: label maps and colour overlays for any photo or folder of photos.

    fpliif predict photo.jpg                              # the shipped weights, faces detected
    fpliif predict photos/ "more/*.png" --checkpoint runs/demo/best.pt --size 1024 --out preds/
    fpliif predict aligned/ --no-detect                   # each image is already one face crop

By default each face is found (``fpliif.photo.detect``), cut as a square crop like the training
crops, parsed at its own resolution and pasted back; pixels outside every face are background
(0) and a photo without a face gives a one-line note and an all-background map. ``--no-detect``
parses the whole image as one face crop. Inputs are files, folders (their images) and globs.

Accepted: anything Pillow decodes: 1-bit, greyscale, palette, RGB(A), CMYK, YCbCr, LAB, 16- and
32-bit integer or float greyscale, EXIF-rotated photos (turned upright first), and multi-frame
files (the first frame). Transparent pixels are composited over white. Each crop is resized to
the model's training input size (bicubic, 256 by default). ``--size N`` makes the longer side N
and keeps the aspect; ``--size HxW`` is exact; without it the maps have each image's own size.

Written into ``--out``: ``<stem>_label.png`` (palette PNG: viewers show colours, the pixel values
are the class ids), ``<stem>_overlay.png`` (the colours over the photo, faces outlined, a legend),
``classes.json`` (id -> name and colour), and with ``--faces-json`` the boxes and scores.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.transforms import resize_image
from ..errors import DataError
from ..precision import DTYPES, autocast
from ..sizes import as_size
from .evaluate import add_decode_options, decode_settings

# Suffixes taken from a folder given as input (anything else there is left alone).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".tga", ".ppm", ".pgm")


@torch.inference_mode()
def predict_labels(
    model: nn.Module,
    rgb: np.ndarray,
    *,
    input_size: int = 256,
    out_size: tuple[int, int] | None = None,
    device: torch.device | str = "cpu",
    dtype: str | torch.dtype | None = None,
) -> np.ndarray:
    """Label map uint8 [H_out,W_out] of one RGB image taken whole as a face crop (default: at the
    image's own size); ``dtype`` is the autocast precision of an eager model."""
    h, w = rgb.shape[:2]
    size = out_size or (h, w)
    image = torch.from_numpy(np.array(rgb, dtype=np.float32, copy=True)).permute(2, 0, 1).div_(255)
    image = resize_image(image, (input_size, input_size))[None].to(device)
    with autocast(device, dtype):
        logits = model(image, size)
    return logits.argmax(dim=1)[0].to(torch.uint8).cpu().numpy()


def parse_size(text: str) -> int | tuple[int, int]:
    """'512' -> 512 (the longer side; the aspect is kept); '480x640' -> (480, 640), exact (H x W)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
        if len(parts) == 1:
            return as_size(parts[0])[0]
        if len(parts) == 2:
            return as_size((parts[0], parts[1]))
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size must be N or HxW with positive integers, got {text!r}")


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given (a missing one is reported when read), folders as their photos (sorted),
    glob patterns as their matches; a folder or pattern with no photo is an error."""
    out: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
            if not found:
                raise DataError(path, f"is a folder with no images in it ({', '.join(PHOTO_SUFFIXES)})")
            out += found
        elif not path.exists() and glob.has_magic(item):
            found = sorted(Path(p) for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not found:
                raise DataError(item, "no file matches this pattern")
            out += found
        else:
            out.append(path)
    return out


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", help="image files, folders of images, or glob patterns ('*.jpg')")
    p.add_argument(
        "--checkpoint",
        default=None,
        help="a .pt checkpoint of fpliif train or a weights folder (model.safetensors + config.json); "
        "default: the shipped weights in results/real/model/",
    )
    p.add_argument(
        "--size",
        type=parse_size,
        default=None,
        help="output size: N = longer side N, aspect kept; HxW = exact (default: each image's own)",
    )
    p.add_argument(
        "--out", default="predictions", help="folder for <stem>_label.png, <stem>_overlay.png, classes.json"
    )
    p.add_argument(
        "--no-detect",
        action="store_true",
        help="no face detection: parse each whole image as one face crop (aligned datasets)",
    )
    p.add_argument("--faces-json", default=None, help="write the faces found (boxes, scores, crops) here")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    p.add_argument(
        "--dtype",
        choices=[*DTYPES, "auto"],
        default="fp32",
        help="inference precision (auto: bf16 where the hardware has it natively, else fp32)",
    )
    p.add_argument(
        "--eager", action="store_true", help="the paper-faithful forward instead of the fast inference path"
    )
    add_decode_options(p)


def _unique_name(stem: str, used: set[str]) -> str:
    name, k = stem, 1
    while name in used:  # same stem from different folders
        k += 1
        name = f"{stem}-{k}"
    used.add(name)
    return name


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..data import io
    from ..fileio import atomic_write
    from ..photo.output import overlay_with_legend, save_label_png, write_classes_json
    from ..photo.parser import load_pretrained, no_face_message
    from ..weights import SHIPPED

    adaptive = decode_settings(args)
    if adaptive is not None and args.eager:
        raise ValueError("--decode adaptive runs on the fast path; drop --eager")
    paths = expand_inputs(args.images)
    if args.checkpoint is None:
        print(
            f"fpliif predict: no --checkpoint given: using the shipped weights in {SHIPPED}/", file=sys.stderr
        )
    parser = load_pretrained(
        args.checkpoint,
        device=args.device,
        dtype=args.dtype,
        detect=not args.no_detect,
        size=args.size,
        fast=not args.eager,
        decode=args.decode,
        adaptive=adaptive,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_classes_json(out / "classes.json", parser.class_names, parser.palette)
    failed = 0
    used: set[str] = set()
    faces: dict[str, object] = {}
    for path in tqdm(paths, desc="fpliif predict", unit="image", file=sys.stderr, disable=None):
        try:
            rgb = io.read_image(path, photo=True)
            result = parser.parse(rgb)
        except (DataError, ValueError) as exc:
            failed += 1
            tqdm.write(f"fpliif predict: error: {exc}", file=sys.stderr)
            continue
        name = _unique_name(path.stem, used)
        label = result.labels
        save_label_png(out / f"{name}_label.png", label, parser.palette)
        pic = overlay_with_legend(
            rgb, label, parser.class_names, parser.palette, alpha=args.alpha, faces=result.faces
        )
        io.write_image(out / f"{name}_overlay.png", pic)
        faces[str(path)] = result.faces_json()
        what = "" if args.no_detect else f", {len(result.faces)} face(s)"
        tqdm.write(f"{path} -> {out / name}_label.png ({label.shape[1]}x{label.shape[0]}{what})")
        if not args.no_detect and not result.faces:
            tqdm.write(f"fpliif predict: {no_face_message(str(path))}", file=sys.stderr)
    if args.faces_json:
        Path(args.faces_json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.faces_json, json.dumps({"images": faces}, indent=2) + "\n")
    if failed:
        print(f"fpliif predict: {failed} of {len(paths)} image(s) failed", file=sys.stderr)
        return 2
    return 0
