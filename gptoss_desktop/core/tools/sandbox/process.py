"""The app's side of the python sandbox: one long-lived confined process per chat.

``PythonSandbox(scratch).run(code)`` sends a cell to the sandbox process and collects its
stdout, stderr and exception within the limits; state (variables, imports) persists between
calls until :meth:`PythonSandbox.reset`. A cell that runs past the wall-clock limit, floods
output or crashes the process gets the process killed (its whole process group); the next
call starts a fresh one. If the OS cannot confine the process, :class:`SandboxUnavailable`
is raised and nothing runs.

Between calls the sandbox process is **paused** (SIGSTOP through a pidfd, checked until every
thread has stopped): threads the code started run only while a later call runs, under that
call's limits, never after a call has returned. The scratch folder is measured (bytes and
entries) while the process is paused, so nothing can move during the count.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import SandboxUnavailable, ToolError
from gptoss_desktop.core.tools.sandbox.pump import (
    FolderUsage,
    Outcome,
    OutputStream,
    Pipes,
    UnmeasurableFolder,
    exchange,
    folder_usage,
)

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[4])
_BOOT = (
    "import sys;sys.path.insert(0,sys.argv[1]);"
    "from gptoss_desktop.core.tools.sandbox.child import main;"
    "del sys.path[0];main(sys.argv[2])"
)
MAX_CODE_BYTES = 1024 * 1024
#: Installed packages the sandboxed code may import (read-only), where the app has them:
#: numpy comes with llama-cpp-python.
DEFAULT_PACKAGES = ("numpy",)
#: The first argument that makes a frozen app binary act as the sandbox process (the app's
#: command-line entry must hand ``argv[2]`` to ``child.main`` when it sees it).
FROZEN_FLAG = "--python-sandbox"


def package_folders(names: tuple[str, ...]) -> dict[str, list[str]]:
    """Top-level package -> its folder and its wheel's bundled-library folder (``NAME.libs``),
    for the installed ones among ``names`` (found without importing them)."""
    found: dict[str, list[str]] = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations or not spec.origin:
            continue
        folder = Path(spec.origin).resolve().parent
        if not (folder / "__init__.py").is_file():
            continue
        folders = [str(folder)]
        libs = folder.parent / f"{name}.libs"
        if libs.is_dir():
            folders.append(str(libs.resolve()))
        found[name] = folders
    return found


def sandbox_argv(config_json: str) -> list[str]:
    """How to start the sandbox process: the interpreter in isolated mode without site
    packages, or, in a frozen build, the app binary itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_FLAG, config_json]
    return [sys.executable, "-I", "-S", "-B", "-c", _BOOT, _PACKAGE_ROOT, config_json]


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one sandbox process; per call unless the name says otherwise."""

    wall_s: float = 120.0  # what the trained tool description promises
    cpu_s: float = 30.0
    cpu_s_total: int = 900  # over the life of the process; then it is killed
    memory_bytes: int = 1024 * 1024 * 1024  # address space (RLIMIT_AS)
    output_bytes: int = 16 * 1024  # kept per stream and call; the rest is cut
    flood_bytes: int = 16 * 1024 * 1024  # more output than this in one call kills the process
    file_bytes: int = 64 * 1024 * 1024  # largest file it may write
    # What the scratch folder may hold in all (bytes; entries: files and folders). A call that
    # leaves it over either (or, if it was over already, makes it hold more) is stopped.
    scratch_bytes: int = 1024 * 1024 * 1024
    scratch_entries: int = 50_000
    open_files: int = 64
    threads: int = 16
    start_s: float = 15.0

    def rlimits(self) -> dict[str, int]:
        return {
            "core": 0,
            "cpu": int(self.cpu_s_total),
            "as": int(self.memory_bytes),
            "fsize": int(self.file_bytes),
            "nofile": int(self.open_files),
            "nproc": int(self.threads),
        }


@dataclass(frozen=True)
class SandboxInfo:
    """How a running sandbox is confined: ``layers`` names every mechanism in force."""

    layers: tuple[str, ...]
    cwd: str
    start_s: float


@dataclass(frozen=True)
class ExecutionResult:
    """What one cell produced. ``error`` is the exception (traceback text) or what the
    sandbox did about the cell (timed out, killed); ``state_lost`` says the variables are gone."""

    stdout: str
    stderr: str
    error: str | None
    timed_out: bool = False
    truncated: bool = False
    state_lost: bool = False
    elapsed_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _signal_name(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    number = returncode - 128 if returncode > 128 else -returncode if returncode < 0 else 0
    if number > 0:
        try:
            return f"was killed by {signal.Signals(number).name}"
        except ValueError:
            return f"was killed by signal {number}"
    return f"exited with status {returncode}"


class PythonSandbox:
    """A confined, stateful Python process for one chat. Not for concurrent use by two
    threads at once, except :meth:`close`, which may come from any thread."""

    def __init__(
        self,
        scratch: Path,
        limits: SandboxLimits | None = None,
        *,
        namespaces: str = "auto",
        import_paths: tuple[Path, ...] = (),
        packages: tuple[str, ...] = DEFAULT_PACKAGES,
    ) -> None:
        if namespaces not in ("auto", "off", "require"):
            raise ValueError("namespaces must be auto, off or require")
        self.scratch = Path(scratch).resolve()
        self.limits = limits or SandboxLimits()
        self.namespaces = namespaces
        self.import_paths = tuple(str(Path(p).resolve()) for p in import_paths)
        self.packages = tuple(packages)
        self._proc: subprocess.Popen[bytes] | None = None
        self._fds: dict[str, int] = {}
        self._info: SandboxInfo | None = None
        self._cells = 0
        self._lock = threading.RLock()
        self._cancelled = False
        self._pid: int | None = None  # the process that runs the code, as this app sees it
        self._pidfd: int | None = None

    # --- life cycle ------------------------------------------------------------------------
    @property
    def info(self) -> SandboxInfo | None:
        return self._info

    @property
    def sandbox_pid(self) -> int | None:
        """The pid (in the app's pid namespace) of the process that runs the code."""
        return self._pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> SandboxInfo:
        """Start the sandbox process if it is not running. Raises SandboxUnavailable."""
        with self._lock:
            if self.running and self._info is not None:
                return self._info
            self._stop()
            if platform.system() != "Linux":
                raise SandboxUnavailable(
                    f"the python tool has no sandbox on {platform.system()} yet, so it stays off"
                )
            self.scratch.mkdir(parents=True, exist_ok=True)
            self._info = self._spawn()
            self._cells = 0
            return self._info

    def _spawn(self) -> SandboxInfo:
        started = time.monotonic()
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        life_r, life_w = os.pipe()
        config = {
            "scratch": str(self.scratch),
            "fds": [cmd_r, res_w, life_r],
            "rlimits": self.limits.rlimits(),
            "namespaces": self.namespaces,
            "import_paths": list(self.import_paths),
            "packages": package_folders(self.packages),
        }
        env = {"LC_ALL": "C.UTF-8", "PATH": "/nonexistent"}
        argv = sandbox_argv(json.dumps(config))
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(cmd_r, res_w, life_r),
                env=env,
                cwd=str(self.scratch),
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (cmd_r, cmd_w, res_r, res_w, life_r, life_w):
                os.close(fd)
            raise SandboxUnavailable(f"could not start the python sandbox: {exc}") from None
        for fd in (cmd_r, res_w, life_r):
            os.close(fd)
        assert proc.stdout is not None and proc.stderr is not None
        self._proc = proc
        self._fds = {"cmd": cmd_w, "res": res_r, "life": life_w}
        for fd in (cmd_w, res_r, proc.stdout.fileno(), proc.stderr.fileno()):
            os.set_blocking(fd, False)
        stderr = OutputStream(8192)
        ready = self._exchange(None, self.limits.start_s, OutputStream(8192), stderr)
        message = ready.message
        if message is None or not message.get("ready"):
            self._stop()
            if message is not None:
                raise SandboxUnavailable(
                    f"this machine cannot confine the python tool ({message.get('error')}), "
                    "so it stays off",
                    details=stderr.text(),
                )
            raise SandboxUnavailable(
                f"the python sandbox did not start ({ready.problem}), so the tool stays off",
                details=stderr.text(),
            )
        layers, cwd = message.get("layers"), message.get("cwd")
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            self._stop()
            raise SandboxUnavailable("the python sandbox sent a malformed ready message")
        try:
            self._open_sandbox_pid(proc.pid)
        except OSError as exc:
            self._stop()
            raise SandboxUnavailable(
                f"the python sandbox's process could not be found to pause it between calls "
                f"({exc}), so the tool stays off"
            ) from None
        if not self._freeze():
            self._stop()
            raise SandboxUnavailable("the python sandbox could not be paused, so it stays off")
        return SandboxInfo(
            layers=tuple(layers),
            cwd=cwd if isinstance(cwd, str) else str(self.scratch),
            start_s=time.monotonic() - started,
        )

    def _open_sandbox_pid(self, reaper: int) -> None:
        """Find the reaper's only child (the process that runs code) and hold a pidfd to it."""
        children = _children_of(reaper)
        if len(children) != 1:
            raise OSError(f"the sandbox's reaper has {len(children)} children, not 1")
        pid = children[0]
        pidfd = os.pidfd_open(pid)
        if _parent_of(pid) != reaper:  # it died and the pid was reused before pidfd_open
            os.close(pidfd)
            raise OSError("the sandbox process went away")
        self._pid, self._pidfd = pid, pidfd

    def _signal_sandbox(self, signum: int) -> bool:
        if self._pidfd is None:
            return False
        try:
            signal.pidfd_send_signal(self._pidfd, signum)
        except (ProcessLookupError, OSError):
            return False
        return True

    def _sandbox_exited(self) -> bool:
        if self._pidfd is None:
            return True
        readable, _, _ = select.select([self._pidfd], [], [], 0)
        return bool(readable)

    def _freeze(self, timeout_s: float = 5.0) -> bool:
        """Stop every thread of the sandbox process; True once all have stopped (or it died)."""
        if not self._signal_sandbox(signal.SIGSTOP):
            return self._sandbox_exited()
        deadline = time.monotonic() + timeout_s
        delay = 0.0002
        while True:
            if self._sandbox_exited() or _all_threads_stopped(self._pid):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.01)

    def _thaw(self) -> None:
        self._signal_sandbox(signal.SIGCONT)

    def _usage(self) -> FolderUsage:
        return folder_usage(self.scratch, self.limits.scratch_entries)

    def reset(self) -> SandboxInfo:
        """Forget all state: a new process (the scratch folder's files stay)."""
        with self._lock:
            self._stop()
            return self.start()

    def close(self) -> None:
        """Stop the process. Waits for a running call; use :meth:`cancel` first to end it."""
        self.cancel()
        with self._lock:
            self._stop()

    def cancel(self) -> None:
        """Stop the call in progress now (from any thread): its process is killed, so the
        call returns with an error and the next call starts a fresh process."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._cancelled = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    def __enter__(self) -> PythonSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_exit(self, timeout: float) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        fds, self._fds = self._fds, {}
        self._info = None
        if self._pidfd is not None:
            self._signal_sandbox(signal.SIGKILL)
            fds["pidfd"] = self._pidfd
        self._pid = self._pidfd = None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        for fd in fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    # --- running code ----------------------------------------------------------------------
    def run(self, code: str) -> ExecutionResult:
        """Run one cell. Raises SandboxUnavailable if no sandbox can be started."""
        if len(code.encode("utf-8", "surrogatepass")) > MAX_CODE_BYTES:
            raise ToolError(f"the code is larger than {MAX_CODE_BYTES} bytes; send less at once")
        with self._lock:
            self.start()
            self._cancelled = False
            self._cells += 1
            started = time.monotonic()
            out = OutputStream(self.limits.output_bytes)
            err = OutputStream(self.limits.output_bytes)
            request = {"op": "exec", "code": code, "cell": self._cells, "cpu_s": self.limits.cpu_s}
            try:
                before = self._usage()  # the process is paused between calls
            except UnmeasurableFolder as exc:
                self._stop()
                return self._failed(out, err, started, self._unmeasurable(exc))
            max_bytes = max(self.limits.scratch_bytes, before.bytes)
            max_entries = max(self.limits.scratch_entries, before.entries)

            def within_quota() -> bool:
                """Measured with the process paused, so nothing moves during the count."""
                if not self._freeze():
                    return False
                try:
                    usage = self._usage()
                except UnmeasurableFolder:
                    return False
                finally:
                    self._thaw()
                return usage.bytes <= max_bytes and usage.entries <= max_entries

            self._thaw()
            outcome = self._exchange(request, self.limits.wall_s, out, err, within_quota)
            elapsed = time.monotonic() - started
            message = outcome.message
            if message is not None and outcome.problem is None:
                problem = self._after_call(max_bytes, max_entries)
                if problem is not None:
                    self._stop()
                    return self._failed(out, err, started, problem)
                try:
                    error, timed_out, cpu_s = _result_fields(message)
                except ValueError as exc:
                    self._stop()
                    return self._failed(out, err, started, _malformed(str(exc)))
                return ExecutionResult(
                    stdout=out.text(),
                    stderr=err.text(),
                    error=error,
                    timed_out=timed_out,
                    truncated=out.truncated or err.truncated,
                    elapsed_s=elapsed,
                    cpu_s=cpu_s,
                )
            crashed = not (
                outcome.timed_out or outcome.flooded or outcome.filled or outcome.malformed
            )
            returncode = self._wait_exit(2.0) if crashed else None
            self._stop()
            timed_out = outcome.timed_out
            if self._cancelled:
                problem = (
                    "The run was stopped; the python state was reset (files in the folder stay)."
                )
            elif outcome.timed_out:
                problem = (
                    f"Execution timed out after {self.limits.wall_s:g} s and was stopped; "
                    "the python state was reset (variables are gone, files in the folder stay)."
                )
            elif outcome.filled:
                problem = self._over_quota()
            elif outcome.flooded:
                problem = (
                    f"The code printed more than {self.limits.flood_bytes} bytes and was stopped;"
                    " the python state was reset."
                )
            elif outcome.malformed:
                problem = _malformed(outcome.problem or "")
            elif _killed_by(returncode, signal.SIGXCPU):
                timed_out = True
                problem = (
                    f"The python process used up its CPU time of {self.limits.cpu_s_total} s "
                    "and was stopped; the python state was reset (variables are gone, files in "
                    "the folder stay)."
                )
            else:
                problem = (
                    f"The python process {_signal_name(returncode)}; "
                    "the python state was reset (variables are gone, files in the folder stay)."
                )
            return self._failed(out, err, started, problem, timed_out=timed_out)

    def _after_call(self, max_bytes: int, max_entries: int) -> str | None:
        """Pause the process (its threads must not run on) and check the folder's total."""
        if not self._freeze():
            return (
                "The python process could not be paused after the call; it was stopped and "
                "the python state was reset."
            )
        try:
            usage = self._usage()
        except UnmeasurableFolder as exc:
            return self._unmeasurable(exc)
        if usage.bytes > max_bytes or usage.entries > max_entries:
            return self._over_quota()
        return None

    def _over_quota(self) -> str:
        return (
            f"The code wrote more than {self.limits.scratch_bytes} bytes (or more than "
            f"{self.limits.scratch_entries} files and folders) into its folder and was "
            "stopped; the python state was reset (files in the folder stay: remove some)."
        )

    def _unmeasurable(self, exc: UnmeasurableFolder) -> str:
        return (
            f"The scratch folder {self.scratch} could not be measured ({exc.strerror}); the "
            "python state was reset. Remove what the code made there that cannot be read."
        )

    def _failed(
        self,
        out: OutputStream,
        err: OutputStream,
        started: float,
        problem: str,
        *,
        timed_out: bool = False,
    ) -> ExecutionResult:
        return ExecutionResult(
            stdout=out.text(),
            stderr=err.text(),
            error=problem,
            timed_out=timed_out,
            truncated=out.truncated or err.truncated,
            state_lost=True,
            elapsed_s=time.monotonic() - started,
        )

    def _exchange(
        self,
        request: dict[str, Any] | None,
        wall_s: float,
        out: OutputStream,
        err: OutputStream,
        check_disk: Callable[[], bool] | None = None,
    ) -> Outcome:
        proc = self._proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        pipes = Pipes(
            self._fds["cmd"], self._fds["res"], proc.stdout.fileno(), proc.stderr.fileno()
        )
        return exchange(
            pipes,
            request,
            wall_s,
            out,
            err,
            flood_bytes=self.limits.flood_bytes,
            check_disk=check_disk,
        )


