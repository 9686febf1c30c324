"""Config, samplers, per-sample seeding and checkpoints: the engine's building blocks."""

from __future__ import annotations

import pickle

import pytest
import torch

from fpliif import build_model, precision
from fpliif.engine.checkpoint import (
    atomic_save,
    check_compatible,
    load_checkpoint,
    load_model,
    make_checkpoint,
)
from fpliif.engine.config import TrainConfig, load_config
from fpliif.engine.distributed import GlobalBatchSampler, ShardSampler
from fpliif.engine.sampling import SeededView, balanced_points, pixel_coords, sample_seed
from fpliif.engine.train import check_resume_compatible
from fpliif.errors import CheckpointError, ConfigError
from fpliif.precision import native_bf16, pick_dtype, training_dtype


# -- config ---------------------------------------------------------------------------------
def test_defaults_are_the_papers_recipe():
    cfg = TrainConfig()
    assert (cfg.optim.lr, cfg.optim.epochs, cfg.optim.lr_step, cfg.optim.lr_gamma) == (5e-4, 400, 20, 0.1)
    assert cfg.data.image_size == 256 and cfg.data.augment and not cfg.data.hflip


def test_presets_load_with_paper_values():
    lapa = load_config("paper-lapa")
    celeb = load_config("paper-celebamask-hq")
    assert (lapa.optim.batch_size, lapa.optim.edge_weight, lapa.data.name) == (64, 40.0, "lapa")
    assert (celeb.optim.batch_size, celeb.optim.edge_weight, celeb.data.name) == (33, 10.0, "celebamask-hq")


def test_batch_size_readings():
    """Global by default (split over the ranks); per device when asked (docs/paper.md, "Readings")."""
    o = load_config("paper-celebamask-hq").optim
    assert not o.batch_per_device and o.global_batch(4) == 33 and o.global_batch(1) == 33
    o.batch_per_device = True
    assert o.global_batch(4) == 132 and o.global_batch(1) == 33


def test_paper_configs_train_in_fp32():
    for name in ("paper-lapa", "paper-celebamask-hq", "paper-helen"):
        assert load_config(name).optim.amp == "fp32"


