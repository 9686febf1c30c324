"""Family ``notebooks``: a failing cell must stop the batch runner (``fpliif.runs.runner.run_notebooks``
and ``fpliif run``) with an error naming the notebook, keep the partly executed notebook and run
nothing after it."""

from __future__ import annotations

import json
from pathlib import Path

from .common import Family, one_line_error, patched, run_cli, short

TITLE = "Notebooks"
PASS_MEANS = (
    "a failing cell makes the batch run stop with a non-zero exit and keeps the partly executed notebook"
)
CASE = "a failing cell stops the batch run (error), keeps the partial notebook, runs nothing after it"


def _notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def _check(fam: Family, out: Path, failing: Path, marker: Path, raised: bool, how: str, message: str) -> None:
    """The failing notebook is kept with output up to the failing cell; the next one never ran."""
    import nbformat

    kept = out / "notebooks" / failing.name
    ran: dict[str, bool] = {}
    if kept.exists():
        for c in nbformat.read(str(kept), as_version=4).cells:
            for key in ("first cell ran", "fails on purpose", "must not run"):
                if key in c.source and c.cell_type == "code":
                    ran[key] = bool(c.get("outputs"))
    manifest = out / "manifest.json"
    status = json.loads(manifest.read_text()).get("status") if manifest.exists() else None
    ok = (
        raised
        and ran == {"first cell ran": True, "fails on purpose": True, "must not run": False}
        and not marker.exists()  # the next notebook never ran
        and "rb_failing" in message
    )
    fam.add(
        f"{CASE} ({how})",
        ok,
        f"{short(message, 300)}; partial notebook kept: {kept.exists()} (cells with output: {ran}); "
        f"next notebook ran: {marker.exists()}; manifest status: {status}",
    )


def run(fam: Family, work: Path, *, quick: bool = False, seed: int = 0) -> None:
    from ..errors import FpliifError
    from ..runs import runner

    work.mkdir(parents=True, exist_ok=True)
    marker = work / "after-ran"
    failing, after = work / "rb_failing.ipynb", work / "rb_after.ipynb"
    _notebook(
        failing,
        [
            'out = "unset"',
            "print('first cell ran')",
            "raise RuntimeError('robustness: this cell fails on purpose')",
            "print('must not run')",
        ],
    )
    _notebook(after, ['out = "unset"', f"open({str(marker)!r}, 'w').close()"])

    profile = work / "profile.yaml"
    out = work / "out-library"
    profile.write_text(f"out: {json.dumps(str(out))}\n")
    try:
        runner.run_notebooks(str(profile), out=str(out), notebooks=[failing, after], log=lambda message: None)
    except Exception as exc:  # noqa: BLE001 - the runner must raise
        raised: BaseException | None = exc
    else:
        raised = None
    message = f"{type(raised).__name__}: {raised}" if raised else "no error raised"
    if raised is not None and not isinstance(raised, FpliifError):
        message += " (not an FpliifError: the command line would print a traceback)"
        raised = None
    _check(fam, out, failing, marker, raised is not None, "fpliif.runs.runner.run_notebooks", message)

    out = work / "out-cli"
    names = {failing.stem: failing, after.stem: after}
    marker.unlink(missing_ok=True)
    with (
        patched(runner, "select_notebooks", lambda only: list(names)),
        patched(runner, "notebook_path", lambda name: names[name]),
    ):
        rc, _, err = run_cli(["run", str(profile), "--out", str(out)])
    ok, line = one_line_error(rc, err, "run")
    _check(fam, out, failing, marker, ok, "fpliif run: exit code and message", f"exit {rc}: {line}")
