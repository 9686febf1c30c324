"""The pip pins and the conda environment stay the same list."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pip_pins() -> list[str]:
    lines = (ROOT / "env" / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def test_environment_yml_equals_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == _pip_pins()
    assert "python=3.11" in env["dependencies"]


def test_torch_pin():
    pins = _pip_pins()
    assert "torch==2.14.1" in pins and "torchvision==0.29.1" in pins
    assert all("==" in p for p in pins), "every requirement is pinned"
