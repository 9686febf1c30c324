"""Family ``checkpoints``: untrusted files through ``fpliif predict``, ``eval`` and ``train --resume``.

Pickle payloads (each would create a marker file) must be refused without running, while the
same file loaded unsafely in a child process does run (the control); corrupt files and
checkpoints for another label set or architecture must be refused with one clear line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .common import Family, child_env, one_line_error, python, run_cli, short
from .data_trees import build_lapa

TITLE = "Untrusted checkpoints"
PASS_MEANS = (
    "`fpliif predict/eval/train --resume` exit non-zero with one line naming the file and the reason; a "
    "pickle payload never runs (its marker file never appears) while the same file loaded unsafely in a "
    "child process does run it (the control)"
)


class _Reduce:
    """Pickles as a call of ``fn(*args)``: what a malicious checkpoint carries."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def payloads(marker: Path) -> dict[str, tuple[Callable[[Path, dict], None], str]]:
    """name -> (writer(path, good_checkpoint_dict), what it would run). Each would create ``marker``."""
    import builtins

    import torch

    m = str(marker)
    code = f"open({m!r}, 'w').close()"

    def save_with(where: str, payload: Any, **kw: Any) -> Callable[[Path, dict], None]:
        def write(path: Path, good: dict) -> None:
            ckpt = dict(good)
            if where == "top":
                ckpt["model"] = payload
            elif where == "state":
                ckpt["model"] = {**good["model"], "encoder.extra": payload}
            elif where == "metadata":
                ckpt["train_config"] = {"data": {"note": payload}}
            elif where == "optimizer":
                ckpt["optimizer"] = {"state": {0: {"exp_avg": payload}}, "param_groups": []}
            elif where == "metrics":
                ckpt["metrics"] = {"val": [1.0, {"deep": [payload]}]}
            torch.save(ckpt, path, **kw)

        return write

    def raw_pickle(path: Path, good: dict) -> None:
        import pickle

        path.write_bytes(
            pickle.dumps({"format": "fpliif-checkpoint", "model": _Reduce(os.system, f"touch {m}")})
        )

    def forged_zip(path: Path, good: dict) -> None:
        import zipfile

        torch.save({"format": "fpliif-checkpoint", "x": 1}, path)
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        name = next(n for n in members if n.endswith("data.pkl"))
        members[name] = f"cos\nsystem\n(S'touch {m}'\ntR.".encode()  # protocol 0, by hand
        with zipfile.ZipFile(path, "w") as z:
            for n, data in members.items():
                z.writestr(n, data)

    return {
        "os.system in place of the weights": (
            save_with("top", _Reduce(os.system, f"touch {m}")),
            "os.system",
        ),
        "builtins.exec nested in the state dict": (save_with("state", _Reduce(builtins.exec, code)), "exec"),
        "builtins.eval in the metadata (train_config)": (
            save_with("metadata", _Reduce(builtins.eval, f"__import__('os').system('touch {m}')")),
            "eval",
        ),
        "subprocess.run in the optimizer state": (
            save_with("optimizer", _Reduce(subprocess.run, ["touch", m])),
            "subprocess.run",
        ),
        "builtins.open deep in the metrics": (save_with("metrics", _Reduce(builtins.open, m, "w")), "open"),
        "os.system, legacy (non-zip) torch format": (
            save_with("top", _Reduce(os.system, f"touch {m}"), _use_new_zipfile_serialization=False),
            "os.system",
        ),
        "os.system, a bare pickle file named .pt": (raw_pickle, "os.system"),
        "os.system, hand-written pickle inside a real checkpoint zip": (forged_zip, "os.system"),
    }


def payloads_are_live(files: list[tuple[Path, Path]]) -> list[bool]:
    """Control: load each file unsafely in one child process; live if its marker then appears."""
    code = (
        "import sys, torch\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n        torch.load(path, weights_only=False)\n    except Exception:\n        pass\n"
    )
    for _, marker in files:
        marker.unlink(missing_ok=True)
    subprocess.run(
        [python(), "-c", code, *(str(p) for p, _ in files)],
        capture_output=True,
        timeout=300,
        env=child_env(),
    )
    time.sleep(0.2)  # subprocess.run payloads have finished; os.system ones ran synchronously
    live = [m.exists() for _, m in files]
    for _, marker in files:
        marker.unlink(missing_ok=True)
    return live


