"""Per-chat scratch folders: the only place the python tool can read and write.

The app itself also reads files there (the ``read_scratch_file`` function), and what the
sandbox left there is untrusted: a path may try to climb out (``../``), a name may be a
symlink or hard link to a secret, a fifo that blocks the reader, or a huge file. Reading goes
through :func:`read_scratch_file`, which opens each path component with ``O_NOFOLLOW`` under
the scratch folder and accepts only a regular file with a single link.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.paths import AppPaths

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def scratch_dir(paths: AppPaths, chat_id: str) -> Path:
    """The scratch folder of one chat (not created here)."""
    if not _SAFE_ID.match(chat_id) or chat_id in (".", ".."):
        raise ToolError(f"chat id {chat_id!r} cannot name a scratch folder; use letters and digits")
    return paths.data_dir / "scratch" / chat_id


def _relative_parts(relpath: str) -> list[str]:
    path = PurePosixPath(relpath.replace("\\", "/"))
    for prefix in ("/mnt/data",):
        if path.is_relative_to(prefix):
            path = path.relative_to(prefix)
    if path.is_absolute():
        raise ToolError(f"{relpath}: give a path inside the scratch folder, not an absolute one")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ToolError(f"{relpath}: the path must name a file inside the scratch folder")
    return parts


def read_scratch_file(
    scratch: Path, relpath: str, max_bytes: int = 256 * 1024
) -> tuple[bytes, bool]:
    """Bytes of a regular file inside ``scratch`` (at most ``max_bytes``) and whether it was cut.

    Refuses absolute paths (except under /mnt/data, the sandbox's name for the folder),
    ``..``, symlinks anywhere on the way, non-regular files and hard-linked files.
    """
    parts = _relative_parts(relpath)
    flags_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        dir_fd = os.open(scratch, flags_dir)
    except OSError as exc:
        raise ToolError(f"the scratch folder cannot be opened: {exc.strerror}") from None
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, flags_dir, dir_fd=dir_fd)
            except OSError as exc:
                raise ToolError(f"{relpath}: {exc.strerror} (symlinks are not followed)") from None
            os.close(dir_fd)
            dir_fd = next_fd
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(parts[-1], flags, dir_fd=dir_fd)
        except OSError as exc:
            raise ToolError(f"{relpath}: {exc.strerror} (symlinks are not followed)") from None
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ToolError(f"{relpath}: not a regular file")
        if info.st_nlink != 1:
            raise ToolError(f"{relpath}: a hard-linked file is not read from the scratch folder")
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    return data[:max_bytes], len(data) > max_bytes


def list_scratch(scratch: Path, limit: int = 200) -> list[str]:
    """Relative paths of the regular files in the scratch folder (symlinks skipped)."""
    found: list[str] = []
    for root, dirs, files in os.walk(scratch, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                found.append(os.path.relpath(full, scratch))
                if len(found) >= limit:
                    return found
    return found
