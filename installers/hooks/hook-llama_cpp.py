"""PyInstaller hook for llama_cpp (llama-cpp-python): its shared libraries and backend modules.

llama_cpp loads libllama with ctypes from ``llama_cpp/lib``, so PyInstaller's import analysis
cannot see it. The layout (which files, and why all of them land in llama_cpp/lib) lives in
installers/bundle_layout.py, where the regular test suite checks it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bundle_layout import llama_cpp_binaries

binaries = llama_cpp_binaries()
# The high-level API imports these lazily or by name.
hiddenimports = ["llama_cpp.llama_cpp", "llama_cpp._ctypes_extensions", "llama_cpp._internals"]
