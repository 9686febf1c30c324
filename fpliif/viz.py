"""Figures of the notebooks: label overlays, sample grids, class frequencies, training curves,
worst-case panels (the paper's Figures 10 and 11) and one face at several output sizes (Figures 3, 4).

Every figure function returns a ``matplotlib.figure.Figure`` drawn on the Agg canvas (no pyplot
state, no display needed); ``save(fig, path)`` writes a PNG without a timestamp. Notebooks show
the saved PNG, so what a reader sees is exactly the file in ``results/<profile>/figures/``.

``colorize`` and ``overlay`` are the one place label maps get their colours, for the figures and
for ``fpliif predict`` alike; they need only numpy (matplotlib is imported when a figure is drawn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DPI = 100


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (parents created; no creation-time metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return path


def to_uint8_image(image: Any) -> np.ndarray:
    """An image tensor/array [3,H,W] float in [0,1] (or [H,W,3] uint8) as uint8 [H,W,3]."""
    a = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image)
    if a.ndim == 3 and a.shape[0] == 3 and a.shape[-1] != 3:
        a = a.transpose(1, 2, 0)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    return a


def default_palette(num_classes: int) -> list[tuple[int, int, int]]:
    """A distinct colour per class (background black) for label sets without their own palette."""
    rng = np.random.default_rng(12345)
    colours = [(0, 0, 0)] + [tuple(int(c) for c in rng.integers(40, 256, 3)) for _ in range(num_classes - 1)]
    return colours  # type: ignore[return-value]


def colorize(label: Any, palette: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Label map [H,W] (array or tensor) -> RGB uint8 [H,W,3] in the dataset's palette
    (``data.info``); ids outside the palette (255 = ignore) are white."""
    lab = np.asarray(label.cpu() if hasattr(label, "cpu") else label).astype(np.int64)
    table = np.full((256, 3), 255, dtype=np.uint8)
    table[: len(palette)] = np.asarray(palette, dtype=np.uint8)
    return table[np.clip(lab, 0, 255)]


def overlay(
    image: Any, label: Any, palette: Sequence[tuple[int, int, int]], alpha: float = 0.5
) -> np.ndarray:
    """The colour label map blended over the image, [H,W,3] uint8: ``alpha`` of the colour on every
    labelled pixel, background (id 0) left as it is. A label map of another size than the image
    is resized nearest to it (and then paints every pixel)."""
    img = to_uint8_image(image)
    col = colorize(label, palette)
    if col.shape[:2] != img.shape[:2]:
        rows = (np.arange(img.shape[0]) * col.shape[0] // img.shape[0]).clip(0, col.shape[0] - 1)
        cols = (np.arange(img.shape[1]) * col.shape[1] // img.shape[1]).clip(0, col.shape[1] - 1)
        col = col[rows][:, cols]
    background = np.asarray(label.cpu() if hasattr(label, "cpu") else label)
    mix = (1 - alpha) * img.astype(np.float32) + alpha * col.astype(np.float32)
    if background.shape == img.shape[:2]:
        mix[background == 0] = img[background == 0]  # keep the background unpainted
    return mix.round().astype(np.uint8)


def _legend(fig: Figure, class_names: Sequence[str], palette: Sequence[tuple[int, int, int]], ncol: int = 6):
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=np.asarray(c) / 255, edgecolor="0.5", label=n)
        for n, c in zip(class_names, palette, strict=True)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=7, frameon=False)


