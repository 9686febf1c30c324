"""Profiles: one value per notebook parameter (``PARAMS``), in ``configs/profiles/<name>.yaml``.

    params = load_profile("demo", ["epochs=1"])   # KEY=VALUE overrides parsed as YAML

The notebooks' own defaults are the ``smoke`` profile, so a notebook opened in JupyterLab, or run
by nbval, runs in seconds; ``papermill -f configs/profiles/demo.yaml`` (or ``fpliif run demo``)
replaces them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..engine.config import read_yaml_mapping, resolve_config_path
from ..errors import ConfigError
from ..provenance import REPO_ROOT

PROFILE_DIR = REPO_ROOT / "configs" / "profiles"
PROFILES = ("smoke", "quick", "demo", "real", "paper")

# Every notebook parameter, with what it means. A profile sets exactly these keys.
PARAMS: dict[str, str] = {
    "profile": "profile name, written into every caption",
    "out": "results folder; '{out}' in other paths stands for it",
    "device": "auto, cpu or cuda: training and evaluation device",
    "nproc": "processes per training run; > 1 launches torchrun (one per GPU)",
    "dataset": "data of the main run, Tables 1, 3, 5, 7, 9: synth or lapa (LaPa layout), or celebamask-hq",
    "root": "its folder",
    "synth": "SynthFaces settings {n_train, n_val, n_test, size, seed} to generate it (synth only)",
    "celeb_dataset": "CelebAMask-HQ-layout data for Table 2 and Figure 10: synth, celebamask-hq or null",
    "celeb_root": "its prepared folder (fpliif prepare celebamask-hq --out)",
    "celeb_raw": "its distribution folder (fpliif prepare celebamask-hq --root)",
    "celeb_synth": "SynthFaces settings to generate it (synth only)",
    "helen_dataset": "helen, or null: Table 3 then scores the main run with Helen's composites",
    "helen_root": "Helen's folder",
    "train_config": "training preset of the main run (configs/train/<name>.yaml)",
    "train_overrides": "extra SECTION.KEY=VALUE overrides of the main run, applied last",
    "epochs": "main run: epochs (null: the preset's)",
    "batch_size": "main run: global batch (null: the preset's)",
    "edge_weight": "main run: lambda of the edge-aware CE (null: the preset's)",
    "norm": "main run: resblock norm, instance | batch | none",
    "decoder": "main run: liif | unet",
    "seed": "main run: seed",
    "eval_sizes": "output sizes decoded for Tables 1-3 (256 is the score size; 512 = 'Ours512')",
    "eval_dtype": "evaluation precision: fp32, bf16, or auto (bf16 where the hardware has it, else fp32)",
    "eval_batch": "images per evaluation batch",
    "celeb_config": "training preset of the CelebAMask-HQ runs",
    "celeb_overrides": "their extra overrides",
    "celeb_seeds": "their seeds: the first is Table 2's run, all of them Table 7's row ([] = not run)",
    "helen_config": "training preset of the Helen runs (helen_dataset set)",
    "helen_overrides": "their extra overrides",
    "helen_seeds": "their seeds (Table 3: the first; Table 7: all)",
    "baseline_model": "light peer trained like the main run (Table 9, Figures 10/11); null = none",
    "group_config": "training preset of the comparison group (ablations, Tables 5 and 7)",
    "group_overrides": "the group's overrides: one short budget shared by every run in it",
    "group_subset": "{n_train, n_val, n_test}: the group trains on the first images of root (null: all)",
    "group_eval_size": "output size at which the group's runs are scored",
    "edge_weights": "Table 5's lambda values ([] = not run)",
    "ablations": "section 5.1 variants: name -> model options ({} = not run)",
    "seeds": "Table 7's seeds of the group's base run ([] = not run)",
    "bench_args": "arguments of `fpliif bench` for Tables 4 and 6 ([--quick] for smoke); "
    "{main_checkpoint}, {main_data} and {main_root} name the main run's weights and data",
    "n_samples": "samples shown per dataset in the data overview",
    "worst_k": "images shown in the worst-case figures",
    "multires_sizes": "output sizes of the multi-resolution figure",
    "multires_index": "test image shown in it",
    "transfer_profile": "profile whose SynthFaces main run is scored on the real test images (null: not run)",
}


def profile_path(name_or_path: str | Path) -> Path:
    return resolve_config_path(name_or_path, PROFILE_DIR, "profile")


def load_profile(name_or_path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters of a profile (``KEY=VALUE`` overrides parsed as YAML), checked against PARAMS."""
    path = profile_path(name_or_path)
    params = read_yaml_mapping(path, "a mapping of parameters")
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"parameter override {item!r} must look like KEY=VALUE")
        params[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ConfigError(f"{path}: unknown parameter(s) {unknown}; known: {sorted(PARAMS)}")
    return params


__all__ = ["PARAMS", "PROFILES", "PROFILE_DIR", "load_profile", "profile_path"]
