from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """An untrained fpliif-tiny checkpoint on LaPa's 11 classes (inputs 256, the default)."""
    from fpliif import build_model
    from fpliif.engine.checkpoint import atomic_save, make_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    torch.manual_seed(0)
    model = build_model("fpliif-tiny", num_classes=11)
    atomic_save(make_checkpoint(model, model_name="fpliif-tiny", dataset="lapa", train_config=None), path)
    return path
