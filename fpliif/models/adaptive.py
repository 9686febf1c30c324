"""Adaptive implicit decoding: query the pixel MLP only where the answer is uncertain.

Beyond the paper (docs/paper.md, "Adaptive decoding (beyond the paper)"); in the spirit of
PointRend's subdivision. An implicit decoder can be asked for any pixel, so most of a face need
not be asked at full resolution at all:

1. decode a coarse grid: the latent's own (H/4 x W/4 for the paper's model; its pixel centres are
   the latent cell centres, where the fast path's pruned ensemble needs one MLP evaluation per
   pixel) or ``ceil(H / step) x ceil(W / step)``;
2. mark what is uncertain: coarse pixels whose top-2 logit margin is below ``threshold`` (on the
   coarse grid; scaled with the cell size on finer ones) or whose labels disagree, either as whole
   coarse cells (``marks="cells"``: a margin below threshold or another label among the 3x3
   neighbours) or as the finer pixels interpolated from them (``marks="support"``, the default:
   a pixel whose 2x2 bilinear support holds two labels or a small margin); grow the marks by
   ``band`` cells (or 2x2 blocks);
3. upsample the coarse logits to the next grid (``upsample``: nearest, the default, or bilinear;
   with support marks both give the same labels, the same queries and the same speed) and
   replace the marked pixels by exact LIIF queries;
4. repeat from 2 on the new grid until the output size (``hierarchical``: each grid twice the last,
   so the bands narrow as the resolution grows), or go straight to the output size.

The queries are the dense path's own: the wrapped decoder's ``decode`` on coordinates taken from
the same ``make_coord`` grid, so an exactly queried pixel has the dense path's value. With
``threshold=inf`` every cell is marked and one image's output equals the dense output bit for bit
(tests/test_adaptive.py, batches of one and two images on CPU; batches are decoded image by
image, so elsewhere GEMM blocking could differ from the dense path's batched chunks at fp32
round-off).

    fast = optimize_for_inference(model, decode="adaptive")           # defaults below
    fast = optimize_for_inference(model, decode="adaptive", adaptive=AdaptiveSettings(threshold=2.0))
    logits = fast(images, out_size=1024); fast.decoder.last_stats     # share of pixels queried
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from .decoder import make_coord

# Defaults chosen by measurement on models trained at 256 px, SynthFaces and real faces, fed 256 px
# inputs (docs/paper.md, "Adaptive decoding").
DEFAULT_THRESHOLD = 0.15  # top-2 logit margin below which a coarse pixel is uncertain
DEFAULT_STEP: int | None = None  # None: the latent grid is the coarse grid
DEFAULT_BAND = 0  # cells (or support blocks) the marks are grown by
DEFAULT_UPSAMPLE = "nearest"  # every logit vector returned is an exact query's; labels as bilinear
DEFAULT_HIERARCHICAL = True
DEFAULT_MARKS = "support"
MARKS = ("cells", "support")
UPSAMPLE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact"}
DECODE_MODES = ("dense", "adaptive")


class QueryDecoder(Protocol):
    """What the adaptive decoder needs of the decoder it wraps (``fast.FastLIIFDecoder``)."""

    num_classes: int

    def prepare(self, latent: torch.Tensor) -> torch.Tensor: ...

    def decode(
        self, table: torch.Tensor, batch: int, hw: tuple[int, int], coords: torch.Tensor
    ) -> torch.Tensor: ...

    def __call__(self, latent: torch.Tensor, *, coords: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class AdaptiveSettings:
    """How adaptive decoding chooses its queries (see the module docstring); checked on creation.

    ``threshold``: logit margin (top-1 minus top-2) under which a coarse cell is uncertain, >= 0;
    ``inf`` marks every cell (the dense output). ``step``: output pixels per coarse cell (int >= 1),
    or None for the latent grid. ``band``: cells the marks are grown by (>= 0). ``upsample``:
    ``nearest`` (each pixel takes the logits of its nearest coarse pixel) or ``bilinear`` (smoother
    logits, the same labels: see ``refine``). ``hierarchical``: refine by
    factors of two rather than in one jump. ``marks``: ``cells`` re-queries whole coarse cells
    (``uncertain_cells``), ``support`` only the finer pixels interpolated from uncertain or
    disagreeing coarse pixels (``uncertain_support``).
    """

    threshold: float = DEFAULT_THRESHOLD
    step: int | None = DEFAULT_STEP
    band: int = DEFAULT_BAND
    upsample: str = DEFAULT_UPSAMPLE
    hierarchical: bool = DEFAULT_HIERARCHICAL
    marks: str = DEFAULT_MARKS

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, int | float) or math.isnan(t) or t < 0:
            raise ValueError(f"threshold must be a number >= 0 (inf marks every cell), got {t!r}")
        s = self.step
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 1):
            raise ValueError(f"coarse step must be an int >= 1 or None (the latent grid), got {s!r}")
        if isinstance(self.band, bool) or not isinstance(self.band, int) or self.band < 0:
            raise ValueError(f"band must be an int >= 0, got {self.band!r}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {sorted(UPSAMPLE_MODES)}, got {self.upsample!r}")
        if not isinstance(self.hierarchical, bool):
            raise ValueError(f"hierarchical must be True or False, got {self.hierarchical!r}")
        if self.marks not in MARKS:
            raise ValueError(f"marks must be one of {MARKS}, got {self.marks!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_step(text: str) -> int | None:
    """A command line's coarse step: ``latent`` -> None, else a positive int."""
    if text.strip().lower() == "latent":
        return None
    try:
        step = int(text)
    except ValueError:
        raise ValueError(f"coarse step must be 'latent' or an int >= 1, got {text!r}") from None
    AdaptiveSettings(step=step)
    return step


