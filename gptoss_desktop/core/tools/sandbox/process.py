"""The app's side of the python sandbox: one long-lived confined process per chat.

``PythonSandbox(scratch).run(code)`` sends a cell to the sandbox process and collects its
stdout, stderr and exception within the limits; state (variables, imports) persists between
calls until :meth:`PythonSandbox.reset`. A cell that runs past the wall-clock limit, floods
output or crashes the process gets the process killed (its whole process group); the next
call starts a fresh one. If the OS cannot confine the process, :class:`SandboxUnavailable`
is raised and nothing runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import SandboxUnavailable, ToolError
from gptoss_desktop.core.tools.sandbox.pump import Outcome, OutputStream, Pipes, exchange

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[4])
_BOOT = (
    "import sys;sys.path.insert(0,sys.argv[1]);"
    "from gptoss_desktop.core.tools.sandbox.child import main;"
    "del sys.path[0];main(sys.argv[2])"
)
MAX_CODE_BYTES = 1024 * 1024
#: The first argument that makes a frozen app binary act as the sandbox process (the app's
#: command-line entry must hand ``argv[2]`` to ``child.main`` when it sees it).
FROZEN_FLAG = "--python-sandbox"


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
    scratch_bytes: int = 1024 * 1024 * 1024  # how much one call may add to the scratch folder
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
    ) -> None:
        if namespaces not in ("auto", "off", "require"):
            raise ValueError("namespaces must be auto, off or require")
        self.scratch = Path(scratch).resolve()
        self.limits = limits or SandboxLimits()
        self.namespaces = namespaces
        self.import_paths = tuple(str(Path(p).resolve()) for p in import_paths)
        self._proc: subprocess.Popen[bytes] | None = None
        self._fds: dict[str, int] = {}
        self._info: SandboxInfo | None = None
        self._cells = 0
        self._lock = threading.RLock()
        self._cancelled = False

    # --- life cycle ------------------------------------------------------------------------
    @property
    def info(self) -> SandboxInfo | None:
        return self._info

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
        return SandboxInfo(
            layers=tuple(str(x) for x in message.get("layers", ())),
            cwd=str(message.get("cwd", self.scratch)),
            start_s=time.monotonic() - started,
        )

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
            outcome = self._exchange(request, self.limits.wall_s, out, err)
            elapsed = time.monotonic() - started
            truncated = out.total > len(out.kept) or err.total > len(err.kept)
            message = outcome.message
            if message is not None and outcome.problem is None:
                error = message.get("error")
                return ExecutionResult(
                    stdout=out.text(),
                    stderr=err.text(),
                    error=None if error is None else str(error),
                    truncated=truncated,
                    elapsed_s=elapsed,
                    cpu_s=float(message.get("cpu_s", 0.0)),
                )
            crashed = not (outcome.timed_out or outcome.flooded or outcome.filled)
            returncode = self._wait_exit(2.0) if crashed else None
            self._stop()
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
                problem = (
                    f"The code wrote more than {self.limits.scratch_bytes} bytes into its folder "
                    "and was stopped; the python state was reset."
                )
            elif outcome.flooded:
                problem = (
                    f"The code printed more than {self.limits.flood_bytes} bytes and was stopped;"
                    " the python state was reset."
                )
            else:
                problem = (
                    f"The python process {_signal_name(returncode)}; "
                    "the python state was reset (variables are gone, files in the folder stay)."
                )
            return ExecutionResult(
                stdout=out.text(),
                stderr=err.text(),
                error=problem,
                timed_out=outcome.timed_out,
                truncated=truncated,
                state_lost=True,
                elapsed_s=elapsed,
            )

    def _exchange(
        self, request: dict[str, Any] | None, wall_s: float, out: OutputStream, err: OutputStream
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
            scratch=self.scratch if request is not None else None,
            scratch_bytes=self.limits.scratch_bytes,
        )
