"""The worker process as seen from the app: spawn, frames in and out, stderr tail, death."""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from typing import Any

from gptoss_desktop.core.engine.protocol import ProtocolError, encode_frame, read_frame

STDERR_LINES = 200
_DEAD = {"__dead__": True}


def worker_command() -> list[str]:
    if getattr(sys, "frozen", False):  # a PyInstaller build: the app binary is the worker
        return [sys.executable, "--worker"]
    return [sys.executable, "-m", "gptoss_desktop.worker"]


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hint = {
            "SIGKILL": "killed: out of memory, or stopped by another program",
            "SIGSEGV": "crashed: segmentation fault in llama.cpp",
            "SIGABRT": "aborted: llama.cpp hit an internal check",
            "SIGBUS": "crashed: the model file changed or became unreadable while in use",
        }.get(name, "terminated")
        return f"{hint} ({name})"
    return f"exited with status {returncode}"


class WorkerProcess:
    """Owns one child process; frames from it arrive on :attr:`inbox` (a reader thread)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        child_env = dict(os.environ if env is None else env)
        child_env.setdefault("PYTHONUNBUFFERED", "1")
        flags = 0
        if sys.platform == "win32":  # no console window flashing up for the worker
            flags = subprocess.CREATE_NO_WINDOW
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env,
            bufsize=0,
            creationflags=flags,
        )
        self.pid = self.proc.pid
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read_out, name=f"worker-{self.pid}-out", daemon=True).start()
        self._err_thread = threading.Thread(
            target=self._read_err, name=f"worker-{self.pid}-err", daemon=True
        )
        self._err_thread.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                msg = read_frame(self.proc.stdout)  # type: ignore[arg-type]
                if msg is None:
                    break
                self.inbox.put(msg)
        except (ProtocolError, OSError, ValueError) as exc:
            self.stderr_tail.append(f"[protocol] {exc}")
        self.inbox.put(_DEAD)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        try:
            for raw in iter(self.proc.stderr.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self.stderr_tail.append(line)
        except (OSError, ValueError):  # close_pipes() closed it under us: the tail is complete
            pass

    def send(self, message: dict[str, Any]) -> bool:
        data = encode_frame(message)
        with self._write_lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    @staticmethod
    def is_dead_marker(message: dict[str, Any]) -> bool:
        return message is _DEAD

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def drain_stderr(self, timeout: float = 1.0) -> None:
        """After the process ended: wait until its last stderr lines have been read."""
        self._err_thread.join(timeout)

    def close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
