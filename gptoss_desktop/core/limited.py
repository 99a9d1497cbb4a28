"""Untrusted parsing in a helper process with a memory cap and a wall-clock kill.

Some work on hostile input cannot be bounded from inside Python: a chat template's
``([a]*N) == ([b]*N)`` runs in C and holds the GIL, ``[a]*4000`` nested builds gigabytes before
any check sees it, and pypdf can spend minutes on a 10 KiB PDF. Such work runs in a
:class:`LimitedProcess`: a long-lived child (started on first use, so one render costs a pipe
round trip, not an interpreter start) whose address space is capped with ``RLIMIT_AS`` (POSIX
except macOS, where the kernel ignores it; there and on Windows only the clock holds) and which
is killed when a call runs past its time limit. The next call starts a fresh child.

Only jobs named in :data:`JOBS` can run, each a function ``(args: dict, payload: bytes) ->
(dict, bytes)`` in a module of this package. Frames on the pipes are a 4-byte length, JSON,
then a 4-byte length and raw bytes; a reply larger than ``max_reply_bytes`` is refused.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import struct
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import IO, Any

from gptoss_desktop.core.errors import GptossError

#: job name -> "module:function" (the child imports nothing else on a caller's say-so).
JOBS = {
    "template.compile": "gptoss_desktop.core.templating.template_jobs:compile_job",
    "template.render": "gptoss_desktop.core.templating.template_jobs:render_job",
    "pdf.extract": "gptoss_desktop.core.tools.browser.pdf_job:extract_job",
}
FROZEN_FLAG = "--limited-child"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys;sys.path.insert(0,sys.argv[1]);"
    "from gptoss_desktop.core.limited import child_main;"
    "del sys.path[0];child_main(sys.argv[2])"
)
_HEADER = struct.Struct("<I")
MiB = 1024 * 1024


class LimitExceeded(GptossError):
    """The helper ran out of time or memory, or died, on this input (it was stopped)."""


class JobFailed(GptossError):
    """The job raised an error in the helper; ``kind`` names the exception class."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def child_argv(memory_bytes: int) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_FLAG, str(memory_bytes)]
    return [sys.executable, "-I", "-B", "-c", _BOOT, _PACKAGE_ROOT, str(memory_bytes)]


def _encode_frame(header: dict[str, Any], payload: bytes = b"") -> bytes:
    data = json.dumps(header, ensure_ascii=False).encode("utf-8")
    return _HEADER.pack(len(data)) + data + _HEADER.pack(len(payload))


def _write_frame(out: IO[bytes], header: dict[str, Any], payload: bytes = b"") -> None:
    out.write(_encode_frame(header, payload))
    out.write(payload)
    out.flush()


def _read_exact(src: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = src.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(src: IO[bytes], limit: int) -> tuple[dict[str, Any], bytes]:
    (n,) = _HEADER.unpack(_read_exact(src, 4))
    if n > limit:
        raise ValueError(f"a frame of {n} bytes is over the limit")
    header = json.loads(_read_exact(src, n))
    (m,) = _HEADER.unpack(_read_exact(src, 4))
    if m > limit:
        raise ValueError(f"a payload of {m} bytes is over the limit")
    if not isinstance(header, dict):
        raise ValueError("a frame is not an object")
    return header, _read_exact(src, m)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)
    for stream in (proc.stdin, proc.stdout):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.close()


class LimitedProcess:
    """One helper process; :meth:`call` runs a job in it. Thread-safe (calls take turns)."""

    def __init__(
        self,
        name: str,
        *,
        memory_bytes: int = 1024 * MiB,
        max_reply_bytes: int = 256 * MiB,
    ) -> None:
        self.name = name
        self.memory_bytes = memory_bytes
        self.max_reply_bytes = max_reply_bytes
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0  # how many children were started (tests, benchmarks)
        self._finalizer: weakref.finalize | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> subprocess.Popen[bytes]:
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True
        proc = subprocess.Popen(
            child_argv(self.memory_bytes),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            **kwargs,
        )
        self.starts += 1
        self._finalizer = weakref.finalize(self, _kill, proc)
        return proc

    def call(
        self, job: str, args: dict[str, Any], payload: bytes = b"", *, timeout_s: float
    ) -> tuple[dict[str, Any], bytes]:
        """Run ``job``; raise :class:`LimitExceeded` (time, memory, death) or :class:`JobFailed`."""
        if job not in JOBS:
            raise ValueError(f"unknown job {job!r}")
        head = _encode_frame({"job": job, "args": args}, payload)  # TypeError here, not below
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            result: list[Any] = []

            def exchange() -> None:
                try:
                    proc.stdin.write(head)  # type: ignore[union-attr]
                    proc.stdin.write(payload)  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
                    result.append(_read_frame(proc.stdout, self.max_reply_bytes))  # type: ignore[arg-type]
                except BaseException as exc:
                    result.append(exc)

            thread = threading.Thread(target=exchange, name=f"{self.name}-call", daemon=True)
            thread.start()
            thread.join(timeout_s)
            if thread.is_alive() or not result or isinstance(result[0], BaseException):
                timed_out = thread.is_alive()
                self._stop_child()
                thread.join(5)
                if timed_out:
                    raise LimitExceeded(f"it ran longer than {timeout_s:g} s and was stopped")
                code = proc.returncode
                if isinstance(result[0], ValueError):
                    raise LimitExceeded(f"its answer was too large ({result[0]})")
                raise LimitExceeded(
                    "it ran out of memory or crashed and was stopped"
                    + (f" (exit status {code})" if code is not None else "")
                )
        header, data = result[0]
        if not header.get("ok"):
            kind = str(header.get("kind", "Error"))
            if kind == "MemoryError":
                self.close()  # a fresh child next time, with all its memory back
                raise LimitExceeded(
                    f"it needed more than {self.memory_bytes // MiB} MiB of memory and was stopped"
                )
            raise JobFailed(str(header.get("error", "failed")), kind=kind)
        reply = header.get("result")
        return (reply if isinstance(reply, dict) else {}), data

    def _stop_child(self) -> None:
        if self._proc is not None:
            _kill(self._proc)
            if self._finalizer is not None:
                self._finalizer.detach()
            self._proc = None

    def close(self) -> None:
        """Stop the child (a later call starts a new one)."""
        self._stop_child()


# --- the child -----------------------------------------------------------------------------------


def _limit_memory(memory_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: only the wall clock holds
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform != "darwin" and memory_bytes > 0:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def child_main(memory_arg: str) -> None:
    """Serve jobs on stdin/stdout until stdin closes."""
    _limit_memory(int(memory_arg))
    src, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing a job prints may corrupt the frames
    funcs: dict[str, Any] = {}
    while True:
        try:
            request, payload = _read_frame(src, 1 << 30)
        except EOFError:
            return
        job = str(request.get("job"))
        try:
            if job not in JOBS:
                raise ValueError(f"unknown job {job!r}")
            if job not in funcs:
                module, _, attr = JOBS[job].partition(":")
                funcs[job] = getattr(importlib.import_module(module), attr)
            result, data = funcs[job](request.get("args") or {}, payload)
            reply: dict[str, Any] = {"ok": True, "result": result}
        except MemoryError:
            reply, data = {"ok": False, "kind": "MemoryError", "error": "out of memory"}, b""
        except BaseException as exc:
            reply = {"ok": False, "kind": type(exc).__name__, "error": str(exc)[:2000]}
            data = b""
        try:
            _write_frame(out, reply, data or b"")
        except MemoryError:
            _write_frame(out, {"ok": False, "kind": "MemoryError", "error": "out of memory"})
