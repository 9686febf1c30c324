"""Adaptive decoding (``fpliif.models.adaptive``): exact where it queries, dense with every cell
marked, close to dense with few queries on a label field with smooth margins; its settings, its
command-line options and its bench rows."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import fpliif
from fpliif import build_model
from fpliif.cli import main
from fpliif.engine.checkpoint import atomic_save, make_checkpoint
from fpliif.models.adaptive import (
    AdaptiveDecoder,
    AdaptiveSettings,
    grid_sizes,
    parse_step,
    refine,
    uncertain_cells,
    uncertain_support,
)
from fpliif.models.decoder import make_coord
from fpliif.models.fast import optimize_for_inference


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("fpliif-tiny", num_classes=11).eval()


@pytest.mark.parametrize(("hierarchical", "marks"), [(True, "cells"), (False, "cells"), (True, "support")])
def test_threshold_inf_equals_dense_bit_for_bit(tiny, hierarchical, marks):
    """Every cell marked: every output pixel is the dense path's own query (same coordinates, same
    chunks), so the outputs are equal exactly, not only to round-off."""
    dense = optimize_for_inference(tiny)
    settings = AdaptiveSettings(threshold=math.inf, hierarchical=hierarchical, marks=marks)
    adaptive = optimize_for_inference(tiny, decode="adaptive", adaptive=settings)
    images = torch.rand(2, 3, 32, 32)
    for size in (32, 50, (24, 40)):
        for b in (1, 2):
            assert torch.equal(adaptive(images[:b], size), dense(images[:b], size)), (size, b)
    sizes = [(32, 32), (40, 40)]
    got, want = adaptive.forward_sizes(images, sizes), dense.forward_sizes(images, sizes)
    assert all(torch.equal(got[s], want[s]) for s in sizes)
    stats = adaptive.decoder.last_stats
    assert stats["queried_full"] == stats["pixels"] == 2 * 40 * 40


@pytest.mark.parametrize("marks", ["cells", "support"])
def test_queried_pixels_are_dense_and_the_rest_upsampled(tiny, marks):
    """One jump from the coarse grid: the marked cells' pixels hold the dense logits exactly, the
    others the coarse logits upsampled (bilinear or nearest)."""
    model = copy.deepcopy(tiny)
    out_layer = model.decoder.mlp.layers[-1]
    with torch.no_grad():  # one label everywhere, so that only small margins mark cells
        out_layer.weight.mul_(0.1)
        out_layer.bias[1] += 5
    dense = optimize_for_inference(model)
    image = torch.rand(1, 3, 32, 32)
    coarse = dense(image, 12)[0]  # step 4 on a 48 output
    full = dense(image, 48)[0]
    top = coarse.topk(2, dim=0).values
    threshold = (top[0] - top[1]).quantile(0.3).item()
    for upsample, mode in (("bilinear", "bilinear"), ("nearest", "nearest-exact")):
        settings = AdaptiveSettings(
            threshold=threshold, step=4, band=0, hierarchical=False, upsample=upsample, marks=marks
        )
        out = optimize_for_inference(model, decode="adaptive", adaptive=settings)(image, 48)[0]
        if marks == "cells":
            mark = uncertain_cells(coarse, settings.threshold, settings.band)
            fine = F.interpolate(mark[None, None].float(), size=(48, 48), mode="nearest-exact")[0, 0].bool()
        else:
            fine = uncertain_support(coarse, (48, 48), settings.threshold, settings.band)
        assert 0 < fine.float().mean() < 1
        kw = {"align_corners": False} if mode == "bilinear" else {}
        up = F.interpolate(coarse[None], size=(48, 48), mode=mode, **kw)[0]
        assert torch.equal(out[:, fine], full[:, fine])
        assert torch.equal(out[:, ~fine], up[:, ~fine])


class _Field(torch.nn.Module):
    """A stand-in query decoder: three classes on a disk and a small square, logits rising with the
    distance inside each (so the margin is small only near the boundaries)."""

    num_classes = 3

    def prepare(self, latent):
        return latent.new_zeros(latent.shape[0] * latent.shape[2] * latent.shape[3], 1)

    def decode(self, table, batch, hw, coords):
        y, x = coords[:, 0], coords[:, 1]
        disk = 20 * (0.6 - (y.square() + x.square()).sqrt())
        square = 20 * (0.15 - torch.maximum((y - 0.3).abs(), (x + 0.2).abs()))
        return torch.stack([torch.zeros_like(y), disk, square + 4], dim=-1)[None].expand(batch, -1, -1)

    def forward(self, latent, *, coords):
        return self.decode(None, 1, None, coords[0]).transpose(1, 2)


@pytest.mark.parametrize("size", [256, 1024])
def test_few_queries_and_high_agreement_on_a_smooth_label_field(size):
    latent = torch.zeros(1, 1, 64, 64)
    field = _Field()
    dense = field.decode(None, 1, None, make_coord((size, size)))[0].argmax(-1).view(size, size)
    decoder = AdaptiveDecoder(field)
    labels = decoder(latent, out_size=(size, size))[0].argmax(0)
    stats = decoder.last_stats
    agreement = (labels == dense).float().mean().item()
    share = stats["queried"] / stats["pixels"]
    assert agreement >= 0.995 and share < (0.5 if size == 256 else 0.15), (agreement, share)
    assert [g[:2] for g in stats["per_grid"]] == [(s, s) for s in (64, 128, 256, 512, 1024)][
        : 1 + int(math.log2(size // 64))
    ]
    # with every cell marked, nothing is missed
    everything = AdaptiveDecoder(field, settings=AdaptiveSettings(threshold=math.inf))
    assert torch.equal(everything(latent, out_size=(size, size))[0].argmax(0), dense)


@pytest.mark.parametrize("threshold", [0.0, 0.25, 1.0])
def test_nearest_and_bilinear_give_the_same_labels_and_queries_with_support_marks(tiny, threshold):
    """refine's argument: an unqueried pixel's support agrees, so how the logits are carried to
    the next grid changes neither a label nor a mark; the logits themselves do differ."""
    images = torch.rand(2, 3, 32, 32)
    runs = {}
    for upsample in ("nearest", "bilinear"):
        settings = AdaptiveSettings(threshold=threshold, upsample=upsample)
        fast = optimize_for_inference(tiny, decode="adaptive", adaptive=settings)
        runs[upsample] = (fast(images, 200), fast.decoder.last_stats)
    (near, near_stats), (bil, bil_stats) = runs["nearest"], runs["bilinear"]
    assert near_stats == bil_stats and near_stats["queried_full"] < near_stats["pixels"]
    assert torch.equal(near.argmax(1), bil.argmax(1)) and not torch.equal(near, bil)
    assert AdaptiveSettings().upsample == "nearest"


def _reference_refine(query, sizes, settings):
    """refine as its docstring first states it: every grid's marks from a top-2 of the whole
    upsampled logit grid. The library carries labels and margins instead."""
    logits = query(sizes[0], None).reshape(-1, *sizes[0])
    queried = []
    for size in sizes[1:]:
        threshold = settings.threshold * sizes[0][0] / logits.shape[1]
        fine = uncertain_support(logits, size, threshold, settings.band)
        idx = fine.reshape(-1).nonzero().squeeze(1)
        mode = "bilinear" if settings.upsample == "bilinear" else "nearest-exact"
        logits = F.interpolate(logits[None], size=size, mode=mode)[0].contiguous()
        logits.view(logits.shape[0], -1).index_copy_(1, idx, query(size, idx))
        queried.append(idx.numel())
    return logits, queried


@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
def test_refine_carries_the_ranking_the_whole_grid_would_give(tiny, upsample):
    """Ranking only the new queries of each grid gives the marks, the queries and the logits of
    ranking the whole upsampled grid."""
    fast = optimize_for_inference(tiny)
    latent = fast.encoder(torch.rand(1, 3, 32, 32))
    table = fast.decoder.prepare(latent)
    hw = tuple(latent.shape[2:])

    def query(size, idx):
        coords = make_coord(size)
        coords = coords if idx is None else coords[idx]
        return fast.decoder.decode(table, 1, hw, coords)[0].t()

    for threshold in (0.0, 0.3, 1.0):
        settings = AdaptiveSettings(threshold=threshold, upsample=upsample)
        sizes = grid_sizes((200, 200), hw, settings)
        stats = {"queried": 0, "per_grid": [[*g, 0] for g in sizes]}
        got = refine(query, sizes, settings, stats)
        want, queried = _reference_refine(query, sizes, settings)
        assert torch.equal(got, want) and [g[2] for g in stats["per_grid"][1:]] == queried
        assert 0 < sum(queried) < 3 * 200 * 200


def test_support_marks_the_pixels_between_disagreeing_centres():
    """Two labels split between coarse columns 1 and 2 of 4: on the 2x finer grid only the pixels
    interpolated from both columns (fine columns 3 and 4) are marked; whole cells would be 2..5."""
    logits = torch.zeros(2, 3, 4)
    logits[0, :, :2] = 5
    logits[1, :, 2:] = 5
    support = uncertain_support(logits, (6, 8), threshold=1.0, band=0)
    assert support.any(0).nonzero().flatten().tolist() == [3, 4] and support.all(0)[3]
    cells = uncertain_cells(logits, 1.0, band=0)
    fine = F.interpolate(cells[None, None].float(), size=(6, 8), mode="nearest-exact")[0, 0].bool()
    assert fine.any(0).nonzero().flatten().tolist() == [2, 3, 4, 5]
    grown = uncertain_support(logits, (6, 8), threshold=1.0, band=1)
    assert grown.any(0).nonzero().flatten().tolist() == [1, 2, 3, 4, 5, 6]


def test_grid_sizes():
    s = AdaptiveSettings()
    assert grid_sizes((256, 256), (64, 64), s) == [(64, 64), (128, 128), (256, 256)]
    assert grid_sizes((48, 80), (64, 64), s) == [(48, 64), (48, 80)]
    assert grid_sizes((100, 100), (64, 64), AdaptiveSettings(step=8)) == [
        (13, 13),
        (26, 26),
        (52, 52),
        (100, 100),
    ]
    assert grid_sizes((256, 256), (64, 64), AdaptiveSettings(hierarchical=False)) == [(64, 64), (256, 256)]
    assert grid_sizes((256, 256), (64, 64), AdaptiveSettings(step=1)) == [(256, 256)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": float("nan")}, "threshold"),
        ({"threshold": -0.5}, "threshold"),
        ({"threshold": "1"}, "threshold"),
        ({"step": 0}, "coarse step"),
        ({"step": -4}, "coarse step"),
        ({"step": 2.5}, "coarse step"),
        ({"step": True}, "coarse step"),
        ({"band": -1}, "band"),
        ({"upsample": "bicubic"}, "upsample"),
        ({"marks": "edges"}, "marks"),
    ],
)
def test_settings_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaptiveSettings(**kwargs)


def test_step_parsing_and_decode_mode(tiny):
    assert parse_step("latent") is None and parse_step("4") == 4
    for bad in ("0", "x", "-2"):
        with pytest.raises(ValueError, match="coarse step"):
            parse_step(bad)
    with pytest.raises(ValueError, match="decode"):
        optimize_for_inference(tiny, decode="sparse")
    assert AdaptiveSettings(threshold=math.inf).threshold == math.inf


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny checkpoint (32 px inputs) and a three-image SynthFaces test set."""
    from fpliif.data.synth import generate

    tmp = tmp_path_factory.mktemp("adaptive")
    root = generate(tmp / "synth", format="lapa", n_train=0, n_val=0, n_test=3, size=64, workers=1)
    torch.manual_seed(0)
    model = build_model("fpliif-tiny", num_classes=11)
    ckpt = tmp / "tiny.pt"
    train_config = {"data": {"name": "synth", "root": str(root), "image_size": 32}}
    atomic_save(
        make_checkpoint(model, model_name="fpliif-tiny", dataset="lapa", train_config=train_config), ckpt
    )
    return ckpt, root


