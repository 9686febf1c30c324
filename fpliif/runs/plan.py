"""``fpliif run PROFILE --dry-run``: the plan (data, training runs, bench) and what stands in its way.

Nothing is made: every dataset is checked where it should be, every training run's configuration
is built and compared with what its folder holds (reuse, resume, retrain or train).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import FpliifError
from . import notebooks
from .notebooks import notebook_path, parameters_cell
from .paths import rel, resolve
from .study import Study
from .training import RunSpec, config_diff, run_state, runs_dir


def specs_for(study: Study, notebook: str) -> list[RunSpec]:
    """The training runs a notebook needs."""
    out: list[RunSpec | None] = []
    main = {
        "01_train_evaluate",
        "table1_lapa",
        "table9_lightweight",
        "figure3_4_multiresolution",
        "figure10_11_worst_cases",
    }
    transfer = notebook == "transfer_synth_real" and study.p.get("transfer_profile")
    if notebook in main or transfer or (notebook == "table3_helen" and study.data.helen() is None):
        out.append(study.main_spec())
    if notebook in ("table9_lightweight", "figure10_11_worst_cases"):
        out.append(study.baseline_spec("lapa"))
    if notebook in ("table2_celebamask", "figure10_11_worst_cases"):
        out.append(study.celeb_spec())
    if notebook == "figure10_11_worst_cases":
        out.append(study.baseline_spec("celeb"))
    if notebook == "table3_helen" and study.data.helen() is not None:
        out.append(study.helen_spec())
    if notebook in ("02_ablations", "table5_edge_weight") and study.p.get("edge_weights"):
        out += [study.group_spec("ew", w) for w in study.p["edge_weights"]]
    if notebook == "02_ablations" and study.p.get("ablations"):
        out += [study.group_base()[0]] + [study.group_spec("ablation", a) for a in study.p["ablations"]]
    if notebook == "table7_seeds":
        out += [study.group_spec("seed", s) for s in study.p.get("seeds") or []]
        if not study.main_is_celebamask():
            out += [study.celeb_spec(s) for s in study.p.get("celeb_seeds") or []]
        if study.data.helen() is not None:
            out += [study.helen_spec(s) for s in study.p.get("helen_seeds") or []]
    return [s for s in out if s is not None]


def dry_run(
    params: Mapping[str, Any], names: Sequence[str], *, profile: str | Path
) -> tuple[list[str], list[str]]:
    """(plan lines, problems) for running the notebooks ``names`` with ``params``: parameters, data, runs."""
    lines = [f"profile {profile}: {len(names)} notebooks -> {rel(resolve(params.get('out') or 'results'))}/"]
    problems: list[str] = []
    for name in names:
        declared = parameters_cell(notebook_path(name))
        missing = sorted(set(declared) - set(params))
        if missing:
            problems.append(f"{name}: the profile lacks parameter(s) {missing}")
    unused = sorted(set(params) - {k for n in notebooks.NOTEBOOKS for k in parameters_cell(notebook_path(n))})
    if unused:
        problems.append(f"parameter(s) {unused} are used by no notebook")
    study = Study(params, dry=True, log=lambda s: None)
    try:
        study.data.all()
        if params.get("group_subset") and any(
            n in names for n in ("02_ablations", "table5_edge_weight", "table7_seeds")
        ):
            study.data.group()
    except (FpliifError, KeyError, TypeError) as exc:
        problems.append(f"data: {exc}")
    lines += study.data.plan_lines
    problems += study.data.problems
    out_root = study.out
    seen: set[str] = set()
    configs: dict[str, dict[str, Any]] = {}
    for name in names:
        lines.append(f"{name}:")
        try:
            specs = specs_for(study, name)
        except (FpliifError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        if name in ("table4_complexity", "table6_resolution_speed"):
            bench_out = rel(out_root / "bench" / "bench.json")
            bench_args = " ".join(params.get("bench_args") or [])
            lines.append(f"  bench: fpliif bench --out {bench_out} {bench_args}")
        for spec in specs:
            if spec.name in seen:
                lines.append(f"  run {spec.name}: (see above)")
                continue
            seen.add(spec.name)
            try:
                cfg = spec.train_config(out_root)
            except FpliifError as exc:
                problems.append(f"run {spec.name}: {exc}")
                continue
            twin = next((n for n, c in configs.items() if not config_diff(c, cfg.to_dict())), None)
            configs[spec.name] = cfg.to_dict()
            if twin is not None:
                lines.append(f"  run {spec.name} [{spec.label}]: same config as run {twin}: trained once")
                continue
            state, done = run_state(Path(cfg.run.out), cfg)
            what = {
                "finished": f"reuse ({done} epochs done)",
                "recorded": f"reuse its records ({done} epochs; trained anew where its weights are needed)",
                "resume": f"resume after epoch {done} of {cfg.optim.epochs}",
                "stale": "retrain (the folder holds another config)",
                "new": f"train {cfg.optim.epochs} epochs",
            }[state]
            lines.append(
                f"  run {spec.name} [{spec.label}]: {what}; {cfg.model.name}, batch {cfg.optim.batch_size}, "
                f"{cfg.data.image_size} px, device {cfg.run.device}"
            )
            lines.append(f"    {spec.command(out_root)}")
    lines.append(
        f"runs live in {rel(runs_dir(out_root))}/ (not for git); "
        f"tables, figures, notebooks, manifest in {rel(out_root)}/"
    )
    return lines, problems


__all__ = ["dry_run", "specs_for"]
