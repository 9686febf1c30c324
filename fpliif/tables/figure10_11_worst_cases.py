"""Figures 10 (CelebAMask-HQ) and 11 (LaPa): our worst test images, with the ground truth and the
light peer's prediction (the paper's baseline is DML_CSR; ours is ``baseline_model``, trained like
our run)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ..report import Table
from .common import caption, describe

if TYPE_CHECKING:
    from ..runs.study import Study

LAYOUTS = {"lapa": (11, "LaPa"), "celeb": (10, "CelebAMask-HQ")}  # kind -> (figure, layout)


def _predict(model, items: list[dict[str, Any]], input_size: int, device, dtype: str | None):
    """Predicted label maps at 256x256 of native-size ``items`` resized to ``input_size``."""
    import torch

    from ..engine.evaluate import resize_image
    from ..precision import autocast

    batch = torch.stack([resize_image(it["image"], (input_size, input_size)) for it in items]).to(device)
    with torch.inference_mode(), autocast(device, dtype):
        return model(batch, (256, 256)).float().argmax(1).cpu()


def worst_cases(study: Study, kind: str = "lapa") -> tuple[Any, pd.DataFrame] | None:
    """Figure 11 (``lapa``) or 10 (``celeb``): our ``worst_k`` worst test images (per-image mean F1
    at 256) beside the ground truth and the light peer's prediction, and their scores; ``None`` if
    the run is not in this profile (``lapa`` where the main run is CelebAMask-HQ's, as in the real
    profile: it would repeat Figure 10)."""
    from .. import viz
    from ..data import build_dataset
    from ..engine.checkpoint import load_model
    from ..engine.distributed import resolve_device
    from ..engine.evaluate import resize_labels
    from ..metrics import confusion_matrix, scores_from_confusion

    (k,) = study.need("worst_k")
    if kind == "lapa":
        if study.main_is_celebamask():
            return None
        run, res = study.main_run(), study.main_eval()
    else:
        spec = study.celeb_spec()
        if spec is None:
            return None
        run, res = study.run(spec), study.celeb_eval()
    base_spec = study.baseline_spec(kind)
    base_run = study.run(base_spec) if base_spec else None
    if base_run is not None:
        study.baseline_eval(kind)
    worst = res.per_image.sort_values(["mean_f1", "name"]).head(int(k))
    d = run.config.data
    ds = build_dataset(d.name, d.root, "test", image_size=None)
    index = {n: i for i, n in enumerate(ds.names)}
    dev = resolve_device(study.device)
    runs = {"ours": run} | ({"baseline": base_run} if base_run is not None else {})
    items = [ds[index[str(name)]] for name in worst["name"]]
    gts = [resize_labels(it["label"], (256, 256)) for it in items]
    cases = [
        {"image": it["image"], "label": gt, "name": it["name"]} for it, gt in zip(items, gts, strict=True)
    ]
    rows: list[dict[str, Any]] = [{"image": it["name"]} for it in items]
    for who, r in runs.items():
        model = load_model(r.checkpoint, device=dev)[0]
        preds = _predict(model, items, r.config.data.image_size, dev, study.get("eval_dtype", "fp32"))
        for case, row, pred, gt in zip(cases, rows, preds, gts, strict=True):
            f1 = scores_from_confusion(confusion_matrix(pred, gt, ds.info.num_classes))["mean_f1"]
            case[who], case[f"f1_{who}"] = pred, f1
            row[f"mean F1 {who}"] = 100 * f1
    fig_no, layout = LAYOUTS[kind]
    peer = study.get("baseline_model") or "baseline"
    fig = viz.worst_case_figure(
        cases,
        ds.info.class_names,
        ds.info.palette,
        ours_label=f"ours\n(run {run.name})",
        baseline_label=f"{peer}\n(run {base_run.name})" if base_run else f"{peer}",
        title=f"Figure {fig_no} ({layout} layout): our {k} worst test images",
    )
    return fig, pd.DataFrame(rows)


def worst_table(study: Study, kind: str, rows: pd.DataFrame) -> Table:
    """The scores of ``worst_cases``' images, captioned with the runs they come from."""
    run = study.main_run() if kind == "lapa" else study.run(study.celeb_spec())
    data = study.data.main() if kind == "lapa" else study.data.celeb()
    base = study.baseline_spec(kind)
    fig_no, _ = LAYOUTS[kind]
    cap = caption(
        f"{describe(run, data)}; per-image mean F1 (%) at 256x256 on the test split"
        + (f"; baseline: run {base.name} ({base.label})" if base else "; baseline: not run"),
        profile=study.profile,
        paper_side=f"Figure {fig_no} compares with DML_CSR; ours with a light peer trained here",
    )
    return Table(
        f"figure{fig_no}_worst_cases", f"Figure {fig_no}: worst test images", cap, rows, labels=("image",)
    )
