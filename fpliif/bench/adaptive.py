"""Adaptive decoding in the bench: how close it stays to dense on a checkpoint's test set
(``adaptive_quality``, which also serves to choose the defaults of ``models.adaptive``), and the
bench's timed ``adaptive`` cases with the dense fast path on the same model and images beside them
(``adaptive_cases``).

An adaptive row's share of pixels queried, agreement with dense and MACs depend on the weights and
the images: with a checkpoint and its test images (``BenchConfig.adaptive_checkpoint``) they are
the method's; on the bench's random weights and random images they only show the machinery runs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models.adaptive import AdaptiveSettings
from ..precision import DTYPES, exact_fp32
from .cases import Case
from .config import BenchConfig
from .pairs import interleave, pair_record


def split_images(
    dataset: str, root: str | Path, split: str, input_size: int, limit: int | None
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The first ``limit`` images of a split resized to ``input_size`` ([1,3,S,S] each), and their
    native label maps."""
    from ..data import build_dataset
    from ..engine.evaluate import EvalView

    data = build_dataset(dataset, root, split, image_size=None)
    n = len(data) if limit is None else min(limit, len(data))
    view = EvalView(torch.utils.data.Subset(data, range(n)), input_size=(input_size, input_size))
    items = [view[i] for i in range(n)]
    return [it["image"][None] for it in items], [it["label"] for it in items]


def load_trained(checkpoint: str | Path, device: torch.device | str) -> tuple[nn.Module, int | None]:
    """(model on ``device`` in eval mode, its training input size or None) from a ``.pt``
    checkpoint or a weights folder (``model.safetensors`` + ``config.json``)."""
    from ..weights import load_weights

    model, meta = load_weights(checkpoint)
    return model.to(device).eval(), meta.image_size


