"""Evaluation: per-class F1/IoU, mean F1 and mIoU at several output sizes, the paper's "X->256" rows.

Protocols (docs/paper.md, "Evaluation protocol"):

* ``at X``: the model decodes at X x X from its 256 input; the ground truth is the dataset's
  native label map resized (nearest) to X x X. ``at 256`` is the paper's main row, ``at 512``
  its "Ours512" row.
* ``X->256``: the model decodes at X, the predicted label map is upscaled to 256 (nearest, as
  a low-resource device would; ``upscale="bilinear"`` upsamples the logits instead) and scored
  against the 256 ground truth. These are the paper's "Ours128->256" rows of Tables 1 and 2.

One confusion matrix per (protocol, size) over the whole split; the background is left out of the
means. Per-image scores at the scoring size are kept for the worst-case figures.

    result = evaluate(model, dataset, num_classes=11, sizes=(64, 256))     # the protocol
    result, folder = evaluate_checkpoint("runs/demo/last.pt")             # fpliif eval: a stored record
    result = EvalResult.load(folder)                                       # read it back
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..data.transforms import resize_image
from ..fileio import atomic_write_many
from ..metrics import SegmentationMetrics, scores_from_confusion
from ..models.adaptive import (
    DECODE_MODES,
    DEFAULT_STEP,
    DEFAULT_THRESHOLD,
    DEFAULT_UPSAMPLE,
    UPSAMPLE_MODES,
    AdaptiveSettings,
    parse_step,
)
from ..models.fast import optimize_for_inference
from ..models.fpliif import FPLIIF
from ..precision import autocast, pick_dtype, resolve_dtype
from .distributed import ShardSampler

DEFAULT_SIZES = (64, 96, 128, 192, 256, 512)


def resize_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour resize of label maps [..., H, W] with pixel-centre alignment."""
    if tuple(labels.shape[-2:]) == size:
        return labels
    lead = labels.shape[:-2]
    flat = labels.reshape(-1, 1, *labels.shape[-2:]).float()
    out = F.interpolate(flat, size=size, mode="nearest-exact")
    return out.reshape(*lead, *size).to(labels.dtype)


class EvalView(Dataset):
    """Items with the image resized to the model's input size and the label left as it is."""

    def __init__(self, base: Dataset, *, input_size: tuple[int, int]) -> None:
        self.base = base
        self.input_size = input_size

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.base[index]
        return {
            "image": resize_image(item["image"], self.input_size),
            "label": item["label"],
            "name": item["name"],
        }


