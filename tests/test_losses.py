"""The loss on hand-made label maps whose edges are known."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fpliif.losses import FaceParsingLoss, edge_mask


def test_edges_of_a_square():
    lab = torch.zeros(6, 6, dtype=torch.long)
    lab[2:4, 2:4] = 1
    edges = edge_mask(lab)
    # every pixel whose 3x3 neighbourhood touches the other label: the 4x4 ring around it and the square
    expected = torch.zeros(6, 6, dtype=torch.bool)
    expected[1:5, 1:5] = True
    assert torch.equal(edges, expected)


def test_uniform_map_and_borders_have_no_edges():
    assert not edge_mask(torch.full((1, 5, 7), 3)).any()
    lab = torch.zeros(4, 4, dtype=torch.long)
    lab[:, 2:] = 2  # a vertical boundary touching the map border
    edges = edge_mask(lab)
    assert edges[:, 1:3].all() and not edges[:, [0, 3]].any()


def test_ignored_pixels_make_no_edges():
    lab = torch.zeros(5, 5, dtype=torch.long)
    lab[2, 2] = 255
    assert not edge_mask(lab).any()
    lab[0, 0] = 1
    edges = edge_mask(lab)
    assert edges[0, 0] and edges[1, 1] and not edges[2, 2]


def test_batch_and_extra_dims():
    lab = torch.zeros(2, 3, 4, 4, dtype=torch.long)
    lab[1, 2, 0, 0] = 1
    edges = edge_mask(lab)
    assert edges.shape == lab.shape
    assert edges.sum() == 4 and edges[1, 2, :2, :2].all()


def test_uniform_logits_give_log_k():
    k = 7
    logits = torch.zeros(2, k, 8, 8)
    target = torch.randint(0, k, (2, 8, 8))
    loss = FaceParsingLoss(edge_weight=10.0)
    assert loss(logits, target).item() == pytest.approx((1 + 10) * math.log(k), rel=1e-6)


def test_edge_term_only_counts_edges():
    """Make the prediction wrong on one interior pixel: CE sees it, edge-CE does not."""
    target = torch.zeros(1, 6, 6, dtype=torch.long)
    target[0, :, 3:] = 1
    logits = F.one_hot(target, 2).permute(0, 3, 1, 2).float() * 20
    logits[0, :, 0, 0] = torch.tensor([0.0, 20.0])  # wrong, far from the boundary
    loss = FaceParsingLoss(edge_weight=40.0)
    total = loss(logits, target)
    assert loss.last["edge_ce"].item() < 1e-6
    assert loss.last["ce"].item() == pytest.approx(20 / 36, rel=1e-3)
    assert total.item() == pytest.approx(loss.last["ce"].item() + 40 * loss.last["edge_ce"].item(), rel=1e-6)
    logits[0, :, 2, 2] = torch.tensor([0.0, 20.0])  # wrong on the boundary: now both see it
    loss(logits, target)
    assert loss.last["edge_ce"].item() == pytest.approx(20 / 12, rel=1e-3)


def test_matches_manual_formula_with_temperature_and_ignore():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 9, 9)
    target = torch.randint(0, 5, (2, 9, 9))
    target[0, 0, :] = 255
    t, lam = 0.7, 3.0
    got = FaceParsingLoss(edge_weight=lam, temperature=t)(logits, target)
    ce_map = F.cross_entropy(logits / t, target, ignore_index=255, reduction="none")
    valid = target != 255
    edges = edge_mask(target) & valid
    expected = ce_map[valid].mean() + lam * ce_map[edges].mean()
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_sampled_points_need_edges():
    logits = torch.randn(2, 3, 50)
    target = torch.randint(0, 3, (2, 50))
    with pytest.raises(ValueError, match="edges"):
        FaceParsingLoss()(logits, target)
    edges = torch.zeros(2, 50, dtype=torch.bool)
    edges[:, :5] = True
    loss = FaceParsingLoss(edge_weight=1.0)
    got = loss(logits, target, edges)
    ce = F.cross_entropy(logits, target, reduction="none")
    assert got.item() == pytest.approx((ce.mean() + ce[:, :5].mean()).item(), rel=1e-5)


def test_gradient_flows_and_shapes_checked():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    FaceParsingLoss()(logits, torch.randint(0, 3, (1, 4, 4))).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="do not match"):
        FaceParsingLoss()(torch.randn(1, 3, 4, 4), torch.zeros(1, 5, 5, dtype=torch.long))
