"""``fpliif run PROFILE``: execute the notebooks with papermill, in order, into ``results/<profile>/``.

The output folder receives ``notebooks/`` (the executed copies), ``tables/`` (CSV + Markdown),
``figures/`` (PNG), ``manifest.json`` (``fpliif.runs.manifest``) and, not for git, ``runs/``
(checkpoints, evaluations) and ``bench/``. A failing cell stops the runner with an error naming
file and cell, and keeps the partly executed notebook.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, FpliifError
from ..provenance import now
from .manifest import start_manifest, write_manifest
from .notebooks import notebook_path, parameterize, parameters_cell, select_notebooks
from .paths import Log, rel, resolve, say
from .profiles import load_profile


class NotebookFailed(FpliifError):
    """A notebook's cell raised; the partly executed notebook was kept."""


def kernel_python(kernel: str) -> str | None:
    """The Python a Jupyter kernel would start ("python" in a kernelspec means this one)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:  # pragma: no cover - jupyter_client comes with papermill
        return None
    try:
        argv = KernelSpecManager().get_kernel_spec(kernel).argv
    except NoSuchKernel:
        return None
    v = sys.version_info
    return (
        sys.executable if argv and argv[0] in ("python", f"python{v[0]}", f"python{v[0]}.{v[1]}") else argv[0]
    )


@dataclass
class RunnerResult:
    manifest: dict[str, Any]
    path: Path
    failed: str | None = None
    messages: list[str] = field(default_factory=list)


def run_notebooks(
    profile: str | Path,
    *,
    only: Sequence[str] | None = None,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    kernel: str | None = None,
    log_output: bool = False,
    notebooks: Sequence[Path] | None = None,
    log: Log = say,
) -> RunnerResult:
    """Execute the profile's notebooks with papermill, in order, into its output folder.

    Stops at the first failing notebook (``NotebookFailed``, after writing the manifest; the
    partly executed notebook stays in ``<out>/notebooks/``). ``notebooks`` replaces the project's
    list (tests use it).
    """
    params = load_profile(profile, overrides)
    if out is not None:
        params["out"] = str(out)
    out_dir = resolve(params.get("out") or f"results/{Path(str(profile)).stem}")
    paths = (
        [Path(p) for p in notebooks]
        if notebooks is not None
        else [notebook_path(n) for n in select_notebooks(only)]
    )
    kernel = kernel or "python3"
    _check_kernel(kernel, log)
    (out_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    manifest = start_manifest(manifest_path, profile, params, [p.stem for p in paths], kernel)
    started = time.perf_counter()
    failed: str | None = None
    for i, src in enumerate(paths):
        name = src.stem
        declared = parameters_cell(src)
        nb_params = {k: v for k, v in params.items() if k in declared}
        dst = out_dir / "notebooks" / src.name
        entry: dict[str, Any] = {"name": name, "status": "running", "output": rel(dst), "started": now()}
        manifest["notebooks"][name] = entry
        write_manifest(manifest_path, manifest, started)
        log(f"[{i + 1}/{len(paths)}] {name} ...")
        t0 = time.perf_counter()
        comment = f"profile {params.get('profile')}"
        entry |= _execute(src, dst, nb_params, comment=comment, kernel=kernel, log_output=log_output)
        entry["wall_s"] = round(time.perf_counter() - t0, 1)
        entry["finished"] = now()
        log(f"    {entry['status']} in {entry['wall_s']:.0f} s")
        if entry["status"] != "ok":
            failed = name
            for rest in paths[i + 1 :]:
                manifest["notebooks"][rest.stem] = {
                    "name": rest.stem,
                    "status": "not run (an earlier notebook failed)",
                }
            break
    manifest["status"] = "failed" if failed else "ok"
    manifest["failed"] = failed
    write_manifest(manifest_path, manifest, started, final=True)
    result = RunnerResult(manifest, manifest_path, failed)
    if failed:
        entry = manifest["notebooks"][failed]
        raise NotebookFailed(
            f"{failed}.ipynb failed at {entry['error']} - partly executed notebook kept in "
            f"{entry['output']}; manifest {rel(manifest_path)}"
        )
    log(f"done: {len(paths)} notebooks in {manifest['wall_s'] / 60:.1f} min; manifest {rel(manifest_path)}")
    return result


def _check_kernel(kernel: str, log: Log) -> None:
    python = kernel_python(kernel)
    if python is None:
        raise ConfigError(
            f"no Jupyter kernel named {kernel!r}; `{sys.executable} -m ipykernel install --sys-prefix` "
            "registers this environment's"
        )
    if Path(python) != Path(sys.executable):
        log(f"note: kernel {kernel!r} runs {python}, not this environment's {sys.executable}")


def _execute(
    src: Path, dst: Path, params: dict[str, Any], *, comment: str, kernel: str, log_output: bool
) -> dict[str, Any]:
    """Write notebook ``src`` with ``params`` injected to ``dst`` and execute it there with
    papermill (saved after every cell); its manifest status: ``ok``, or ``failed`` with the error
    (and the failing cell's traceback)."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        nbformat.write(parameterize(src, params, comment=comment), str(dst))
        papermill.execute_notebook(
            str(dst),
            str(dst),
            parameters=None,
            kernel_name=kernel,
            cwd=str(src.parent),
            progress_bar=False,
            log_output=log_output,
            request_save_on_cell_execute=True,
            # the kernel's own log (an unencrypted-TCP warning per start) is noise; a dead
            # kernel still fails the notebook
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
        return {"status": "ok"}
    except PapermillExecutionError as exc:
        evalue = (str(exc.evalue).strip().splitlines() or [""])[0]
        return {
            "status": "failed",
            "error": f"cell In[{exc.exec_count}] (cell {exc.cell_index}): {exc.ename}: {evalue}",
            "traceback": "\n".join(exc.traceback[-8:]) if exc.traceback else "",
        }
    except Exception as exc:  # noqa: BLE001 - a dead kernel, a bad notebook file: record and stop
        return {
            "status": "failed",
            "error": f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}",
        }


__all__ = ["NotebookFailed", "RunnerResult", "kernel_python", "run_notebooks"]