def grid_sizes(
    out_size: tuple[int, int], latent_size: tuple[int, int], settings: AdaptiveSettings
) -> list[tuple[int, int]]:
    """The grids decoded, coarse first, ``out_size`` last (only it when the coarse grid is as fine)."""
    oh, ow = out_size
    if settings.step is None:
        coarse = (min(latent_size[0], oh), min(latent_size[1], ow))
    else:
        coarse = (math.ceil(oh / settings.step), math.ceil(ow / settings.step))
    sizes = [coarse]
    while sizes[-1] != out_size:
        h, w = sizes[-1]
        sizes.append((min(2 * h, oh), min(2 * w, ow)) if settings.hierarchical else out_size)
    return sizes


def _top2(logits: torch.Tensor) -> torch.Tensor:
    """logits [K,n] -> [2,n] float: each pixel's label and its top-1 minus top-2 logit margin.

    One ``topk`` gives both: an ``argmax`` over the class dimension is many times slower on CPU
    (a strided reduction)."""
    if logits.shape[0] < 2:
        n = logits.shape[1]
        return torch.stack([logits.new_zeros(n), logits.new_full((n,), math.inf)]).float()
    top = logits.topk(2, dim=0)
    return torch.stack([top.indices[0].float(), (top.values[0] - top.values[1]).float()])


def _grow(mark: torch.Tensor, band: int) -> torch.Tensor:
    if not band:
        return mark
    return F.max_pool2d(mark[None, None].float(), 2 * band + 1, stride=1, padding=band)[0, 0] > 0


def cell_marks(labels: torch.Tensor, unsure: torch.Tensor, band: int) -> torch.Tensor:
    """labels, unsure [h,w] -> bool [h,w]: unsure, or a 3x3 neighbour with another label, grown by
    ``band`` cells."""
    labels = labels[None, None].float()  # [1,1,h,w]
    highest = F.max_pool2d(labels, 3, stride=1, padding=1)
    lowest = -F.max_pool2d(-labels, 3, stride=1, padding=1)
    return _grow(unsure | (highest != lowest)[0, 0], band)


def support_marks(
    labels: torch.Tensor, unsure: torch.Tensor, size: tuple[int, int], band: int
) -> torch.Tensor:
    """labels, unsure [h,w] -> bool [H,W] on the finer grid ``size``: the pixels whose bilinear
    support (the 2x2 coarse pixel centres around them) holds two labels or an unsure one; the 2x2
    blocks are grown by ``band``."""
    h, w = labels.shape
    labels = F.pad(labels[None, None].float(), (1, 1, 1, 1), mode="replicate")
    unsure = F.pad(unsure[None, None].float(), (1, 1, 1, 1), mode="replicate")
    # block (i, j) spans the centres i-1..i and j-1..j (the borders replicated): [h+1, w+1]
    mixed = F.max_pool2d(labels, 2, stride=1) != -F.max_pool2d(-labels, 2, stride=1)
    block = _grow((mixed | (F.max_pool2d(unsure, 2, stride=1) > 0))[0, 0], band)

    def index(n_out: int, n_in: int) -> torch.Tensor:  # a fine pixel's block: floor(coarse pos) + 1
        pos = (torch.arange(n_out, device=labels.device, dtype=torch.float64) + 0.5) * n_in / n_out - 0.5
        return (pos.floor().long() + 1).clamp(0, n_in)

    return block[index(size[0], h)[:, None], index(size[1], w)[None, :]]


