"""Pumping the sandbox's pipes: send a command, collect output, wait for the result.

Stdlib only. The app reads stdout and stderr while a cell runs (so the sandbox never blocks
on a full pipe), keeps a bounded head of each, and ends the exchange at the result frame
for this request, at end of file, at the deadline, at an output flood or when the scratch
folder grows too much.
"""

from __future__ import annotations

import os
import selectors
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gptoss_desktop.core.tools.sandbox import protocol


@dataclass(frozen=True)
class Pipes:
    """The app's ends of the sandbox's pipes (all non-blocking)."""

    commands: int
    results: int
    stdout: int
    stderr: int


@dataclass(frozen=True)
class Outcome:
    """How an exchange ended: a result ``message``, or a ``problem``."""

    message: dict[str, Any] | None
    problem: str | None
    timed_out: bool = False
    flooded: bool = False
    filled: bool = False


@dataclass
class OutputStream:
    """The kept head of one output stream and the count of all bytes."""

    limit: int
    kept: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += data[:room]

    def text(self) -> str:
        text = self.kept.decode("utf-8", "replace")
        if self.total > len(self.kept):
            text += f"\n[... {self.total - len(self.kept)} more bytes of output were cut]"
        return text


def folder_bytes(folder: Path, limit_entries: int = 20000) -> int:
    """Bytes in the regular files under ``folder`` (stops counting after ``limit_entries``)."""
    total, seen = 0, 0
    stack = [str(folder)]
    while stack and seen < limit_entries:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def exchange(
    pipes: Pipes,
    request: dict[str, Any] | None,
    wall_s: float,
    out: OutputStream,
    err: OutputStream,
    *,
    flood_bytes: int,
    scratch: Path | None = None,
    scratch_bytes: int = 0,
) -> Outcome:
    """Send ``request`` (if any) and pump the pipes until its result, death or a limit.

    Output is collected into ``out``/``err`` as it comes (so the sandbox never blocks on a
    full pipe); more than ``flood_bytes`` of it, or ``scratch`` growing by more than
    ``scratch_bytes``, ends the exchange.
    """
    pending = memoryview(protocol.encode(request)) if request is not None else memoryview(b"")
    reader = protocol.FrameReader()
    deadline = time.monotonic() + wall_s
    streams = {pipes.stdout: out, pipes.stderr: err}
    disk_limit = folder_bytes(scratch) + scratch_bytes if scratch is not None else 0
    next_disk_check = time.monotonic() + 0.5
    with selectors.DefaultSelector() as sel:
        for fd in streams:
            sel.register(fd, selectors.EVENT_READ)
        sel.register(pipes.results, selectors.EVENT_READ)
        if pending:
            sel.register(pipes.commands, selectors.EVENT_WRITE)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome(None, "timed out", timed_out=True)
            events = sel.select(min(remaining, 0.5))
            if scratch is not None and time.monotonic() >= next_disk_check:
                next_disk_check = time.monotonic() + 0.5
                if folder_bytes(scratch) > disk_limit:
                    return Outcome(None, "scratch folder full", filled=True)
            for key, _mask in events:
                fd = int(key.fd)
                if fd == pipes.commands:
                    try:
                        written = os.write(fd, pending)
                    except BrokenPipeError:
                        sel.unregister(fd)
                        continue
                    pending = pending[written:]
                    if not pending:
                        sel.unregister(fd)
                    continue
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if fd in streams:
                    if not data:
                        sel.unregister(fd)
                        continue
                    streams[fd].add(data)
                    if out.total + err.total > flood_bytes:
                        return Outcome(None, "output flood", flooded=True)
                    continue
                if not data:
                    _drain(streams, flood_bytes)
                    return Outcome(None, "it closed its result channel")
                try:
                    messages = reader.feed(data)
                except protocol.FrameError as exc:
                    return Outcome(None, f"bad result frame: {exc}")
                # A result belongs to this request only if it names its cell: code can
                # write to the result pipe too, and must not shift later answers.
                wanted = request.get("cell") if request is not None else None
                for message in messages:
                    if wanted is None or message.get("cell") == wanted:
                        _drain(streams, flood_bytes)
                        return Outcome(message, None)


def _drain(streams: dict[int, OutputStream], flood_bytes: int) -> None:
    """Read what is already in the output pipes (written before the result was sent)."""
    for fd, stream in streams.items():
        while True:
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            stream.add(data)
            if stream.total > flood_bytes:
                break
