"""The bf16 quality check: a checkpoint's test mean F1 through the fast path in each dtype."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..precision import DTYPES


def quality_check(
    checkpoint: str | Path,
    dataset: str,
    root: str | Path,
    *,
    split: str = "test",
    image_size: int | None = None,
    out_size: int | None = None,
    batch_size: int = 8,
    device: str = "cpu",
    dtypes: Sequence[str] = ("fp32", "bf16"),
    limit: int | None = None,
) -> dict[str, Any]:
    """Test mean F1 of a checkpoint through the fast path in each dtype, and the bf16 - fp32 change.

    ``dataset``/``root``/``split`` go to ``fpliif.data.build_dataset``; items are dicts with
    ``image`` float [3,H,W] in [0,1] and ``label`` long [H,W]. Images are resized to the
    checkpoint's training input size (``image_size`` overrides); predictions and labels are
    scored at 256x256 (``out_size`` overrides), as ``fpliif eval`` scores "at256".
    Returns ``{"mean_f1": {dtype: F1 in points}, "delta_points":
    bf16 - fp32, "agreement": share of pixels with the same label, ...}``.
    """
    from torch.utils.data import DataLoader

    from ..data import build_dataset
    from ..engine.checkpoint import load_model
    from ..engine.evaluate import EvalView, collate_eval, resize_labels
    from ..metrics import SegmentationMetrics
    from ..models.fast import optimize_for_inference

    dev = torch.device(device)
    model, ckpt = load_model(checkpoint, device=dev)
    # the input size the checkpoint was trained at (a 128 px model fed 256 px images is lost)
    trained = ((ckpt.get("train_config") or {}).get("data") or {}).get("image_size")
    size_in = int(image_size or trained or 256)
    data = build_dataset(dataset, root, split, image_size=None)
    n = len(data) if limit is None else min(limit, len(data))
    view = EvalView(torch.utils.data.Subset(data, range(n)), input_size=(size_in, size_in))
    loader = DataLoader(view, batch_size=batch_size, collate_fn=collate_eval)
    paths = {d: optimize_for_inference(model, dtype=DTYPES[d]) for d in dtypes}
    metrics = {d: SegmentationMetrics(model.num_classes) for d in dtypes}
    same = total = 0
    score = (out_size or 256, out_size or 256)  # as `fpliif eval` scores by default ("at256")
    for batch in loader:
        images = batch["image"].to(dev)
        labels = torch.stack([resize_labels(lab, score) for lab in batch["label"]])
        preds = {}
        for d, m in paths.items():
            preds[d] = m(images, score).argmax(1).cpu()
            metrics[d].update(preds[d], labels)
        if len(dtypes) > 1:
            a, b = (preds[d] for d in dtypes[:2])
            same += int((a == b).sum())
            total += a.numel()
    scores = {d: 100 * metrics[d].compute()["mean_f1"] for d in dtypes}
    out: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "dataset": dataset,
        "split": split,
        "images": n,
        "mean_f1": scores,
    }
    if len(dtypes) > 1:
        out["delta_points"] = scores[dtypes[1]] - scores[dtypes[0]]
        out["agreement"] = same / max(1, total)
    out["input_size"] = size_in
    return out
