"""Metrics against an independent computation (scikit-learn) and the peers' protocol."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.metrics import f1_score, jaccard_score

from fpliif.metrics import HELEN_COMPOSITES, SegmentationMetrics, confusion_matrix


def _random_maps(seed: int, k: int = 11, n: int = 6, size: int = 32):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, k, (n, size, size), generator=g)
    noise = torch.rand(n, size, size, generator=g)
    pred = torch.where(noise < 0.7, target, torch.randint(0, k, (n, size, size), generator=g))
    target[:, :3] = 255  # ignored rows
    return pred, target


def test_matches_sklearn_over_the_whole_set():
    m = SegmentationMetrics(11)
    preds, targets = [], []
    for seed in range(3):  # several batches, one confusion matrix
        p, t = _random_maps(seed)
        m.update(p, t)
        preds.append(p), targets.append(t)
    p = torch.cat(preds).flatten().numpy()
    t = torch.cat(targets).flatten().numpy()
    keep = t != 255
    ref_f1 = f1_score(t[keep], p[keep], labels=list(range(11)), average=None)
    ref_iou = jaccard_score(t[keep], p[keep], labels=list(range(11)), average=None)
    out = m.compute()
    np.testing.assert_allclose(out["f1"], ref_f1, rtol=1e-9)
    np.testing.assert_allclose(out["iou"], ref_iou, rtol=1e-9)
    assert out["mean_f1"] == pytest.approx(ref_f1[1:].mean())
    assert out["miou"] == pytest.approx(ref_iou[1:].mean())
    assert out["pixels"] == int(keep.sum())


def test_set_level_differs_from_per_image_average():
    """Two images: one with a tiny, missed eye; the set-level F1 weighs it by pixels."""
    t = torch.zeros(2, 10, 10, dtype=torch.long)
    t[0, :5] = 1
    t[1, 0, 0] = 1
    p = t.clone()
    p[1, 0, 0] = 0
    m = SegmentationMetrics(2)
    m.update(p, t)
    assert m.compute()["f1"][1] == pytest.approx(2 * 50 / (51 + 50))


def test_background_excluded_and_absent_classes_nan():
    t = torch.tensor([[0, 0, 1, 1]])
    p = torch.tensor([[1, 0, 1, 1]])
    m = SegmentationMetrics(3)
    m.update(p, t)
    out = m.compute()
    assert math.isnan(out["f1"][2])
    assert out["mean_f1"] == pytest.approx(out["f1"][1])  # class 0 and the absent class 2 left out
    assert out["f1"][1] == pytest.approx(2 * 2 / (2 + 3))


def test_helen_composites_forgive_left_right_swaps():
    t = torch.zeros(1, 4, 4, dtype=torch.long)
    t[0, 0, :2] = 4  # left eye
    t[0, 0, 2:] = 5  # right eye
    p = t.clone()
    p[0, 0, :2] = 5  # swapped
    p[0, 0, 2:] = 4
    m = SegmentationMetrics(11, composites=HELEN_COMPOSITES)
    m.update(p, t)
    out = m.compute()
    assert out["f1"][4] == 0 and out["f1"][5] == 0
    assert out["composite_f1"]["eyes"] == 1.0
    assert out["composite_f1"]["overall"] == 1.0
    assert math.isnan(out["composite_f1"]["mouth"])


def test_mouth_composite_matches_union():
    pred, target = _random_maps(5)
    m = SegmentationMetrics(11, composites=HELEN_COMPOSITES)
    m.update(pred, target)
    mouth = torch.tensor([7, 8, 9])
    keep = target != 255
    g = torch.isin(target[keep], mouth)
    q = torch.isin(pred[keep], mouth)
    ref = 2 * (g & q).sum().item() / (g.sum().item() + q.sum().item())
    assert m.compute()["composite_f1"]["mouth"] == pytest.approx(ref)


def test_out_of_range_ids_are_refused():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(torch.zeros(3, dtype=torch.long), torch.tensor([0, 11, 1]), 11)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(torch.zeros(3), torch.zeros(4), 11)
    with pytest.raises(ValueError, match="composite"):
        SegmentationMetrics(3, composites={"x": (1, 5)})


def test_reset():
    m = SegmentationMetrics(3)
    m.update(torch.ones(4, dtype=torch.long), torch.ones(4, dtype=torch.long))
    m.reset()
    assert m.confusion.sum() == 0


def _ddp_worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        pred, target = _random_maps(100 + rank)
        m = SegmentationMetrics(11)
        m.update(pred, target)
        out = m.compute()
        if rank == 0:
            queue.put(out["f1"])
    finally:
        dist.destroy_process_group()


def test_ddp_merge_equals_single_process():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    mp.start_processes(_ddp_worker, args=(2, port, queue), nprocs=2, start_method="spawn")
    merged = queue.get(timeout=30)
    single = SegmentationMetrics(11)
    for rank in range(2):
        single.update(*_random_maps(100 + rank))
    np.testing.assert_allclose(merged, single.compute()["f1"])