def _hide(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def sample_grid(
    items: Sequence[Mapping[str, Any]],
    class_names: Sequence[str],
    palette: Sequence[tuple[int, int, int]],
    *,
    title: str = "",
) -> Figure:
    """One row per sample: image, label map, overlay. ``items``: dicts with image, label, name."""
    n = len(items)
    fig = new_figure(6.6, 2.2 * n + 0.8)
    axes = fig.subplots(n, 3, squeeze=False)
    for r, item in enumerate(items):
        img = to_uint8_image(item["image"])
        for c, (what, pic) in enumerate(
            [
                ("image", img),
                ("labels", colorize(item["label"], palette)),
                ("overlay", overlay(img, item["label"], palette)),
            ]
        ):
            ax = axes[r][c]
            ax.imshow(pic, interpolation="nearest")
            _hide(ax)
            if r == 0:
                ax.set_title(what, fontsize=9)
        axes[r][0].set_ylabel(str(item.get("name", "")), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    _legend(fig, class_names, palette)
    fig.subplots_adjust(bottom=0.8 / (2.2 * n + 0.8) + 0.02, wspace=0.04, hspace=0.08)
    return fig


def class_frequency_plot(freq: pd.DataFrame, *, title: str = "") -> Figure:
    """Bar chart of the share of pixels per class (log scale), one bar per split.

    ``freq``: columns ``class``, ``split``, ``share`` (0-1), as
    ``fpliif.tables.data_overview.class_frequencies`` returns."""
    import seaborn as sns

    classes = list(dict.fromkeys(freq["class"]))
    fig = new_figure(max(6.0, 0.42 * len(classes) + 1.5), 3.4)
    ax = fig.subplots()
    data = freq.assign(percent=100 * freq["share"])
    sns.barplot(data=data, x="class", y="percent", hue="split", order=classes, ax=ax, errorbar=None)
    ax.set_yscale("log")
    ax.set_ylabel("pixels (%)")
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, title=None)
    return fig


def training_curves(logs: Mapping[str, Sequence[Mapping[str, Any]]], *, title: str = "") -> Figure:
    """Loss per epoch (left) and validation mean F1 where recorded (right), one line per run."""
    fig = new_figure(8.0, 3.0)
    ax_loss, ax_f1 = fig.subplots(1, 2)
    for name, log in logs.items():
        epochs = [r["epoch"] for r in log]
        ax_loss.plot(epochs, [r["loss"] for r in log], marker="o", label=name)
        val = [(r["epoch"], 100 * r["val_mean_f1"]) for r in log if "val_mean_f1" in r]
        if val:
            ax_f1.plot(*zip(*val, strict=True), marker="o", label=name)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (CE + λ edge CE)")
    ax_f1.set_xlabel("epoch")
    ax_f1.set_ylabel("validation mean F1 (%)")
    for ax in (ax_loss, ax_f1):
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def worst_case_figure(
    cases: Sequence[Mapping[str, Any]],
    class_names: Sequence[str],
    palette: Sequence[tuple[int, int, int]],
    *,
    ours_label: str = "ours",
    baseline_label: str = "baseline",
    title: str = "",
) -> Figure:
    """One row per image: image, ground truth, ours, baseline, with per-image mean F1 (%).

    ``cases``: dicts with ``image``, ``label`` (ground truth), ``ours`` and optionally
    ``baseline`` (label maps), ``f1_ours``/``f1_baseline`` (0-1) and ``name``. A missing baseline
    shows a grey panel saying it was not run."""
    n = len(cases)
    fig = new_figure(8.4, 2.2 * n + 0.9)
    axes = fig.subplots(n, 4, squeeze=False)
    for r, case in enumerate(cases):
        img = to_uint8_image(case["image"])
        panels = [
            ("image", img, str(case.get("name", ""))),
            ("ground truth", colorize(case["label"], palette), ""),
            (ours_label, colorize(case["ours"], palette), _f1_text(case.get("f1_ours"))),
        ]
        if case.get("baseline") is not None:
            panels.append(
                (baseline_label, colorize(case["baseline"], palette), _f1_text(case.get("f1_baseline")))
            )
        else:
            panels.append((baseline_label, None, "not run in this profile"))
        for c, (head, pic, sub) in enumerate(panels):
            ax = axes[r][c]
            if pic is None:
                ax.set_facecolor("0.9")
                ax.text(0.5, 0.5, sub, ha="center", va="center", fontsize=7, transform=ax.transAxes)
                sub = ""
            else:
                ax.imshow(pic, interpolation="nearest")
            _hide(ax)
            if r == 0:
                ax.set_title(head, fontsize=9)
            if sub:
                ax.set_xlabel(sub, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    _legend(fig, class_names, palette)
    fig.subplots_adjust(bottom=0.9 / (2.2 * n + 0.9) + 0.03, wspace=0.05, hspace=0.25)
    return fig


def _f1_text(value: Any) -> str:
    return f"F1 {100 * float(value):.1f}" if value is not None else ""


def multires_figure(
    image: Any,
    predictions: Mapping[int, Any],
    palette: Sequence[tuple[int, int, int]],
    *,
    input_size: int,
    class_names: Sequence[str] | None = None,
    title: str = "",
) -> Figure:
    """The input image and the label map decoded at each output size from it (same physical
    size on the page, so the finer sizes show finer boundaries), plus a crop of each."""
    sizes = sorted(predictions)
    n = len(sizes) + 1
    fig = new_figure(2.0 * n, 4.6)
    axes = fig.subplots(2, n, squeeze=False)
    img = to_uint8_image(image)
    axes[0][0].imshow(img, interpolation="nearest")
    axes[0][0].set_title(f"input {input_size}x{input_size}", fontsize=9)
    crop = _crop_box(img.shape[0])
    axes[1][0].imshow(img[crop[0] : crop[1], crop[2] : crop[3]], interpolation="nearest")
    axes[1][0].set_ylabel("crop (eye region)", fontsize=8)
    for i, size in enumerate(sizes, start=1):
        col = colorize(predictions[size], palette)
        axes[0][i].imshow(col, interpolation="nearest")
        axes[0][i].set_title(f"decoded at {size}", fontsize=9)
        b = _crop_box(col.shape[0])
        axes[1][i].imshow(col[b[0] : b[1], b[2] : b[3]], interpolation="nearest")
    for ax in axes.flat:
        _hide(ax)
    if title:
        fig.suptitle(title, fontsize=10)
    if class_names is not None:
        _legend(fig, class_names, palette)
        fig.subplots_adjust(bottom=0.12, wspace=0.05, hspace=0.1)
    return fig


def _crop_box(side: int) -> tuple[int, int, int, int]:
    """Rows/cols of a crop around where the eyes of a centred face are: a quarter of the side."""
    r0, c0, w = int(0.32 * side), int(0.30 * side), max(1, side // 4)
    return r0, r0 + w, c0, c0 + w + side // 8


__all__ = [
    "class_frequency_plot",
    "colorize",
    "default_palette",
    "multires_figure",
    "new_figure",
    "overlay",
    "sample_grid",
    "save",
    "to_uint8_image",
    "training_curves",
    "worst_case_figure",
]
