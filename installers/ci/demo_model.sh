#!/usr/bin/env bash
# CI: make sure a demo model exists to bundle (resources/models/tiny-harmony.gguf, or the
# project's generated test model of that name). Generates the test models when neither exists.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
for f in resources/models/tiny-harmony.gguf tests/data/models/tiny-harmony.gguf; do
  if [[ -f "$f" ]]; then echo "demo model: $f"; exit 0; fi
done
[[ -f tests/data/make_models.py ]] || { echo "no demo model and no tests/data/make_models.py" >&2; exit 1; }
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || PY=python
"$PY" -m venv build/venv-models
VPY=build/venv-models/bin/python
[[ -x "$VPY" ]] || VPY=build/venv-models/Scripts/python.exe
"$VPY" -m pip install --quiet "gguf==0.19.0" "numpy>=1.26"
"$VPY" tests/data/make_models.py
ls -l tests/data/models
