"""The benchmark's records and command line (speed targets live in its output, not in tests)."""

from __future__ import annotations

import json
import math
import sys
import types

import pytest
import torch

from fpliif.bench import REQUIRED_KEYS, BenchConfig, measure_peak, run_bench, summary, time_calls, to_frame
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
    assert "targets" in capsys.readouterr().out
    frame = to_frame(records)
    assert {"model", "backend", "fps"} <= set(frame.columns)


def test_peers_and_upscale_rows():
    cfg = BenchConfig.quick_config(
        models=("fpliif-tiny", "bisenet"), dtypes=("fp32",), threads=1, backends=("fast",)
    )
    cfg.upscale = (32, 64)
    cfg.sizes = (64,)
    records = run_bench(cfg)
    lat = {
        (r["model"], r["backend"], r["pred_size"], r["out_size"]) for r in records if r["kind"] == "latency"
    }
    assert ("fpliif-tiny", "fast", 32, 64) in lat and ("fpliif-tiny", "fast", 64, 64) in lat
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
    records.append({"kind": "quality", "delta_points": -0.04})
    rows = {r["target"]: r for r in summary(records)}
    values = [r["value"] for r in rows.values()]
    assert values == pytest.approx([0.8, 2.5, 4.0, 3.2, 900.0, 0.04])
    assert [r["met"] for r in rows.values()] == [True, True, True, False, True, True]
    assert summary([])[0]["met"] is None


def test_quality_check_with_a_stand_in_dataset(tmp_path, monkeypatch):
    """fp32 and bf16 mean F1 of a checkpoint (fpliif.data is stubbed: it lands separately)."""
    from fpliif import build_model
    from fpliif.bench import quality_check
    from fpliif.engine.checkpoint import atomic_save, make_checkpoint

    model = build_model("fpliif-tiny")
    ckpt = tmp_path / "tiny.pt"
    atomic_save(make_checkpoint(model, model_name="fpliif-tiny"), ckpt)

    gen = torch.Generator().manual_seed(0)
    items = [
        {
            "image": torch.rand(3, 32, 32, generator=gen),
            "label": torch.randint(0, 11, (32, 32), generator=gen),
            "name": f"img{i}",
        }
        for i in range(5)
    ]
    stub = types.ModuleType("fpliif.data")
    stub.build_dataset = lambda name, root, split, image_size=None: items
    monkeypatch.setitem(sys.modules, "fpliif.data", stub)
    monkeypatch.setattr("fpliif.data", stub, raising=False)
    res = quality_check(ckpt, "synthfaces", tmp_path, batch_size=2)
    assert res["images"] == 5 and set(res["mean_f1"]) == {"fp32", "bf16"}
    assert 0 <= res["mean_f1"]["fp32"] <= 100 and 0.5 <= res["agreement"] <= 1
    assert res["delta_points"] == pytest.approx(res["mean_f1"]["bf16"] - res["mean_f1"]["fp32"])
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
        "synthfaces",
        "--quality-root",
        str(tmp_path),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    quality = [r for r in json.loads(out.read_text()) if r["kind"] == "quality"]
    assert quality and quality[0]["mean_f1"] == pytest.approx(res["mean_f1"])
