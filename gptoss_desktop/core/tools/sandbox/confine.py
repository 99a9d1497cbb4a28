"""The steps a sandbox child takes to confine itself before it runs any sandboxed code.

Stdlib only; runs inside the child while it is still single-threaded. Each step returns the
names of the layers it set up; a step that is required and fails raises
:class:`ConfinementError`, and the child then tells the app and exits (the tool stays off).
Order: rlimits, namespaces (+ reaper fork), /mnt/data, capabilities, Landlock, seccomp.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import select
import signal
from collections.abc import Iterable

from gptoss_desktop.core.tools.sandbox import landlock, seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_CAP_VERSION_3 = 0x20080522

#: Where gpt-oss expects its persistent drive; the scratch folder appears there when the
#: kernel lets the sandbox have its own mount namespace.
MNT_DATA = "/mnt/data"


class ConfinementError(RuntimeError):
    """A required confinement layer could not be set up."""

    def __init__(self, layer: str, problem: str) -> None:
        super().__init__(f"{layer}: {problem}")
        self.layer = layer
        self.problem = problem


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def set_rlimits(limits: dict[str, int]) -> list[str]:
    """Hard and soft limits (equal, so code cannot raise them; CPU's soft one a second lower)."""
    table = {
        "core": resource.RLIMIT_CORE,
        "cpu": resource.RLIMIT_CPU,
        "as": resource.RLIMIT_AS,
        "fsize": resource.RLIMIT_FSIZE,
        "nofile": resource.RLIMIT_NOFILE,
        "nproc": resource.RLIMIT_NPROC,
    }
    for name, value in limits.items():
        # CPU: the soft limit a second early, so the end of the budget is SIGXCPU (which the
        # app reports as "timed out") rather than a plain SIGKILL.
        soft = value - 1 if name == "cpu" and value > 1 else value
        try:
            resource.setrlimit(table[name], (soft, value))
        except (ValueError, OSError) as exc:
            raise ConfinementError("rlimits", f"RLIMIT_{name.upper()}={value}: {exc}") from None
    return ["rlimits"]


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter_namespaces() -> list[str]:
    """New user, network, mount, IPC and pid namespaces, as many as the kernel allows.

    Tries all of them in one unprivileged call; where user namespaces are off but the
    process is privileged (root in a container), it tries the rest without one. The pid
    namespace takes effect for the next fork (see :func:`fork_reaper`).
    """
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    rest = CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID
    if libc.unshare(CLONE_NEWUSER | rest) == 0:
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError:
            pass  # unmapped ids still work; only /mnt/data needs the mapping
        return ["userns", "netns", "mntns", "ipcns", "pidns"]
    if libc.unshare(rest) == 0:
        return ["netns", "mntns", "ipcns", "pidns"]
    return []


def mount_scratch_at_mnt_data(scratch: str) -> str | None:
    """Bind the scratch folder at /mnt/data in the sandbox's own mount namespace.

    Returns the path the sandbox should use as its working folder, or None when the mount
    could not be made (the real scratch path is used then).
    """
    if scratch == "/mnt" or scratch.startswith("/mnt/"):
        return None  # the tmpfs on /mnt would hide it
    libc = _libc()
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return None  # never mount anything that could propagate to the host
    if not os.path.isdir("/mnt"):
        return None
    flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
    if libc.mount(b"tmpfs", b"/mnt", b"tmpfs", flags, b"size=64k,mode=755") != 0:
        return None
    try:
        os.mkdir(MNT_DATA, 0o755)
    except OSError:
        return None
    if libc.mount(scratch.encode(), MNT_DATA.encode(), None, _MS_BIND | _MS_REC, None) != 0:
        return None
    return MNT_DATA


def fork_reaper(life_fd: int, fds_to_close: Iterable[int]) -> None:
    """Fork; the parent becomes a reaper and never returns, the child goes on to run code.

    The reaper stays outside the pid namespace, holds none of the app's pipes except the
    lifeline, kills the sandbox when the app goes away (lifeline at end of file) and exits
    with the sandbox's status (128 + signal when it was killed; 128 + SIGXCPU also when
    the kernel's SIGKILL at the end of the CPU budget ended it).
    """
    pid = os.fork()
    if pid == 0:
        os.close(life_fd)
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    for fd in fds_to_close:
        os.close(fd)

    class _ChildExited(Exception):
        pass

    def on_child(signum: int, frame: object) -> None:
        raise _ChildExited

    signal.signal(signal.SIGCHLD, on_child)
    status = 0
    cpu_used = 0.0
    soft_cpu = resource.getrlimit(resource.RLIMIT_CPU)[0]  # a second before the hard limit
    cpu_budget = float("inf") if soft_cpu == resource.RLIM_INFINITY else float(soft_cpu)
    while True:
        try:
            done, code, usage = os.wait4(pid, os.WNOHANG)
            if done:
                status = code
                cpu_used = usage.ru_utime + usage.ru_stime
                break
            readable, _, _ = select.select([life_fd], [], [], 30.0)
            if readable and not os.read(life_fd, 64):
                os.kill(pid, signal.SIGKILL)
        except _ChildExited:
            continue
        except ChildProcessError:
            break
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        if signum == signal.SIGKILL and cpu_used >= cpu_budget:
            # As init of its pid namespace the sandbox ignores SIGXCPU (sent at the soft
            # limit), so the kernel's SIGKILL at the hard limit ends it: report that as the
            # CPU budget used up (rusage lags the limit's own count a little).
            signum = signal.SIGXCPU
        os._exit(128 + signum)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def drop_capabilities() -> list[str]:
    """Empty the bounding, ambient, effective, permitted and inheritable capability sets.

    Matters where the app runs as root (containers, CI): without it a root sandbox could raise
    its own rlimits or use other privileged calls the filter does not list.
    """
    libc = _libc()
    cap = 0
    while libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) == 0 or ctypes.get_errno() == errno.EPERM:
        cap += 1
        if cap > 63:
            break
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        err = ctypes.get_errno()
        raise ConfinementError("capabilities", f"capset failed: {os.strerror(err)}")
    return ["no-capabilities"]


def no_new_privs() -> None:
    """No exec can ever gain privileges again (needed by Landlock and seccomp)."""
    if _libc().prctl(seccomp.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise ConfinementError("no_new_privs", os.strerror(ctypes.get_errno()))


def lock_files(
    read_only: Iterable[str], read_write: Iterable[str], devices: bool = True
) -> list[str]:
    """Landlock: nothing but ``read_only`` (read) and ``read_write`` (read, write, create)."""
    no_new_privs()
    abi = landlock.abi_version()
    if abi < 1:
        raise ConfinementError("landlock", "this kernel has no Landlock (Linux 5.13+ needed)")
    rules = landlock.Ruleset(abi)
    for path in read_only:
        rules.allow(path, landlock.READ_ONLY)
    for path in read_write:
        rules.allow(path, landlock.READ_WRITE)
    if devices:
        rules.allow("/dev/null", landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE)
        for device in ("/dev/zero", "/dev/urandom", "/dev/random"):
            rules.allow(device, landlock.READ_FILE)
    try:
        return [*rules.restrict_self(), f"landlock-abi-{abi}"]
    except OSError as exc:
        raise ConfinementError("landlock", str(exc)) from None


def filter_syscalls(self_pid: int) -> list[str]:
    try:
        seccomp.install(seccomp.build_filter(self_pid))
    except OSError as exc:
        raise ConfinementError("seccomp", str(exc)) from None
    return ["seccomp"]
