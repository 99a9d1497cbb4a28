"""The installer sources stay consistent: spec, llama_cpp hook, scripts, desktop metadata, icons.

Fast checks only; the real builds run through installers/<os>/build.* (not part of pytest).
"""

from __future__ import annotations

import re
import runpy
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT

INSTALLERS = ROOT / "installers"
sys.path.insert(0, str(INSTALLERS))
import bundle_layout as layout  # noqa: E402
from tools import bundle_tool, make_icons  # noqa: E402

APP_ID = "io.github.gptoss_desktop.GptossDesktop"
DESKTOP = ROOT / "resources" / "linux" / f"{APP_ID}.desktop"
METAINFO = ROOT / "resources" / "linux" / f"{APP_ID}.metainfo.xml"
NSI = INSTALLERS / "windows" / "gptoss-desktop.nsi"


# --- the PyInstaller spec -------------------------------------------------------------------------
class _Recorder:
    """Stands in for PyInstaller's build targets: records what the spec passes to each."""

    made: list[_Recorder]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.binaries: list[tuple[str, str, str]] = []
        self.datas: list[tuple[str, str, str]] = []
        self.pure: list[Any] = []
        self.scripts: list[Any] = []
        _Recorder.made.append(self)


def _run_spec(platform: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[_Recorder]]:
    pytest.importorskip("PyInstaller", reason="PyInstaller is not installed in this environment")
    made: dict[str, list[_Recorder]] = {}
    names = ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")
    classes = {n: type(n, (_Recorder,), {}) for n in names}
    _Recorder.made = []
    monkeypatch.setattr(sys, "platform", platform)
    runpy.run_path(
        str(INSTALLERS / "gptoss-desktop.spec"),
        init_globals={"SPECPATH": str(INSTALLERS), **classes},
    )
    for obj in _Recorder.made:
        made.setdefault(type(obj).__name__, []).append(obj)
    return made


