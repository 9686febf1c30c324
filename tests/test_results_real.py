"""What results/real/ may hold: numbers, logs, charts and weights, never a CelebA-HQ face."""

from __future__ import annotations

import json
import subprocess

from fpliif.provenance import REPO_ROOT

REAL = REPO_ROOT / "results" / "real"


def _tracked(folder) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", str(folder.relative_to(REPO_ROOT))], cwd=REPO_ROOT, capture_output=True, text=True
    )
    return out.stdout.split()


def test_no_face_image_is_tracked():
    files = _tracked(REAL)
    assert files, "results/real/ holds nothing tracked"
    assert not [f for f in files if f.lower().endswith((".jpg", ".jpeg"))]
    assert not [f for f in files if "/figures/faces/" in f]
    pngs = {f.rsplit("/", 1)[-1] for f in files if f.endswith(".png")}
    assert pngs <= {"class_frequencies_celebamask-hq.png", "training_curves_main.png"}  # charts only


def test_executed_notebooks_embed_no_face_figure():
    for path in sorted((REAL / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            mimes = {m for o in cell.get("outputs", []) for m in (o.get("data") or {})}
            source = "".join(cell["source"])
            if "faces=True" in source or "explore" in path.stem:
                assert "image/png" not in mimes, f"{path.name}: a face figure is embedded"
            if "image/png" in mimes:
                assert "training_figure" in source or "class_frequency_plot" in source, path.name