def collate_eval(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Images stacked [B,3,H,W]; labels kept as a list (native sizes may differ)."""
    return {
        "image": torch.stack([it["image"] for it in items]),
        "label": [it["label"] for it in items],
        "name": [it["name"] for it in items],
    }


@dataclass
class EvalResult:
    """Scores per (protocol, size), per-image scores, and what produced them."""

    scores: dict[str, dict[str, Any]]  # key "at256", "64->256", ...: scores_from_confusion output
    per_image: pd.DataFrame  # one row per image at the scoring size
    class_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per (protocol, size): mean F1, mIoU and per-class F1 (x100, the paper's unit)."""
        rows = []
        for key, s in self.scores.items():
            protocol, size = _parse_key(key)
            row: dict[str, Any] = {
                "protocol": protocol,
                "size": size,
                "mean_f1": 100 * s["mean_f1"],
                "miou": 100 * s["miou"],
            }
            for name, f1 in zip(self.class_names, s["f1"], strict=True):
                row[f"f1/{name}"] = 100 * f1
            for name, f1 in (s.get("composite_f1") or {}).items():
                row[f"f1/{name}"] = 100 * f1
            rows.append(row)
        return pd.DataFrame(rows)

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """results.json (everything, with provenance), metrics.csv (the table), per_image.csv."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / "results.json", "csv": out / "metrics.csv", "per_image": out / "per_image.csv"}
        payload = {"meta": self.meta, "class_names": self.class_names, "scores": self.scores}
        # written together: a failure (full disk) leaves the previous result set whole
        atomic_write_many(
            {
                paths["json"]: json.dumps(_finite(payload), indent=2),
                paths["csv"]: self.table().to_csv(index=False, float_format="%.4f"),
                paths["per_image"]: self.per_image.to_csv(index=False, float_format="%.4f"),
            }
        )
        return paths

    @classmethod
    def load(cls, folder: str | Path) -> EvalResult:
        """A result written by ``save`` (results.json and per_image.csv; JSON nulls back to NaN)."""
        folder = Path(folder)
        payload = json.loads((folder / "results.json").read_text())
        per_image = folder / "per_image.csv"
        return cls(
            scores=_nan_for_none(payload["scores"]),
            per_image=pd.read_csv(per_image) if per_image.is_file() else pd.DataFrame(),
            class_names=list(payload["class_names"]),
            meta=payload.get("meta") or {},
        )


def _parse_key(key: str) -> tuple[str, int]:
    if key.startswith("at"):
        return "at", int(key[2:])
    return "to", int(key.split("->")[0])


def _finite(obj: Any) -> Any:
    """NaN -> None so the JSON is standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def _nan_for_none(obj: Any) -> Any:
    """The inverse of ``_finite``: None -> NaN."""
    if obj is None:
        return float("nan")
    if isinstance(obj, dict):
        return {k: _nan_for_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_for_none(v) for v in obj]
    return obj


def _decode_all(model: nn.Module, images: torch.Tensor, sizes: list[tuple[int, int]]) -> dict:
    if hasattr(model, "forward_sizes"):
        return model.forward_sizes(images, sizes)
    return {s: model(images, s) for s in sizes}


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    dataset: Dataset,
    *,
    num_classes: int,
    class_names: Sequence[str] | None = None,
    sizes: Sequence[int] = DEFAULT_SIZES,
    score_size: int = 256,
    input_size: int = 256,
    upscale: str = "nearest",
    composites: dict[str, tuple[int, ...]] | None = None,
    batch_size: int = 8,
    workers: int = 0,
    device: torch.device | str = "cpu",
    dtype: str = "fp32",
    rank: int = 0,
    world_size: int = 1,
    progress: bool = True,
    fast: bool = True,
    label_map: Sequence[int] | None = None,
    pred_map: Sequence[int] | None = None,
    decode: str = "dense",
    adaptive: AdaptiveSettings | None = None,
) -> EvalResult:
    """Score ``model`` on ``dataset`` (items at native size) under both protocols.

    ``sizes`` are the output sizes decoded; each is scored against ground truth at its own size
    ("atX"), and each size other than ``score_size`` also as "X->score_size". Under DDP pass the
    rank and world size: every rank scores its shard and the confusion matrices are summed
    (every rank must call this). Per-image scores are those of this rank's shard.
    ``fast``: decode FP-LIIF through ``fpliif.models.fast`` (the same outputs within fp
    tolerance in fp32, ~1.6x faster on CPU; ``dtype`` then sets its compute precision);
    other models, and ``fast=False``, run their own forward under autocast.
    ``label_map`` / ``pred_map``: lookup tables that turn the dataset's ids / the model's ids into
    the ``num_classes`` scored ids (``IGNORE_INDEX`` leaves a pixel out), to score a model on data
    labelled with other classes.
    ``decode="adaptive"`` decodes FP-LIIF through the fast path's adaptive decoding (``models.adaptive``, with
    ``adaptive`` settings or their defaults; not the paper's protocol, which is ``dense``).
    """
    truth_lut = None if label_map is None else torch.as_tensor(list(label_map), dtype=torch.long)
    pred_lut = None if pred_map is None else torch.as_tensor(list(pred_map), dtype=torch.long)
    if upscale not in ("nearest", "bilinear"):
        raise ValueError(f"upscale must be 'nearest' or 'bilinear', got {upscale!r}")
    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {DECODE_MODES}, got {decode!r}")
    device = torch.device(device)
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    sizes = sorted({int(s) for s in sizes} | {score_size})
    hw = {s: (s, s) for s in sizes}
    score_hw = (score_size, score_size)
    view = EvalView(dataset, input_size=(input_size, input_size))
    sampler = ShardSampler(len(view), rank=rank, world_size=world_size)
    loader = DataLoader(
        view, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=collate_eval
    )

    def new_metrics() -> SegmentationMetrics:
        return SegmentationMetrics(num_classes, composites=composites, class_names=names)

    at = {s: new_metrics() for s in sizes}
    to = {s: new_metrics() for s in sizes if s != score_size}
    per_image: list[dict[str, Any]] = []
    was_training = model.training
    model.eval()
    runner, precision = model, dtype
    if fast and isinstance(model, FPLIIF) and not (device.type == "cpu" and dtype == "fp16"):
        runner = optimize_for_inference(model, dtype=resolve_dtype(dtype), decode=decode, adaptive=adaptive)
        precision = "fp32"  # the fast path runs its own precision; no autocast around it
    elif decode == "adaptive":
        raise ValueError("adaptive decoding runs on the fast path of an implicit FP-LIIF model (not --eager)")
    for batch in tqdm(loader, desc="eval", disable=not progress or rank != 0, leave=False):
        images = batch["image"].to(device)
        with autocast(device, precision):
            logits = _decode_all(runner, images, [hw[s] for s in sizes])
        if truth_lut is not None:
            batch["label"] = [truth_lut[lab.long()] for lab in batch["label"]]
        gt_score = [resize_labels(lab, score_hw) for lab in batch["label"]]
        for s in sizes:
            lg = logits[hw[s]].float()
            pred = lg.argmax(dim=1).cpu()
            if pred_lut is not None:
                pred = pred_lut[pred]
            for b, lab in enumerate(batch["label"]):
                conf = at[s].update(pred[b], resize_labels(lab, hw[s]))
                if s == score_size:
                    row = scores_from_confusion(conf)
                    per_image.append(
                        {"name": batch["name"][b], "mean_f1": row["mean_f1"], "miou": row["miou"]}
                        | {f"f1/{n}": v for n, v in zip(names, row["f1"], strict=True)}
                    )
            if s in to:
                if upscale == "nearest":
                    up = resize_labels(pred, score_hw)
                else:
                    up = (
                        F.interpolate(lg, size=score_hw, mode="bilinear", align_corners=False).argmax(1).cpu()
                    )
                    if pred_lut is not None:
                        up = pred_lut[up]
                for b in range(len(gt_score)):
                    to[s].update(up[b], gt_score[b])
    model.train(was_training)
    scores = {f"at{s}": m.compute() for s, m in at.items()}
    scores.update({f"{s}->{score_size}": m.compute() for s, m in to.items()})
    meta = {
        "sizes": sizes,
        "score_size": score_size,
        "input_size": input_size,
        "upscale": upscale,
        "dtype": dtype,
        "path": "fast" if runner is not model else "eager",
        "decode": decode,
    }
    if decode == "adaptive":
        meta["adaptive"] = (adaptive or AdaptiveSettings()).to_dict()
    return EvalResult(scores=scores, per_image=pd.DataFrame(per_image), class_names=names, meta=meta)