def test_spec_runs_and_points_at_real_files(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _run_spec("linux", monkeypatch)
    (analysis,) = made["Analysis"]
    (entry,) = analysis.args[0]
    assert Path(entry).is_file()
    assert analysis.kwargs["pathex"] == [str(ROOT)]
    (hooks,) = analysis.kwargs["hookspath"]
    assert (Path(hooks) / "hook-llama_cpp.py").is_file()
    hidden = analysis.kwargs["hiddenimports"]
    # Sub-commands are imported by name; the worker runs inside the same binary.
    assert {"gptoss_desktop.cli.selftest", "gptoss_desktop.worker.server"} <= set(hidden)
    # the local API: its server command, and uvicorn's modules chosen by name at run time
    assert {"gptoss_desktop.cli.serve", "gptoss_desktop.api.app"} <= set(hidden)
    assert {
        "uvicorn.protocols.http.h11_impl",
        "uvicorn.loops.asyncio",
        "uvicorn.lifespan.off",
    } <= set(hidden)
    assert not {"starlette", "uvicorn", "h11", "anyio"} & set(analysis.kwargs["excludes"])
    assert "PySide6.QtQml" in analysis.kwargs["excludes"]
    datas = analysis.kwargs["datas"]
    assert all(Path(src).is_file() for src, _ in datas)
    dests = {(Path(src).name, dest) for src, dest in datas}
    assert ("gptoss-desktop.svg", "resources/icons") in dests
    assert (f"{APP_ID}.desktop", "resources/linux") in dests
    assert ("catalog.json", "gptoss_desktop/core/library") in dests  # package data
    assert [d for _, d in datas].count("resources/models") == 1
    (exe,) = made["EXE"]
    assert exe.kwargs["name"] == "gptoss-desktop" and exe.kwargs["console"] is True
    assert exe.kwargs["strip"] is False  # strip corrupts numpy's OpenBLAS
    assert "BUNDLE" not in made


def test_spec_on_windows_adds_a_console_twin_and_on_macos_an_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows = _run_spec("win32", monkeypatch)
    names = {e.kwargs["name"]: e.kwargs for e in windows["EXE"]}
    assert names["gptoss-desktop"]["console"] is False
    assert names["gptoss-desktop-cli"]["console"] is True
    assert names["gptoss-desktop"]["icon"].endswith("gptoss-desktop.ico")
    assert Path(names["gptoss-desktop"]["icon"]).is_file()
    nsi = NSI.read_text()
    assert '!define APP_EXE "gptoss-desktop.exe"' in nsi
    assert '!define APP_CLI_EXE "gptoss-desktop-cli.exe"' in nsi
    macos = _run_spec("darwin", monkeypatch)
    (bundle,) = macos["BUNDLE"]
    assert bundle.kwargs["bundle_identifier"] == APP_ID
    assert Path(bundle.kwargs["icon"]).is_file()


# --- the llama_cpp hook -------------------------------------------------------------------------
def test_hook_collects_the_llama_cpp_libraries_of_this_environment() -> None:
    hook = runpy.run_path(str(INSTALLERS / "hooks" / "hook-llama_cpp.py"))
    binaries = hook["binaries"]
    assert binaries == layout.llama_cpp_binaries()
    names = {Path(src).name for src, _ in binaries}
    assert any(n.startswith("libllama.so") for n in names) or "llama.dll" in names
    assert any("ggml-base" in n for n in names)
    assert all(Path(src).is_file() for src, _ in binaries)
    assert {dest for _, dest in binaries} == {layout.LLAMA_LIB_DEST}


def test_backend_modules_land_where_the_worker_loads_them(tmp_path: Path) -> None:
    # A GGML_BACKEND_DL wheel: libraries in llama_cpp/lib, CPU variants in site-packages/bin.
    site = tmp_path / "site-packages"
    lib, bin_dir = site / "llama_cpp" / "lib", site / "bin"
    lib.mkdir(parents=True)
    bin_dir.mkdir()
    for name in ("libllama.so", "libllama.so.0", "libggml.so", "libggml-base.so"):
        (lib / name).write_bytes(b"\x7fELF")
    for name in ("libggml-cpu-haswell.so", "libggml-cpu-x64.so", "libggml-base.so", "notes.txt"):
        (bin_dir / name).write_bytes(b"\x7fELF")
    binaries = layout.llama_cpp_binaries(site / "llama_cpp")
    by_name = {Path(src).name: (Path(src), dest) for src, dest in binaries}
    assert by_name["libggml-cpu-haswell.so"] == (
        bin_dir / "libggml-cpu-haswell.so",
        "llama_cpp/lib",
    )
    assert by_name["libggml-base.so"][0] == lib / "libggml-base.so"  # lib/ wins over bin/
    assert "notes.txt" not in by_name
    assert layout.backend_modules(binaries) == ["libggml-cpu-haswell.so", "libggml-cpu-x64.so"]
    # gptoss_desktop.worker.backend loads modules from the llama_cpp package's lib folder.
    from gptoss_desktop.worker import backend

    assert backend._lib_dir().relative_to(backend._lib_dir().parents[1]).as_posix() == (
        layout.LLAMA_LIB_DEST
    )


def test_hook_refuses_a_broken_llama_cpp(tmp_path: Path) -> None:
    (tmp_path / "llama_cpp" / "lib").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="no llama library"):
        layout.llama_cpp_binaries(tmp_path / "llama_cpp")


# --- Qt trimming ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dest", "drop"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/Qt/plugins/platforms/qwindows.dll", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
        ("PySide6/Qt/lib/libQt6Quick.so.6", True),
        ("PySide6/Qt/translations/qt_de.qm", True),
        ("PySide6\\Qt\\plugins\\qmltooling\\qmldbg_debugger.dll", True),
    ],
)
def test_qt_trimming_keeps_what_the_app_needs(dest: str, drop: bool) -> None:
    assert layout.dropped(dest) is drop


