#!/usr/bin/env bash
# The packaging acceptance by hand: install the committed tree into a fresh virtual
# environment with a plain `pip install .` (dependencies from the package index), then,
# from a folder holding decoy `core/`, `gui/` and `main.py`, import hillwalk, run
# `python -m hillwalk --help`, and list the top-level names the distribution installed.
# Usage: bash tools/check_fresh_install.sh [PYTHON]   (default python3)
set -euo pipefail
python=${1:-python3}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$repo" archive HEAD | tar -x -C "$work" --one-top-level=src
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work/src"
mkdir -p "$work/decoy/core" "$work/decoy/gui"
echo "raise ImportError('the decoy core was imported')" > "$work/decoy/core/__init__.py"
echo "raise ImportError('the decoy gui was imported')" > "$work/decoy/gui/__init__.py"
echo "raise SystemExit('the decoy main.py was imported')" > "$work/decoy/main.py"
cd "$work/decoy"
set -x
"$work/venv/bin/python" -c "import hillwalk; print(hillwalk.__file__, hillwalk.__version__)"
"$work/venv/bin/python" -m hillwalk --help | head -3
"$work/venv/bin/python" - <<'PY'
import importlib.metadata as metadata
files = metadata.distribution("hillwalk").files
print("top-level names installed:", sorted({f.parts[0] for f in files if f.parts[0] != ".."}))
PY
QT_QPA_PLATFORM=offscreen "$work/venv/bin/hillwalk" render --dataset iris --grid 21 --out "$work/decoy/slice.png"