def uncertain_cells(logits: torch.Tensor, threshold: float, band: int) -> torch.Tensor:
    """logits [K,h,w] -> bool [h,w]: top-2 margin < ``threshold`` or a 3x3 neighbour with another
    label, grown by ``band`` cells."""
    if math.isinf(threshold):
        return torch.ones(logits.shape[1:], dtype=torch.bool, device=logits.device)
    labels, margin = _top2(logits.reshape(logits.shape[0], -1)).view(2, *logits.shape[1:])
    return cell_marks(labels, margin < threshold, band)


def uncertain_support(
    logits: torch.Tensor, size: tuple[int, int], threshold: float, band: int
) -> torch.Tensor:
    """logits [K,h,w] -> bool [H,W] on the finer grid ``size``: the pixels whose bilinear support
    (the 2x2 coarse pixel centres around them) holds two labels or a margin < ``threshold``; the
    2x2 blocks are grown by ``band``. Only the pixels between disagreeing centres are marked, not
    the whole cells on both sides of a boundary (``uncertain_cells``)."""
    if math.isinf(threshold):
        return torch.ones(size, dtype=torch.bool, device=logits.device)
    labels, margin = _top2(logits.reshape(logits.shape[0], -1)).view(2, *logits.shape[1:])
    return support_marks(labels, margin < threshold, size, band)


def _upsample(logits: torch.Tensor, size: tuple[int, int], how: str) -> torch.Tensor:
    """logits [K,h,w] -> [K,H,W], bilinear (pixel centres aligned) or nearest."""
    if how == "bilinear":
        return F.interpolate(logits[None], size=size, mode="bilinear", align_corners=False)[0]
    return F.interpolate(logits[None], size=size, mode=UPSAMPLE_MODES[how])[0]


