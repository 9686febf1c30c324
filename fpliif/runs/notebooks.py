"""The notebooks: their order, their ``parameters`` cells, and a profile's values injected as papermill does.

Each notebook ``notebooks/<name>.ipynb`` calls its module ``fpliif/tables/<name>.py`` (the number
prefix of the first three dropped); ``NOTEBOOKS`` is the order ``fpliif run`` executes them in.
``TOOLS`` are the interactive notebooks beside them (``explore``: parse any photo with widgets),
which ``fpliif run`` leaves alone and the tests execute with their own defaults.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..provenance import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"

# Execution order: producers (data, the main run, the ablation group) before their consumers.
NOTEBOOKS: tuple[str, ...] = (
    "00_data_overview",
    "01_train_evaluate",
    "02_ablations",
    "table1_lapa",
    "table2_celebamask",
    "table3_helen",
    "table4_complexity",
    "table5_edge_weight",
    "table6_resolution_speed",
    "table7_seeds",
    "table9_lightweight",
    "figure3_4_multiresolution",
    "figure10_11_worst_cases",
    "transfer_synth_real",
)


# Interactive notebooks: not part of a profile's run, no tables module, their own parameters.
TOOLS: tuple[str, ...] = ("explore",)


def notebook_path(name: str) -> Path:
    return NOTEBOOK_DIR / f"{name}.ipynb"


def _read(path: str | Path):
    """(notebook, index of its one cell tagged ``parameters``)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    found = [i for i, c in enumerate(nb.cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if len(found) != 1:
        raise ConfigError(f"{path}: expected one cell tagged 'parameters', found {len(found)}")
    return nb, found[0]


def parameters_cell(path: str | Path) -> dict[str, Any]:
    """The defaults of a notebook's ``parameters``-tagged cell (literal assignments only)."""
    nb, index = _read(path)
    out: dict[str, Any] = {}
    for node in ast.parse(nb.cells[index].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            out[node.target.id] = ast.literal_eval(node.value)
    return out


def py_literal(value: Any) -> str:
    """A Python literal for a YAML-like value (str, number, bool, None, list, dict)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    raise ConfigError(f"parameter value {value!r} is not a YAML scalar, list or mapping")


def py_assignment(name: str, value: Any, width: int = 100) -> str:
    """``name = value``, one item per line when a list or mapping would be wider than ``width``."""
    line = f"{name} = {py_literal(value)}"
    if len(line) <= width:
        return line
    if isinstance(value, Mapping):
        body = "".join(f"    {py_literal(k)}: {py_literal(v)},\n" for k, v in value.items())
        return f"{name} = {{\n{body}}}"
    if isinstance(value, list | tuple):
        body = "".join(f"    {py_literal(v)},\n" for v in value)
        return f"{name} = [\n{body}]"
    return line


def parameterize(path: str | Path, params: Mapping[str, Any], *, comment: str = ""):
    """The notebook at ``path`` with an ``injected-parameters`` cell after its parameters cell,
    as papermill does, but formatted so that the executed notebook stays ruff-clean."""
    import nbformat

    nb, index = _read(path)
    head = "# Parameters" + (f" ({comment})" if comment else "")
    source = "\n".join([head, *(py_assignment(k, v) for k, v in params.items())])
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)
    nb.metadata["fpliif"] = {"parameters": dict(params)}
    return nb


def select_notebooks(only: Sequence[str] | None) -> list[str]:
    """The notebooks to run, in ``NOTEBOOKS`` order; ``only`` entries match a name or its prefix."""
    if not only:
        return list(NOTEBOOKS)
    chosen: set[str] = set()
    for item in only:
        stem = Path(item).stem
        hits = [n for n in NOTEBOOKS if n == stem] or [n for n in NOTEBOOKS if n.startswith(stem)]
        if not hits:
            raise ConfigError(f"no notebook matches {item!r}; known: {', '.join(NOTEBOOKS)}")
        chosen.update(hits)
    return [n for n in NOTEBOOKS if n in chosen]


__all__ = [
    "NOTEBOOKS",
    "NOTEBOOK_DIR",
    "TOOLS",
    "notebook_path",
    "parameterize",
    "parameters_cell",
    "py_assignment",
    "py_literal",
    "select_notebooks",
]