def test_libraries_only_dropped_plugins_needed_are_pruned() -> None:
    needs = {
        "PySide6/QtWidgets.abi3.so": ["libQt6Widgets.so.6"],
        "PySide6/Qt/lib/libQt6Widgets.so.6": ["libQt6Gui.so.6"],
        "PySide6/Qt/lib/libQt6Gui.so.6": ["libfreetype.so.6", "libc.so.6"],
        "libfreetype.so.6": ["libz.so.1"],
        "libz.so.1": [],
        "PySide6/Qt/plugins/platforms/libqxcb.so": ["libxcb-icccm.so.4"],
        "libxcb-icccm.so.4": [],
        "libcairo.so.2": ["libpixman-1.so.0"],  # was needed by the dropped GTK theme plugin
        "libpixman-1.so.0": [],
        "PySide6/Qt/lib/libQt6Quick.so.6": [],
        "llama_cpp/lib/libllama.so": ["libgomp.so.1"],
        "libgomp.so.1": [],
        "libpython3.11.so.1.0": [],
    }
    assert layout.unreferenced_libraries(needs) == {
        "libcairo.so.2",
        "libpixman-1.so.0",
        "PySide6/Qt/lib/libQt6Quick.so.6",
    }


def test_pruning_follows_extension_modules_on_real_files(tmp_path: Path) -> None:
    if shutil.which("objdump") is None:
        pytest.skip("objdump not installed (Debian: binutils)")
    import numpy

    # numpy's core extension needs its bundled OpenBLAS; a copy of a library nobody needs goes.
    numpy_dir = Path(numpy.__file__).parent
    core = next((numpy_dir / "_core").glob("_multiarray_umath.*.so"))
    blas_name = next(n for n in layout.elf_needed(str(core)) if "openblas" in n)
    blas = numpy_dir.parent / "numpy.libs" / blas_name
    unused = tmp_path / "libunused.so.1"
    shutil.copy(_real_shared_library(), unused)
    toc = [
        (f"numpy/_core/{core.name}", str(core), "EXTENSION"),
        (f"numpy.libs/{blas_name}", str(blas), "BINARY"),
        ("libunused.so.1", str(unused), "BINARY"),
        ("resources/icons/gptoss-desktop.svg", str(make_icons.SVG), "DATA"),
    ]
    kept, removed = layout.prune_unreferenced(toc)
    assert removed == ["libunused.so.1"]
    assert [e[0] for e in kept] == [toc[0][0], toc[1][0], toc[3][0]]


# --- resources and desktop metadata ---------------------------------------------------------------
def test_desktop_file_and_metainfo_agree() -> None:
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines() if "=" in line)
    assert entry["Icon"] == APP_ID
    assert entry["Exec"].split()[0] == layout.APP_NAME
    component = ET.parse(METAINFO).getroot()
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == DESKTOP.name
    assert component.findtext("provides/binary") == layout.APP_NAME
    import gptoss_desktop

    assert component.find("releases/release").get("version") == gptoss_desktop.__version__


