"""ONNX export at a fixed output size, checked against PyTorch with onnxruntime."""

from __future__ import annotations

import pytest
import torch

from fpliif import build_model
from fpliif.cli import main
from fpliif.export import FixedSizeFPLIIF, check_onnx, export_onnx, latent_size

pytest.importorskip("onnxruntime")


def test_latent_size_matches_the_encoder():
    model = build_model("fpliif-tiny").eval()
    for hw in ((48, 48), (45, 50), (256, 256)):
        with torch.inference_mode():
            lat = model.encoder(torch.rand(1, 3, *hw))
        assert tuple(lat.shape[-2:]) == latent_size(hw)


@pytest.mark.parametrize("options", [{}, {"decoder": "unet", "unet_widths": (16, 16, 16)}])
def test_export_matches_pytorch_with_dynamic_batch(tmp_path, options):
    model = build_model("fpliif-tiny", **options).eval()
    fixed = FixedSizeFPLIIF(model, 36, 48)
    images = torch.rand(2, 3, 48, 48)
    with torch.inference_mode():
        assert (fixed(images) - model(images, 36)).abs().max() < 1e-5
    path = export_onnx(model, tmp_path / "tiny.onnx", out_size=36, input_size=48)
    res = check_onnx(model, path, out_size=36, input_size=48, batch=3)  # exported with batch 2
    assert res["max_abs_diff"] < 1e-4 and res["label_agreement"] > 0.999


def test_export_cli_from_checkpoint(tmp_path, capsys):
    from fpliif.engine.checkpoint import atomic_save, make_checkpoint

    model = build_model("fpliif-tiny")
    ckpt = tmp_path / "tiny.pt"
    atomic_save(make_checkpoint(model, model_name="fpliif-tiny"), ckpt)
    out = tmp_path / "m.onnx"
    argv = ["export", "--checkpoint", str(ckpt), "--size", "40", "--input-size", "48", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert out.is_file() and "max abs diff" in text and "[B,K,40,40]" in text


def test_export_cli_untrained_model(tmp_path, capsys):
    out = tmp_path / "u.onnx"
    argv = ["export", "--model", "fpliif-tiny", "--size", "24", "--input-size", "32", "--out", str(out)]
    assert main(argv) == 0
    assert out.is_file() and "untrained fpliif-tiny" in capsys.readouterr().out


def test_export_refuses_other_models(tmp_path):
    from fpliif.errors import FpliifError

    with pytest.raises(FpliifError, match="only FP-LIIF"):
        export_onnx(torch.nn.Conv2d(3, 3, 1), tmp_path / "x.onnx")
