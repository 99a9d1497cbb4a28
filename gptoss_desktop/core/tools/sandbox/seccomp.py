"""A seccomp-BPF system-call filter, assembled by hand and installed through ctypes.

Stdlib only: the sandbox child imports this before it locks itself down. The filter is a
block list on top of Landlock (files) and namespaces (network, pids): it refuses every call
that creates processes, talks to the network, debugs or signals other processes, changes
mounts or namespaces, loads kernel code, or bypasses path checks (``open_by_handle_at``); it
also refuses every change of file metadata (mode, owner, times, extended attributes, inode
flags: Landlock does not cover them), System V IPC and POSIX message queues (shared with the
user's other processes where there is no IPC namespace) and inotify watches, and answers
ENOSYS to system calls newer than the table (so a new kernel adds no unfiltered call).
Threads are allowed (``clone`` with ``CLONE_THREAD`` and no namespace flags); ``clone3`` answers
ENOSYS so glibc falls back to ``clone``, whose flags a filter can read. Calls that take a pid
(kill, tgkill, prlimit64, sched_setaffinity ...) are allowed only on the sandbox itself.
A refused call fails with EPERM, so Python raises ``PermissionError``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

# --- kernel constants ------------------------------------------------------------------------
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06

RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG_LO = (16, 24, 32, 40, 48, 56)  # low 32 bits of args[i] (little endian)

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

CLONE_THREAD = 0x00010000
_CLONE_NAMESPACE_FLAGS = (
    0x00000080  # CLONE_NEWTIME
    | 0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
_TIOCSTI = 0x5412
_TIOCLINUX = 0x541C
#: ioctls that change inode flags or extended attributes (chattr); refused like chmod.
_FS_IOC_SETFLAGS = (0x40086602, 0x40046602)  # FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS
_FS_IOC_FSSETXATTR = 0x401C5820
_FS_IOC_SETVERSION = (0x40087602, 0x40047602)
_X32_SYSCALL_BIT = 0x40000000


class Arch:
    """A CPU architecture: its seccomp audit value and its column in the syscall table."""

    __slots__ = ("audit_arch", "column", "name")

    def __init__(self, name: str, audit_arch: int, column: int) -> None:
        self.name = name
        self.audit_arch = audit_arch
        self.column = column


_ARCHES = {
    "x86_64": Arch("x86_64", 0xC000003E, 0),
    "amd64": Arch("x86_64", 0xC000003E, 0),
    "aarch64": Arch("aarch64", 0xC00000B7, 1),
    "arm64": Arch("aarch64", 0xC00000B7, 1),
}

# name: (x86_64, aarch64); None where the call does not exist on that architecture.
# Taken from the kernel's unistd_64.h and asm-generic/unistd.h.
_SYSCALLS: dict[str, tuple[int | None, int | None]] = {
    "socket": (41, 198),
    "socketpair": (53, 199),
    "fork": (57, None),
    "vfork": (58, None),
    "clone": (56, 220),
    "clone3": (435, 435),
    "execve": (59, 221),
    "execveat": (322, 281),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "kill": (62, 129),
    "tkill": (200, 130),
    "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
    "pidfd_open": (434, 434),
    "pidfd_getfd": (438, 438),
    "pidfd_send_signal": (424, 424),
    "setsid": (112, 157),
    "setpgid": (109, 154),
    "setns": (308, 268),
    "unshare": (272, 97),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "move_mount": (429, 429),
    "open_tree": (428, 428),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "acct": (163, 89),
    "quotactl": (179, 60),
    "quotactl_fd": (443, 443),
    "syslog": (103, 116),
    "personality": (135, 92),
    "iopl": (172, None),
    "ioperm": (173, None),
    "modify_ldt": (154, None),
    "lookup_dcookie": (212, 18),
    "name_to_handle_at": (303, 264),
    "open_by_handle_at": (304, 265),
    "settimeofday": (164, 170),
    "clock_settime": (227, 112),
    "clock_adjtime": (305, 266),
    "adjtimex": (159, 171),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "mknod": (133, None),
    "mknodat": (259, 33),
    "ioctl": (16, 29),
    "process_madvise": (440, 440),
    "process_mrelease": (448, 448),
    "migrate_pages": (256, 238),
    "move_pages": (279, 239),
    "kcmp": (312, 272),
    "vhangup": (153, 58),
    "uselib": (134, None),
    "ustat": (136, None),
    "sysfs": (139, None),
    "nfsservctl": (180, 42),
    "fanotify_init": (300, 262),
    "fanotify_mark": (301, 263),
    "setpriority": (141, 140),
    "ioprio_set": (251, 30),
    "get_robust_list": (274, 100),
    "prlimit64": (302, 261),
    "sched_setaffinity": (203, 122),
    "sched_setparam": (142, 118),
    "sched_setscheduler": (144, 119),
    "sched_setattr": (314, 274),
    "prctl": (157, 167),
    "seccomp": (317, 277),
    "landlock_create_ruleset": (444, 444),
    "landlock_add_rule": (445, 445),
    "landlock_restrict_self": (446, 446),
    # File metadata: Landlock's rights do not cover these, so only the filter can stop them.
    "chmod": (90, None),
    "fchmod": (91, 52),
    "fchmodat": (268, 53),
    "fchmodat2": (452, 452),
    "chown": (92, None),
    "fchown": (93, 55),
    "lchown": (94, None),
    "fchownat": (260, 54),
    "utime": (132, None),
    "utimes": (235, None),
    "futimesat": (261, None),
    "utimensat": (280, 88),
    "setxattr": (188, 5),
    "lsetxattr": (189, 6),
    "fsetxattr": (190, 7),
    "removexattr": (197, 14),
    "lremovexattr": (198, 15),
    "fremovexattr": (199, 16),
    "setxattrat": (463, 463),
    "removexattrat": (466, 466),
    "file_setattr": (469, 469),
    # System V IPC (shared with every process of the user unless in an IPC namespace), and
    # POSIX message queues (the same).
    "shmget": (29, 194),
    "shmat": (30, 196),
    "shmctl": (31, 195),
    "shmdt": (67, 197),
    "semget": (64, 190),
    "semop": (65, 193),
    "semctl": (66, 191),
    "semtimedop": (220, 192),
    "msgget": (68, 186),
    "msgsnd": (69, 189),
    "msgrcv": (70, 188),
    "msgctl": (71, 187),
    "mq_open": (240, 180),
    "mq_unlink": (241, 181),
    "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183),
    "mq_notify": (244, 184),
    "mq_getsetattr": (245, 185),
    # File-system watches: they report names and activity in folders the sandbox cannot read.
    "inotify_init": (253, None),
    "inotify_init1": (294, 26),
    "inotify_add_watch": (254, 27),
}
#: The highest system call number in the table above (Linux 6.17's file_setattr). Newer calls
#: answer ENOSYS, as on an older kernel, so a kernel update cannot add an unfiltered one.
LAST_KNOWN_SYSCALL = 469

#: Refused outright with EPERM.
DENIED = (
    "socket", "socketpair", "fork", "vfork", "execve", "execveat", "ptrace",
    "process_vm_readv", "process_vm_writev", "tkill", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "setsid", "setpgid", "setns", "unshare", "mount", "umount2",
    "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "personality", "iopl", "ioperm",
    "modify_ldt", "lookup_dcookie", "name_to_handle_at", "open_by_handle_at", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "mknod",
    "mknodat", "process_madvise", "process_mrelease", "migrate_pages", "move_pages", "kcmp",
    "vhangup", "uselib", "ustat", "sysfs", "nfsservctl", "fanotify_init", "fanotify_mark",
    "setpriority", "ioprio_set", "get_robust_list",
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr",
    "removexattr", "lremovexattr", "fremovexattr", "setxattrat", "removexattrat",
    "file_setattr",
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop",
    "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
    "mq_timedreceive", "mq_notify", "mq_getsetattr",
    "inotify_init", "inotify_init1", "inotify_add_watch",
)  # fmt: skip
#: Allowed only when the pid argument (index) is the sandbox's own pid (or 0 where "0" means self).
SELF_ONLY = {
    "kill": (0, False),
    "tgkill": (0, False),
    "rt_sigqueueinfo": (0, False),
    "rt_tgsigqueueinfo": (0, False),
    "prlimit64": (0, True),
    "sched_setaffinity": (0, True),
    "sched_setparam": (0, True),
    "sched_setscheduler": (0, True),
    "sched_setattr": (0, True),
}


class SeccompError(OSError):
    """The filter could not be built or installed on this machine."""


def machine_arch() -> Arch:
    machine = os.uname().machine
    arch = _ARCHES.get(machine.lower())
    if arch is None:
        raise SeccompError(errno.ENOSYS, f"no seccomp syscall table for {machine}")
    return arch


class _Assembler:
    """Straight-line BPF with forward jumps to labels, resolved at the end."""

    def __init__(self) -> None:
        self.code: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def load(self, offset: int) -> None:
        self.code.append((_BPF_LD_W_ABS, 0, 0, offset))

    def jump(self, op: int, k: int, jt: object, jf: object) -> None:
        self.code.append((op, jt, jf, k))

    def ret(self, value: int) -> None:
        self.code.append((_BPF_RET_K, 0, 0, value))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (op, jt, jf, k) in enumerate(self.code):
            out += struct.pack("<HBBI", op, self._offset(index, jt), self._offset(index, jf), k)
        return bytes(out)

    def _offset(self, index: int, target: object) -> int:
        if isinstance(target, int):
            return target
        distance = self.labels[str(target)] - index - 1
        if not 0 <= distance <= 255:
            raise SeccompError(errno.E2BIG, f"BPF jump to {target} out of range ({distance})")
        return distance


def build_filter(self_pid: int, *, arch: Arch | None = None) -> bytes:
    """The sandbox's filter program as raw ``struct sock_filter`` bytes."""
    arch = arch or machine_arch()
    eperm = _RET_ERRNO | errno.EPERM

    def nr(name: str) -> int | None:
        return _SYSCALLS[name][arch.column]

    asm = _Assembler()
    asm.load(_OFF_ARCH)
    asm.jump(_BPF_JEQ_K, arch.audit_arch, 1, 0)
    asm.ret(RET_KILL_PROCESS)
    asm.load(_OFF_NR)
    if arch.name == "x86_64":
        asm.jump(_BPF_JGE_K, _X32_SYSCALL_BIT, 0, 1)
        asm.ret(eperm)
    asm.jump(_BPF_JGE_K, LAST_KNOWN_SYSCALL + 1, 0, 1)
    asm.ret(_RET_ERRNO | errno.ENOSYS)
    for name in DENIED:
        number = nr(name)
        if number is not None:
            asm.jump(_BPF_JEQ_K, number, 0, 1)
            asm.ret(eperm)
    clone3 = nr("clone3")
    assert clone3 is not None
    asm.jump(_BPF_JEQ_K, clone3, 0, 1)
    asm.ret(_RET_ERRNO | errno.ENOSYS)
    asm.jump(_BPF_JEQ_K, nr("clone") or 0, "clone", 0)
    asm.jump(_BPF_JEQ_K, nr("ioctl") or 0, "ioctl", 0)
    for name, (index, zero_is_self) in SELF_ONLY.items():
        number = nr(name)
        if number is None:
            continue
        asm.jump(_BPF_JEQ_K, number, 0, 3)
        asm.load(_OFF_ARG_LO[index])
        asm.jump(_BPF_JEQ_K, self_pid & 0xFFFFFFFF, "allow", 0)
        if zero_is_self:
            asm.jump(_BPF_JEQ_K, 0, "allow", "deny")
        else:
            asm.ret(eperm)
    asm.ret(RET_ALLOW)  # everything not listed
    asm.label("clone")  # a thread (CLONE_THREAD) that makes no namespace: allowed
    asm.load(_OFF_ARG_LO[0])
    asm.jump(_BPF_JSET_K, CLONE_THREAD, 0, "deny")
    asm.jump(_BPF_JSET_K, _CLONE_NAMESPACE_FLAGS, "deny", "allow")
    asm.label("ioctl")  # no faking terminal input, no chattr
    asm.load(_OFF_ARG_LO[1])
    refused = (_TIOCSTI, _TIOCLINUX, *_FS_IOC_SETFLAGS, _FS_IOC_FSSETXATTR, *_FS_IOC_SETVERSION)
    for command in refused[:-1]:
        asm.jump(_BPF_JEQ_K, command, "deny", 0)
    asm.jump(_BPF_JEQ_K, refused[-1], "deny", "allow")
    asm.label("allow")
    asm.ret(RET_ALLOW)
    asm.label("deny")
    asm.ret(eperm)
    return asm.assemble()


def build_deny_filter(denied: dict[str, int], *, arch: Arch | None = None) -> bytes:
    """A filter that refuses only ``denied`` (name -> errno) and allows everything else.

    Used to check how the sandbox behaves on kernels without a feature (run the app's side
    under it) and by diagnostics; not a sandbox by itself.
    """
    arch = arch or machine_arch()
    asm = _Assembler()
    asm.load(_OFF_ARCH)
    asm.jump(_BPF_JEQ_K, arch.audit_arch, 1, 0)
    asm.ret(RET_ALLOW)
    asm.load(_OFF_NR)
    for name, err in denied.items():
        number = _SYSCALLS[name][arch.column]
        if number is not None:
            asm.jump(_BPF_JEQ_K, number, 0, 1)
            asm.ret(_RET_ERRNO | err)
    asm.ret(RET_ALLOW)
    return asm.assemble()


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def install(program: bytes) -> None:
    """Set no_new_privs and install ``program`` for this thread and its future threads.

    Call it while the process has a single thread: filters do not reach existing threads.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"prctl(NO_NEW_PRIVS) failed: {errno.errorcode.get(err, err)}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"prctl(SET_SECCOMP) failed: {errno.errorcode.get(err, err)}")
