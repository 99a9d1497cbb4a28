"""File names from the network, and writing into the models folder without being redirected.

Every file name a hub (or a mirror set by ``HF_ENDPOINT``) lists is untrusted. :func:`check_remote_name`
accepts only relative POSIX paths whose parts are plain names: no ``..`` or ``.``, no empty,
absolute or drive parts (``C:``), no backslashes, control characters or characters Windows
forbids, no reserved device names (``CON``, ``NUL``, ``COM1``... on every platform, so a library
copied to Windows stays valid) and no trailing dots or spaces. :func:`contained_path` joins such
a name to a folder and checks, after resolving, that the result is still inside it.

Writing never follows a symbolic link that is already below the models folder: folders are
opened one at a time with ``O_NOFOLLOW`` (created 0700 when missing), files are created with
``O_NOFOLLOW``, and the finished download is renamed into place relative to its folder's
descriptor. Where the platform lacks descriptors for folders (Windows), each part is checked
with ``lstat`` instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from gptoss_desktop.core.errors import DownloadError

MAX_NAME_BYTES = 1024  # the hub's own limit on a path is about this
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$", re.I)
_FORBIDDEN = set('<>:"|?*\\')
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_FD_DIRS = bool(_NOFOLLOW and _DIRECTORY) and os.replace in os.supports_dir_fd


class UnsafeFileName(DownloadError):
    """A file name from the hub could write outside its repository's folder (or is invalid)."""


class UnsafeLocation(DownloadError):
    """A folder or file on the way to a download is a symbolic link or not what it should be."""


def check_remote_name(name: object) -> PurePosixPath:
    """``name`` as a safe relative path, or :class:`UnsafeFileName` saying why not."""
    if not isinstance(name, str):
        raise UnsafeFileName(f"the hub sent a file name that is not text ({type(name).__name__})")
    shown = repr(name[:120])

    def bad(why: str) -> UnsafeFileName:
        return UnsafeFileName(
            f"refusing the file name {shown} from the hub: {why}; it could write outside the "
            "model's folder. Choose another file or repository"
        )

    if not name:
        raise bad("it is empty")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise bad(f"it is longer than {MAX_NAME_BYTES} bytes")
    if any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in name):
        raise bad("it contains control characters")
    if "\\" in name:
        raise bad("it contains a backslash")
    if name.startswith("/"):
        raise bad("it is an absolute path")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise bad("it has an empty, '.' or '..' part")
        if len(part) >= 2 and part[1] == ":" and part[0].isalpha():
            raise bad("it has a drive part")
        if bad_chars := sorted(set(part) & _FORBIDDEN):
            raise bad(f"it contains {''.join(bad_chars)!r}")
        if part[-1] in ". ":
            raise bad("a part ends in a dot or a space")
        if _RESERVED.match(part.split(".")[0].rstrip(" ")):
            raise bad("it uses a reserved device name (CON, NUL, COM1...)")
    return PurePosixPath(*parts)


def is_safe_remote_name(name: object) -> bool:
    try:
        check_remote_name(name)
    except UnsafeFileName:
        return False
    return True


def contained_path(folder: Path, name: str) -> Path:
    """``folder / name`` for a checked ``name``, refused unless it resolves inside ``folder``."""
    rel = check_remote_name(name)
    dest = Path(folder).joinpath(*rel.parts)
    base = Path(folder).resolve()
    resolved = dest.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafeLocation(
            f"{name!r} would be written to {resolved}, outside {base} (a symbolic link on the "
            "way?); remove the link and try again"
        )
    return dest


# --- opening without following links -----------------------------------------------------------


def _refuse_link(path: Path) -> UnsafeLocation:
    return UnsafeLocation(
        f"{path} is a symbolic link or not a folder; downloads never write through links "
        "inside the models folder. Remove it and try again"
    )


@contextlib.contextmanager
def open_dir_chain(top: Path, target: Path, *, create: bool = True) -> Iterator[int | None]:
    """A descriptor of the folder ``target`` (below ``top``), reached without following links.

    ``top`` itself may be a link (the user may point the models folder anywhere); every part
    below it must be a real folder. Missing parts are created 0700 when ``create``. Yields None
    where folders cannot be opened (Windows) after checking each part with ``lstat``.
    """
    top, target = Path(top), Path(target)
    try:
        rel = target.relative_to(top)
    except ValueError:
        raise UnsafeLocation(f"{target} is not inside {top}") from None
    if create:
        top.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not _FD_DIRS:
        here = top
        for part in rel.parts:
            here = here / part
            if create:
                with contextlib.suppress(FileExistsError):
                    here.mkdir(mode=0o700)
            st = here.lstat()
            if not stat.S_ISDIR(st.st_mode):
                raise _refuse_link(here)
        yield None
        return
    fd = os.open(top, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        here = top
        for part in rel.parts:
            here = here / part
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            try:
                nfd = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except (NotADirectoryError, OSError) as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                raise _refuse_link(here) from None
            os.close(fd)
            fd = nfd
        yield fd
    finally:
        os.close(fd)


def open_nofollow(path: Path, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses a symbolic link at ``path`` and anything but a regular file."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC | _BINARY, mode)
    except OSError as exc:
        if _NOFOLLOW and Path(path).is_symlink():
            raise _refuse_link(Path(path)) from None
        raise exc
    if not _NOFOLLOW and Path(path).is_symlink():  # Windows: best effort
        os.close(fd)
        raise _refuse_link(Path(path))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeLocation(f"{path} is not a regular file; remove it and try again")
    return fd


def is_regular_file(path: Path) -> bool:
    """True for a regular file that is not reached through a link at ``path`` itself."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def replace_into(src: Path, top: Path, dest: Path) -> None:
    """Move ``src`` to ``dest`` (below ``top``), creating folders, never through a link."""
    with open_dir_chain(top, dest.parent) as dir_fd:
        if dir_fd is None:
            os.replace(src, dest)
            return
        os.replace(src, dest.name, dst_dir_fd=dir_fd)
        with contextlib.suppress(OSError):
            os.fsync(dir_fd)


def read_small(path: Path, limit: int = 1 << 20) -> str:
    """The text of a small regular file (a state file), never through a link or from a FIFO."""
    fd = open_nofollow(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeLocation(f"{path} is larger than {limit} bytes; remove it and try again")
    return data.decode("utf-8")
