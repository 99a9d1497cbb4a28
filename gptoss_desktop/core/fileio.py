"""Opening files that may be anything: a FIFO, a device or a socket named like a document or model.

``open()`` on a FIFO blocks until a writer appears, and reading a character device may never
end. :func:`open_regular` opens with ``O_NONBLOCK`` (so a FIFO cannot block the open), checks
with ``fstat`` that what was opened is a regular file, then clears ``O_NONBLOCK`` and returns a
binary file object. With ``nofollow`` a symbolic link at the path itself is refused too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class NotRegularFile(OSError):
    """The path names a FIFO, device, socket, folder or (with ``nofollow``) a symbolic link."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def open_regular(
    path: str | os.PathLike[str], *, nofollow: bool = False, buffering: int = -1
) -> BinaryIO:
    """A binary reader of the regular file at ``path``; :class:`NotRegularFile` otherwise."""
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | _BINARY | (_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if nofollow and Path(path).is_symlink():
            raise NotRegularFile(0, "is a symbolic link; open the file it points to") from None
        raise exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, f"is {_kind(mode)}, not a regular file")
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def regular_file_problem(path: str | os.PathLike[str]) -> str | None:
    """None for a regular file (links followed), else a short reason; never opens the path."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file not found; check the path"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    return None if stat.S_ISREG(mode) else f"is {_kind(mode)}, not a regular file"


def open_under(root: str | os.PathLike[str], rel: str) -> BinaryIO:
    """A reader of the regular file ``root/rel``, reached without following any symbolic link
    below ``root`` (each folder is opened with ``O_NOFOLLOW``; a FIFO cannot block the open).

    ``rel`` uses ``/`` separators and may not climb out (``..``) or be absolute.
    """
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or rel.startswith("/"):
        raise NotRegularFile(0, "is not a path inside the folder")
    if not (_NOFOLLOW and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd):
        here = Path(root)
        for part in parts[:-1]:  # Windows: best effort, checked part by part
            here = here / part
            if not stat.S_ISDIR(os.lstat(here).st_mode):
                raise NotRegularFile(0, f"{here} is a link or not a folder")
        return open_regular(here / parts[-1], nofollow=True)
    dir_flags = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
    fd = os.open(root, dir_flags)
    try:
        for part in parts[:-1]:
            try:
                nfd = os.open(part, dir_flags | _NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                raise NotRegularFile(0, f"{part} is a symbolic link or not a folder") from None
            os.close(fd)
            fd = nfd
        try:
            file_fd = os.open(parts[-1], os.O_RDONLY | _NONBLOCK | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise NotRegularFile(0, "is a symbolic link") from None
            raise
    finally:
        os.close(fd)
    try:
        mode = os.fstat(file_fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, f"is {_kind(mode)}, not a regular file")
        os.set_blocking(file_fd, True)
        return os.fdopen(file_fd, "rb")
    except BaseException:
        os.close(file_fd)
        raise


def read_bounded(fh: BinaryIO, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of ``fh`` and whether there was more (never reads it all)."""
    data = fh.read(limit + 1)
    return data[:limit], len(data) > limit
