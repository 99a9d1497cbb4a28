"""The layering rules, checked by a machine: the core never imports Qt, and nothing outside
gptoss_desktop/worker imports llama_cpp (the app process must never load llama.cpp)."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

SCRIPT = """
import importlib, pkgutil, sys
import gptoss_desktop.core as core
names = [m.name for m in pkgutil.walk_packages(core.__path__, "gptoss_desktop.core.")]
for name in names:
    importlib.import_module(name)
import gptoss_desktop.cli, gptoss_desktop.app  # the GUI entry must not pull llama_cpp either
import gptoss_desktop.ui.main_window
bad = sorted(m for m in sys.modules if m.split(".")[0] == "llama_cpp")
print(len(names), "PySide6" in sys.modules, bad)
"""

CORE_ONLY = """
import importlib, pkgutil, sys
import gptoss_desktop.core as core
for m in pkgutil.walk_packages(core.__path__, "gptoss_desktop.core."):
    importlib.import_module(m.name)
print(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "llama_cpp")))
"""


def _run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_core_imports_neither_qt_nor_llama_cpp() -> None:
    assert _run(CORE_ONLY) == "[]"


def test_gui_process_never_imports_llama_cpp() -> None:
    count, _qt, bad = _run(SCRIPT).split(" ", 2)
    assert int(count) > 40
    assert bad == "[]"
