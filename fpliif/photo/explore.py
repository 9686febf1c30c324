"""The widgets of ``notebooks/explore.ipynb``: pick or upload a photo, choose the output size,
toggle classes on the overlay, and see the crops the detector chose.

Everything here works without fetched data: ``sample_images`` draws a SynthFaces scene and takes
scikit-image's astronaut, and ``demo_parser`` falls back to an untrained fpliif-tiny (saying so)
when no weights are given and none are shipped.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .output import overlay_with_legend
from .parser import FaceParser, PhotoResult, as_rgb, load_pretrained

SIZE_RANGE = (64, 2048)  # the output-size slider's range (longer side, pixels)


def demo_parser(weights: str | Path | None = None, *, device: str = "cpu") -> tuple[FaceParser, str]:
    """(parser, a line saying which weights): ``weights``, else the shipped ones, else an
    untrained fpliif-tiny whose maps are noise (the notebook's smoke default)."""
    from ..weights import SHIPPED, shipped_available

    if weights is not None or shipped_available():
        parser = load_pretrained(weights, device=device)
        return parser, f"weights: {parser.source}"
    import torch

    from ..models import build_model
    from ..weights import labels_for

    torch.manual_seed(0)
    names, palette = labels_for(11)
    parser = FaceParser(model=build_model("fpliif-tiny", num_classes=11), class_names=names, palette=palette)
    return parser, (
        f"weights: none shipped at {SHIPPED}/ and none given, so an UNTRAINED fpliif-tiny "
        "(its label maps are noise; set weights to a checkpoint or weights folder)"
    )


def sample_images(extra: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Photos that need no download: scikit-image's astronaut and a scene of drawn faces."""
    from skimage import data

    from .compare import synth_scene

    images = {
        "astronaut (scikit-image)": data.astronaut(),
        "SynthFaces scene": synth_scene((200, 130, 90), canvas=(420, 640), index=0).image,
    }
    for name, image in (extra or {}).items():
        images[name] = as_rgb(image)
    return images


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def crops_panel(rgb: np.ndarray, result: PhotoResult, side: int = 160) -> np.ndarray:
    """The crops parsed, side by side at ``side`` px, uint8 [side, n*side, 3] (grey when none)."""
    from .crops import cut

    if not result.crops:
        return np.full((side, side, 3), 200, np.uint8)
    tiles = [
        np.asarray(Image.fromarray(cut(rgb, c)).resize((side, side), Image.BICUBIC)) for c in result.crops
    ]
    return np.concatenate(tiles, axis=1)


def render(
    parser: FaceParser, rgb: np.ndarray, *, size: int | None = None, hidden: tuple[int, ...] = ()
) -> tuple[np.ndarray, np.ndarray, PhotoResult]:
    """(overlay with legend, crops panel, result) of one photo at output size ``size`` (longer side)."""
    result = parser.parse(rgb, size=size)
    pic = overlay_with_legend(
        rgb, result.labels, parser.class_names, parser.palette, faces=result.faces, hidden=hidden
    )
    return pic, crops_panel(rgb, result), result


def explorer(parser: FaceParser, images: dict[str, np.ndarray], *, size: int = 512) -> Any:
    """The interactive panel (ipywidgets): image picker and upload, output-size slider, class
    toggles, the overlay and the crops the detector chose."""
    import ipywidgets as w

    images = dict(images)
    pick = w.Dropdown(options=list(images), description="photo")
    upload = w.FileUpload(accept="image/*", multiple=False, description="upload")
    slider = w.IntSlider(value=size, min=SIZE_RANGE[0], max=SIZE_RANGE[1], step=32, description="size")
    toggles = [w.ToggleButton(value=True, description=n) for n in parser.class_names[1:]]
    overlay_view, crops_view = w.Image(format="png"), w.Image(format="png")
    status = w.Label()

    def update(*_: Any) -> None:
        hidden = tuple(i + 1 for i, t in enumerate(toggles) if not t.value)
        pic, panel, result = render(parser, images[pick.value], size=slider.value, hidden=hidden)
        overlay_view.value, crops_view.value = png_bytes(pic), png_bytes(panel)
        h, wd = result.labels.shape
        status.value = f"{len(result.faces)} face(s); label map {wd}x{h}"

    def uploaded(change: dict[str, Any]) -> None:
        for item in change["new"]:
            name = item["name"] if isinstance(item, dict) else item.name
            content = item["content"] if isinstance(item, dict) else item.content
            images[name] = as_rgb(Image.open(io.BytesIO(bytes(content))))
            pick.options = list(images)
            pick.value = name

    upload.observe(uploaded, names="value")
    for control in (pick, slider, *toggles):
        control.observe(update, names="value")
    update()
    return w.VBox(
        [
            w.HBox([pick, upload, slider]),
            w.HBox(toggles, layout=w.Layout(flex_flow="row wrap")),
            status,
            overlay_view,
            w.Label("the crops the detector chose (what the model sees, before resizing to its input)"),
            crops_view,
        ]
    )


__all__ = ["SIZE_RANGE", "crops_panel", "demo_parser", "explorer", "png_bytes", "render", "sample_images"]
