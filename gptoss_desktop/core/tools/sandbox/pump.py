"""Pumping the sandbox's pipes: send a command, collect output, wait for the result.

Stdlib only. The app reads stdout and stderr while a cell runs (so the sandbox never blocks
on a full pipe), keeps a bounded head of each, and ends the exchange at the result frame
for this request, at end of file, at the deadline, at an output flood, at a malformed result
frame, or when the scratch folder holds too much.
"""

from __future__ import annotations

import os
import selectors
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gptoss_desktop.core.tools.sandbox import protocol

#: How often the scratch folder is measured while a call runs (seconds).
DISK_CHECK_S = 0.25


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
    malformed: bool = False


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

    @property
    def truncated(self) -> bool:
        return self.total > len(self.kept)

    def text(self) -> str:
        text = self.kept.decode("utf-8", "replace")
        if self.total > len(self.kept):
            text += f"\n[... {self.total - len(self.kept)} more bytes of output were cut]"
        return text


class UnmeasurableFolder(OSError):
    """A part of the scratch folder could not be listed or examined."""


@dataclass(frozen=True)
class FolderUsage:
    """What a folder holds: bytes on disk (at least the apparent size of each file) and
    entries (files, folders, anything), counted to ``max_entries + 1`` at most."""

    bytes: int
    entries: int


def folder_usage(folder: Path, max_entries: int) -> FolderUsage:
    """Bytes and entries under ``folder``, counted with no cap below ``max_entries``.

    Meant to run while the sandbox is paused, so nothing moves during the walk. Past
    ``max_entries`` it stops (the caller treats that as over the limit, so many small files
    cannot hide a big one). A folder that cannot be listed, or an entry that cannot be
    examined, raises :class:`UnmeasurableFolder` (so an unreadable folder cannot hide what is
    inside it); a folder the app cannot read because of its own mode bits is made readable
    first (the sandbox may create one with mode 000 but cannot change modes).
    """
    total, entries = 0, 0
    stack = [str(folder)]
    while stack:
        path = stack.pop()
        try:
            listing = _list_dir(path)
        except FileNotFoundError:
            continue  # removed from outside since it was seen
        except OSError as exc:
            raise UnmeasurableFolder(exc.errno, f"{path}: {exc.strerror}") from None
        for entry in listing:
            entries += 1
            if entries > max_entries:
                return FolderUsage(total, entries)
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise UnmeasurableFolder(exc.errno, f"{entry.path}: {exc.strerror}") from None
            on_disk = info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
                total += on_disk
            elif stat.S_ISREG(info.st_mode):
                total += max(info.st_size, on_disk)  # sparse files count at their full size
            else:
                total += on_disk
    return FolderUsage(total, entries)


def _list_dir(path: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except PermissionError:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise
        os.chmod(path, stat.S_IMODE(info.st_mode) | stat.S_IRWXU, follow_symlinks=False)
        with os.scandir(path) as it:
            return list(it)


def exchange(
    pipes: Pipes,
    request: dict[str, Any] | None,
    wall_s: float,
    out: OutputStream,
    err: OutputStream,
    *,
    flood_bytes: int,
    check_disk: Callable[[], bool] | None = None,
) -> Outcome:
    """Send ``request`` (if any) and pump the pipes until its result, death or a limit.

    Output is collected into ``out``/``err`` as it comes (so the sandbox never blocks on a
    full pipe); more than ``flood_bytes`` of it ends the exchange, and so does
    ``check_disk()`` returning False (it is called about twice a second, less often when
    it takes long).
    """
    pending = memoryview(protocol.encode(request)) if request is not None else memoryview(b"")
    reader = protocol.FrameReader()
    deadline = time.monotonic() + wall_s
    streams = {pipes.stdout: out, pipes.stderr: err}
    next_disk_check = time.monotonic() + DISK_CHECK_S
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
            if check_disk is not None and time.monotonic() >= next_disk_check:
                began = time.monotonic()
                if not check_disk():
                    return Outcome(None, "scratch folder full", filled=True)
                spent = time.monotonic() - began
                next_disk_check = time.monotonic() + max(DISK_CHECK_S, 4 * spent)
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
                    return Outcome(None, str(exc), malformed=True)
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
