"""The sandbox process: confine itself, then run code cells in one persistent namespace.

Started by :class:`~gptoss_desktop.core.tools.sandbox.process.PythonSandbox` as
``python -I -S -B -c BOOT PKGROOT CONFIG`` with an empty environment. Stdlib only, and
nothing heavy is imported, so start-up stays fast. Everything it needs is imported before
it locks itself down; after that it can read only the Python standard library and the
system's shared libraries, and read/write only its scratch folder.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import io
import json
import linecache
import os
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import types
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec

from gptoss_desktop.core.tools.sandbox import confine, protocol

#: System folders the dynamic loader needs when a stdlib extension module is imported
#: after lock-down (ctypes needs libffi, for example). Read-only; missing ones are skipped.
SYSTEM_LIBRARY_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/share/zoneinfo")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")


class CPUTimeLimitExceeded(Exception):
    """Raised inside a cell when it used up its CPU-time allowance."""


class _Cell:
    running = False
    cpu_s = 0.0


def _on_cpu_timer(signum: int, frame: object) -> None:
    """SIGPROF from ITIMER_PROF (process CPU time): the cell used its allowance."""
    if _Cell.running:
        _Cell.running = False
        raise CPUTimeLimitExceeded(f"CPU time limit of {_Cell.cpu_s:g} s for one call exceeded")


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPUTimeLimitExceeded.__module__ = "builtins"  # printed as a plain name in tracebacks


def _format_error(exc: BaseException) -> str:
    """The traceback without the sandbox's own frames: only what the cell's code did."""
    report = traceback.TracebackException.from_exception(exc)
    frames = list(report.stack)
    while frames and not frames[0].filename.startswith("<cell"):
        frames.pop(0)
    while frames and frames[-1].filename == __file__:
        frames.pop()
    report.stack = traceback.StackSummary.from_list(frames)
    return "".join(report.format()).rstrip("\n")


#: Longest error text sent back (a frame has a size limit; the model needs no more).
MAX_ERROR_CHARS = 64 * 1024


def _capped(text: str) -> str:
    if len(text) <= MAX_ERROR_CHARS:
        return text
    cut = len(text) - MAX_ERROR_CHARS
    return (
        text[: MAX_ERROR_CHARS // 2]
        + f"\n[... {cut} characters cut ...]\n"
        + text[-MAX_ERROR_CHARS // 2 :]
    )


def run_cell(code: str, cell: int, namespace: dict[str, object]) -> tuple[str | None, bool]:
    """Run one cell like a notebook: the value of a final expression is printed.

    Returns the error text (None if it ran through) and whether the CPU limit stopped it.
    """
    filename = f"<cell {cell}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    try:
        tree = ast.parse(code, filename, "exec")
        last: ast.Expression | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)  # type: ignore[attr-defined]
        exec(compile(tree, filename, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), namespace)
            if value is not None:
                print(repr(value))
        return None, False
    except BaseException as exc:  # everything the cell raises goes back to the model
        return _format_error(exc), isinstance(exc, CPUTimeLimitExceeded)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a cell may have replaced or closed them
            pass


def serve(cmd_fd: int, res_fd: int) -> None:
    namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": __builtins__}
    while True:
        try:
            message = protocol.read_frame(cmd_fd)
        except protocol.FrameError:
            return
        if message is None:
            return
        op = message.get("op")
        if op == "ping":
            protocol.write_frame(res_fd, {"ok": True})
            continue
        if op != "exec":
            protocol.write_frame(res_fd, {"ok": False, "error": f"unknown op {op!r}"})
            continue
        code = str(message.get("code", ""))
        cpu_s = float(message.get("cpu_s", 10.0))
        _Cell.cpu_s = cpu_s
        start = _cpu_used()
        error: str | None
        try:
            _Cell.running = True
            signal.setitimer(signal.ITIMER_PROF, cpu_s)
            error, timed_out = run_cell(code, int(message.get("cell", 0)), namespace)
        except CPUTimeLimitExceeded as exc:  # raised between the cell's end and here
            error, timed_out = f"CPUTimeLimitExceeded: {exc}", True
        finally:
            _Cell.running = False
            signal.setitimer(signal.ITIMER_PROF, 0)
        _flush()
        protocol.write_frame(
            res_fd,
            {"cell": message.get("cell"), "ok": error is None,
             "error": None if error is None else _capped(error), "timed_out": timed_out,
             "cpu_s": _cpu_used() - start},
        )  # fmt: skip


class _PackageFinder:
    """Imports the allowed installed packages (numpy) from their own folders.

    Their site-packages folder stays closed (it would show every installed package and the
    app's own code); only each package's folder and its bundled-library folder are readable.
    """

    def __init__(self, folders: dict[str, str]) -> None:
        self.folders = folders

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> ModuleSpec | None:
        folder = self.folders.get(fullname)
        if folder is None:
            return None
        import importlib.util

        return importlib.util.spec_from_file_location(
            fullname, os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
        )


def _tolerate_refused_metadata() -> None:
    """``shutil.copy`` and ``copy2`` copy contents, then mode and times, which the filter
    refuses everywhere (EPERM): let them copy the contents and skip what is refused, as
    ``copystat`` already does for extended attributes."""
    import shutil

    def skipping(func: Callable[..., None]) -> Callable[..., None]:
        def wrapper(*args: object, **kwargs: object) -> None:
            try:
                func(*args, **kwargs)
            except PermissionError as exc:
                if exc.errno != errno.EPERM:
                    raise

        wrapper.__doc__ = func.__doc__
        return wrapper

    shutil.copymode = skipping(shutil.copymode)
    shutil.copystat = skipping(shutil.copystat)


def _keep_only_fds(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        fd = int(name)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _text_stream(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "wb", closefd=False)
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors="backslashreplace")


def main(config_json: str) -> None:
    config = json.loads(config_json)
    cmd_fd, res_fd, life_fd = config["fds"]
    scratch = config["scratch"]
    try:
        _keep_only_fds({0, 1, 2, cmd_fd, res_fd, life_fd})
        os.chdir(scratch)
        layers = confine.set_rlimits({k: int(v) for k, v in config["rlimits"].items()})
        if config["namespaces"] != "off":
            spaces = confine.enter_namespaces()
            if not spaces and config["namespaces"] == "require":
                raise confine.ConfinementError("namespaces", "the kernel refused unshare()")
            layers += spaces
        confine.fork_reaper(life_fd, (cmd_fd, res_fd))
        cwd = scratch
        if "mntns" in layers:
            mounted = confine.mount_scratch_at_mnt_data(scratch)
            if mounted:
                os.chdir(mounted)
                cwd = mounted
                layers.append("mnt-data")
        os.environ.update({"HOME": cwd, "TMPDIR": cwd, "PWD": cwd})
        read_only = [p for p in sys.path if p]
        read_only += list(config.get("import_paths", ()))
        sys.path[:] = read_only
        packages = {str(k): [str(f) for f in v] for k, v in config.get("packages", {}).items()}
        if packages:
            sys.meta_path.append(_PackageFinder({k: v[0] for k, v in packages.items()}))
            read_only += [folder for folders in packages.values() for folder in folders]
        read_only += SYSTEM_LIBRARY_DIRS + SYSTEM_FILES
        layers += confine.drop_capabilities()
        layers += confine.lock_files(read_only, [scratch])
        signal.signal(signal.SIGPROF, _on_cpu_timer)
        layers += confine.filter_syscalls(os.getpid())
    except (confine.ConfinementError, OSError) as exc:
        layer = getattr(exc, "layer", "setup")
        protocol.write_frame(res_fd, {"ready": False, "layer": layer, "error": str(exc)})
        os._exit(3)
    sys.stdout = _text_stream(1)
    sys.stderr = _text_stream(2)
    _tolerate_refused_metadata()
    protocol.write_frame(res_fd, {"ready": True, "layers": layers, "cwd": cwd, "pid": os.getpid()})
    serve(cmd_fd, res_fd)
    _flush()
    os._exit(0)
