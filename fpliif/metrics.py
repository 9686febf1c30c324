"""Face-parsing metrics as the peers compute them (docs/paper.md, "Evaluation protocol").

One confusion matrix is accumulated over the whole set (not per-image averages). Per class
F1 = 2|G & P| / (|G| + |P|) and IoU = |G & P| / |G | P|. The means exclude the background
(class 0). A class with no pixels in either the ground truth or the prediction has no defined
score (NaN) and is left out of the means; on the real test sets every class occurs.

Composite classes (Helen's eyes, brows, mouth, overall) are set-level: the union of their
members is scored as one class, so a left/right swap still counts as a hit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.distributed as dist

IGNORE_INDEX = 255

# Helen's composite classes over its 11 class ids (docs/paper.md, "Datasets"; LaPa shares the ids).
HELEN_COMPOSITES: dict[str, tuple[int, ...]] = {
    "eyes": (4, 5),
    "brows": (2, 3),
    "mouth": (7, 8, 9),
    "overall": (2, 3, 4, 5, 6, 7, 8, 9),
}


def confusion_matrix(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, *, ignore_index: int = IGNORE_INDEX
) -> torch.Tensor:
    """Confusion counts [K,K] (rows: ground truth, columns: prediction) of two label maps of one shape."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    pred = pred.reshape(-1).long()
    target = target.reshape(-1).long()
    valid = target != ignore_index
    pred, target = pred[valid], target[valid]
    if target.numel():
        bad_t = (target < 0) | (target >= num_classes)
        if bad_t.any():
            raise ValueError(
                f"target holds label ids outside [0, {num_classes}): {target[bad_t].unique().tolist()[:10]}"
            )
        bad_p = (pred < 0) | (pred >= num_classes)
        if bad_p.any():
            raise ValueError(
                f"prediction holds label ids outside [0, {num_classes}): {pred[bad_p].unique().tolist()[:10]}"
            )
    counts = torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)


def scores_from_confusion(
    confusion: torch.Tensor,
    *,
    composites: Mapping[str, Sequence[int]] | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Per-class and mean scores of a confusion matrix [K,K]; see the module docstring."""
    conf = confusion.double().cpu()
    tp = conf.diag()
    gt = conf.sum(dim=1)
    pr = conf.sum(dim=0)
    f1 = torch.where(gt + pr > 0, 2 * tp / (gt + pr), torch.full_like(tp, math.nan))
    union = gt + pr - tp
    iou = torch.where(union > 0, tp / union, torch.full_like(tp, math.nan))
    total = conf.sum()
    out: dict[str, Any] = {
        "f1": f1.tolist(),
        "iou": iou.tolist(),
        "support": gt.long().tolist(),
        "mean_f1": float(f1[1:].nanmean()) if f1.numel() > 1 else math.nan,
        "miou": float(iou[1:].nanmean()) if iou.numel() > 1 else math.nan,
        "pixel_acc": float(tp.sum() / total) if total > 0 else math.nan,
        "pixels": int(total),
    }
    if class_names is not None:
        out["class_names"] = list(class_names)
    if composites:
        comp: dict[str, float] = {}
        for name, members in composites.items():
            idx = torch.tensor(list(members), dtype=torch.long)
            hit = conf[idx][:, idx].sum()
            denom = conf[idx].sum() + conf[:, idx].sum()
            comp[name] = float(2 * hit / denom) if denom > 0 else math.nan
        out["composite_f1"] = comp
    return out


class SegmentationMetrics:
    """Accumulates one confusion matrix over a whole evaluation set.

    ``update(pred, target)`` takes label maps of any (equal) shape, e.g. [B,H,W];
    ``compute()`` returns per-class ``f1``/``iou`` (lists indexed by class id), ``mean_f1`` and
    ``miou`` over the non-background classes, and ``composite_f1`` when composites are given.
    Under torch.distributed, ``compute`` all-reduces the counts of every rank (a collective:
    every rank must call it).
    """

    def __init__(
        self,
        num_classes: int,
        ignore_index: int = IGNORE_INDEX,
        *,
        composites: Mapping[str, Sequence[int]] | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        if composites:
            for name, members in composites.items():
                if any(m < 0 or m >= num_classes for m in members):
                    raise ValueError(f"composite {name!r} names classes outside [0, {num_classes})")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.composites = dict(composites) if composites else None
        self.class_names = list(class_names) if class_names is not None else None
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def reset(self) -> None:
        self.confusion.zero_()

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Add a batch; returns the batch's own confusion matrix."""
        batch = confusion_matrix(pred, target, self.num_classes, ignore_index=self.ignore_index)
        if self.confusion.device != batch.device:
            self.confusion = self.confusion.to(batch.device)
        self.confusion += batch
        return batch

    def merged_confusion(self) -> torch.Tensor:
        """The confusion matrix summed over all ranks (this rank's alone when not distributed)."""
        conf = self.confusion.clone()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(conf, op=dist.ReduceOp.SUM)
        return conf

    def compute(self) -> dict[str, Any]:
        return scores_from_confusion(
            self.merged_confusion(), composites=self.composites, class_names=self.class_names
        )
