"""A network guard for offline tests: records every socket connection attempt.

In this process it is a ``sys.addaudithook`` hook (CPython raises ``socket.connect``,
``socket.getaddrinfo``... for every attempt, whatever library makes it). In child processes
(the inference worker, the command line) the same hook is installed by a ``sitecustomize``
module put first on ``PYTHONPATH``, and writes what it sees to a log file. On Linux,
:func:`inet_sockets` also lists the internet sockets a process holds open, which catches
connections made by native code that Python never sees.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EVENTS = (
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
    "socket.sendto",
    "socket.sendmsg",
)
LOG_ENV = "GPTOSS_NETGUARD_LOG"

_SITECUSTOMIZE = f'''
import os, sys
_log = os.environ.get("{LOG_ENV}")
_events = {EVENTS!r}
def _hook(event, args):
    if _log and event in _events:
        with open(_log, "a", encoding="utf-8") as fh:
            fh.write(f"{{os.getpid()}} {{event}} {{args[1:] if event == 'socket.connect' else args}}\\n")
sys.addaudithook(_hook)
if _log:  # proof that the guard is active in this process
    open(os.path.join(os.path.dirname(_log), f"active-{{os.getpid()}}"), "w").close()
'''

_recorders: list[list[str]] = []
_lock = threading.Lock()
_installed = False


def _hook(event: str, args: tuple[object, ...]) -> None:
    if event in EVENTS and _recorders:
        with _lock:
            for rec in _recorders:
                rec.append(f"{event} {args[1:] if event == 'socket.connect' else args}")


@contextmanager
def guard() -> Iterator[list[str]]:
    """Record every connection attempt made in this process while the block runs."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)  # hooks cannot be removed; it records only inside guard()
        _installed = True
    seen: list[str] = []
    with _lock:
        _recorders.append(seen)
    try:
        yield seen
    finally:
        with _lock:
            _recorders.remove(seen)


def child_env(folder: Path, base: dict[str, str] | None = None) -> tuple[dict[str, str], Path]:
    """An environment whose Python processes log connection attempts to ``folder/net.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    log = folder / "net.log"
    env = dict(os.environ if base is None else base)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join([str(folder), root, env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env[LOG_ENV] = str(log)
    return env, log


def active_in(log: Path, pid: int) -> bool:
    """Whether process ``pid`` ran with the guard installed."""
    return (log.parent / f"active-{pid}").exists()


def logged(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def inet_sockets(pid: int) -> list[str]:
    """The TCP/UDP sockets process ``pid`` holds open (Linux), as 'proto local remote'."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[9] in inodes:
                found.append(f"{proto} {cols[1]} {cols[2]}")
    return found