def test_eval_and_predict_take_decode_adaptive(tiny_run, tmp_path, capsys):
    ckpt, root = tiny_run
    out = tmp_path / "eval"
    argv = ["eval", "--checkpoint", str(ckpt), "--sizes", "32", "64", "--score-size", "64", "--out", str(out)]
    assert main([*argv, "--decode", "adaptive", "--threshold", "0.5", "--coarse-step", "4"]) == 0
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert (
        meta["decode"] == "adaptive"
        and meta["adaptive"]["threshold"] == 0.5
        and meta["adaptive"]["step"] == 4
        and meta["adaptive"]["upsample"] == "nearest"
    )
    adaptive_f1 = json.loads((out / "results.json").read_text())["scores"]["at64"]["mean_f1"]
    bilinear = [*argv, "--decode", "adaptive", "--threshold", "0.5", "--coarse-step", "4"]
    assert main([*bilinear, "--adaptive-upsample", "bilinear"]) == 0
    bilinear = json.loads((out / "results.json").read_text())
    assert bilinear["meta"]["adaptive"]["upsample"] == "bilinear"
    assert bilinear["scores"]["at64"]["mean_f1"] == adaptive_f1  # the same labels
    assert main([*argv, "--decode", "adaptive", "--threshold", "inf"]) == 0  # every cell: dense
    scores = json.loads((out / "results.json").read_text())["scores"]
    assert main([*argv]) == 0
    dense = json.loads((out / "results.json").read_text())
    assert dense["meta"]["decode"] == "dense" and "adaptive" not in dense["meta"]
    assert scores["at64"]["mean_f1"] == dense["scores"]["at64"]["mean_f1"]
    assert 0 <= adaptive_f1 <= 1
    assert main([*argv, "--decode", "adaptive", "--eager"]) == 2
    assert "fast path" in capsys.readouterr().err

    image = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(image)
    pred = tmp_path / "pred"
    cmd = ["predict", str(image), "--checkpoint", str(ckpt), "--out", str(pred), "--size", "48x80"]
    cmd.append("--no-detect")  # the whole image is the face: the model runs
    assert main([*cmd, "--decode", "adaptive", "--coarse-step", "latent"]) == 0
    assert np.asarray(Image.open(pred / "face_label.png")).shape == (48, 80)
    with pytest.raises(SystemExit):  # an argparse usage error
        main([*cmd, "--decode", "adaptive", "--coarse-step", "0"])
    assert main([*cmd, "--decode", "adaptive", "--threshold", "-1"]) == 2


