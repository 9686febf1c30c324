"""A small FP-LIIF learns: it overfits a handful of synthetic images."""

from __future__ import annotations

import torch

from fpliif import build_model
from fpliif.losses import FaceParsingLoss
from fpliif.metrics import SegmentationMetrics


def _shapes(n: int, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with a disc (label 1) and a bar (label 2) whose colours vary; [n,3,S,S], [n,S,S]."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    images = torch.empty(n, 3, size, size)
    labels = torch.zeros(n, size, size, dtype=torch.long)
    for i in range(n):
        cy, cx = torch.randint(8, size - 8, (2,), generator=g).tolist()
        r = torch.randint(4, 7, (1,), generator=g).item()
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        bar_y = torch.randint(2, size - 4, (1,), generator=g).item()
        bar = (yy >= bar_y) & (yy < bar_y + 2) & ~disc
        labels[i][disc] = 1
        labels[i][bar] = 2
        images[i] = torch.rand(3, 1, 1, generator=g) * 0.3 + 0.1 * torch.rand(3, size, size, generator=g)
        images[i][:, disc] = torch.rand(3, 1, generator=g) * 0.3 + 0.7
        images[i][:, bar] = torch.rand(3, 1, generator=g) * 0.3 + 0.4
    return images, labels


def test_tiny_model_overfits_a_few_images():
    torch.manual_seed(0)
    images, labels = _shapes(6)
    model = build_model("fpliif-tiny", num_classes=3)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = FaceParsingLoss(edge_weight=1.0)
    first = None
    for _ in range(150):
        loss = loss_fn(model(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    metrics = SegmentationMetrics(3)
    model.eval()
    metrics.update(model.predict(images), labels)
    scores = metrics.compute()
    assert loss.item() < first / 5, (first, loss.item())
    assert scores["mean_f1"] > 0.9, scores


def test_untrained_model_does_not_pass_the_same_bar():
    """The bar above is not trivially met: an untrained model fails it."""
    images, labels = _shapes(6)
    model = build_model("fpliif-tiny", num_classes=3).eval()
    metrics = SegmentationMetrics(3)
    metrics.update(model.predict(images), labels)
    assert metrics.compute()["mean_f1"] < 0.5
