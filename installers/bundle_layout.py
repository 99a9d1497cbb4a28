"""What goes into the frozen app and where: shared by the spec, the llama_cpp hook and tests.

Plain Python (no PyInstaller import), so the regular test suite can check it against the
developers' environment.

llama_cpp: the wheel keeps its shared libraries in ``llama_cpp/lib`` (each one three times:
``libx.so``, ``libx.so.0``, ``libx.so.0.y.z``: wheels cannot hold symlinks) and, in builds
with ``GGML_BACKEND_DL``, llama.cpp's backend modules (``libggml-cpu-haswell.so``, ...,
``libggml-cuda.so``) in ``site-packages/bin``. The bundle puts all of them in
``llama_cpp/lib``, where ``gptoss_desktop.worker.backend.load_backend_modules`` looks first;
``dedupe_libs.py`` then turns the copies into symlinks (two copies of libggml would be two
instances of it in one process).

Qt: PyInstaller collects the plugins of every Qt module the app imports. The app needs
widgets on X11, Wayland, macOS and Windows, SVG icons, and nothing of QML, Quick, PDF,
designer, printing, SQL or the embedded-Linux platforms.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path

APP_NAME = "gptoss-desktop"
ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
DEMO_MODEL = "tiny-harmony.gguf"

# --- llama_cpp ------------------------------------------------------------------------------
LLAMA_LIB_DEST = "llama_cpp/lib"
_SHARED_LIB = re.compile(r"(\.so(\.\d+)*|\.dylib|\.dll)$")
# Backend modules of a GGML_BACKEND_DL build (CPU variants, GPU backends).
_BACKEND_MODULE = re.compile(r"^(lib)?ggml-[a-z0-9_]+(-[a-z0-9_]+)?\.(so|dylib|dll)$")
# Runtime libraries a Windows build of llama.cpp may need beside its DLLs (OpenMP).
_WINDOWS_RUNTIME = ("vcomp140.dll", "libomp140.x86_64.dll", "libomp.dll")


def is_shared_library(name: str) -> bool:
    return bool(_SHARED_LIB.search(name))


def llama_cpp_package_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("llama_cpp is not installed in this Python environment")
    return Path(spec.origin).parent


def llama_cpp_binaries(package_dir: Path | None = None) -> list[tuple[str, str]]:
    """(source file, bundle folder) for every shared library llama_cpp loads at run time."""
    pkg = package_dir or llama_cpp_package_dir()
    lib = pkg / "lib"
    if not lib.is_dir():
        raise FileNotFoundError(f"{lib} does not exist: is llama-cpp-python installed whole?")
    found = {p.name: p for p in sorted(lib.iterdir()) if p.is_file() and is_shared_library(p.name)}
    bin_dir = pkg.parent / "bin"  # site-packages/bin: backend modules of GGML_BACKEND_DL builds
    if bin_dir.is_dir():
        for p in sorted(bin_dir.iterdir()):
            if p.is_file() and (_BACKEND_MODULE.match(p.name) or p.name in _WINDOWS_RUNTIME):
                found.setdefault(p.name, p)
    if not any(n.startswith(("libllama.", "llama.")) for n in found):
        raise FileNotFoundError(
            f"no llama library in {lib}: the llama-cpp-python install is broken"
        )
    return [(str(p), LLAMA_LIB_DEST) for _, p in sorted(found.items())]


def backend_modules(binaries: list[tuple[str, str]]) -> list[str]:
    """Names of the GGML_BACKEND_DL modules among ``binaries`` (empty for a monolithic build)."""
    return sorted(
        Path(src).name
        for src, _ in binaries
        if _BACKEND_MODULE.match(Path(src).name) and "ggml-base" not in src
    )


# --- Qt trimming ------------------------------------------------------------------------------
QT_EXCLUDED_MODULES = [
    f"PySide6.{m}"
    for m in [
        "Qt3DAnimation",
        "Qt3DCore",
        "Qt3DExtras",
        "Qt3DInput",
        "Qt3DLogic",
        "Qt3DRender",
        "QtBluetooth",
        "QtCharts",
        "QtConcurrent",
        "QtDataVisualization",
        "QtDesigner",
        "QtGraphs",
        "QtHelp",
        "QtHttpServer",
        "QtLocation",
        "QtMultimedia",
        "QtMultimediaWidgets",
        "QtNetwork",
        "QtNfc",
        "QtOpenGL",
        "QtOpenGLWidgets",
        "QtPdf",
        "QtPdfWidgets",
        "QtPositioning",
        "QtPrintSupport",
        "QtQml",
        "QtQuick",
        "QtQuick3D",
        "QtQuickControls2",
        "QtQuickTest",
        "QtQuickWidgets",
        "QtRemoteObjects",
        "QtScxml",
        "QtSensors",
        "QtSerialBus",
        "QtSerialPort",
        "QtSpatialAudio",
        "QtSql",
        "QtStateMachine",
        "QtTest",
        "QtTextToSpeech",
        "QtUiTools",
        "QtWebChannel",
        "QtWebEngineCore",
        "QtWebEngineQuick",
        "QtWebEngineWidgets",
        "QtWebSockets",
        "QtWebView",
        "QtXml",
    ]
]
PYTHON_EXCLUDED_MODULES = [
    "tkinter",
    "_tkinter",
    "pytest",
    "_pytest",
    "pytestqt",
    "IPython",
    "matplotlib",
    "PIL",
    "gguf",
    # huggingface_hub's optional Xet transfer backend (11 MB): the app streams downloads itself.
    "hf_xet",
    "mypy",
    "ruff",
    "tests",
]

# Bundle paths (as PyInstaller's TOC names them, "/" separated) that the app never uses.
QT_DROPPED = [
    "PySide6/Qt/plugins/platforms/*qeglfs*",
    "PySide6/Qt/plugins/platforms/*qlinuxfb*",
    "PySide6/Qt/plugins/platforms/*qminimalegl*",
    "PySide6/Qt/plugins/platforms/*qvnc*",
    "PySide6/Qt/plugins/platforms/*qvkkhrdisplay*",
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/qmltooling/*",
    "PySide6/Qt/plugins/designer/*",
    "PySide6/Qt/plugins/sqldrivers/*",
    "PySide6/Qt/plugins/printsupport/*",
    "PySide6/Qt/plugins/sceneparsers/*",
    "PySide6/Qt/plugins/renderers/*",
    "PySide6/Qt/plugins/multimedia/*",
    "PySide6/Qt/plugins/position/*",
    "PySide6/Qt/plugins/wayland-graphics-integration-server/*",
    # GTK theme plugin: needs the system's GTK 3, and would drag cairo and pango in.
    "PySide6/Qt/plugins/platformthemes/*qgtk3*",
    "PySide6/Qt/qml/*",
    "PySide6/Qt/lib/libQt6EglFSDeviceIntegration*",
    "PySide6/Qt/lib/libQt6EglFsKmsSupport*",
    "PySide6/Qt/lib/libQt6WaylandCompositor*",
    "PySide6/Qt/lib/libQt6WaylandEglCompositorHwIntegration*",
    "PySide6/Qt/lib/libQt6Quick*",
    "PySide6/Qt/lib/libQt6Qml*",
    "PySide6/Qt/lib/libQt6Pdf*",
    "PySide6/Qt/lib/libQt6Designer*",
    # Qt's own translations: keep only qtbase (standard dialogs and buttons).
    "PySide6/Qt/translations/qt_*",
    "PySide6/Qt/translations/qtdeclarative_*",
    "PySide6/Qt/translations/qtmultimedia_*",
    "PySide6/Qt/translations/qtserialport_*",
    "PySide6/Qt/translations/qtwebengine_*",
    "PySide6/Qt/translations/qtconnectivity_*",
    "PySide6/Qt/translations/qtlocation_*",
    "PySide6/Qt/translations/qtwebsockets_*",
    "PySide6/Qt/translations/designer_*",
    "PySide6/Qt/translations/linguist_*",
    "PySide6/Qt/translations/assistant_*",
    "PySide6/Qt/translations/qthelp_*",
    "PySide6/Qt/translations/qtquickcontrols*",
    # Headers, CMake files and typing stubs have no business in an app bundle.
    "*.h",
    "*.pyi",
    "*/include/*",
    "*/cmake/*",
]


# Linux: taken from the target system, never bundled (see the spec).
LINUX_SYSTEM_LIBRARIES = ("libstdc++.so.6", "libgcc_s.so.1", "libexpat.so.1")

# After plugins are dropped, libraries only they needed (GTK, Kerberos, ...) are unreferenced.
# Candidates are dependency libraries; everything else (extension modules, plugins,
# llama_cpp's ctypes-loaded libraries, the Python library) is a root.
_DEPENDENCY_DIRS = ("PySide6/Qt/lib/", "numpy.libs/")
_PYTHON_EXTENSION = re.compile(r"(\.cpython-[^/]*|\.abi3)\.so$")
_ELF_KINDS = ("BINARY", "EXTENSION")  # PyInstaller TOC type codes of shared objects


def is_dependency_library(dest_name: str) -> bool:
    name = dest_name.replace("\\", "/")
    if name.startswith(_DEPENDENCY_DIRS):
        return True
    top_level = "/" not in name and not name.startswith("libpython")
    return top_level and is_shared_library(name) and not _PYTHON_EXTENSION.search(name)


def unreferenced_libraries(needs: dict[str, list[str]]) -> set[str]:
    """Dependency libraries no root reaches through DT_NEEDED.

    ``needs`` maps each bundled ELF file's bundle path to the sonames it needs.
    """
    by_soname: dict[str, list[str]] = {}
    for dest in needs:
        by_soname.setdefault(dest.rsplit("/", 1)[-1], []).append(dest)
    reached: set[str] = set()
    stack = [dest for dest in needs if not is_dependency_library(dest)]
    while stack:
        dest = stack.pop()
        if dest in reached:
            continue
        reached.add(dest)
        for soname in needs[dest]:
            stack.extend(by_soname.get(soname, []))
    return {dest for dest in needs if is_dependency_library(dest) and dest not in reached}


def elf_needed(path: str) -> list[str]:
    """DT_NEEDED entries of an ELF file (binutils' objdump)."""
    out = subprocess.run(["objdump", "-p", path], capture_output=True, text=True, check=True)
    return re.findall(r"^\s+NEEDED\s+(\S+)", out.stdout, re.M)


def prune_unreferenced(
    toc: list[tuple[str, str, str]],
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """PyInstaller's binaries TOC without unreferenced libraries, and their names."""
    needs = {dest: elf_needed(src) for dest, src, kind in toc if kind in _ELF_KINDS}
    unused = unreferenced_libraries(needs)
    return [entry for entry in toc if entry[0] not in unused], sorted(unused)


def dropped(dest_name: str, patterns: list[str] | None = None) -> bool:
    name = dest_name.replace("\\", "/")
    return any(fnmatch.fnmatch(name, pat) for pat in (QT_DROPPED if patterns is None else patterns))


# --- resources and the demo model --------------------------------------------------------------
def demo_model_source(root: Path = ROOT) -> Path:
    """The demo model to bundle: resources/models/tiny-harmony.gguf, else a fallback.

    Until the UI work puts the demo model in resources/models, the project's own test
    model of that name in tests/data/models (else the smallest GGUF there) is bundled.
    ``GPTOSS_DEMO_MODEL=/path/to/model.gguf`` overrides the choice (a build without the
    project's test models).
    """
    override = os.environ.get("GPTOSS_DEMO_MODEL")
    if override:
        if not Path(override).is_file():
            raise FileNotFoundError(f"GPTOSS_DEMO_MODEL={override} is not a file")
        return Path(override)
    for folder in (root / "resources" / "models", root / "tests" / "data" / "models"):
        if (folder / DEMO_MODEL).is_file():
            return folder / DEMO_MODEL
    for folder in (root / "resources" / "models", root / "tests" / "data" / "models"):
        models = sorted(folder.glob("*.gguf"), key=lambda p: (p.stat().st_size, p.name))
        if models:
            return models[0]
    raise FileNotFoundError(
        "no demo model: put tiny-harmony.gguf in resources/models (or make the test models: "
        "python tests/data/make_models.py)"
    )


def resource_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source, bundle folder) for resources/ (models handled by :func:`demo_model_source`)."""
    out: list[tuple[str, str]] = []
    res = root / "resources"
    for path in sorted(res.rglob("*")):
        rel = path.relative_to(res)
        if not path.is_file() or rel.parts[0] == "models" or path.name.startswith("."):
            continue
        out.append((str(path), str(Path("resources") / rel.parent)))
    model = demo_model_source(root)
    out.append((str(model), "resources/models"))
    return out


def platform_tag() -> str:
    return {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