def adaptive_quality(
    checkpoint: str | Path,
    dataset: str,
    root: str | Path,
    *,
    settings: Sequence[AdaptiveSettings] = (AdaptiveSettings(),),
    split: str = "test",
    input_size: int | None = None,
    out_size: int = 256,
    dtype: str = "fp32",
    limit: int | None = None,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Adaptive against dense decoding of a checkpoint on a split, one record per ``settings``.

    Images are resized to the checkpoint's training input size (``input_size`` overrides) and
    decoded at ``out_size``; labels are scored at ``out_size`` as ``fpliif eval`` scores "atN".
    Each image is encoded once; its dense logits and every setting's adaptive logits come from
    the same latent. A record: ``mean_f1`` {dense, adaptive} (points), ``delta_points``
    (adaptive - dense), ``agreement`` (share of pixels with the dense label), ``share_queried``
    (pixels queried on every grid over the output pixels), ``share_full`` (queried at the output
    size), ``decode_ratio`` (dense decode seconds over adaptive: the speed-up of the decoder alone,
    on whatever load the machine had), and the settings.
    """
    from ..engine.evaluate import resize_labels
    from ..metrics import SegmentationMetrics
    from ..models.fast import optimize_for_inference

    dev = torch.device(device)
    model, trained = load_trained(checkpoint, dev)
    size_in = int(input_size or trained or 256)
    images, labels = split_images(dataset, root, split, size_in, limit)
    fast = optimize_for_inference(model, dtype=DTYPES[dtype])
    adaptive = [
        optimize_for_inference(model, dtype=DTYPES[dtype], decode="adaptive", adaptive=s) for s in settings
    ]
    k = model.num_classes
    dense_metrics = SegmentationMetrics(k)
    per = [
        {"metrics": SegmentationMetrics(k), "same": 0, "queried": 0, "full": 0, "seconds": 0.0}
        for _ in settings
    ]
    pixels = 0
    dense_s = 0.0
    score = (out_size, out_size)
    with torch.inference_mode():
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            latent = fast.encoder(image.to(dev))
            gt = resize_labels(label, score)[None]
            t0 = time.perf_counter()
            dense = fast.decoder(latent, out_size=score).argmax(1).cpu()
            dense_s += time.perf_counter() - t0
            dense_metrics.update(dense, gt)
            pixels += dense.numel()
            for p, m in zip(per, adaptive, strict=True):
                t0 = time.perf_counter()
                pred = m.decoder(latent, out_size=score).argmax(1).cpu()
                p["seconds"] += time.perf_counter() - t0
                p["metrics"].update(pred, gt)
                p["same"] += int((pred == dense).sum())
                p["queried"] += m.decoder.last_stats["queried"]
                p["full"] += m.decoder.last_stats["queried_full"]
            if log is not None:
                log(f"  image {i + 1}/{len(images)}")
    head = {"checkpoint": str(checkpoint), "dataset": dataset, "split": split, "images": len(images)}
    head |= {"input_size": size_in, "out_size": out_size, "dtype": dtype}
    records = _quality_records(head, settings, per, dense_metrics, pixels)
    for rec, p in zip(records, per, strict=True):
        rec["decode_ratio"] = dense_s / max(p["seconds"], 1e-9)
    return records


def adaptive_sweep(
    checkpoint: str | Path,
    dataset: str,
    root: str | Path,
    *,
    settings: Sequence[AdaptiveSettings],
    split: str = "test",
    input_size: int | None = None,
    out_size: int = 256,
    limit: int | None = None,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """``adaptive_quality``'s records (fp32, without ``decode_ratio``) for many settings at the cost
    of one dense decode per grid size: each image's dense logits on every grid any setting visits
    are decoded once, and each setting's adaptive decoding (``models.adaptive.refine``) reads its
    queries from them. A queried pixel's adaptive value is its dense value (tests/test_adaptive.py),
    so the records equal ``adaptive_quality``'s. Serves to choose the defaults."""
    from ..engine.evaluate import resize_labels
    from ..metrics import SegmentationMetrics
    from ..models.adaptive import grid_sizes, refine
    from ..models.fast import optimize_for_inference

    dev = torch.device(device)
    model, trained = load_trained(checkpoint, dev)
    size_in = int(input_size or trained or 256)
    images, labels = split_images(dataset, root, split, size_in, limit)
    fast = optimize_for_inference(model)
    k = model.num_classes
    out = (out_size, out_size)
    dense_metrics = SegmentationMetrics(k)
    per = [{"metrics": SegmentationMetrics(k), "same": 0, "queried": 0, "full": 0} for _ in settings]
    pixels = 0
    with torch.inference_mode():
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            latent = fast.encoder(image.to(dev))
            hw = (latent.shape[2], latent.shape[3])
            plans = [grid_sizes(out, hw, s) for s in settings]
            grids = {g: fast.decoder(latent, out_size=g)[0] for g in {g for p in plans for g in p}}
            gt = resize_labels(label, out)[None]
            dense = grids[out].argmax(0)[None].cpu()
            dense_metrics.update(dense, gt)
            pixels += dense.numel()

            def lookup(size: tuple[int, int], idx: torch.Tensor | None, grids: dict = grids) -> torch.Tensor:
                flat = grids[size].reshape(k, -1)
                return flat if idx is None else flat.index_select(1, idx)

            for s, sizes, p in zip(settings, plans, per, strict=True):
                stats: dict[str, Any] = {"queried": 0, "per_grid": [[*g, 0] for g in sizes]}
                pred = refine(lookup, sizes, s, stats).argmax(0)[None].cpu()
                p["metrics"].update(pred, gt)
                p["same"] += int((pred == dense).sum())
                p["queried"] += stats["queried"]
                p["full"] += stats["per_grid"][-1][2]
            if log is not None:
                log(f"  image {i + 1}/{len(images)}")
    head = {"checkpoint": str(checkpoint), "dataset": dataset, "split": split, "images": len(images)}
    head |= {"input_size": size_in, "out_size": out_size, "dtype": "fp32"}
    return _quality_records(head, settings, per, dense_metrics, pixels)


def _quality_records(
    head: dict[str, Any],
    settings: Sequence[AdaptiveSettings],
    per: Sequence[dict[str, Any]],
    dense_metrics: Any,
    pixels: int,
) -> list[dict[str, Any]]:
    """One ``adaptive_quality`` record per setting: ``head`` (what was scored), the settings, both
    mean F1s (points), their difference, the agreement and the shares of pixels queried."""
    f1_dense = 100 * dense_metrics.compute()["mean_f1"]
    records = []
    for s, p in zip(settings, per, strict=True):
        f1 = 100 * p["metrics"].compute()["mean_f1"]
        records.append(
            {
                "kind": "adaptive_quality",
                **head,
                **s.to_dict(),
                "mean_f1": {"dense": f1_dense, "adaptive": f1},
                "delta_points": f1 - f1_dense,
                "agreement": p["same"] / max(1, pixels),
                "share_queried": p["queried"] / max(1, pixels),
                "share_full": p["full"] / max(1, pixels),
            }
        )
    return records


def _cycle(images: Sequence[torch.Tensor]) -> Callable[[], torch.Tensor]:
    """The images in turn, forever: a timed call takes the next one."""
    it = itertools.cycle(images)
    return lambda: next(it)


def _row_stats(
    dense: nn.Module, adaptive: nn.Module, images: Sequence[torch.Tensor], size: int
) -> dict[str, Any]:
    """What an adaptive row carries beside its time, averaged over ``images``: share of pixels
    queried (every grid, and the output grid alone), agreement with dense, MACs performed."""
    from ..models.fast import count_performed_macs

    same = pixels = queried = full = 0
    macs = 0
    with torch.inference_mode():
        for image in images:
            a = adaptive(image, size)
            stats = adaptive.decoder.last_stats
            same += int((a.argmax(1) == dense(image, size).argmax(1)).sum())
            pixels += stats["pixels"]
            queried += stats["queried"]
            full += stats["queried_full"]
            macs += count_performed_macs(adaptive, image, size)
    n = len(images)
    return {
        "share_queried": queried / pixels,
        "share_full": full / pixels,
        "agreement": same / pixels,
        "macs": macs / n,
        "stat_images": n,
    }


def adaptive_cases(
    cfg: BenchConfig, device: torch.device, *, name: str = "fpliif", log: Callable[[str], None] | None = None
) -> list[Case]:
    """Per ``cfg.adaptive_sizes`` and dtype: the fast path with dense decoding (backend ``dense``)
    and with adaptive decoding (backend ``adaptive``) on the same model and images; their
    interleaved ratio is the adaptive target (``adaptive_pairs``). The model is
    ``cfg.adaptive_checkpoint``'s (model ``checkpoint``) fed the first ``cfg.adaptive_images`` of
    its test split at the bench's input size, or else ``name`` with the bench's random weights on
    random images. Each adaptive row's record carries ``_row_stats`` (its ``gmacs`` are the MACs
    performed, averaged over the images) and the settings."""
    from ..models import build_model
    from ..models.complexity import count_macs, count_parameters
    from ..models.fast import optimize_for_inference, real_macs

    settings = cfg.adaptive_settings or AdaptiveSettings()
    if cfg.adaptive_checkpoint is not None:
        if cfg.adaptive_dataset is None or cfg.adaptive_root is None:
            raise ValueError("an adaptive checkpoint needs its dataset and root")
        model, _ = load_trained(cfg.adaptive_checkpoint, device)
        images, _ = split_images(
            cfg.adaptive_dataset, cfg.adaptive_root, "test", cfg.input_size, cfg.adaptive_images
        )
        label = "checkpoint"
        source = f"{cfg.adaptive_checkpoint}, {len(images)} {cfg.adaptive_dataset} test images"
    else:
        torch.manual_seed(0)
        model = build_model(name, num_classes=cfg.num_classes)
        gen = torch.Generator().manual_seed(2)
        size = cfg.input_size
        images = [torch.rand(1, 3, size, size, generator=gen) for _ in range(cfg.adaptive_images)]
        label = name
        source = "random weights and images: share and agreement are not the method's"
    model = model.to(device).eval()
    images = [im.to(device) for im in images]
    params = count_parameters(model)
    counter = optimize_for_inference(model)  # MACs do not depend on the dtype
    cases: list[Case] = []
    for size in cfg.adaptive_sizes:
        paper = count_macs(model, input_size=cfg.input_size, out_size=size) / 1e9
        dense_gmacs = real_macs(counter, input_size=cfg.input_size, out_size=size, device=device) / 1e9
        for dtype in cfg.dtypes:
            dense = optimize_for_inference(model, dtype=DTYPES[dtype])
            fast = optimize_for_inference(model, dtype=DTYPES[dtype], decode="adaptive", adaptive=settings)
            stats = _row_stats(dense, fast, images, size) | {"adaptive": settings.to_dict(), "source": source}
            if log is not None:
                log(
                    f"  adaptive {dtype} {size}: {100 * stats['share_queried']:.1f}% of pixels queried, "
                    f"{100 * stats['agreement']:.2f}% agree with dense, "
                    f"{stats['macs'] / 1e9:.1f} of {dense_gmacs:.1f} GMACs ({source})"
                )
            for backend, m, gmacs, extra in (
                ("dense", dense, dense_gmacs, {"source": source}),
                ("adaptive", fast, stats.pop("macs") / 1e9, stats),
            ):
                cases.append(
                    Case(
                        model=label,
                        backend=backend,
                        dtype=dtype,
                        out_size=size,
                        pred_size=size,
                        input_size=cfg.input_size,
                        params=params,
                        gmacs=gmacs,
                        paper_gmacs=paper,
                        batches=(1,),
                        make=lambda m=m, e=extra, s=size: _runner(m, s, images, e),
                        note=f"fast path, {backend} decoding; {source}",
                    )
                )
    return cases


def adaptive_pairs(cases: Sequence[Case], cfg: BenchConfig, device: torch.device) -> list[dict[str, Any]]:
    """Each (dtype, size)'s dense (a) and adaptive (b) case timed interleaved: target
    ``adaptive {dtype} {size}``, value FPS(adaptive) / FPS(dense)."""
    if not cfg.pair_repeats:
        return []
    by_key = {(c.backend, c.dtype, c.out_size): c for c in cases}
    out = []
    for (backend, dtype, size), b in by_key.items():
        a = by_key.get(("dense", dtype, size))
        if backend != "adaptive" or a is None:
            continue
        calls = []
        for case in (a, b):
            with exact_fp32(device, dtype):
                fn = case.make()
            calls.append((lambda f=fn: f(None), dtype))
        rec = pair_record(f"adaptive {dtype} {size}", a, b, interleave(calls, cfg, device))
        rec["out_size"] = size
        out.append(rec)
    return out


def _runner(
    model: nn.Module, size: int, images: Sequence[torch.Tensor], extra: dict[str, Any]
) -> Callable[[torch.Tensor], Any]:
    """``fn(ignored)``: ``model`` on the next of ``images`` at ``size``; ``fn.extra`` goes into the
    row's record."""
    take = _cycle(images)

    def fn(_images: torch.Tensor) -> Any:
        with torch.inference_mode():
            return model(take(), size)

    fn.extra = dict(extra)  # type: ignore[attr-defined]
    return fn


__all__ = ["adaptive_cases", "adaptive_pairs", "adaptive_quality", "adaptive_sweep", "split_images"]