def test_bench_adaptive_rows_and_targets(tiny_run, tmp_path):
    """The quickest bench with adaptive rows at one size, on the tiny checkpoint and its test
    images: each adaptive row carries its share of pixels queried, its agreement with dense and the
    MACs it performed, the interleaved pair gives the speed target, the F1 check its own."""
    from fpliif.bench import summary
    from fpliif.bench.adaptive import split_images
    from fpliif.engine.checkpoint import load_model
    from fpliif.models.fast import count_performed_macs

    ckpt, root = tiny_run
    out = tmp_path / "b.json"
    argv = ["bench", "--quick", "--models", "fpliif-tiny", "--dtypes", "fp32", "--threads", "1"]
    argv += ["--backends", "fast", "--sizes", "32", "--adaptive-sizes", "256", "--pair-repeats", "1"]
    argv += ["--adaptive-checkpoint", str(ckpt), "--adaptive-dataset", "synth", "--adaptive-root", str(root)]
    argv += [
        "--adaptive-images",
        "2",
        "--adaptive-quality-limit",
        "2",
        "--threshold",
        "0.5",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    records = json.loads(out.read_text())
    rows = {r["backend"]: r for r in records if r["kind"] == "latency" and r["model"] == "checkpoint"}
    assert set(rows) == {"dense", "adaptive"}
    a, d = rows["adaptive"], rows["dense"]
    assert a["out_size"] == d["out_size"] == 256 and a["input_size"] == 256 and a["stat_images"] == 2
    assert 0 < a["share_full"] <= 1 and a["share_queried"] > a["share_full"]
    assert 0 < a["agreement"] <= 1 and a["adaptive"]["threshold"] == 0.5
    assert a["gmacs"] > 0 and a["fps"] > 0 and a["gmacs"] != d["gmacs"]
    # the MACs performed are those of the row's own images, averaged
    model, _ = load_model(ckpt)
    fast = optimize_for_inference(model, decode="adaptive", adaptive=AdaptiveSettings(threshold=0.5))
    images, _ = split_images("synth", root, "test", 256, 2)
    macs = [count_performed_macs(fast, im, 256) for im in images]
    assert a["gmacs"] == pytest.approx(sum(macs) / 2 / 1e9)
    (pair,) = [r for r in records if r["kind"] == "pair"]
    assert pair["target"] == "adaptive fp32 256" and pair["a"]["backend"] == "dense" and pair["value"] > 0
    (quality,) = [r for r in records if r["kind"] == "adaptive_quality"]
    assert quality["images"] == 2 and quality["input_size"] == 32 and quality["threshold"] == 0.5
    assert quality["delta_points"] == pytest.approx(
        quality["mean_f1"]["adaptive"] - quality["mean_f1"]["dense"]
    )
    targets = {r["target"]: r for r in summary(records)}
    speed = targets["adaptive / dense FPS at 256, fast fp32"]
    assert speed["value"] == pair["value"] and speed["method"] == "interleaved pair" and speed["goal"] == 2.0
    assert speed["bound"] == pytest.approx(d["gmacs"] / a["gmacs"])
    agree = targets["adaptive: share of pixels with the dense label at 256, fp32"]
    assert agree["value"] == a["agreement"] and agree["method"] == "rows, checkpoint"
    assert math.isnan(targets["adaptive / dense FPS at 1024, fast fp32"]["value"])
    assert targets["|adaptive - dense| test mean F1 (points)"]["value"] == abs(quality["delta_points"])


def test_table6_shows_adaptive_rows_beside_dense():
    from fpliif.tables import table6_resolution_speed

    def lat(model, backend, out, fps, **extra):
        return {
            "kind": "latency",
            "model": model,
            "backend": backend,
            "dtype": "fp32",
            "input_size": 256,
            "out_size": out,
            "pred_size": out,
            "batch": 1,
            "fps": fps,
            "gflops_per_s": 100.0,
            "gmacs": 1.0,
            "paper_gmacs": 27.2,
            "cpu": "test cpu",
            "threads": 2,
            **extra,
        }

    base = [lat("fpliif", "fast", 256, 1.0)]
    plain = table6_resolution_speed.table(base, bench_args=["--quick"], profile="t").data
    assert not [c for c in plain.columns if "adaptive" in c]
    stats = {"share_queried": 0.2, "agreement": 0.997, "source": "ckpt"}
    records = base + [
        lat("checkpoint", "dense", 256, 1.1),
        lat("checkpoint", "adaptive", 256, 2.75, **stats),
        lat("checkpoint", "dense", 1024, 0.1),
        lat("checkpoint", "adaptive", 1024, 1.2, **stats),
    ]
    t6 = table6_resolution_speed.table(records, bench_args=[], profile="t")
    df = t6.data.set_index("output size")
    assert df.loc["256", "adaptive / dense, fp32"] == pytest.approx(2.5)
    assert df.loc["256", "FPS here, fast fp32"] == 1.0  # the bench's own dense row stays
    assert df.loc["1024", "FPS here, fast fp32"] == 0.1 and df.loc[
        "1024", "adaptive / dense, fp32"
    ] == pytest.approx(12.0)
    assert df.loc["1024", "adaptive: agree with dense (%)"] == pytest.approx(99.7)
    assert list(df.index).index("1024") == list(df.index).index("512") + 1
    assert any("Adaptive decoding" in n for n in t6.notes)


def test_the_photo_api_decodes_adaptively(tiny_run):
    """``load_pretrained(decode="adaptive")`` runs the adaptive decoder: with every cell marked it
    gives the dense parse exactly, and it refuses the eager forward."""
    ckpt, _ = tiny_run
    image = np.random.default_rng(1).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    dense = fpliif.load_pretrained(ckpt, device="cpu", detect=False).parse(image)
    every = fpliif.load_pretrained(
        ckpt, device="cpu", detect=False, decode="adaptive", adaptive=AdaptiveSettings(threshold=math.inf)
    ).parse(image)
    assert np.array_equal(every.labels, dense.labels) and every.labels.shape == (40, 60)
    default = fpliif.load_pretrained(ckpt, device="cpu", detect=False, decode="adaptive").model
    assert isinstance(default.decoder, AdaptiveDecoder)
    with pytest.raises(ValueError, match="fast path"):
        fpliif.load_pretrained(ckpt, device="cpu", detect=False, fast=False, decode="adaptive")