def test_desktop_file_validates() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate not installed (Debian: desktop-file-utils)")
    proc = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_metainfo_validates() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli not installed (Debian: appstream)")
    proc = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_icons_exist_at_every_size() -> None:
    ET.parse(make_icons.SVG)  # well-formed
    for size in make_icons.SIZES:
        assert _png_size(make_icons.png_path(size)) == (size, size)
    ico = (make_icons.ICONS / "gptoss-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, len(make_icons.ICO_SIZES))
    icns = (make_icons.ICONS / "gptoss-desktop.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)


# --- Windows installer ------------------------------------------------------------------------------
def test_nsis_script_compiles_with_a_stand_in_payload(tmp_path: Path) -> None:
    makensis = shutil.which("makensis")
    if makensis is None:
        pytest.skip("makensis not installed (Debian: nsis)")
    payload = tmp_path / "payload"
    (payload / "_internal" / "llama_cpp" / "lib").mkdir(parents=True)
    for name in ("gptoss-desktop.exe", "gptoss-desktop-cli.exe", "_internal/base_library.zip"):
        (payload / name).write_bytes(b"stand-in " + name.encode())
    (payload / "_internal" / "LICENSE").write_text("no extension: must be packed too")
    out = tmp_path / "gptoss-desktop-0.1.0-windows-x64-installer.exe"
    proc = subprocess.run(
        [
            makensis,
            "-V4",
            "-WX",
            f"-DPAYLOAD={payload}",
            "-DAPP_VERSION=0.1.0",
            f"-DOUTFILE={out}",
            str(NSI),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    packed = set(re.findall(r'^File: "([^"]+)" ', proc.stdout, re.M))
    assert {"gptoss-desktop.exe", "gptoss-desktop-cli.exe", "base_library.zip", "LICENSE"} <= packed
    data = out.read_bytes()
    assert data[:2] == b"MZ"
    assert b"Nullsoft" in data or b"NullsoftInst" in data


# --- build scripts and CI ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "script",
    [
        "dist_env.sh",
        "linux/build.sh",
        "linux/AppRun",
        "macos/build.sh",
        "ci/demo_model.sh",
        "ci/cuda_addon.sh",
    ],
)
def test_shell_scripts_parse(script: str) -> None:
    path = INSTALLERS / script
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_release_workflow_builds_each_os_with_the_documented_command() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    jobs = workflow["jobs"]
    expected = {
        "linux": ("ubuntu-22.04", "installers/linux/build.sh"),
        "macos": ("macos-14", "installers/macos/build.sh"),
        "windows": ("windows-2022", "installers\\windows\\build.ps1"),
    }
    for name, (runner, command) in expected.items():
        job = jobs[name]
        assert job["runs-on"] == runner
        runs = "\n".join(step.get("run", "") for step in job["steps"])
        assert command in runs
        assert (ROOT / command.replace("\\", "/")).is_file()
        assert any(
            step.get("uses", "").startswith("actions/upload-artifact@") for step in job["steps"]
        )
    for step in jobs["linux"]["steps"]:
        for script in (step.get("run") or "").split():
            if script.startswith("installers/"):
                assert (ROOT / script).is_file(), script


# --- bundle_tool on real ELF files ------------------------------------------------------------------
def _real_shared_library() -> Path:
    for src, _ in layout.llama_cpp_binaries():
        if Path(src).name.startswith("libggml-base.so"):
            return Path(src)
    pytest.skip("no libggml-base.so in this environment's llama_cpp")


def test_dedupe_glibc_and_size_checks_on_real_libraries(tmp_path: Path) -> None:
    if shutil.which("objdump") is None:
        pytest.skip("objdump not installed (Debian: binutils)")
    real = _real_shared_library()
    folder = tmp_path / "bundle" / "llama_cpp" / "lib"
    folder.mkdir(parents=True)
    for name in ("libggml-base.so", "libggml-base.so.0", "libggml-base.so.0.25.3"):
        shutil.copy(real, folder / name)
    assert "2 copies replaced" in bundle_tool.dedupe(tmp_path / "bundle")
    assert (folder / "libggml-base.so.0.25.3").is_file()
    assert not (folder / "libggml-base.so.0.25.3").is_symlink()
    for name in ("libggml-base.so", "libggml-base.so.0"):
        assert (folder / name).is_symlink()
        assert (folder / name).resolve() == (folder / "libggml-base.so.0.25.3").resolve()
    line = bundle_tool.glibc_check(tmp_path / "bundle", "9.99", max_glibcxx="9.9.99")
    glibc_line, cxx_line = line.splitlines()
    assert glibc_line.startswith("glibc: bundle needs GLIBC_2.")
    assert cxx_line.startswith("libstdc++: bundle needs GLIBCXX_3.4.")
    with pytest.raises(bundle_tool.CheckFailed, match="TOO NEW"):
        bundle_tool.glibc_check(tmp_path / "bundle", "2.0")
    size = real.stat().st_size
    assert bundle_tool.bundle_size(tmp_path / "bundle") < size + 100  # symlinks count as links
    with pytest.raises(bundle_tool.CheckFailed, match="OVER BUDGET"):
        bundle_tool.size_check(tmp_path / "bundle", max_mib=size / 2 / bundle_tool.MIB)
