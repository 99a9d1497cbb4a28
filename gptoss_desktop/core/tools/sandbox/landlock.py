"""Landlock through ctypes: confine a process to a few folders, by the kernel.

Stdlib only (the sandbox child imports it before locking down). Landlock is an unprivileged
Linux security module (kernel 5.13+, ABI versions 1 to 7 so far): a process builds a ruleset
that says which rights it handles, adds "beneath this folder, allow these rights" rules, and
restricts itself; every later open, create, rename, link, execute (and, from ABI 4, TCP
bind/connect; from ABI 6, signals to processes outside the domain) is checked against it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446), "arm64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# Filesystem rights (ABI in comments).
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12  # last ABI 1 right
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_ONLY = READ_FILE | READ_DIR
#: What the scratch folder allows: read, write, create, delete, rename inside it.
#: Not: executing, symlinks (the app reads scratch files too), fifos, sockets, devices.
READ_WRITE = (
    READ_FILE | READ_DIR | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER
) | TRUNCATE


class LandlockError(OSError):
    """Landlock is missing, disabled, or refused a rule."""


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _numbers() -> tuple[int, int, int]:
    machine = os.uname().machine
    numbers = _SYS.get(machine.lower())
    if numbers is None:
        raise LandlockError(errno.ENOSYS, f"no Landlock syscall numbers for {machine}")
    return numbers


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is absent or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        create, _add, _restrict = _numbers()
    except LandlockError:
        return 0
    version = _libc().syscall(create, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


class Ruleset:
    """Rules to apply with :meth:`restrict_self`: ``(path, rights)`` pairs."""

    def __init__(self, abi: int) -> None:
        self.abi = abi
        self.rules: list[tuple[str, int]] = []
        self.skipped: list[str] = []

    def allow(self, path: str, rights: int) -> None:
        """Allow ``rights`` beneath ``path`` (a folder) or on it (a file); missing paths are skipped."""
        if not os.path.exists(path):
            self.skipped.append(path)
            return
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        self.rules.append((path, rights))

    def restrict_self(self) -> list[str]:
        """Confine this thread and its future threads/children. Returns the layers it set up.

        Needs no_new_privs (or CAP_SYS_ADMIN); call it while the process has one thread.
        """
        if self.abi < 1:
            raise LandlockError(errno.EOPNOTSUPP, "Landlock is not available in this kernel")
        create, add_rule, restrict = _numbers()
        libc = _libc()
        handled_fs = _fs_rights(self.abi)
        attr = _RulesetAttr(handled_fs, 0, 0)
        layers = ["landlock-fs"]
        size = 8
        if self.abi >= 4:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
            layers.append("landlock-net")
            size = 16
        if self.abi >= 6:
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
            layers.append("landlock-scope")
            size = 24
        fd = int(libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), 0))
        if fd < 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"landlock_create_ruleset failed: {os.strerror(err)}")
        try:
            for path, rights in self.rules:
                allowed = rights & handled_fs
                parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    rule = _PathBeneathAttr(allowed, parent)
                    if libc.syscall(add_rule, fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                        err = ctypes.get_errno()
                        raise LandlockError(err, f"landlock rule for {path}: {os.strerror(err)}")
                finally:
                    os.close(parent)
            if libc.syscall(restrict, fd, 0) != 0:
                err = ctypes.get_errno()
                raise LandlockError(err, f"landlock_restrict_self failed: {os.strerror(err)}")
        finally:
            os.close(fd)
        return layers
