"""The runs: profiles, the study, idempotent ensure_* helpers, the papermill runner and its failure mode."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from fpliif.cli import main
from fpliif.errors import ConfigError, DataError, FpliifError
from fpliif.provenance import REPO_ROOT
from fpliif.runs import datasets, notebooks, records, runner, training
from fpliif.runs.manifest import merge_runs, start_manifest
from fpliif.runs.paths import rel, resolve
from fpliif.runs.profiles import load_profile
from fpliif.runs.study import (
    MAIN_PLACEHOLDERS,
    ParameterError,
    Study,
    bench_arguments,
    model_overrides,
    override_list,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = {"n_train": 4, "n_val": 2, "n_test": 2, "size": 32, "seed": 0}


# -- small pieces ---------------------------------------------------------------------------------
def test_resolve_paths(tmp_path):
    assert resolve("results/x") == ROOT / "results/x"
    assert resolve("{out}/data", tmp_path) == tmp_path / "data"
    assert resolve(tmp_path) == tmp_path
    with pytest.raises(ConfigError):
        resolve("{out}/data")


def test_load_profile_checks_keys_and_parses_overrides(tmp_path):
    params = load_profile("smoke", ["epochs=5", "ablations={}", "root=/x"])
    assert params["epochs"] == 5 and params["ablations"] == {} and params["root"] == "/x"
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: x\nepohcs: 3\n")
    with pytest.raises(ConfigError, match="epohcs"):
        load_profile(bad)
    with pytest.raises(ConfigError, match="no profile named"):
        load_profile("nope")


def test_select_notebooks_by_name_or_prefix_in_runner_order():
    assert notebooks.select_notebooks(["table5", "00"]) == ["00_data_overview", "table5_edge_weight"]
    assert notebooks.select_notebooks(None) == list(notebooks.NOTEBOOKS)
    with pytest.raises(ConfigError, match="no notebook matches"):
        notebooks.select_notebooks(["table8"])


def test_injected_assignments_are_python_literals_and_wrap():
    value = {"nonorm": {"norm": "none"}, "unet": {"decoder": "unet", "unet_widths": [32, 24, 16]}, "n": None}
    text = notebooks.py_assignment("ablations", value, width=40)
    assert text.count("\n") > 1 and max(len(line) for line in text.splitlines()) < 80
    assert ast.literal_eval(text.split("=", 1)[1].strip()) == value
    assert notebooks.py_assignment("x", [True, 1.5, 'a"b']) == 'x = [True, 1.5, "a\\"b"]'


def test_overrides_and_model_variants():
    assert override_list({"optim.epochs": 1, "model.options.norm": "none"}) == [
        "optim.epochs=1",
        'model.options.norm="none"',
    ]
    assert override_list(["optim.lr=0.1"]) == ["optim.lr=0.1"]
    with pytest.raises(ConfigError):
        override_list(["optim.lr"])
    assert model_overrides("fpliif", {"norm": "batch"}) == ["model.name=fpliif-bn"]
    assert model_overrides("fpliif", {"ensemble": False}) == ["model.name=fpliif-noens"]
    assert model_overrides("fpliif-tiny", {"norm": "batch"}) == ['model.options.norm="batch"']
    assert model_overrides("fpliif", {}) == []


def test_study_refuses_what_its_notebook_did_not_declare():
    study = Study({"profile": "smoke", "out": "results/smoke"})
    with pytest.raises(ParameterError, match="dataset"):
        study.data.main()
    with pytest.raises(ConfigError, match="unknown parameter"):
        Study({"profile": "x", "bogus": 1})


# -- ensure_* ---------------------------------------------------------------------------------------
def test_ensure_synth_generates_once_and_refuses_another_set(tmp_path):
    root = datasets.ensure_synth(tmp_path / "s", "lapa", **TINY, log=lambda s: None)
    meta = root / "synthfaces.json"
    stamp = meta.stat().st_mtime_ns
    first_image = sorted((root / "train" / "images").iterdir())[0]
    image_stamp = first_image.stat().st_mtime_ns
    assert datasets.ensure_synth(tmp_path / "s", "lapa", **TINY, log=lambda s: None) == root
    assert meta.stat().st_mtime_ns == stamp and first_image.stat().st_mtime_ns == image_stamp
    with pytest.raises(DataError, match="another SynthFaces set"):
        datasets.ensure_synth(tmp_path / "s", "lapa", **{**TINY, "n_train": 5}, log=lambda s: None)


def test_ensure_subset_links_the_first_images(tmp_path):
    from fpliif.data import build_dataset

    src = datasets.ensure_synth(tmp_path / "s", "lapa", **TINY, log=lambda s: None)
    sub = datasets.ensure_subset(src, tmp_path / "sub", n_train=2, n_val=None, n_test=1, log=lambda s: None)
    assert build_dataset("synth", sub, "train").names == build_dataset("synth", src, "train").names[:2]
    assert len(build_dataset("synth", sub, "val")) == 2 and len(build_dataset("synth", sub, "test")) == 1
    stamp = (sub / datasets.SUBSET_FILE).stat().st_mtime_ns
    datasets.ensure_subset(src, tmp_path / "sub", n_train=2, n_val=None, n_test=1, log=lambda s: None)
    assert (sub / datasets.SUBSET_FILE).stat().st_mtime_ns == stamp
    datasets.ensure_subset(src, tmp_path / "sub", n_train=3, n_val=None, n_test=1, log=lambda s: None)
    assert len(build_dataset("synth", sub, "train")) == 3
    with pytest.raises(DataError, match="fewer than"):
        datasets.ensure_subset(src, tmp_path / "sub2", n_train=9, log=lambda s: None)


def test_ensure_prepared_once(tmp_path):
    from fpliif.data import build_dataset

    raw = datasets.ensure_synth(tmp_path / "raw", "celebamask-hq", **TINY, log=lambda s: None)
    out = datasets.ensure_prepared(raw, tmp_path / "prep", log=lambda s: None)
    marker = out / "fpliif-prepared.json"
    stamp = marker.stat().st_mtime_ns
    assert datasets.ensure_prepared(raw, tmp_path / "prep", log=lambda s: None) == out
    assert marker.stat().st_mtime_ns == stamp
    assert build_dataset("synth", out, "train").info.num_classes == 19


TRAIN = [
    "data.image_size=32",
    "optim.batch_size=2",
    "optim.epochs=1",
    "optim.sample_points=64",
    "run.device=cpu",
    "run.threads=1",
    "run.eval_every=0",
]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return datasets.ensure_synth(tmp_path_factory.mktemp("data") / "s", "lapa", **TINY, log=lambda s: None)


def test_ensure_run_trains_reuses_resumes_and_retrains(tiny_data, tmp_path):
    over = [f"data.root={tiny_data}", *TRAIN]
    quiet = {"log": lambda s: None}
    run = training.ensure_run("a", "smoke", over, tmp_path, **quiet)
    assert run.status == "trained" and run.checkpoint.is_file()
    stamp = run.checkpoint.stat().st_mtime_ns

    again = training.ensure_run("a", "smoke", [*over, "run.threads=2"], tmp_path, **quiet)  # harmless key
    assert again.status == "reused" and again.checkpoint.stat().st_mtime_ns == stamp

    twin = training.ensure_run("b", "smoke", over, tmp_path, **quiet)  # same config, other name
    assert twin.status == "reused" and twin.dir == run.dir and not (tmp_path / "runs" / "b").exists()

    # a longer run of another name trains on its own: run a (1 epoch) stays as it is
    b = training.ensure_run("b", "smoke", [*over, "optim.epochs=2"], tmp_path, **quiet)
    assert b.status == "trained" and b.dir == tmp_path / "runs" / "b"
    assert run.checkpoint.stat().st_mtime_ns == stamp
    assert training.run_state(run.dir, run.config)[0] == "finished"

    longer = training.ensure_run("a", "smoke", [*over, "optim.epochs=2"], tmp_path, **quiet)
    assert longer.status == "resumed" and [r["epoch"] for r in longer.log] == [1, 2]

    other = training.ensure_run("a", "smoke", [*over, "optim.epochs=2", "optim.lr=0.01"], tmp_path, **quiet)
    assert other.status == "trained" and [r["epoch"] for r in other.log] == [1, 2]
    assert yaml.safe_load((other.dir / "config.yaml").read_text())["optim"]["lr"] == 0.01


def test_run_state_reads_stored_configs_through_the_dataclasses(tmp_path):
    """A run stored before a config key existed is the same run when the key keeps its default;
    setting the key, or a stored config that no longer parses, makes it stale."""
    cfg = training.load_config("smoke")
    stored = cfg.to_dict()
    del stored["optim"]["batch_per_device"]  # written by a version without the key
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(stored))
    assert training.run_state(tmp_path, cfg) == ("new", 0)
    cfg.optim.batch_per_device = True
    assert training.run_state(tmp_path, cfg) == ("stale", 0)
    stored["optim"]["no_such_key"] = 1
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(stored))
    assert training.run_state(tmp_path, training.load_config("smoke")) == ("stale", 0)


def test_ensure_eval_reuses_the_result_of_the_same_checkpoint(tiny_data, tmp_path):
    run = training.ensure_run("a", "smoke", [f"data.root={tiny_data}", *TRAIN], tmp_path, log=lambda s: None)
    res = records.ensure_eval(run, sizes=[32, 64], score_size=64, log=lambda s: None)
    stored = next(run.dir.glob("eval-test-*")) / "results.json"
    stamp = stored.stat().st_mtime_ns
    again = records.ensure_eval(run, sizes=[32, 64], score_size=64, log=lambda s: None)
    assert stored.stat().st_mtime_ns == stamp
    assert again.scores["at64"]["mean_f1"] == pytest.approx(res.scores["at64"]["mean_f1"])
    assert set(again.scores) == {"at32", "at64", "32->64"}
    assert list(again.per_image["name"]) == list(res.per_image["name"])
    assert again.meta["checkpoint_sha256"] == res.meta["checkpoint_sha256"]
    # the record's provenance, key for key (stored records are reused by these)
    meta = json.loads(stored.read_text())["meta"]
    assert list(meta) == [
        *EVAL_KEYS,
        "run",
        "checkpoint",
        "checkpoint_sha256",
        "model",
        "data",
        "seconds",
        *PROV,
    ]
    assert meta["run"] == "a" and meta["checkpoint"] == rel(run.checkpoint) and meta["model"] == "fpliif-tiny"
    assert meta["data"] == {"name": "synth", "root": rel(tiny_data), "split": "test", "images": 2}
    assert stored.parent.name == "eval-test-32-64-to64-fp32"


def test_a_clone_reuses_a_runs_records_and_retrains_it_only_for_its_weights(tiny_data, tmp_path):
    """What the repository keeps of a run (log.jsonl, run.yaml, its evaluations) is reused where
    only records are needed; the weights are trained again only where they are."""
    over = [f"data.root={tiny_data}", *TRAIN]
    quiet = {"log": lambda s: None}
    run = training.ensure_run("a", "smoke", over, tmp_path, **quiet)
    portable = yaml.safe_load((run.dir / training.PORTABLE).read_text())
    assert portable["optim"]["amp"] == run.log[-1]["amp"] and portable["data"]["root"] == rel(tiny_data)
    res = records.ensure_eval(run, sizes=[32], score_size=32, **quiet)
    for local in ("last.pt", "best.pt", "config.yaml"):  # what git ignores
        (run.dir / local).unlink(missing_ok=True)
    assert training.run_state(run.dir, run.config) == ("recorded", 1)
    assert (
        training.run_state(run.dir, training.load_config("smoke", [*over, "optim.lr=0.01"]))[0] != "recorded"
    )
    # records trained in bf16 elsewhere answer amp "auto" (what is native there), not an explicit fp32
    (run.dir / training.PORTABLE).write_text(
        yaml.safe_dump({**portable, "optim": {**portable["optim"], "amp": "bf16"}})
    )
    assert (
        training.run_state(run.dir, training.load_config("smoke", [*over, "optim.amp=auto"]))[0] == "recorded"
    )
    assert (
        training.run_state(run.dir, training.load_config("smoke", [*over, "optim.amp=fp32"]))[0] != "recorded"
    )

    kept = training.ensure_run("a", "smoke", over, tmp_path, records_only=True, **quiet)
    assert kept.status == "recorded" and not kept.checkpoint.exists()
    again = records.ensure_eval(kept, sizes=[32], score_size=32, **quiet)
    assert again.meta == res.meta and again.scores["at32"]["mean_f1"] == res.scores["at32"]["mean_f1"]
    with pytest.raises(FpliifError, match="not its checkpoint"):
        records.ensure_eval(kept, sizes=[32, 64], score_size=64, **quiet)
    twin = training.ensure_run("b", "smoke", over, tmp_path, records_only=True, **quiet)
    assert twin.dir == run.dir and twin.status == "recorded"

    weights = training.ensure_run("a", "smoke", over, tmp_path, **quiet)
    assert weights.status == "trained" and weights.checkpoint.is_file()


EVAL_KEYS = ["sizes", "score_size", "input_size", "upscale", "dtype", "path", "decode"]
PROV = ["commit", "time", "versions", "hardware"]


def test_fpliif_eval_records_the_checkpoint_as_given(tiny_data, tmp_path):
    """``fpliif eval``'s record: the checkpoint's path as given and its commit, no run or seconds."""
    from fpliif.engine.evaluate import evaluate_checkpoint

    run = training.ensure_run("a", "smoke", [f"data.root={tiny_data}", *TRAIN], tmp_path, log=lambda s: None)
    result, folder = evaluate_checkpoint(run.checkpoint, sizes=[32], score_size=32, progress=False)
    assert folder == run.dir / "eval-synth-test"
    meta = json.loads((folder / "results.json").read_text())["meta"]
    assert list(meta) == [
        *EVAL_KEYS,
        "checkpoint",
        "checkpoint_sha256",
        "checkpoint_commit",
        "model",
        "data",
        *PROV,
    ]
    assert meta["checkpoint"] == str(run.checkpoint) and meta["data"]["root"] == str(tiny_data)
    assert set(result.scores) == {"at32"} and not (folder / "skipped.json").exists()


def test_ensure_bench_reuses_records_made_with_the_same_arguments(tmp_path):
    stored = [{"kind": "latency", "model": "fpliif", "fps": 1.0}]
    (tmp_path / "bench.json").write_text(json.dumps(stored))
    (tmp_path / "bench-args.json").write_text(json.dumps(["--quick"]))
    assert records.ensure_bench(tmp_path, ["--quick"], log=lambda s: None) == stored  # no bench run


def test_bench_arguments_name_the_main_run_relative_to_the_repository():
    """The demo and real profiles time adaptive decoding on the main run's weights: the
    placeholders become repository-relative paths, so the stored arguments match on any clone."""
    args = load_profile("demo", {})["bench_args"]
    assert "{main_checkpoint}" in args
    out = bench_arguments(
        args, checkpoint=REPO_ROOT / "results/demo/runs/main/best.pt", data="synth", root=REPO_ROOT / "data/x"
    )
    i = out.index("--adaptive-checkpoint")
    assert out[i : i + 6] == [
        "--adaptive-checkpoint",
        "results/demo/runs/main/best.pt",
        "--adaptive-dataset",
        "synth",
        "--adaptive-root",
        "data/x",
    ]
    assert not any(key in a for a in out for key in MAIN_PLACEHOLDERS)
    assert bench_arguments(["--quick"], checkpoint="c", data="d", root="r") == ["--quick"]


def test_the_study_bench_trains_the_main_run_it_names(tmp_path):
    """bench_args naming the main run: the Study trains it first and the bench gets (and stores)
    its checkpoint and data as repository-relative paths."""
    params = {**load_profile("smoke", {}), "out": str(tmp_path / "out")}
    params["bench_args"] = [*params["bench_args"], "--adaptive-checkpoint", "{main_checkpoint}"]
    params["bench_args"] += ["--adaptive-dataset", "{main_data}", "--adaptive-root", "{main_root}"]
    study = Study(params, log=lambda s: None)
    assert study.bench()
    stored = json.loads((tmp_path / "out" / "bench" / "bench-args.json").read_text())
    checkpoint = stored[stored.index("--adaptive-checkpoint") + 1]
    assert checkpoint == rel(study.main_run().checkpoint) and study.main_run().checkpoint.is_file()
    assert stored[stored.index("--adaptive-dataset") + 1] == "synth"
    assert study.bench_args() == stored  # what the tables' captions show


# -- the runner ---------------------------------------------------------------------------------------
def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "smoke"\nout = "results/smoke"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(path))
    return path


def test_runner_executes_a_smoke_notebook_and_writes_the_manifest(tmp_path):
    out = tmp_path / "res"
    result = runner.run_notebooks(
        "smoke",
        only=["00_data_overview"],
        out=out,
        overrides=["synth={n_train: 2, n_val: 1, n_test: 1, size: 32, seed: 0}", "celeb_dataset=null"],
        log=lambda s: None,
    )
    m = json.loads((out / "manifest.json").read_text())
    assert m == result.manifest | {"notebooks": m["notebooks"]}
    assert m["status"] == "ok" and m["profile"] == "smoke" and m["failed"] is None
    entry = m["notebooks"]["00_data_overview"]
    assert entry["status"] == "ok" and entry["wall_s"] > 0
    for key in ("commit", "versions", "hardware", "started", "finished", "wall_s", "parameters"):
        assert m[key], key
    assert m["versions"]["papermill"] and m["parameters"]["out"] == str(out)
    executed = nbformat.read(str(out / "notebooks" / "00_data_overview.ipynb"), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in (c.metadata.get("tags") or [])]
    assert len(injected) == 1 and f'out = "{out}"' in injected[0].source
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")
    assert (out / "figures" / "data_samples_lapa.png").is_file()
    assert (out / "tables" / "class_frequencies_lapa.md").is_file()
    assert (out / "data" / "synth-lapa" / "synthfaces.json").is_file()  # "{out}" resolved


def test_a_partial_rerun_keeps_the_runs_whose_records_are_committed(tmp_path):
    """A fresh clone has a run's records but not its config: a rerun of other notebooks keeps its
    manifest entry, replaces the entries it re-summarizes and drops runs whose folder is gone."""
    runs = tmp_path / "runs"
    (runs / "main" / "eval-test").mkdir(parents=True)  # records only, no config.yaml
    (runs / "group-base").mkdir()
    path = tmp_path / "manifest.json"
    earlier = [{"name": "main", "train_s": 2392.0}, {"name": "gone", "train_s": 1.0}, {"name": "group-base"}]
    path.write_text(json.dumps({"profile": "smoke", "notebooks": {"a": {}}, "runs": earlier}))
    m = start_manifest(path, "smoke", {"profile": "smoke"}, ["b"], "python3")
    assert m["runs"] == earlier and list(m["notebooks"]) == ["a"]
    fresh = [{"name": "group-base", "train_s": 600.0}]
    assert merge_runs(m["runs"], fresh, tmp_path) == [fresh[0], earlier[0]]
    other = start_manifest(path, "smoke", {"profile": "real"}, ["b"], "python3")
    assert "runs" not in other and other["notebooks"] == {}


def test_a_failing_cell_stops_the_run_and_keeps_the_partial_notebook(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", 'print("before")\nraise ValueError("boom")')
    after = _notebook(tmp_path / "after.ipynb", "print(1)")
    out = tmp_path / "res"
    with pytest.raises(runner.NotebookFailed) as err:
        runner.run_notebooks("smoke", out=out, notebooks=[bad, after], log=lambda s: None)
    message = str(err.value)
    assert (
        "\n" not in message and "bad.ipynb" in message and "ValueError: boom" in message and "In[" in message
    )
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["failed"] == "bad"
    assert m["notebooks"]["bad"]["status"] == "failed" and "boom" in m["notebooks"]["bad"]["error"]
    assert m["notebooks"]["after"]["status"].startswith("not run")
    partial = nbformat.read(str(out / "notebooks" / "bad.ipynb"), as_version=4)
    outputs = [o for c in partial.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("ename") == "ValueError" for o in outputs)
    assert any("before" in o.get("text", "") for o in outputs)
    assert not (out / "notebooks" / "after.ipynb").exists()


def test_cli_run_exits_non_zero_with_one_line_on_a_failing_cell(tmp_path, monkeypatch, capsys):
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    _notebook(nbdir / "00_first.ipynb", "x = 1")
    _notebook(nbdir / "01_bad.ipynb", "1 / 0")
    monkeypatch.setattr(notebooks, "NOTEBOOK_DIR", nbdir)
    monkeypatch.setattr(notebooks, "NOTEBOOKS", ("00_first", "01_bad"))
    rc = main(["run", "smoke", "--out", str(tmp_path / "res")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len([line for line in err if line.startswith("fpliif run: error:")]) == 1
    line = next(line for line in err if line.startswith("fpliif run: error:"))
    assert "01_bad.ipynb" in line and "ZeroDivisionError" in line and "partly executed notebook" in line
    m = json.loads((tmp_path / "res" / "manifest.json").read_text())
    assert m["notebooks"]["00_first"]["status"] == "ok" and m["failed"] == "01_bad"


def test_dry_run_of_the_paper_profile_explains_the_plan(capsys):
    rc = main(["run", "paper", "--dry-run"])
    out = capsys.readouterr().out
    assert "torchrun --nproc_per_node=4 -m fpliif train --config paper-lapa" in out
    assert "run group-base" in out and "same config as run main" in out
    assert "fpliif bench --out results/paper/bench/bench.json --device cuda" in out
    for name in notebooks.NOTEBOOKS:
        assert f"{name}:" in out
    problems = out.split("problem(s)")[1] if "problem(s)" in out else ""
    # on a machine without the datasets the only problems are the missing datasets
    for line in problems.strip().splitlines()[1:]:
        assert any(d in line for d in ("lapa", "celebamask-hq", "helen")), line
    assert rc == (1 if problems else 0)


def test_dry_run_smoke_has_no_problems(capsys, tmp_path):
    assert main(["run", "smoke", "--dry-run", "--out", str(tmp_path)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_kernel_runs_this_python():
    """The runner's default kernel (python3) starts this environment's Python (CI registers none)."""
    assert runner.kernel_python("python3") == sys.executable
