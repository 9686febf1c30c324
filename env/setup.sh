#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv and install fpliif into it.
#   bash env/setup.sh                       # uses python3.11 if present, else python3
#   PYTHON=/path/to/python bash env/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
# pip prints a warning per missing local mirror folder on our machines; drop that noise, keep real errors.
quiet_pip() { { .venv/bin/python -m pip "$@" 2>&1; } | { grep -v "is ignored" || true; }; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
quiet_pip install -q -r env/requirements.txt
quiet_pip install -q --no-deps -e .
.venv/bin/python -c "import fpliif, torch; print(f'fpliif {fpliif.__version__} ready (torch {torch.__version__})')"