@dataclass
class _Bench:
    """What every case uses: a LaPa tree, a tiny 11-class model and its good checkpoint."""

    work: Path
    tree: Path
    tiny11: Any = None
    good: dict = field(default_factory=dict)
    good_path: Path = Path()

    def checkpoint(self, model: Any, **extra: Any) -> dict:
        """An fpliif-tiny checkpoint of ``model`` trained (so it says) on the LaPa tree at 32 px."""
        from ..engine.checkpoint import make_checkpoint

        data_cfg = {"data": {"name": "lapa", "root": str(self.tree), "image_size": 32}}
        return make_checkpoint(
            model, model_name="fpliif-tiny", class_names=None, train_config=data_cfg, **extra
        )

    def predict(self, path: Path) -> tuple[int, str]:
        """``fpliif predict`` of a test image with the checkpoint at ``path``: (exit code, stderr)."""
        image = self.tree / "test" / "images" / "test_0.jpg"
        rc, _, err = run_cli(
            ["predict", str(image), "--checkpoint", str(path), "--out", str(self.work / "pred")]
        )
        return rc, err


def _bench(work: Path, seed: int) -> _Bench:
    import torch

    from ..engine.checkpoint import atomic_save
    from ..models import build_model

    work.mkdir(parents=True, exist_ok=True)
    bench = _Bench(work, work / "lapa")
    build_lapa(bench.tree)
    torch.manual_seed(seed)
    bench.tiny11 = build_model("fpliif-tiny", num_classes=11)
    bench.good = bench.checkpoint(bench.tiny11, dataset="lapa")
    bench.good_path = work / "good.pt"
    atomic_save(bench.good, bench.good_path)
    return bench


def _payload_cases(fam: Family, bench: _Bench) -> bool:
    """Each payload is refused without running; a control then shows that it is live. True if any
    marker file appeared."""
    work = bench.work
    refused = []
    for i, name in enumerate(payloads(work / "m")):
        marker = work / f"marker{i}"
        write, runs = payloads(marker)[name]
        path = work / f"evil{i}.pt"
        write(path, bench.good)
        rc, err = bench.predict(path)
        ok, line = one_line_error(rc, err, "predict")
        ok = ok and str(path) in line and "refused" in line
        refused.append((name, path, marker, line, ok, marker.exists(), runs))
    live = payloads_are_live([(p, m) for _, p, m, *_ in refused])
    for (name, _, _, line, ok, ran, runs), is_live in zip(refused, live, strict=True):
        fam.add(
            f"pickle payload: {name}",
            ok and not ran and is_live,
            f"{line}; marker created: {ran}; control (the same file loaded with weights_only=False in a "
            f"child process): {'payload live (' + runs + ')' if is_live else 'did NOT run'}",
        )
    return any(ran for *_, ran, _ in refused)


