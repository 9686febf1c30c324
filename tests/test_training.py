"""Training: the loss falls, resume is exact, DDP on 2 CPU processes equals one process, eval by hand."""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from sklearn.metrics import f1_score

from fpliif import build_model
from fpliif.data import build_dataset
from fpliif.data.synth import generate
from fpliif.engine.checkpoint import load_checkpoint
from fpliif.engine.config import load_config
from fpliif.engine.evaluate import evaluate, resize_labels
from fpliif.engine.train import Trainer, train
from fpliif.errors import ConfigError


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "lapa"
    generate(root, format="lapa", n_train=12, n_val=4, n_test=4, size=64, seed=0, workers=1)
    return root


def _cfg(root, out, *extra):
    return load_config(
        "smoke",
        [
            f"data.root={root}",
            f"run.out={out}",
            "data.augment=false",
            "optim.batch_size=4",
            "optim.amp=fp32",
            "run.deterministic=true",
            *extra,
        ],
    )


def test_a_few_steps_lower_the_loss(synth, tmp_path):
    cfg = _cfg(synth, tmp_path / "run", "optim.epochs=6", "optim.lr=3e-3", "run.eval_every=3")
    summary = train(cfg, progress=False)
    log = [line for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    losses = [__import__("json").loads(line)["loss"] for line in log]
    assert len(losses) == 6 and summary["epochs"] == 6
    assert losses[-1] < 0.8 * losses[0], losses
    ckpt = load_checkpoint(tmp_path / "run" / "best.pt")
    assert ckpt["class_names"][0] == "background" and ckpt["model_name"] == "fpliif-tiny"
    assert ckpt["train_config"]["optim"]["epochs"] == 6 and "val" in ckpt["metrics"]
    assert (tmp_path / "run" / "config.yaml").exists()


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_trains_in_what_the_cpu_has_and_logs_it(synth, tmp_path, monkeypatch, capsys, native):
    from fpliif import precision

    monkeypatch.setattr(precision, "_cpu_bf16", lambda: native)
    cfg = _cfg(synth, tmp_path / "run", "optim.epochs=1", "run.eval_every=0", "optim.amp=auto")
    train(cfg, progress=False)
    (record,) = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert record["amp"] == ("bf16" if native else "fp32")
    said = "training in fp32 (optim.amp=auto: bf16 is not native" in capsys.readouterr().out
    assert said is not native


def test_a_run_can_start_from_trained_weights(synth, tmp_path):
    first = tmp_path / "first"
    train(_cfg(synth, first, "optim.epochs=4", "optim.lr=3e-3", "run.eval_every=0"), progress=False)
    trained = load_checkpoint(first / "last.pt")["model"]
    from fpliif.weights import save_pretrained

    save_pretrained(load_checkpoint(first / "last.pt"), tmp_path / "folder")
    for source in (first / "last.pt", tmp_path / "folder"):  # a checkpoint or a weights folder
        tuned = Trainer(_cfg(synth, tmp_path / "tuned", f"model.init={source}"), progress=False)
        for k, v in tuned.model.state_dict().items():
            assert torch.equal(v, trained[k]), (source, k)
    # fine-tuning starts where the first run ended: its first epoch's loss is far below a fresh run's
    init = f"model.init={first / 'last.pt'}"
    train(_cfg(synth, tmp_path / "fresh", "optim.epochs=1", "run.eval_every=0"), progress=False)
    train(_cfg(synth, tmp_path / "tuned", "optim.epochs=1", "run.eval_every=0", init), progress=False)

    def first_loss(run):
        return json.loads((run / "log.jsonl").read_text().splitlines()[0])["loss"]

    assert first_loss(tmp_path / "tuned") < 0.8 * first_loss(tmp_path / "fresh")
    # weights of another model (here: a wider pixel MLP) are refused with the file named
    other = tmp_path / "other"
    train(
        _cfg(synth, other, "optim.epochs=1", "run.eval_every=0", "model.options={hidden: [48, 48]}"),
        progress=False,
    )
    with pytest.raises(ConfigError, match=r"model.init .*other.*do not fit"):
        Trainer(_cfg(synth, tmp_path / "bad", f"model.init={other / 'last.pt'}"), progress=False)


def test_resume_gives_the_same_weights(synth, tmp_path):
    extra = ["optim.sample_points=256", "data.augment=true", "optim.lr_step=1", "optim.lr_gamma=0.5"]
    train(_cfg(synth, tmp_path / "straight", "optim.epochs=3", *extra), progress=False)
    train(_cfg(synth, tmp_path / "stopped", "optim.epochs=2", *extra), progress=False)
    train(_cfg(synth, tmp_path / "stopped", "optim.epochs=3", *extra), resume=True, progress=False)
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "stopped" / "last.pt")
    assert a["epoch"] == b["epoch"] == 3 and a["step"] == b["step"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert (
        a["optimizer"]["param_groups"][0]["lr"]
        == b["optimizer"]["param_groups"][0]["lr"]
        == 5e-4 * 0 + 2e-3 * 0.125
    )


def test_resume_rebuilds_a_lost_log_and_config(synth, tmp_path):
    # a SIGKILL after last.pt was written but before log.jsonl: the line is recovered from last.pt
    run = tmp_path / "run"
    train(_cfg(synth, run, "optim.epochs=2", "run.eval_every=1"), progress=False)
    full = (run / "log.jsonl").read_text().splitlines()
    (run / "log.jsonl").write_text(full[0] + "\n" + full[1][:20])  # lost and torn lines
    (run / "config.yaml").unlink()  # killed inside its first write: --resume uses last.pt's copy
    from fpliif.engine.train import config_from_args

    args = argparse.Namespace(
        config=None, overrides=[], out=str(run), epochs=3, deterministic=False, resume=True
    )
    cfg = config_from_args(args)
    assert cfg.data.root == str(synth) and cfg.optim.epochs == 3
    train(cfg, resume=True, progress=False)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    assert log[:2] == [json.loads(line) for line in full]
    assert (run / "config.yaml").exists()
    with pytest.raises(ConfigError, match="nothing to resume"):
        config_from_args(argparse.Namespace(**{**vars(args), "out": str(tmp_path / "none")}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_worker(rank: int, world: int, port: int, root: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    torch.set_num_threads(1)
    trainer = Trainer(
        _cfg(root, out, "optim.epochs=2", "optim.sample_points=200", "run.eval_every=0"), progress=False
    )
    trainer.fit()
    torch.save(trainer.model.state_dict(), f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_ddp_two_cpu_ranks_match_one_process(synth, tmp_path):
    out = tmp_path / "ddp"
    out.mkdir()
    mp.start_processes(
        _rank_worker, args=(2, _free_port(), str(synth), str(out)), nprocs=2, start_method="spawn"
    )
    r0 = torch.load(out / "rank0.pt", weights_only=True)
    r1 = torch.load(out / "rank1.pt", weights_only=True)
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"ranks differ in {k}"
    single = Trainer(
        _cfg(synth, tmp_path / "single", "optim.epochs=2", "optim.sample_points=200", "run.eval_every=0"),
        progress=False,
    )
    single.fit()
    torch.manual_seed(0)
    initial = build_model("fpliif-tiny", num_classes=11).state_dict()
    # A conv bias right before an instance norm has no effect on the output, so its gradient is
    # pure round-off, which Adam rescales into visible noise. Those are compared through the
    # outputs below; every other weight must match.
    before_norm = {k for k in r0 if re.fullmatch(r"encoder\.group\d\.body\.\d+\.body\.[03]\.bias", k)}
    assert len(before_norm) == 6
    for k, v in single.model.state_dict().items():
        if k not in before_norm:
            torch.testing.assert_close(r0[k], v, rtol=1e-4, atol=1e-5, msg=k)
    ddp_model = build_model("fpliif-tiny", num_classes=11).eval()
    ddp_model.load_state_dict(r0)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ddp_model(x), single.model.eval()(x), rtol=1e-4, atol=1e-4)
    assert any(not torch.equal(initial[k], r0[k]) for k in r0), "training changed the weights"


def test_torchrun_command_line(synth, tmp_path):
    """The real entry point: torchrun with 2 gloo processes, checkpoints written by rank 0 only."""
    out = tmp_path / "tr"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
        "--master_port", str(_free_port()),
        "-m", "fpliif", "train", "--config", "smoke", "--data-root", str(synth), "--out", str(out),
        "--epochs", "1", "--device", "cpu", "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (out / "last.pt").exists() and (out / "best.pt").exists()
    assert res.stdout.count("fpliif train: 1 epochs") == 1  # printed by rank 0 only


class _HalfAndHalf(torch.nn.Module):
    """Predicts class 1 on the left half and class 0 on the right, at any output size."""

    def forward(self, images, out_size):
        h, w = out_size
        logits = torch.zeros(images.shape[0], 11, h, w)
        logits[:, 1, :, : w // 2] = 1
        logits[:, 0, :, w // 2 :] = 1
        return logits


def test_eval_matches_a_hand_computation(synth):
    ds = build_dataset("synth", synth, "test", image_size=None)
    result = evaluate(
        _HalfAndHalf(), ds, num_classes=11, sizes=(32, 64), score_size=64, input_size=64, batch_size=3
    )
    for size in (32, 64):
        gts = [resize_labels(ds[i]["label"], (size, size)).numpy().ravel() for i in range(len(ds))]
        pred = np.zeros((size, size), dtype=np.int64)
        pred[:, : size // 2] = 1
        y = np.concatenate(gts)
        p = np.tile(pred.ravel(), len(ds))
        ref = f1_score(y, p, labels=list(range(11)), average=None, zero_division=np.nan)
        got = np.array(result.scores[f"at{size}"]["f1"], dtype=float)
        np.testing.assert_allclose(got[:2], ref[:2])
        assert result.scores[f"at{size}"]["mean_f1"] == pytest.approx(np.nanmean(got[1:]))
    # 32 -> 64: the 32 prediction upscaled (nearest) is again half and half: scores equal at64's
    assert result.scores["32->64"]["f1"][:2] == pytest.approx(result.scores["at64"]["f1"][:2])
    assert len(result.per_image) == len(ds) and set(result.per_image["name"]) == set(ds.names)


def test_fast_eval_path_scores_like_the_eager_forward(synth):
    torch.manual_seed(0)
    model = build_model("fpliif-tiny", num_classes=11)
    ds = build_dataset("synth", synth, "test", image_size=None)
    kw = dict(num_classes=11, sizes=(32, 64), score_size=64, input_size=64, batch_size=2, progress=False)
    fast = evaluate(model, ds, **kw)
    eager = evaluate(model, ds, fast=False, **kw)
    assert fast.meta["path"] == "fast" and eager.meta["path"] == "eager"
    for key in eager.scores:
        assert fast.scores[key]["mean_f1"] == pytest.approx(eager.scores[key]["mean_f1"], abs=1e-3), key


def test_eval_command_writes_results(synth, tmp_path):
    from fpliif.cli import main

    train(_cfg(synth, tmp_path / "run", "optim.epochs=1"), progress=False)
    out = tmp_path / "ev"
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(tmp_path / "run" / "best.pt"),
                "--sizes",
                "32",
                "64",
                "--score-size",
                "64",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    import json

    res = json.loads((out / "results.json").read_text())
    assert res["meta"]["data"]["split"] == "test" and res["meta"]["checkpoint_sha256"]
    assert set(res["scores"]) == {"at32", "at64", "32->64"}
    assert (out / "metrics.csv").exists() and (out / "per_image.csv").exists()


def test_eval_scores_a_weights_folder_like_its_checkpoint(synth, tmp_path):
    from fpliif.engine.evaluate import evaluate_checkpoint
    from fpliif.weights import WEIGHTS_FILE, save_pretrained

    train(_cfg(synth, tmp_path / "run", "optim.epochs=2", "optim.lr=3e-3"), progress=False)
    ckpt = tmp_path / "run" / "best.pt"
    save_pretrained(load_checkpoint(ckpt), tmp_path / "folder")  # fp32: the same weights
    kw = {"sizes": (64,), "score_size": 64, "progress": False}
    a, _ = evaluate_checkpoint(ckpt, tmp_path / "ev-pt", **kw)
    with pytest.raises(ValueError, match="pass --data and --root"):  # a folder does not name its data
        evaluate_checkpoint(tmp_path / "folder", tmp_path / "ev-x", **kw)
    b, _ = evaluate_checkpoint(tmp_path / "folder", tmp_path / "ev-dir", data="synth", root=synth, **kw)
    assert b.scores["at64"]["mean_f1"] == a.scores["at64"]["mean_f1"] > 0
    from fpliif.provenance import file_sha256

    assert b.meta["checkpoint_sha256"] == file_sha256(tmp_path / "folder" / WEIGHTS_FILE)
