#!/usr/bin/env bash
# Build environment for distribution builds (Linux and macOS; Windows: build.ps1 does the same).
#
# Creates build/venv-dist (never the developers' .venv) with the app's runtime dependencies,
# PyInstaller, and llama-cpp-python compiled for distribution: not tuned to this CPU, with
# llama.cpp's CPU-variant backend modules (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS) on x86_64,
# Metal on macOS. The compiled wheel is kept in build/wheels-dist and reused by later builds
# (pip's own wheel cache would hand back a developer's CPU-tuned build, so it is bypassed).
#
#   installers/dist_env.sh            # idempotent; prints the venv's python path last
#   LLAMA_EXTRA_CMAKE_ARGS="-DGGML_CUDA=on" installers/dist_env.sh   # a CUDA build
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${DIST_VENV:-$ROOT/build/venv-dist}"
WHEELS="${DIST_WHEELS:-$ROOT/build/wheels-dist}"
LLAMA_VERSION="$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' "$ROOT/pyproject.toml")"
PYINSTALLER_SPEC="pyinstaller>=6.10,<7"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64)  FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON" ;;
  Linux-*)       FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON" ;;
  # Apple Silicon: Metal is on by default; one CPU flavour (every M-series has the same ISA base).
  Darwin-*)      FLAGS="-DGGML_NATIVE=OFF -DGGML_METAL=ON -DGGML_METAL_EMBED_LIBRARY=ON" ;;
  *) echo "dist_env.sh: unsupported platform $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac
FLAGS="$(echo $FLAGS ${LLAMA_EXTRA_CMAKE_ARGS:-})"  # one space between flags, none around
STAMP="$WHEELS/cmake-args.txt"

log() { printf '[dist_env] %s\n' "$*" >&2; }

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV with $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip wheel
fi

mkdir -p "$WHEELS"
wheel="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [[ -n "$wheel" && "$(echo $(cat "$STAMP" 2>/dev/null))" != "$FLAGS" ]]; then
  log "existing wheel was built with other flags; rebuilding"
  rm -f "$wheel"
  wheel=""
fi
if [[ -z "$wheel" ]]; then
  log "compiling llama-cpp-python $LLAMA_VERSION with CMAKE_ARGS=$FLAGS (about 20 minutes on 2 cores)"
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(getconf _NPROCESSORS_ONLN)}" \
    "$VENV/bin/python" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
    -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
  printf '%s' "$FLAGS" >"$STAMP"
  wheel="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n1)"
fi

# Runtime dependencies from pyproject.toml (the app itself is frozen from the source tree).
deps="$("$VENV/bin/python" - "$ROOT/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
print("\n".join(d for d in deps if not d.startswith("llama-cpp-python")))
PY
)"
mapfile -t dep_list <<<"$deps"
"$VENV/bin/python" -m pip install --quiet "${dep_list[@]}" "$PYINSTALLER_SPEC" "$wheel"
# The wheel built here, even where another build of the same version was installed before.
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
log "ready: $("$VENV/bin/python" -c 'import llama_cpp, PyInstaller; print("llama_cpp", llama_cpp.__version__, "PyInstaller", PyInstaller.__version__)')"
echo "$VENV/bin/python"