def _corrupt_files(bench: _Bench, seed: int) -> list[tuple[str, Callable[[Path], None], str]]:
    """name -> (writer, what the error must say): corrupt files and checkpoints that do not fit."""
    import torch

    from ..models import build_model

    good, tiny11 = bench.good, bench.tiny11
    whole = bench.work / "whole-model.pt"
    torch.save({"format": "fpliif-checkpoint", "model_name": "fpliif-tiny", "model": tiny11}, whole)
    blob = bench.good_path.read_bytes()
    rng = np.random.default_rng(seed)
    return [
        ("a whole pickled nn.Module (needs code to load)", lambda p: shutil.copyfile(whole, p), "refused"),
        ("empty file", lambda p: p.write_bytes(b""), "unreadable"),
        ("truncated to 100 bytes", lambda p: p.write_bytes(blob[:100]), "unreadable"),
        ("truncated to half", lambda p: p.write_bytes(blob[: len(blob) // 2]), "unreadable"),
        ("last byte missing", lambda p: p.write_bytes(blob[:-1]), "unreadable"),
        ("random bytes", lambda p: p.write_bytes(rng.bytes(4096)), "unreadable|refused"),
        ("a text file", lambda p: p.write_text("model weights go here\n"), "unreadable|refused"),
        ("a plain state_dict", lambda p: torch.save(tiny11.state_dict(), p), "not an fpliif checkpoint"),
        (
            "another format marker",
            lambda p: torch.save({**good, "format": "other"}, p),
            "not an fpliif checkpoint",
        ),
        ("a newer format version", lambda p: torch.save({**good, "version": 99}, p), "newer fpliif"),
        (
            "no weights",
            lambda p: torch.save({k: v for k, v in good.items() if k != "model"}, p),
            "lacks 'model'",
        ),
        (
            "an unknown model name",
            lambda p: torch.save({**good, "model_name": "resnet-9000"}, p),
            "cannot rebuild",
        ),
        (
            "an unknown model option",
            lambda p: torch.save({**good, "model_config": {**good["model_config"], "wings": 2}}, p),
            "cannot rebuild",
        ),
        (
            "tiny weights declared as the full fpliif model",
            lambda p: torch.save(
                {**good, "model_name": "fpliif", "model_config": build_model("fpliif").config.to_dict()}, p
            ),
            "do not fit",
        ),
        (
            "19-class weights declared as 11 classes",
            lambda p: torch.save(
                {**good, "model": build_model("fpliif-tiny", num_classes=19).state_dict()}, p
            ),
            "do not fit",
        ),
        (
            "a weight of the wrong shape",
            lambda p: torch.save(
                {**good, "model": {k: (v[:1] if v.ndim else v) for k, v in good["model"].items()}}, p
            ),
            "do not fit",
        ),
        ("a folder", lambda p: p.mkdir(), "not a weights folder"),
        ("a missing file", lambda p: None, "no such checkpoint"),
    ]


def _corrupt_cases(fam: Family, bench: _Bench, seed: int) -> None:
    for i, (name, write, words) in enumerate(_corrupt_files(bench, seed)):
        path = bench.work / f"bad{i}.pt"
        write(path)
        rc, err = bench.predict(path)
        ok, line = one_line_error(rc, err, "predict")
        named = str(path) in line and re.search(words, line) is not None
        fam.add(f"corrupt/foreign: {name}", ok and named, line)


def _label_set_cases(fam: Family, bench: _Bench) -> None:
    """A checkpoint for another label set (19 classes) with data of 11 classes: eval and resume."""
    from ..engine.checkpoint import atomic_save, make_checkpoint
    from ..engine.config import load_config
    from ..models import build_model

    work, tree = bench.work, bench.tree
    c19 = work / "c19.pt"
    atomic_save(bench.checkpoint(build_model("fpliif-tiny", num_classes=19), dataset="celebamask-hq"), c19)
    rc, _, err = run_cli(
        ["eval", "--checkpoint", str(c19), "--data", "lapa", "--root", str(tree), "--split", "train"]
        + ["--sizes", "32", "--score-size", "32", "--out", str(work / "ev19")]
    )
    ok, line = one_line_error(rc, err, "eval")
    fam.add(
        "19-class checkpoint evaluated on 11-class data (fpliif eval)",
        ok and "predicts 19 classes but the data has 11" in line and str(c19) in line,
        line,
    )
    run = work / "resume19"
    run.mkdir()
    sets = ["data.name=lapa", "data.image_size=32", f"data.root={tree}", f"run.out={run}"]
    saved = load_config("smoke", sets).to_dict()  # the run's own config: only the classes differ
    atomic_save(
        make_checkpoint(
            build_model("fpliif-tiny", num_classes=19),
            model_name="fpliif-tiny",
            train_config=saved,
            optimizer={},
            scheduler={},
            epoch=1,
            step=1,
            best_mean_f1=0.0,
        ),
        run / "last.pt",
    )
    rc, _, err = run_cli(
        ["train", "--config", "smoke", *(x for s in sets for x in ("-o", s)), "--resume", "--no-progress"]
    )
    ok, line = one_line_error(rc, err, "train")
    fam.add(
        "19-class last.pt resumed on 11-class data (fpliif train --resume)",
        ok and "predicts 19 classes but the data has 11" in line and "last.pt" in line,
        line,
    )


def _resumed_payload_cases(fam: Family, bench: _Bench) -> None:
    """A payload in a run's last.pt, through ``fpliif train --resume`` and through ``load_model``."""
    from ..engine.checkpoint import load_model
    from ..errors import CheckpointError

    work = bench.work
    evil_run = work / "resume-evil"
    evil_run.mkdir()
    payloads(work / "marker")["os.system in place of the weights"][0](evil_run / "last.pt", bench.good)
    rc, _, err = run_cli(
        ["train", "--config", "smoke", "-o", "data.name=lapa", "--data-root", str(bench.tree)]
        + ["--out", str(evil_run), "--resume", "--no-progress"]
    )
    ok, line = one_line_error(rc, err, "train")
    fam.add(
        "a payload in last.pt, resumed (fpliif train --resume)",
        ok and "refused" in line and not (work / "marker").exists(),
        f"{line}; marker created: {(work / 'marker').exists()}",
    )
    try:  # the library call too
        load_model(evil_run / "last.pt")
        fam.add("a payload through the library (load_model)", False, "loaded")
    except CheckpointError as exc:
        fam.add("a payload through the library (load_model)", not (work / "marker").exists(), short(exc))


def run(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    bench = _bench(work, seed)
    rc, err = bench.predict(bench.good_path)
    fam.add("control: a good checkpoint predicts", rc == 0, short(err) or "exit 0")
    marker_seen = _payload_cases(fam, bench)
    _corrupt_cases(fam, bench, seed)
    _label_set_cases(fam, bench)
    _resumed_payload_cases(fam, bench)
    fam.evidence.append(
        f"marker file created by any refused load: {'YES' if marker_seen else 'no'}; each payload "
        "was then shown "
        "to be live by loading the same file with weights_only=False in a child process (which did create it)"
    )
