"""The layering rules, checked by a machine.

The import-linter contracts in pyproject.toml (``[tool.importlinter]``: core imports no Qt,
llama_cpp, ui, cli or app; cli and app above ui above core; worker apart from ui; no import
cycles between sibling packages or modules at any depth) are checked on the import graph, which
holds every import, also those inside functions. The run-time checks below start the app's
modules and look at what got loaded: the GUI process must never load llama.cpp.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.helpers import ROOT

LINT = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True))"

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


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LINT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": "", "PYTHONPATH": str(cwd)},
    )


def test_the_import_contracts_hold() -> None:
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout
    for contract in ("core imports no Qt", "cli and app above ui above core", "no import cycles"):
        assert contract in proc.stdout


def test_the_contracts_catch_imports_inside_functions_and_cycles(tmp_path: Path) -> None:
    """What the old after-the-fact check missed: an import inside a function, and a cycle."""
    files = {
        "demo/__init__.py": "",
        "demo/core/__init__.py": "",
        "demo/core/a.py": "def later():\n    import demo.ui.view  # noqa\n",
        "demo/core/b.py": "import demo.core.c\n",
        "demo/core/c.py": "def f():\n    import demo.core.b  # noqa\n",
        "demo/ui/__init__.py": "",
        "demo/ui/view.py": "import demo.core.a\n",
        "pyproject.toml": textwrap.dedent(
            """
            [tool.importlinter]
            root_package = "demo"
            [[tool.importlinter.contracts]]
            name = "core below ui"
            type = "forbidden"
            source_modules = ["demo.core"]
            forbidden_modules = ["demo.ui"]
            [[tool.importlinter.contracts]]
            name = "acyclic"
            type = "acyclic_siblings"
            ancestors = ["demo"]
            """
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    proc = _lint(tmp_path)
    assert proc.returncode != 0
    assert "demo.core.a -> demo.ui.view" in proc.stdout
    assert "2 broken" in proc.stdout
