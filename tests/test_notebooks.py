"""The notebooks as stored: no outputs, smoke defaults, parameters papermill can read, profiles that
fit them, and executed copies that stay ruff-clean. (nbval executes them: see pyproject.toml.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from fpliif.runs.notebooks import NOTEBOOK_DIR, NOTEBOOKS, TOOLS, notebook_path, parameterize, parameters_cell
from fpliif.runs.profiles import PARAMS, PROFILE_DIR, PROFILES, load_profile

ROOT = Path(__file__).resolve().parents[1]
STORED = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PAPER = [p for p in STORED if p.stem not in TOOLS]


def test_every_notebook_is_in_the_runner_order_or_a_tool():
    assert sorted(p.stem for p in STORED) == sorted(NOTEBOOKS + TOOLS)
    assert len(set(NOTEBOOKS)) == len(NOTEBOOKS) and not set(NOTEBOOKS) & set(TOOLS)


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.name)
def test_stored_notebook_carries_no_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs: strip them before committing"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
        assert "injected-parameters" not in (cell.metadata.get("tags") or []), f"{path.name}: executed copy?"
    assert "papermill" not in nb.metadata, f"{path.name} is an executed copy"


@pytest.mark.parametrize("path", PAPER, ids=lambda p: p.name)
def test_notebook_is_thin_titled_and_parameterized(path):
    nb = nbformat.read(str(path), as_version=4)
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    assert nb.cells[1].metadata.get("tags") == ["parameters"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c.source for c in nb.cells[2:] if c.cell_type == "code"]
    assert "from fpliif.runs.study import Study" in code[0]
    # its module: fpliif/tables/<the notebook's name without a number prefix>.py
    module = path.stem.split("_", 1)[1] if path.stem[:2].isdigit() else path.stem
    assert (ROOT / "fpliif" / "tables" / f"{module}.py").is_file(), f"no fpliif/tables/{module}.py"
    assert f"from fpliif.tables import {module}" in code[0], f"{path.name} does not call its module {module}"
    # thin: no function or class definitions; the logic lives in fpliif/ where tests reach it
    assert not any(line.lstrip().startswith(("def ", "class ")) for src in code for line in src.splitlines())
    assert sum(len(src.splitlines()) for src in code) <= 25


def test_parameters_cells_default_to_the_smoke_profile():
    smoke = yaml.safe_load((PROFILE_DIR / "smoke.yaml").read_text())
    declared: set[str] = set()
    for name in NOTEBOOKS:
        params = parameters_cell(notebook_path(name))
        declared |= set(params)
        assert params == {k: smoke[k] for k in params}, f"{name}: defaults differ from smoke.yaml"
    assert declared == set(smoke) == set(PARAMS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_papermill_reads_every_parameter(name, caplog):
    found = papermill.inspect_notebook(str(notebook_path(name)))
    assert set(found) == set(parameters_cell(notebook_path(name)))
    assert "Unable to parse" not in caplog.text


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_set_every_parameter(profile):
    params = load_profile(profile)
    assert set(params) == set(PARAMS)
    assert params["profile"] == profile


def test_executed_copies_stay_ruff_clean(tmp_path):
    """What the runner writes to results/<profile>/notebooks/ (the notebook with the profile's
    parameters injected) passes ruff without the notebooks/ per-file ignores."""
    for profile in PROFILES:
        params = load_profile(profile)
        for name in NOTEBOOKS:
            declared = parameters_cell(notebook_path(name))
            nb = parameterize(notebook_path(name), {k: v for k, v in params.items() if k in declared})
            nbformat.write(nb, str(tmp_path / f"{profile}-{name}.ipynb"))
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("name", TOOLS)
def test_tool_notebooks_are_titled_parameterized_and_need_no_data(name):
    """An interactive notebook: a title, a ``parameters`` cell papermill reads, defaults that run
    on built-in images and without shipped weights (nbval executes it with them)."""
    path = notebook_path(name)
    nb = nbformat.read(str(path), as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert nb.cells[1].metadata.get("tags") == ["parameters"]
    params = parameters_cell(path)
    assert set(papermill.inspect_notebook(str(path))) == set(params)
    assert params.get("weights") is None
