#!/usr/bin/env bash
# CI (inside an nvidia/cuda devel container, after dist_env.sh with -DGGML_CUDA=on): pack
# llama.cpp's CUDA backend module and the CUDA runtime libraries it needs into an add-on
# archive laid out like the bundle (_internal/llama_cpp/lib/...).
#   bash installers/ci/cuda_addon.sh OUT_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:?usage: cuda_addon.sh OUT_DIR}"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$ROOT/gptoss_desktop/__init__.py")"
SITE="$("$ROOT/build/venv-dist/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
module="$(find "$SITE/bin" "$SITE/llama_cpp/lib" -name 'libggml-cuda.so' 2>/dev/null | head -n1)"
[[ -n "$module" ]] || { echo "cuda_addon.sh: libggml-cuda.so not found under $SITE" >&2; exit 1; }
STAGE="$(mktemp -d)"
LIB="$STAGE/_internal/llama_cpp/lib"
mkdir -p "$LIB" "$OUT"
cp "$module" "$LIB/"
# The CUDA runtime pieces the module links to (the driver, libcuda, comes from the system).
for soname in $(objdump -p "$module" | awk '/NEEDED/ && /libcu/ {print $2}'); do
  [[ "$soname" == libcuda.so* ]] && continue
  src="$(find /usr/local/cuda/lib64 /usr/local/cuda/targets -name "$soname" 2>/dev/null | head -n1)"
  [[ -n "$src" ]] || { echo "cuda_addon.sh: $soname not found" >&2; exit 1; }
  cp -L "$src" "$LIB/$soname"
done
cat >"$STAGE/README.txt" <<TXT
gpt-oss Desktop $VERSION: NVIDIA CUDA add-on for Linux x86-64.
Needs an NVIDIA driver for CUDA 12.4 or newer. Unpack into the app's folder:
  .deb:   sudo tar -xzf THIS.tar.gz -C /usr/lib/gptoss-desktop
  folder: tar -xzf THIS.tar.gz -C /path/to/gptoss-desktop
The app then reports "CUDA" as its backend in Settings and in: gptoss-desktop doctor
TXT
tar -czf "$OUT/gptoss-desktop-$VERSION-linux-x86_64-cuda12-addon.tar.gz" -C "$STAGE" .
ls -l "$OUT"