class AdaptiveDecoder(nn.Module):
    """A query decoder decoding grids adaptively (see the module docstring).

    latent [B,C,h,w] -> logits [B,K,H,W] (``out_size``) fp32; ``coords`` [B,Q,2] -> [B,K,Q] are
    passed to the wrapped decoder unchanged. After each grid call ``last_stats`` holds what was
    queried, summed over the batch: ``pixels`` (output pixels), ``queried`` (pixels queried on
    every grid, the coarse one included), ``queried_full`` (those on the output grid) and
    ``per_grid`` [(H, W, queried)].
    """

    def __init__(self, decoder: QueryDecoder, *, settings: AdaptiveSettings | None = None) -> None:
        super().__init__()
        self.inner = decoder
        self.settings = settings or AdaptiveSettings()
        self.num_classes = decoder.num_classes
        self.last_stats: dict[str, Any] = {}

    def forward(
        self,
        latent: torch.Tensor,
        *,
        coords: torch.Tensor | None = None,
        out_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        if coords is not None:
            return self.inner(latent, coords=coords)
        if out_size is None:
            raise ValueError("pass either coords or out_size")
        b, _c, h, w = latent.shape
        table = self.inner.prepare(latent)
        sizes = grid_sizes(tuple(out_size), (h, w), self.settings)  # type: ignore[arg-type]
        stats: dict[str, Any] = {
            "pixels": b * out_size[0] * out_size[1],
            "queried": 0,
            "queried_full": 0,
            "per_grid": [[s[0], s[1], 0] for s in sizes],
        }
        outs = []
        for i in range(b):
            rows = table[i * h * w : (i + 1) * h * w]
            outs.append(self._decode_one(rows, (h, w), sizes, stats))
        stats["per_grid"] = [tuple(g) for g in stats["per_grid"]]
        stats["queried_full"] = stats["per_grid"][-1][2]
        self.last_stats = stats
        # One image needs no copy: stacking a 1024x1024 output costs as much as a tenth of its decode.
        return outs[0][None] if b == 1 else torch.stack(outs)

    def _decode_one(
        self,
        rows: torch.Tensor,
        hw: tuple[int, int],
        sizes: list[tuple[int, int]],
        stats: dict[str, Any],
    ) -> torch.Tensor:
        """One image: its table rows -> logits [K,H,W] on the last of ``sizes``."""

        def query(size: tuple[int, int], idx: torch.Tensor | None) -> torch.Tensor:
            coords = make_coord(size, device=rows.device)
            if idx is not None:
                coords = coords.index_select(0, idx)
            return self.inner.decode(rows, 1, hw, coords)[0].t()

        return refine(query, sizes, self.settings, stats)


Query = Callable[[tuple[int, int], torch.Tensor | None], torch.Tensor]


def refine(
    query: Query, sizes: list[tuple[int, int]], settings: AdaptiveSettings, stats: dict[str, Any]
) -> torch.Tensor:
    """Steps 2-4 of the module docstring over ``sizes`` (coarse first): logits [K,H,W] on the last.

    ``query(size, idx)``: the exact logits [K,n] of the pixels ``idx`` (flat indices, ascending)
    of the ``size`` grid, or of all of them [K,H*W] for None. Adds each grid's queries to
    ``stats["per_grid"]`` (one [H, W, queried] entry per size) and ``stats["queried"]``.

    The marks read each pixel's label and margin from its last exact query: an unqueried pixel
    inherits those of its nearest coarse pixel, so each grid ranks only its new queries, and the
    upsampling mode, which only sets the logits returned, changes no label and no query. With
    support marks these are the labels and margins of the upsampled logits themselves: a pixel
    left unqueried has a 2x2 support of one label, each with a margin >= this grid's threshold;
    its nearest coarse pixel is one of the four, and a convex combination of them keeps the label
    with a margin >= that threshold (its margin over any class is the same combination of
    margins), which is >= every later grid's threshold.
    """
    first = sizes[0]
    logits = query(first, None)
    k = logits.shape[0]
    ranked = _top2(logits).view(2, *first)  # label, margin
    logits = logits.reshape(k, *first)
    stats["per_grid"][0][2] += first[0] * first[1]
    stats["queried"] += first[0] * first[1]
    for g, size in enumerate(sizes[1:], start=1):
        # Near a boundary the margin grows about linearly with the distance to it, so a fixed
        # threshold marks a band of fixed width in the image, ever more cells wide on finer
        # grids; scaled with the cell size, the band stays as many cells wide on every grid.
        here = logits.shape[1] * logits.shape[2]
        threshold = settings.threshold * math.sqrt(first[0] * first[1] / here)
        labels, unsure = ranked[0], ranked[1] < threshold
        if math.isinf(threshold):
            fine = torch.ones(size, dtype=torch.bool, device=logits.device)
        elif settings.marks == "support":
            fine = support_marks(labels, unsure, size, settings.band)
        else:
            mark = cell_marks(labels, unsure, settings.band)
            fine = F.interpolate(mark[None, None].to(logits.dtype), size=size, mode="nearest-exact")
        idx = fine.reshape(-1).nonzero().squeeze(1)
        n = idx.numel()
        last = g == len(sizes) - 1
        if n == size[0] * size[1]:  # every pixel queried: nothing to upsample
            logits = query(size, None)
            if not last:
                ranked = _top2(logits).view(2, *size)
            logits = logits.reshape(k, *size).contiguous()  # as every other grid's: same kernels
        else:
            logits = _upsample(logits, size, settings.upsample).contiguous()
            if not last:
                ranked = _upsample(ranked, size, "nearest").contiguous()
            if n:
                exact = query(size, idx)
                logits.view(k, -1).index_copy_(1, idx, exact)
                if not last:
                    ranked.view(2, -1).index_copy_(1, idx, _top2(exact))
        stats["per_grid"][g][2] += n
        stats["queried"] += n
    return logits


__all__ = [
    "DECODE_MODES",
    "DEFAULT_BAND",
    "DEFAULT_HIERARCHICAL",
    "DEFAULT_MARKS",
    "DEFAULT_STEP",
    "DEFAULT_THRESHOLD",
    "DEFAULT_UPSAMPLE",
    "UPSAMPLE_MODES",
    "AdaptiveDecoder",
    "AdaptiveSettings",
    "QueryDecoder",
    "cell_marks",
    "grid_sizes",
    "parse_step",
    "refine",
    "support_marks",
    "uncertain_cells",
    "uncertain_support",
]