def test_overrides_and_type_checks(tmp_path):
    cfg = load_config("paper-lapa", ["optim.lr=1e-3", "model.options={temperature: 0.5}", "run.out=x"])
    assert cfg.optim.lr == 1e-3 and cfg.model.options == {"temperature": 0.5} and cfg.run.out == "x"
    with pytest.raises(ConfigError, match="optim.lrr"):
        load_config(None, ["optim.lrr=1"])
    with pytest.raises(ConfigError, match="integer"):
        load_config(None, ["optim.epochs=ten"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["epochs"])
    with pytest.raises(ConfigError, match="no config named"):
        load_config("no-such-preset")
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim: [1, 2]\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_resume_compatibility():
    saved = TrainConfig().to_dict()
    check_resume_compatible(saved, load_config(None, ["optim.epochs=500", "data.root=/elsewhere"]))
    with pytest.raises(ConfigError, match="optim.lr"):
        check_resume_compatible(saved, load_config(None, ["optim.lr=0.1"]))


def test_amp_resolution():
    cpu = torch.device("cpu")
    assert training_dtype("auto", cpu) == (torch.bfloat16 if native_bf16(cpu) else None)
    assert training_dtype("fp32", cpu) is None
    with pytest.raises(ConfigError, match="fp16 needs CUDA"):
        training_dtype("fp16", cpu)
    with pytest.raises(ConfigError, match="optim.amp must be"):
        training_dtype("int8", cpu)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch, native):
    """Without AVX-512, PyTorch emulates bf16 tens of times slower than fp32: auto picks fp32
    there, and an explicit bf16 is kept with a warning."""
    monkeypatch.setattr(precision, "_cpu_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert pick_dtype("auto", cpu) == ("bf16" if native else "fp32")
    assert training_dtype("auto", cpu) == (torch.bfloat16 if native else None)
    assert pick_dtype("fp32", cpu) == "fp32" and pick_dtype("float32", cpu) == "fp32"
    if native:
        assert pick_dtype("bf16", cpu) == "bf16"
    else:
        with pytest.warns(RuntimeWarning, match="emulated"):
            assert pick_dtype("bf16", cpu) == "bf16"


def test_the_cpu_bf16_probe_matches_onednn():
    assert native_bf16("cpu") == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    assert native_bf16("meta") is False


# -- samplers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("world,batch", [(2, 8), (4, 33), (3, 10)])
def test_ranks_together_see_the_single_process_batches(world, batch):
    single = list(GlobalBatchSampler(100, global_batch=batch, seed=3))
    shards = [
        list(GlobalBatchSampler(100, global_batch=batch, rank=r, world_size=world, seed=3))
        for r in range(world)
    ]
    assert all(len(s) == len(single) == 100 // batch for s in shards)
    for step, full in enumerate(single):
        parts = [shards[r][step] for r in range(world)]
        assert sorted(i for p in parts for i in p) == sorted(full)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = GlobalBatchSampler(50, global_batch=5, seed=1)
    b = GlobalBatchSampler(50, global_batch=5, seed=1)
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b)
    b.set_epoch(4)
    assert list(a) != list(b)


def test_eval_shards_cover_each_sample_once():
    shards = [list(ShardSampler(11, rank=r, world_size=3)) for r in range(3)]
    assert sorted(i for s in shards for i in s) == list(range(11))
    assert [len(ShardSampler(11, rank=r, world_size=3)) for r in range(3)] == [4, 4, 3]


# -- per-sample randomness ----------------------------------------------------------------------
class _Noise(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"image": torch.rand(3, 4, 4), "label": torch.randint(0, 3, (8, 8)), "name": str(i)}


def test_seeded_view_is_order_independent():
    v = SeededView(_Noise(), seed=7, sample_points=10)
    v.set_epoch(2)
    forward = [v[i]["image"] for i in range(6)]
    torch.rand(100)  # global RNG state must not matter
    backward = [v[i]["image"] for i in reversed(range(6))][::-1]
    assert all(torch.equal(a, b) for a, b in zip(forward, backward, strict=True))
    v.set_epoch(3)
    assert not torch.equal(v[0]["image"], forward[0])
    assert sample_seed(7, 2, 0) != sample_seed(7, 2, 1) != sample_seed(8, 2, 1)


def _pixels_of(item: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Invert pixel_coords: the (y, x) pixel of each sampled coordinate."""
    h, w = item["label"].shape
    y = ((item["coords"][:, 0] + 1) * h / 2).floor().long()
    x = ((item["coords"][:, 1] + 1) * w / 2).floor().long()
    return y, x


@pytest.mark.parametrize("balance", [0.0, 1.0])
def test_point_samples_agree_with_the_map(balance):
    v = SeededView(_Noise(), seed=0, sample_points=20, point_balance=balance)
    item = v[1]
    y, x = _pixels_of(item)
    assert torch.equal(item["label"][y, x], item["point_label"])
    assert len(set((y * item["label"].shape[1] + x).tolist())) == 20  # without replacement
    assert torch.equal(v[1]["coords"], item["coords"])  # seeded: the same draw twice
    torch.testing.assert_close(
        pixel_coords(torch.tensor([0, 7]), (2, 4)), torch.tensor([[-0.5, -0.75], [0.5, 0.75]])
    )


def test_balanced_points_even_out_the_classes():
    # 100x100 map: class 0 on 89% of the pixels, class 1 on 9%, class 2 on 1%, 1% ignored
    lab = torch.zeros(100, 100, dtype=torch.long)
    lab[:9] = 1
    lab[9, :] = 2
    lab[10, :] = 255
    torch.manual_seed(0)
    uniform = lab.reshape(-1)[balanced_points(lab, 300, 0.0)]
    torch.manual_seed(0)
    even = lab.reshape(-1)[balanced_points(lab, 300, 1.0)]
    torch.manual_seed(0)
    sqrt = lab.reshape(-1)[balanced_points(lab, 300, 0.5)]
    count = lambda t, c: int((t == c).sum())  # noqa: E731
    assert count(uniform, 2) < 12 and count(uniform, 0) > 230  # about 3 and 267 expected
    assert all(70 <= count(even, c) <= 130 for c in (0, 1, 2))  # about 100 each
    assert count(uniform, 2) < count(sqrt, 2) < count(even, 2)
    assert count(even, 255) == count(sqrt, 255) == 0  # ignored pixels are not drawn
    assert len(set(balanced_points(lab, 300, 1.0).tolist())) == 300  # without replacement


# -- checkpoints ----------------------------------------------------------------------------------
def _ckpt(model, **extra):
    return make_checkpoint(model, model_name="fpliif-tiny", class_names=["bg", "a", "b"], **extra)


def test_checkpoint_round_trip(tmp_path):
    model = build_model("fpliif-tiny", num_classes=3)
    atomic_save(_ckpt(model, epoch=4), tmp_path / "c.pt")
    loaded, ckpt = load_model(tmp_path / "c.pt")
    assert ckpt["epoch"] == 4 and ckpt["class_names"] == ["bg", "a", "b"]
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(loaded(x), model.eval()(x))
    assert not list(tmp_path.glob(".*tmp*")), "no temporary file left behind"


def test_pickle_payload_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    torch.save({"format": "fpliif-checkpoint", "model": Payload()}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists()


def test_corrupt_and_foreign_checkpoints(tmp_path):
    good = tmp_path / "good.pt"
    atomic_save(_ckpt(build_model("fpliif-tiny", num_classes=3)), good)
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(truncated)
    plain = tmp_path / "plain.pt"
    torch.save(build_model("fpliif-tiny").state_dict(), plain)
    with pytest.raises(CheckpointError, match="not an fpliif checkpoint"):
        load_checkpoint(plain)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    with open(tmp_path / "p.pkl", "wb") as f:
        pickle.dump({"x": 1}, f)
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "p.pkl")


def test_weights_for_another_architecture_are_a_clear_error(tmp_path):
    ckpt = _ckpt(build_model("fpliif-tiny", num_classes=3))
    ckpt["model_name"] = "fpliif"  # claims the full model but carries tiny weights
    ckpt["model_config"] = build_model("fpliif", num_classes=3).config.to_dict()
    atomic_save(ckpt, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match="predicts 3 classes but the data has 19"):
        check_compatible(ckpt, num_classes=19, source="x.pt")
