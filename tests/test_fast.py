"""The fast inference path computes the paper-faithful function (fpliif.models.fast)."""

from __future__ import annotations

import pytest
import torch

from fpliif import build_model
from fpliif.models import fast as fast_module
from fpliif.models.complexity import count_macs
from fpliif.models.fast import FastFPLIIF, optimize_for_inference, real_macs
from fpliif.precision import native_bf16


def _spread(model: torch.nn.Module) -> torch.nn.Module:
    """Random-init logits are ~0.1; scale the output layer so tolerances mean something."""
    model.eval()
    with torch.no_grad():
        if model.config.decoder == "liif":
            model.decoder.mlp.layers[-1].weight.mul_(40)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial running statistics
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model


def _compare(model, fast, images, size, **kw):
    with torch.inference_mode():
        ref = model(images, size, **kw)
        out = fast(images, size, **kw)
    assert out.shape == ref.shape and out.dtype == torch.float32
    return (out - ref).abs().max().item(), ref.abs().max().item()


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("fpliif-tiny", {}),
        ("fpliif-tiny", {"norm": "batch"}),
        ("fpliif-tiny", {"norm": "none"}),
        ("fpliif-tiny", {"ensemble": False}),
        ("fpliif-tiny", {"reduce_channels": (8,), "hidden": (16,)}),  # one-layer RCMLP, one hidden layer
        ("fpliif-tiny", {"decoder": "unet", "unet_widths": (16, 16, 16)}),
    ],
)
@pytest.mark.parametrize(
    ("batch", "in_hw", "size"), [(1, (48, 48), 12), (2, (48, 40), 36), (3, (45, 50), (37, 29))]
)
def test_fast_equals_paper_forward(name, options, batch, in_hw, size):
    """Latent 12x12 from a 48 input: output 12 coincides with the latent grid (pruned ensemble),
    36 puts every third row on cell centres, 37x29 is off-grid; odd input sizes too."""
    model = _spread(build_model(name, **options))
    fast = optimize_for_inference(model)
    diff, scale = _compare(model, fast, torch.rand(batch, 3, *in_hw), size)
    assert diff <= 2e-5 * max(1.0, scale), (diff, scale)


@pytest.mark.parametrize("name", ["fpliif", "fpliif-noens"])
def test_full_model_small_input(name):
    model = _spread(build_model(name))
    fast = optimize_for_inference(model)
    for size in (16, 24, 40):
        diff, scale = _compare(model, fast, torch.rand(2, 3, 64, 64), size)
        assert diff <= 2e-5 * max(1.0, scale), (size, diff, scale)


def test_default_size_coords_and_chunking():
    model = _spread(build_model("fpliif-tiny"))
    images = torch.rand(2, 3, 32, 32)
    small_chunks = optimize_for_inference(model, chunk_rows=50, micro_batch=None)
    diff, scale = _compare(model, small_chunks, images, None)  # out_size None: the input size
    assert diff <= 2e-5 * max(1.0, scale)
    coords = torch.rand(2, 300, 2) * 2 - 1
    with torch.inference_mode():
        ref = model(images, coords=coords)
        out = small_chunks(images, coords=coords)
    assert out.shape == ref.shape == (2, 11, 300)
    assert (out - ref).abs().max() <= 2e-5 * max(1.0, ref.abs().max().item())


def test_predict_and_non_fpliif_passthrough():
    model = _spread(build_model("fpliif-tiny"))
    fast = optimize_for_inference(model)
    assert isinstance(fast, FastFPLIIF) and fast.num_classes == 11
    images = torch.rand(1, 3, 32, 32)
    assert torch.equal(fast.predict(images, 20), model.predict(images, 20))
    other = torch.nn.Conv2d(3, 3, 1)
    assert optimize_for_inference(other) is other
    with pytest.raises(ValueError, match="images must be"):
        fast(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="dtype"):
        optimize_for_inference(model, dtype=torch.float64)


@pytest.mark.parametrize("onednn", [True, False])
def test_bf16_path_close(monkeypatch, onednn):
    """The fused oneDNN GEMMs where the CPU has bf16 kernels, plain ``F.linear`` where it has none
    (oneDNN then cannot even build the primitive): both stay close to the fp32 forward."""
    if onednn and not native_bf16("cpu"):
        pytest.skip("this CPU has no oneDNN bf16 kernels")
    monkeypatch.setattr(fast_module, "native_bf16", lambda device="cpu": onednn)
    model = _spread(build_model("fpliif-tiny"))
    fast = optimize_for_inference(model, dtype=torch.bfloat16)
    images = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        ref = model(images, 64)
        out = fast(images, 64)
    assert out.dtype == torch.float32
    agree = (out.argmax(1) == ref.argmax(1)).float().mean().item()
    assert agree >= 0.97, agree
    assert (out - ref).abs().max() <= 0.05 * ref.abs().max()


def test_performed_macs_below_paper_count():
    model = build_model("fpliif")
    fast = optimize_for_inference(model)
    for size in (16, 64):  # latent 16x16: 16 is the degenerate grid, 64 the regular 4x case
        paper = count_macs(model, input_size=64, out_size=size)
        real = real_macs(fast, input_size=64, out_size=size)
        assert real < paper, (size, real, paper)
    # At the latent grid's own size three of four ensemble evaluations carry ~1e-9 of the weight.
    decoder_paper = count_macs(model, input_size=64, out_size=16) - count_macs(
        model, input_size=64, out_size=1
    )
    assert real_macs(fast, input_size=64, out_size=16) < count_macs(
        model, input_size=64, out_size=16
    ) - 0.5 * (decoder_paper)


def test_performed_macs_exact_without_ensemble():
    """No ensemble: per query the first layer costs 2*256 instead of 130*256, plus, once per image,
    the 64->256 table on the latent grid and the global feature's 64->256 share; nothing else changes."""
    model = build_model("fpliif-noens")
    fast = optimize_for_inference(model)
    size, latent = 40, 16
    paper = count_macs(model, input_size=64, out_size=size)
    real = real_macs(fast, input_size=64, out_size=size)
    assert real == paper - size * size * 128 * 256 + latent * latent * 64 * 256 + 64 * 256


def test_large_output_memory_is_bounded():
    """A 1024x1024 output: resident memory grows by the output tensor plus a bounded working set
    (chunks of ``chunk_rows`` MLP rows), measured in a fresh process."""
    from fpliif.bench import measure_memory

    rec = measure_memory("fpliif-tiny", out_size=1024, input_size=64, threads=1)
    if not rec["peak_reset"]:
        pytest.skip("cannot reset the peak RSS counter here (/proc/self/clear_refs)")
    assert rec["output_mb"] == pytest.approx(11 * 1024 * 1024 * 4 / 2**20)
    assert rec["rss_growth_mb"] <= rec["output_mb"] + 64, rec
