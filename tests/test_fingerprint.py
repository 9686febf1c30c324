"""The paper's own figures pin the architecture down (Tables 4 and 6, section 5.1)."""

from __future__ import annotations

import pytest

from fpliif import build_model
from fpliif.models.complexity import (
    PAPER_COUNTED_CLASSES,
    PAPER_GMACS,
    PAPER_PARAMS,
    PAPER_UNET_PARAMS,
    count_macs,
    count_parameters,
)


@pytest.fixture(scope="module")
def model():
    return build_model("fpliif", num_classes=11)


def test_parameters_match_paper(model):
    params = count_parameters(model)
    assert abs(params / PAPER_PARAMS - 1) < 0.005, params


@pytest.fixture(scope="module")
def counted_model():
    """The model the paper's Table 6 was counted on (CelebAMask-HQ's 19 classes)."""
    return build_model("fpliif", num_classes=PAPER_COUNTED_CLASSES)


@pytest.mark.parametrize("out_size", sorted(PAPER_GMACS))
def test_paper_convention_matches_table6(counted_model, out_size):
    gmacs = count_macs(counted_model, input_size=256, out_size=out_size, convention="paper") / 1e9
    assert abs(gmacs / PAPER_GMACS[out_size] - 1) < 0.002, (out_size, gmacs)


def test_paper_convention_adds_norms_and_pool(model):
    """Instance norm at 5 operations per element (affine) in the three groups, the global pool at 1."""
    macs = count_macs(model, input_size=256, out_size=64)
    paper = count_macs(model, input_size=256, out_size=64, convention="paper")
    norm_elements = 64 * (2 * 2 * 256**2 + 6 * 2 * 128**2 + 16 * 2 * 64**2)
    assert paper - macs == 5 * norm_elements + 64 * 64**2


def test_paper_convention_counts_batch_norm_as_fvcore():
    """Eval-mode batch norm at 2 per element (affine); no norm adds only the pool."""
    bn, nonorm = build_model("fpliif-bn"), build_model("fpliif-nonorm")
    norm_elements = 64 * (2 * 2 * 256**2 + 6 * 2 * 128**2 + 16 * 2 * 64**2)
    for m, extra in ((bn, 2 * norm_elements), (nonorm, 0)):
        diff = count_macs(m, out_size=64, convention="paper") - count_macs(m, out_size=64)
        assert diff == extra + 64 * 64**2


def test_unknown_convention_is_refused(model):
    with pytest.raises(ValueError, match="convention"):
        count_macs(model, out_size=64, convention="fvcore")


def test_macs_are_affine_in_output_pixels(model):
    """Four MLP evaluations per output pixel (the local ensemble) on top of a fixed encoder cost."""
    a = count_macs(model, input_size=256, out_size=64)
    b = count_macs(model, input_size=256, out_size=128)
    per_pixel = (b - a) / (128**2 - 64**2)
    mlp = 130 * 256 + 3 * 256 * 256 + 256 * 11
    assert per_pixel == pytest.approx(4 * mlp, rel=1e-6)


def test_no_ensemble_quarters_decoder_cost():
    m = build_model("fpliif-noens")
    a = count_macs(m, input_size=256, out_size=64)
    b = count_macs(m, input_size=256, out_size=128)
    assert (b - a) / (128**2 - 64**2) == pytest.approx(130 * 256 + 3 * 256 * 256 + 256 * 11, rel=1e-6)


def test_unet_ablation_parameters():
    params = count_parameters(build_model("fpliif-unet", num_classes=11))
    assert abs(params / PAPER_UNET_PARAMS - 1) < 0.05, params


@pytest.mark.parametrize("name", ["fpliif-bn", "fpliif-nonorm"])
def test_norm_ablations_change_only_norm_parameters(name):
    """BN has the same affine parameters as affine IN; no norm drops 2*64 per conv in 24 blocks."""
    params = count_parameters(build_model(name))
    expected = 2_289_163 if name == "fpliif-bn" else 2_289_163 - 24 * 2 * 2 * 64
    assert params == expected