def _malformed(problem: str) -> str:
    return (
        f"The python process sent a malformed result ({problem}); it was stopped and the python "
        "state was reset "
        "(variables are gone, files in the folder stay)."
    )


def _result_fields(message: dict[str, Any]) -> tuple[str | None, bool, float]:
    """``error``, ``timed_out`` and ``cpu_s`` of a result frame, type-checked (the frame
    comes from the sandbox and may be forged by the code)."""
    error = message.get("error")
    timed_out = message.get("timed_out", False)
    cpu_s = message.get("cpu_s", 0.0)
    if error is not None and not isinstance(error, str):
        raise ValueError("its error is not text")
    if not isinstance(timed_out, bool):
        raise ValueError("its timed_out is not true or false")
    if isinstance(cpu_s, bool) or not isinstance(cpu_s, int | float):
        raise ValueError("its cpu_s is not a number")
    cpu = float(cpu_s)
    if not 0.0 <= cpu < 1e9:  # also refuses NaN and infinity
        raise ValueError("its cpu_s is out of range")
    return error, timed_out, cpu


def _killed_by(returncode: int | None, signum: int) -> bool:
    return returncode is not None and returncode in (128 + signum, -signum)


def _children_of(pid: int) -> list[int]:
    """Child pids of ``pid``: /proc's children list, else a scan of /proc."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(x) for x in text.split()]
    except OSError:
        pass
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _parent_of(int(name)) == pid:
            found.append(int(name))
    return found


def _stat_fields(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as f:
            text = f.read().decode("ascii", "replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # fields after the command name: state, ppid ...


def _parent_of(pid: int) -> int | None:
    fields = _stat_fields(f"/proc/{pid}/stat")
    return int(fields[1]) if fields and len(fields) > 1 else None


def _all_threads_stopped(pid: int | None) -> bool:
    """Every thread of ``pid`` is stopped (T, t) or dead (Z, X)."""
    if pid is None:
        return True
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return True
    except OSError:
        return False
    for tid in tids:
        fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
        if fields and fields[0] not in ("T", "t", "Z", "X"):
            return False
    return True