# -- a stored checkpoint ------------------------------------------------------------------------
def _load_scored(
    checkpoint: str | Path, device: torch.device | str
) -> tuple[nn.Module, dict[str, Any], Path]:
    """(model, checkpoint-like dict, the file holding the weights) from a ``.pt`` of ``fpliif train``
    or a weights folder (``fpliif export --format safetensors``, the shipped weights): a folder
    knows its model, classes and input size but not the name and folder of its data."""
    from ..weights import WEIGHTS_FILE, load_weights
    from .checkpoint import load_model

    path = Path(checkpoint)
    if not path.is_dir():
        model, ckpt = load_model(path, device=device)
        return model, ckpt, path
    model, meta = load_weights(path)
    ckpt = {
        "model_name": meta.model_name,
        "model_config": {"num_classes": len(meta.class_names)},
        "train_config": {"data": {"image_size": meta.image_size}},
        "commit": None,
    }
    return model.to(device).eval(), ckpt, path / WEIGHTS_FILE


def evaluate_checkpoint(
    checkpoint: str | Path,
    out: str | Path | None = None,
    *,
    data: str | None = None,
    root: str | Path | None = None,
    input_size: int | None = None,
    split: str = "test",
    sizes: Sequence[int] = DEFAULT_SIZES,
    score_size: int = 256,
    upscale: str = "nearest",
    batch_size: int = 8,
    workers: int = 0,
    device: torch.device | str = "cpu",
    dtype: str = "fp32",
    fast: bool = True,
    decode: str = "dense",
    adaptive: AdaptiveSettings | None = None,
    skip_bad: bool = False,
    report_skipped: bool = False,
    progress: bool = True,
    run: str | None = None,
    shown: Callable[[str | Path], str] = str,
    log: Callable[[str], None] | None = None,
) -> tuple[EvalResult, Path]:
    """Score a checkpoint of ``fpliif train`` on ``split`` and store the record (``EvalResult.save``)
    in ``out`` (default: ``<checkpoint folder>/eval-<data>-<split>``); returns it and its folder.

    ``data``, ``root``, ``input_size``: dataset name, folder and model input size (default: the
    checkpoint's training data). ``report_skipped`` lists the bad samples in ``out/skipped.json``.
    The record's ``meta`` says where its numbers come from: the checkpoint (its path as ``shown``
    and its SHA-256), the model, the data (root as ``shown``) and the provenance; for a training
    run of the notebooks (``run``: its name) also the evaluation's seconds, otherwise the commit
    the checkpoint was trained at.
    """
    from ..data import build_dataset  # lazy: the data layer pulls in torchvision
    from ..provenance import file_sha256, provenance
    from .checkpoint import check_compatible

    model, ckpt, weights_file = _load_scored(checkpoint, device)
    trained_on = (ckpt.get("train_config") or {}).get("data") or {}
    data = data or trained_on.get("name")
    root = root or trained_on.get("root")
    if not data or not root:
        raise ValueError("the checkpoint does not say which data it was trained on; pass --data and --root")
    input_size = int(input_size or trained_on.get("image_size") or 256)
    out = Path(out) if out is not None else Path(checkpoint).parent / f"eval-{data}-{split}"
    if report_skipped:
        out.mkdir(parents=True, exist_ok=True)
    dataset = build_dataset(
        data,
        root,
        split,
        image_size=None,
        augment=False,
        split_seed=int(trained_on.get("split_seed", 0)) if data == trained_on.get("name") else 0,
        skip_bad=skip_bad,
        report=out / "skipped.json" if report_skipped else None,
    )
    info = dataset.info
    check_compatible(ckpt, num_classes=info.num_classes, source=str(checkpoint))
    if log is not None:
        what = f"run {run}" if run is not None else str(checkpoint)
        decoded = sorted({int(s) for s in sizes} | {int(score_size)})
        log(f"evaluating {what} on {split} ({len(dataset)} images) at {decoded} ({dtype}) ...")
    start = time.perf_counter()
    result = evaluate(
        model,
        dataset,
        num_classes=info.num_classes,
        class_names=info.class_names,
        sizes=sizes,
        score_size=score_size,
        input_size=input_size,
        upscale=upscale,
        composites=dict(info.composites) if info.composites else None,
        batch_size=batch_size,
        workers=workers,
        device=device,
        dtype=dtype,
        progress=progress,
        fast=fast,
        decode=decode,
        adaptive=adaptive,
    )
    seconds = time.perf_counter() - start
    source: dict[str, Any] = {"run": run} if run is not None else {}
    source |= {"checkpoint": shown(checkpoint), "checkpoint_sha256": file_sha256(weights_file)}
    if run is None:
        source["checkpoint_commit"] = ckpt.get("commit")
    source |= {
        "model": ckpt["model_name"],
        "data": {"name": data, "root": shown(root), "split": split, "images": len(dataset)},
    }
    if dataset.record:
        source["data"]["split_record"] = dataset.record
    if run is not None:
        source["seconds"] = round(seconds, 1)
    result.meta |= {**source, **provenance()}
    result.save(out)
    if log is not None:
        mean = 100 * result.scores[f"at{score_size}"]["mean_f1"]
        log(f"  mean F1 at {score_size}: {mean:.2f} ({seconds:.0f} s)")
    return result, out


