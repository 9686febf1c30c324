"""The benchmark's records and command line (speed targets live in its output, not in tests)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from fpliif.bench import (
    REQUIRED_KEYS,
    BenchConfig,
    measure_peak,
    run_bench,
    suite,
    summary,
    time_calls,
    to_frame,
)
from fpliif.cli import main


def test_time_calls_counts_and_warms_up():
    calls = []
    times = time_calls(lambda: calls.append(1), warmup=2, repeats=3, device=torch.device("cpu"))
    assert len(times) == 3 and len(calls) == 5 and all(t >= 0 for t in times)


def test_peak_is_positive_per_backend():
    recs = measure_peak("fp32", n=256, repeats=2, warmup=1)
    assert {r["backend"] for r in recs} >= {"torch.mm"}
    peak = max(r["gflops_per_s"] for r in recs)
    for r in recs:
        assert r["kind"] == "peak" and r["gflops_per_s"] > 0 and r["peak_gflops_per_s"] == peak
        assert set(REQUIRED_KEYS) <= set(r)


def test_quick_cli_writes_records(tmp_path, capsys):
    out = tmp_path / "b.json"
    argv = [
        "bench",
        "--quick",
        "--models",
        "fpliif-tiny",
        "--dtypes",
        "fp32",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    records = json.loads(out.read_text())
    lat = [r for r in records if r["kind"] == "latency"]
    assert {r["backend"] for r in lat} == {"fast", "eager"}
    for r in lat:
        assert set(REQUIRED_KEYS) <= set(r), set(REQUIRED_KEYS) - set(r)
        assert (
            r["model"] == "fpliif-tiny" and r["dtype"] == "fp32" and r["batch"] == 1 and r["out_size"] == 64
        )
        assert r["params"] > 0 and 0 < r["gmacs"] <= r["paper_gmacs"]
        assert r["fps"] > 0 and math.isclose(r["gflops_per_s"], 2 * r["gmacs"] * r["fps"], rel_tol=1e-6)
        assert r["peak_gflops_per_s"] > 0 and r["threads"] == 1 and r["load_before"] is not None
    # the peak is measured before and after the rows; every share is taken of the better one
    peaks = [r for r in records if r["kind"] == "peak"]
    assert {r["when"] for r in peaks} == {"start", "end"}
    best = max(r["gflops_per_s"] for r in peaks)
    for r in lat:
        assert r["peak_gflops_per_s"] == best
        assert math.isclose(r["share_of_peak"], r["gflops_per_s"] / best, rel_tol=1e-9)
    assert "targets" in capsys.readouterr().out
    frame = to_frame(records)
    assert {"model", "backend", "fps"} <= set(frame.columns)


def test_peers_and_upscale_rows():
    cfg = BenchConfig.quick_config(
        models=("fpliif-tiny", "bisenet"), dtypes=("fp32",), threads=1, backends=("fast", "eager")
    )
    cfg.upscale = (32, 64)
    cfg.sizes = (64,)
    records = run_bench(cfg)
    lat = {
        (r["model"], r["backend"], r["pred_size"], r["out_size"]): r
        for r in records
        if r["kind"] == "latency"
    }
    for backend in ("fast", "eager"):
        assert ("fpliif-tiny", backend, 64, 64) in lat
        small = lat[("fpliif-tiny", backend, 32, 64)]
        # the upscale row performs the 32 px decode's MACs, fewer than the 64 px row
        assert small["gmacs"] < lat[("fpliif-tiny", backend, 64, 64)]["gmacs"]
    bis = [r for r in records if r["model"] == "bisenet"]
    assert bis and bis[0]["out_size"] == 512 and abs(bis[0]["params"] - 13.3e6) < 0.05e6


def test_summary_targets():
    def rec(backend, dtype, out, pred, ms, share=0.5):
        return {
            "kind": "latency",
            "model": "fpliif",
            "backend": backend,
            "dtype": dtype,
            "out_size": out,
            "pred_size": pred,
            "batch": 1,
            "latency_ms": ms,
            "share_of_peak": share,
        }

    records = [
        rec("fast", "fp32", 256, 256, 1000.0, 0.8),
        rec("fast", "bf16", 256, 256, 400.0),
        rec("fast", "fp32", 256, 64, 250.0),
        rec("fast", "bf16", 256, 64, 125.0),
        {"kind": "memory", "out_size": 2048, "peak_rss_mb": 900.0},
    ]
    rows = {r["target"]: r for r in summary(records)}
    assert math.isnan(rows["|bf16 - fp32| test mean F1 (points)"]["value"])
    records.append({"kind": "quality", "delta_points": -0.04})
    rows = {r["target"]: r for r in summary(records)}
    main = list(rows.values())[:7]
    values = [r["value"] for r in main]
    assert values == pytest.approx([0.8, 2.5, 4.0, 3.2, math.nan, 900.0, 0.04], nan_ok=True)
    # no peak rows: the bf16 goal (a share of the measured peak ratio) is unset, so not judged
    assert [r["met"] for r in main] == [True, None, None, None, None, True, True]
    assert math.isnan(main[1]["goal"])
    # the fast path's upscale ratios are context (no goal); the eager one is the paper's claim
    assert [r["reference"] for r in main] == [False, False, True, True, False, False, False]
    assert math.isnan(main[2]["goal"]) and math.isnan(main[3]["goal"])
    assert all(math.isnan(r["bound"]) for r in rows.values())  # no peak rows, no MAC counts
    assert summary([])[0]["met"] is None
    # the adaptive targets follow, unmeasured here
    adaptive = list(rows.values())[7:]
    assert [r["goal"] for r in adaptive] == [2.0, 0.995, 10.0, 0.995, 0.1]
    assert all(r["met"] is None for r in adaptive)


def test_summary_bounds_come_from_the_same_run():
    """The bf16 bound is the ratio of the best peaks per dtype; the upscale bound the MAC ratio."""

    def lat(backend, dtype, pred, ms, gmacs):
        return {
            "kind": "latency",
            "model": "fpliif",
            "backend": backend,
            "dtype": dtype,
            "out_size": 256,
            "pred_size": pred,
            "batch": 1,
            "latency_ms": ms,
            "gmacs": gmacs,
            "share_of_peak": 0.5,
        }

    def peak(dtype, when, gflops):
        return {"kind": "peak", "dtype": dtype, "when": when, "gflops_per_s": gflops}

    records = [
        peak("fp32", "start", 180.0),
        peak("fp32", "end", 200.0),
        peak("bf16", "start", 420.0),
        peak("bf16", "end", 380.0),
        lat("fast", "fp32", 256, 900.0, 75.0),
        lat("fast", "fp32", 64, 300.0, 25.0),
        lat("eager", "fp32", 256, 2000.0, 84.0),
        lat("eager", "fp32", 64, 500.0, 21.0),
    ]
    records += [lat("fast", "bf16", 256, 480.0, 75.0)]
    rows = {r["target"]: r for r in summary(records)}
    bf16 = rows["bf16 speed-up over fp32 (fast, 256)"]
    assert bf16["bound"] == pytest.approx(420.0 / 200.0) and "peak" in bf16["bound_note"]
    # the goal is 0.9x the measured peak ratio: 1.89; 900 / 480 = 1.875 misses it
    assert bf16["goal"] == pytest.approx(0.9 * 420.0 / 200.0) and bf16["met"] is False
    fast = rows["FPS(64->256) / FPS(256), fast fp32 (context)"]
    assert fast["value"] == pytest.approx(3.0) and fast["bound"] == pytest.approx(3.0) and fast["met"] is None
    eager = rows["FPS(64->256) / FPS(256), eager fp32 (paper's claim, Table 6: 4.0x)"]
    assert eager["value"] == pytest.approx(4.0) and eager["bound"] == pytest.approx(4.0) and eager["met"]
    assert eager["goal"] == 4.0 and math.isnan(fast["goal"])


def test_quality_check_scores_a_synthfaces_set_as_fpliif_eval_does(tmp_path, monkeypatch):
    """fp32 and bf16 test mean F1 of a checkpoint on a real (tiny) SynthFaces set: each is the
    score `fpliif eval` gives the fast path in that dtype, at the checkpoint's input size."""
    from fpliif import build_model
    from fpliif.bench import quality_check
    from fpliif.data import build_dataset
    from fpliif.data.synth import generate
    from fpliif.engine.checkpoint import atomic_save, make_checkpoint
    from fpliif.engine.evaluate import evaluate

    root = generate(tmp_path / "synth", format="lapa", n_train=0, n_val=0, n_test=3, size=64, workers=1)
    torch.manual_seed(0)
    model = build_model("fpliif-tiny").eval()
    ckpt = tmp_path / "tiny.pt"
    train_config = {"data": {"image_size": 64}}  # the quality check feeds the images at this size
    atomic_save(make_checkpoint(model, model_name="fpliif-tiny", train_config=train_config), ckpt)

    res = quality_check(ckpt, "synth", root, batch_size=2, out_size=64)
    assert res["images"] == 3 and res["input_size"] == 64 and res["split"] == "test"
    assert set(res["mean_f1"]) == {"fp32", "bf16"} and 0.5 <= res["agreement"] <= 1
    assert res["delta_points"] == pytest.approx(res["mean_f1"]["bf16"] - res["mean_f1"]["fp32"])
    test_set = build_dataset("synth", root, "test", image_size=None)
    for dtype in ("fp32", "bf16"):
        scored = evaluate(
            model,
            test_set,
            num_classes=11,
            sizes=[64],
            score_size=64,
            input_size=64,
            dtype=dtype,
            progress=False,
        )
        assert res["mean_f1"][dtype] == pytest.approx(100 * scored.scores["at64"]["mean_f1"], abs=1e-3)
    # the same dtype twice: every pixel agrees and nothing changes; ``limit`` takes the first images
    same = quality_check(ckpt, "synth", root, dtypes=("fp32", "fp32"), limit=2, image_size=32, out_size=32)
    assert same["images"] == 2 and same["input_size"] == 32
    assert same["agreement"] == 1.0 and same["delta_points"] == 0.0

    import fpliif.bench.cli as bench_cli

    monkeypatch.setattr(bench_cli, "native_bf16", lambda device: True)  # score bf16 even where emulated
    out = tmp_path / "q.json"
    argv = [
        "bench",
        "--quick",
        "--models",
        "fpliif-tiny",
        "--dtypes",
        "fp32",
        "--backends",
        "fast",
        "--threads",
        "1",
        "--quality-checkpoint",
        str(ckpt),
        "--quality-dataset",
        "synth",
        "--quality-root",
        str(root),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    records = json.loads(out.read_text())
    (quality,) = [r for r in records if r["kind"] == "quality"]
    assert quality["images"] == 3 and quality["input_size"] == 64 and quality["dataset"] == "synth"
    assert quality["delta_points"] == pytest.approx(quality["mean_f1"]["bf16"] - quality["mean_f1"]["fp32"])
    row = next(r for r in summary(records) if r["target"].startswith("|bf16 - fp32|"))
    assert row["value"] == pytest.approx(abs(quality["delta_points"])) and row["method"] == "quality check"


def test_bf16_is_left_out_where_the_hardware_only_emulates_it(monkeypatch):
    """Timing an emulated bf16 would take hours and say nothing about the model: the bench drops
    it, records why, and the tables' speed note says so."""
    from fpliif.tables.common import bench_note

    monkeypatch.setattr(suite, "native_bf16", lambda device: False)
    cfg = BenchConfig.quick_config(models=("fpliif-tiny",), dtypes=("fp32", "bf16"), threads=1)
    records = run_bench(cfg)
    assert cfg.dtypes == ("fp32",)
    assert {r["dtype"] for r in records if r["kind"] in ("latency", "peak")} == {"fp32"}
    (skipped,) = [r for r in records if r["kind"] == "skipped"]
    assert skipped["dtype"] == "bf16" and "emulated" in skipped["reason"]
    assert "bf16 not measured: bf16 is emulated" in bench_note(records, ["--quick"])
    monkeypatch.setattr(suite, "native_bf16", lambda device: True)
    assert suite.skip_emulated_bf16(BenchConfig(dtypes=("fp32", "bf16")), torch.device("cpu"), print) == []


def test_ratio_targets_are_measured_interleaved(monkeypatch):
    """Each ratio target is timed a, b, a, b, ...: its record holds every round's ratio and the
    summary takes the pair's median ratio over the separate rows'."""
    monkeypatch.setattr(suite, "native_bf16", lambda device: True)  # time bf16 even where emulated
    cfg = BenchConfig.quick_config(
        models=("fpliif-tiny",), dtypes=("fp32", "bf16"), threads=1, backends=("fast", "eager")
    )
    cfg.upscale, cfg.sizes, cfg.pair_repeats = (32, 64), (64,), 3
    records = run_bench(cfg)
    pairs = {r["target"]: r for r in records if r["kind"] == "pair"}
    assert set(pairs) == {
        "bf16 speed-up",
        "upscale fast fp32",
        "upscale fast bf16",
        "upscale eager fp32",
        "fp32 share of peak",
    }
    for r in pairs.values():
        assert r["repeats"] == 3 and len(r["ratios"]) == 3 and r["model"] == "fpliif-tiny"
        assert r["ratio"] == pytest.approx(sorted(r["ratios"])[1], rel=1e-3)
        assert r["latency_ms_a"] > 0 and r["latency_ms_b"] > 0
    up = pairs["upscale fast fp32"]
    assert (up["a"]["pred_size"], up["b"]["pred_size"]) == (64, 32) and up["gmacs_a"] > up["gmacs_b"]
    assert (pairs["bf16 speed-up"]["a"]["dtype"], pairs["bf16 speed-up"]["b"]["dtype"]) == ("fp32", "bf16")
    rows = {r["target"]: r for r in summary(records, model="fpliif-tiny", size=64, small=32)}
    fast = rows["FPS(32->64) / FPS(64), fast fp32 (context)"]
    assert fast["method"] == "interleaved pair" and fast["value"] == up["ratio"]
    assert not math.isnan(fast["value_rows"])  # the separate rows stay beside it
    assert not math.isnan(fast["bound"])


def test_share_of_peak_is_measured_interleaved_with_the_peak_gemm():
    """The share target's pair alternates the start peak's best GEMM with the fast fp32 path at the
    big size; each round's share is (gmacs_b / t_b) / (gmacs_a / t_a) and the summary takes their
    median, keeping the separate row's share (against the better of the two peaks) beside it."""
    cfg = BenchConfig.quick_config(models=("fpliif-tiny",), dtypes=("fp32",), threads=1, backends=("fast",))
    cfg.upscale, cfg.sizes, cfg.pair_repeats, cfg.peak_n = (32, 64), (64,), 3, 256
    records = run_bench(cfg)
    start = [r for r in records if r["kind"] == "peak" and r["when"] == "start"]
    best = max(start, key=lambda r: r["gflops_per_s"])["backend"]
    pair = next(r for r in records if r["kind"] == "pair" and r["target"] == "fp32 share of peak")
    matmul = {"model": "matmul", "backend": best, "dtype": "fp32", "pred_size": 256, "out_size": 256}
    assert pair["a"] == matmul
    assert (pair["b"]["model"], pair["b"]["backend"], pair["b"]["out_size"]) == ("fpliif-tiny", "fast", 64)
    assert pair["gmacs_a"] == pytest.approx(256**3 / 1e9)
    row = next(
        r for r in records if r["kind"] == "latency" and r["backend"] == "fast" and r["out_size"] == 64
    )
    assert pair["gmacs_b"] == row["gmacs"]
    scale = pair["gmacs_b"] / pair["gmacs_a"]
    expect = [r * scale for r in pair["ratios"]]
    # both lists are rounded to 4 decimals: a ratio's rounding error is scaled by gmacs_b / gmacs_a
    rounding = 5e-5 * (scale + 1)
    assert pair["shares"] == pytest.approx(expect, rel=5e-3, abs=rounding)
    assert pair["value"] == pytest.approx(sorted(expect)[1], rel=5e-3, abs=rounding) and pair["value"] > 0
    assert pair["peak_gflops_per_s"] == pytest.approx(2 * pair["gmacs_a"] / pair["latency_ms_a"] * 1e3)
    target = summary(records, model="fpliif-tiny", size=64, small=32)[0]
    assert target["target"].startswith("fast fp32 at 64: share")
    assert target["method"] == "interleaved pair" and target["value"] == pair["value"]
    assert target["value_rows"] == row["share_of_peak"]
    assert target["met"] == (pair["value"] >= 0.75)


def test_summary_reads_pairs_written_before_they_had_a_value():
    """Bench files from before the share pair hold only ``ratio``: the summary still uses it."""
    old = [
        {"kind": "pair", "target": "bf16 speed-up", "model": "fpliif", "batch": 1, "ratio": 1.9},
        {"kind": "peak", "dtype": "fp32", "gflops_per_s": 100.0},
        {"kind": "peak", "dtype": "bf16", "gflops_per_s": 250.0},
    ]
    row = next(r for r in summary(old) if r["target"].startswith("bf16 speed-up"))
    assert row["value"] == 1.9 and row["method"] == "interleaved pair" and row["met"] is False


def test_quick_bench_skips_the_pairs():
    assert BenchConfig.quick_config().pair_repeats == 0 and BenchConfig().pair_repeats > 0
