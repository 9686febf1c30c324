"""Shapes, gradients and invariants of the FP-LIIF family."""

from __future__ import annotations

import pytest
import torch

from fpliif import build_model
from fpliif.models import VARIANTS, make_coord
from fpliif.models.decoder import LIIFDecoder

TINY = VARIANTS["fpliif-tiny"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("fpliif", num_classes=11).eval()


@pytest.mark.parametrize("out_size", [64, 96, 128, 256, 1024, (80, 200), (333, 17)])
def test_output_size_independent_of_input(model, out_size):
    images = torch.rand(2, 3, 64, 48)
    if out_size == 1024:  # same code path; the paper-size MLP would take ~40 s here
        model = build_model("fpliif-tiny").eval()
        images = images[:, :, :16, :16]
    with torch.no_grad():
        logits = model(images, out_size)
    size = (out_size, out_size) if isinstance(out_size, int) else out_size
    assert logits.shape == (2, 11, *size)
    assert torch.isfinite(logits).all()


def test_default_output_is_input_size(model):
    with torch.no_grad():
        assert model(torch.rand(1, 3, 50, 70)).shape == (1, 11, 50, 70)


def test_latent_is_quarter_resolution(model):
    with torch.no_grad():
        latent = model.encoder(torch.rand(1, 3, 256, 256))
    assert latent.shape == (1, 64, 64, 64)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_builds_and_runs(name):
    m = build_model(name, num_classes=19, **TINY).eval()
    with torch.no_grad():
        out = m(torch.rand(1, 3, 32, 32), (40, 24))
    assert out.shape == (1, 19, 40, 24)


def test_variants_differ_as_named():
    assert build_model("fpliif-bn").config.norm == "batch"
    assert build_model("fpliif-nonorm").config.norm == "none"
    assert build_model("fpliif-noens").config.ensemble is False
    assert build_model("fpliif-unet").config.decoder == "unet"
    with pytest.raises(ValueError, match="norm"):
        build_model("fpliif", norm="group")
    with pytest.raises(KeyError, match="unknown model"):
        build_model("nope")


@pytest.mark.parametrize("name", ["fpliif", "fpliif-unet", "fpliif-bn", "fpliif-noens"])
def test_gradients_reach_every_parameter(name):
    m = build_model(name, num_classes=11).train()
    logits = m(torch.rand(2, 3, 32, 32), 24)
    logits.square().mean().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_coords_match_grid_decoding(model):
    images = torch.rand(2, 3, 32, 32)
    coords = make_coord((20, 30)).unsqueeze(0).expand(2, -1, -1)
    with torch.no_grad():
        grid = model(images, (20, 30))
        points = model(images, coords=coords)
    assert points.shape == (2, 11, 600)
    torch.testing.assert_close(points.view(2, 11, 20, 30), grid)


def test_chunked_decoding_is_exact():
    torch.manual_seed(1)
    big = build_model("fpliif", **TINY).eval()
    small = build_model("fpliif", **TINY, max_queries=97).eval()
    small.load_state_dict(big.state_dict())
    images = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(small(images, (45, 37)), big(images, (45, 37)))
    # also with autograd on (the chunks are concatenated instead of written in place)
    torch.testing.assert_close(small(images, (45, 37)), big(images, (45, 37)))


def test_local_ensemble_weights_sum_to_one():
    """With a pixel MLP that ignores its input, the area-weighted ensemble returns its output."""
    dec = LIIFDecoder(in_channels=8, num_classes=3, reduce_channels=(8, 4), hidden=(8,))
    with torch.no_grad():
        for p in dec.mlp.parameters():
            p.zero_()
        dec.mlp.layers[-1].bias.copy_(torch.tensor([1.0, -2.0, 0.5]))
        out = dec(torch.randn(2, 8, 5, 7), out_size=(13, 11))
    torch.testing.assert_close(out, torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1).expand(2, 3, 13, 11))


def test_decoder_is_local():
    """A query sees only the latent cells around it (3x3 unfolding of the 4 ensemble cells) and the mean.

    Changing two far-away cells by +d and -d keeps the global mean, so queries near the opposite
    corner must not move, while queries on the changed cells must.
    """
    torch.manual_seed(2)
    dec = LIIFDecoder(in_channels=8, num_classes=3, reduce_channels=(8, 4), hidden=(8,)).eval()
    latent = torch.randn(1, 8, 8, 8)
    changed = latent.clone()
    changed[..., 0, 0] += 3.0
    changed[..., 0, 1] -= 3.0
    with torch.no_grad():
        a = dec(latent, out_size=(32, 32))
        b = dec(changed, out_size=(32, 32))
    torch.testing.assert_close(a[..., 20:, 20:], b[..., 20:, 20:])
    assert (a[..., :4, :8] - b[..., :4, :8]).abs().max() > 1e-3


@pytest.mark.parametrize("ensemble", [True, False])
def test_local_ensemble_makes_output_continuous(ensemble):
    """Across a latent cell boundary LIIF without the ensemble jumps; with it, it does not."""
    torch.manual_seed(3)
    dec = LIIFDecoder(
        in_channels=8, num_classes=3, reduce_channels=(8, 4), hidden=(16,), ensemble=ensemble
    ).eval()
    latent = torch.randn(1, 8, 4, 4)
    boundary = 0.0  # between latent cells 1 and 2 of a 4-cell axis
    d = 1e-4
    coords = torch.tensor([[[0.1, boundary - d], [0.1, boundary + d]]])
    with torch.no_grad():
        out = dec(latent, coords=coords)
    jump = (out[..., 0] - out[..., 1]).abs().max().item()
    if ensemble:
        assert jump < 1e-2
    else:
        assert jump > 1e-2


def test_make_coord_pixel_centres():
    c = make_coord((2, 4))
    assert c.shape == (8, 2)
    torch.testing.assert_close(c[:4, 1], torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    torch.testing.assert_close(c[::4, 0], torch.tensor([-0.5, 0.5]))


def test_probabilities_apply_temperature():
    m = build_model("fpliif", temperature=0.5, **TINY)
    logits = torch.tensor([[[[1.0]], [[0.0]]]])
    p = m.probabilities(logits)
    torch.testing.assert_close(p[0, :, 0, 0], torch.softmax(torch.tensor([2.0, 0.0]), 0))


def test_bad_inputs_are_refused(model):
    with pytest.raises(ValueError, match=r"\[B,3,H,W\]"):
        model(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="positive"):
        model(torch.rand(1, 3, 32, 32), 0)


@pytest.mark.parametrize("name", ["fpliif-tiny", "fpliif-unet"])
def test_forward_sizes_matches_separate_calls(name):
    m = build_model(name).eval()
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        many = m.forward_sizes(images, [16, (20, 40), 32])
        for size, logits in many.items():
            torch.testing.assert_close(logits, m(images, size))
    assert list(many) == [(16, 16), (20, 40), (32, 32)]