# -- command line ------------------------------------------------------------------------------
def add_decode_options(p: argparse.ArgumentParser) -> None:
    """--decode and the adaptive options (``fpliif eval`` and ``fpliif predict``)."""
    p.add_argument(
        "--decode",
        choices=list(DECODE_MODES),
        default="dense",
        help="dense: every output pixel queried (the paper's); adaptive: a coarse grid, refined where "
        "uncertain (fast path only; docs/paper.md, 'Adaptive decoding')",
    )
    add_adaptive_options(p)


def add_adaptive_options(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--threshold, --coarse-step and --adaptive-upsample (``fpliif eval``, ``predict``, ``bench``)."""
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="adaptive: top-2 logit margin under which a coarse cell is re-queried (inf: every cell)",
    )
    p.add_argument(
        "--coarse-step",
        type=step_argument,
        default=DEFAULT_STEP,
        help="adaptive: output pixels per coarse cell, or 'latent' for the latent grid (the default)"
        "%(default).0s",
    )
    p.add_argument(
        "--adaptive-upsample",
        choices=list(UPSAMPLE_MODES),
        default=DEFAULT_UPSAMPLE,
        help="adaptive: how the unqueried logits are carried to a finer grid (the same labels either "
        "way; bilinear gives smoother logits)",
    )


def step_argument(text: str) -> int | None:
    try:
        return parse_step(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def adaptive_settings(args: argparse.Namespace) -> AdaptiveSettings:
    """The settings of ``add_adaptive_options``' options."""
    return AdaptiveSettings(threshold=args.threshold, step=args.coarse_step, upsample=args.adaptive_upsample)


def decode_settings(args: argparse.Namespace) -> AdaptiveSettings | None:
    """The adaptive settings of ``add_decode_options`` (None for dense decoding)."""
    return adaptive_settings(args) if args.decode == "adaptive" else None


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        required=True,
        help="a checkpoint written by fpliif train, or a weights folder (fpliif export; then --data, --root)",
    )
    p.add_argument("--data", default=None, help="dataset name (default: the checkpoint's)")
    p.add_argument("--root", default=None, help="dataset folder (default: the checkpoint's)")
    p.add_argument("--split", default="test", help="split to score")
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="output sizes to decode")
    p.add_argument("--score-size", type=int, default=256, help="the X->N protocol upscales predictions to N")
    p.add_argument("--upscale", choices=["nearest", "bilinear"], default="nearest", help="how X->N upscales")
    p.add_argument("--batch-size", type=int, default=8, help="images per forward pass")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument(
        "--dtype",
        choices=["fp32", "bf16", "fp16", "auto"],
        default="fp32",
        help="inference precision (auto: bf16 where the hardware has it natively, else fp32)",
    )
    p.add_argument(
        "--eager", action="store_true", help="the paper-faithful forward instead of the fast inference path"
    )
    add_decode_options(p)
    p.add_argument(
        "--skip-bad", action="store_true", help="skip invalid samples (listed in the output folder)"
    )
    p.add_argument(
        "--out", default=None, help="output folder (default: <checkpoint folder>/eval-<data>-<split>)"
    )


def run(args: argparse.Namespace) -> int:
    result, out = evaluate_checkpoint(
        args.checkpoint,
        args.out,
        data=args.data,
        root=args.root,
        split=args.split,
        sizes=args.sizes,
        score_size=args.score_size,
        upscale=args.upscale,
        batch_size=args.batch_size,
        workers=args.workers,
        device=args.device,
        dtype=pick_dtype(args.dtype, args.device),
        fast=not args.eager,
        decode=args.decode,
        adaptive=decode_settings(args),
        skip_bad=args.skip_bad,
        report_skipped=True,
    )
    data = result.meta["data"]
    table = result.table()[["protocol", "size", "mean_f1", "miou"]]
    print(f"{result.meta['model']} on {data['name']}/{args.split} ({data['images']} images):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"results: {out / 'results.json'}, {out / 'metrics.csv'}, {out / 'per_image.csv'}")
    return 0
