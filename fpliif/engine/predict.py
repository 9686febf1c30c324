"""``fpliif predict``: label maps and colour overlays for any image a user has.

Accepted: anything Pillow decodes: 1-bit, greyscale, palette, RGB(A), CMYK, YCbCr, LAB, 16- and
32-bit integer or float greyscale, EXIF-rotated photos (turned upright first), and multi-frame
files (the first frame). Transparent pixels are composited over white. The model sees the image
resized to its training input size (bicubic, 256 by default); the label map comes out at the
image's own size, or at ``--size``. Anything else is refused with an error naming the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from ..data import io
from ..data.transforms import resize_image
from ..errors import DataError
from ..models.fast import optimize_for_inference
from ..precision import DTYPES, autocast
from ..sizes import as_size
from ..viz import overlay
from .checkpoint import load_model
from .evaluate import add_decode_options, decode_settings

MAX_OUTPUT_PIXELS = 64 * 1024 * 1024  # refuse absurd outputs (a 8192x8192 map is still fine)


def default_palette(num_classes: int) -> list[tuple[int, int, int]]:
    """A distinct colour per class (background black) for label sets without their own palette."""
    rng = np.random.default_rng(12345)
    colours = [(0, 0, 0)] + [tuple(int(c) for c in rng.integers(40, 256, 3)) for _ in range(num_classes - 1)]
    return colours  # type: ignore[return-value]


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
    """Label map uint8 [H_out,W_out] of one RGB image (default: at the image's own size).

    ``dtype``: the autocast precision of an eager model (``precision.autocast``); the fast path
    runs its own precision and is called with the default, fp32."""
    h, w = rgb.shape[:2]
    size = out_size or (h, w)
    if size[0] * size[1] > MAX_OUTPUT_PIXELS:
        raise ValueError(f"output of {size[0]}x{size[1]} pixels is too large (limit {MAX_OUTPUT_PIXELS:,})")
    image = torch.from_numpy(np.array(rgb, dtype=np.float32, copy=True)).permute(2, 0, 1).div_(255)
    image = resize_image(image, (input_size, input_size))[None].to(device)
    with autocast(device, dtype):
        logits = model(image, size)
    return logits.argmax(dim=1)[0].to(torch.uint8).cpu().numpy()


def _palette_for(ckpt: dict, num_classes: int) -> list[tuple[int, int, int]]:
    try:
        from ..data import dataset_info

        info = dataset_info(str(ckpt.get("dataset")))
        if info.num_classes == num_classes:
            return list(info.palette)
    except (ImportError, KeyError, ValueError):
        pass
    return default_palette(num_classes)


def parse_size(text: str) -> tuple[int, int]:
    """'512' -> (512, 512); '480x640' -> (480, 640) (height x width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
        if len(parts) == 1:
            return as_size(parts[0])
        if len(parts) == 2:
            return as_size((parts[0], parts[1]))
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"size must be N or HxW with positive integers, got {text!r}")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", help="image files (any format Pillow reads)")
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by fpliif train")
    p.add_argument(
        "--size", type=parse_size, default=None, help="output size N or HxW (default: each image's own)"
    )
    p.add_argument("--out", default="predictions", help="folder for <stem>_label.png and <stem>_overlay.png")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--alpha", type=float, default=0.5, help="overlay opacity")
    p.add_argument("--dtype", choices=list(DTYPES), default="fp32", help="inference precision")
    p.add_argument(
        "--eager", action="store_true", help="the paper-faithful forward instead of the fast inference path"
    )
    add_decode_options(p)


def run(args: argparse.Namespace) -> int:
    adaptive = decode_settings(args)
    if adaptive is not None and args.eager:
        raise ValueError("--decode adaptive runs on the fast path; drop --eager")
    model, ckpt = load_model(args.checkpoint, device=args.device)
    input_size = int(((ckpt.get("train_config") or {}).get("data") or {}).get("image_size") or 256)
    palette = _palette_for(ckpt, model.config.num_classes)
    dtype = DTYPES[args.dtype]
    autocast_dtype = dtype  # the eager forward runs under autocast
    if not args.eager:  # same outputs within fp tolerance (fp32), less work; large outputs in chunks
        model = optimize_for_inference(model, dtype=dtype, decode=args.decode, adaptive=adaptive)
        autocast_dtype = torch.float32  # the fast path runs its own precision
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    used: set[str] = set()
    for path in args.images:
        try:
            rgb = io.read_image(path, photo=True)
            label = predict_labels(
                model,
                rgb,
                input_size=input_size,
                out_size=args.size,
                device=args.device,
                dtype=autocast_dtype,
            )
        except (DataError, ValueError) as exc:
            failed += 1
            print(f"fpliif predict: error: {exc}", file=sys.stderr)
            continue
        stem = Path(path).stem
        name, k = stem, 1
        while name in used:  # same stem from different folders
            k += 1
            name = f"{stem}-{k}"
        used.add(name)
        shown = (
            rgb
            if rgb.shape[:2] == label.shape
            else np.asarray(Image.fromarray(rgb).resize(label.shape[::-1], Image.BICUBIC))
        )
        Image.fromarray(label).save(out / f"{name}_label.png")
        Image.fromarray(overlay(shown, label, palette, args.alpha)).save(out / f"{name}_overlay.png")
        print(f"{path} -> {out / name}_label.png ({label.shape[1]}x{label.shape[0]})")
    if failed:
        print(f"fpliif predict: {failed} of {len(args.images)} image(s) failed", file=sys.stderr)
        return 2
    return 0
