"""The README's first lines are the two commands a newcomer runs; CI runs the second one."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_readme_opens_with_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0].startswith("# ") and lines[2] == "```bash"
    main_cmd, test_cmd = _readme_commands()
    assert main_cmd.startswith("bash env/setup.sh && ")
    assert test_cmd.startswith("bash env/setup.sh && ") and "pytest" in test_cmd


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in [line.strip() for line in ci]


def test_ruff_clean():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_main_command_names_a_real_profile():
    main_cmd = _readme_commands()[0]
    profile = main_cmd.split("fpliif run ", 1)[1].split()[0]
    assert (ROOT / "configs" / "profiles" / f"{profile}.yaml").is_file()


def test_readme_python_example_runs():
    text = (ROOT / "README.md").read_text()
    code = text.split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert tuple(scope["logits"].shape) == (2, 11, 512, 384)
    assert sum(p.numel() for p in scope["model"].parameters()) == 2_289_163
    assert scope["fast"](scope["images"], 64).shape == (2, 11, 64, 64)
