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


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [part.split("```", 1)[0] for part in text.split("```python")[1:]]


def test_readme_photo_snippets_run(tmp_path, monkeypatch):
    """The first screen's two lines (and the same in "Parsing photos") parse a real photograph:
    scikit-image's astronaut, saved as photo.jpg."""
    from PIL import Image
    from skimage import data

    snippets = [code for code in _python_blocks() if "load_pretrained" in code]
    assert len(snippets) >= 1 and "load_pretrained" in _python_blocks()[0]
    Image.fromarray(data.astronaut()).save(tmp_path / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    for code in snippets:
        scope: dict = {}
        exec(compile(code, "README.md", "exec"), scope)
        labels = scope["labels"]
        assert labels.shape == (512, 512)
        assert 0.02 < (labels > 0).mean() < 0.6  # one face parsed, the rest background


def test_readme_python_example_runs():
    (code,) = [code for code in _python_blocks() if "build_model" in code]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert tuple(scope["logits"].shape) == (2, 11, 512, 384)
    assert sum(p.numel() for p in scope["model"].parameters()) == 2_289_163
    assert scope["fast"](scope["images"], 64).shape == (2, 11, 64, 64)
