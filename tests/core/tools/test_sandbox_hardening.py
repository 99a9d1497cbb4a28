"""Issue #17's sandbox findings, each checked by evidence read from outside the sandbox.

Metadata of a file outside the folder (mode, times, owner, extended attributes) read back
after the code tried to change it; System V shared memory and message queues made by the
test, read back after the code tried to reach them; the CPU time and the writes of a
thread the code left behind, measured after the call returned; the scratch folder's size
after the code tried to hide what it wrote; inotify descriptors seen in /proc. Every test
runs with the namespaces the kernel allows and with none (``--no-namespaces``, also what
Ubuntu 24.04's AppArmor policy leaves).
"""

from __future__ import annotations

import ctypes
import errno
import os
import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.sandbox.process import PythonSandbox
from tests.core.tools.conftest import TEST_LIMITS, require_sandbox_support

MODES = ["auto", "off"]
MODE_IDS = ["namespaces", "no-namespaces"]


@pytest.fixture(scope="module", params=MODES, ids=MODE_IDS)
def box(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PythonSandbox]:
    require_sandbox_support()
    sandbox = PythonSandbox(
        tmp_path_factory.mktemp("scratch"), TEST_LIMITS, namespaces=request.param
    )
    sandbox.start()
    yield sandbox
    sandbox.close()


def _still_answers(box: PythonSandbox) -> None:
    after = box.run("print(6 * 7)")
    assert after.stdout == "42\n" and after.error is None


# --- item 2: metadata of files the sandbox cannot write ----------------------------------------


@dataclass(frozen=True)
class Metadata:
    mode: int
    uid: int
    gid: int
    atime_ns: int
    mtime_ns: int
    ctime_ns: int
    xattrs: dict[str, bytes]


def _metadata(path: Path) -> Metadata:
    info = os.lstat(path)
    xattrs = {name: os.getxattr(path, name) for name in os.listxattr(path)}
    return Metadata(
        info.st_mode,
        info.st_uid,
        info.st_gid,
        info.st_atime_ns,
        info.st_mtime_ns,
        info.st_ctime_ns,
        xattrs,
    )


_METADATA_ATTACK = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
x86 = os.uname().machine == 'x86_64'
target, folder = {target!r}, {folder!r}
attempts = {{
    'chmod': lambda: os.chmod(target, 0o777),
    'chmod-folder': lambda: os.chmod(folder, 0o000),
    'chown': lambda: os.chown(target, os.getuid(), os.getgid()),
    'lchown': lambda: os.lchown(target, -1, os.getgid()),
    'utime': lambda: os.utime(target, (1, 1)),
    'utime-now': lambda: os.utime(target),
    'setxattr': lambda: os.setxattr(target, 'user.planted', b'evil'),
    'replace-xattr': lambda: os.setxattr(target, 'user.keep', b'evil'),
    'removexattr': lambda: os.removexattr(target, 'user.keep'),
}}
raw = {{  # the system calls themselves, past any Python-level check
    'fchmodat': (268 if x86 else 53, -100, target.encode(), 0o777, 0),
    'fchmodat2': (452, -100, target.encode(), 0o777, 0),
    'fchownat': (260 if x86 else 54, -100, target.encode(), os.getuid(), os.getgid(), 0),
    'utimensat': (280 if x86 else 88, -100, target.encode(), None, 0),
    'lsetxattr': (189 if x86 else 6, target.encode(), b'user.raw', b'x', 1, 0),
    'lremovexattr': (198 if x86 else 15, target.encode(), b'user.keep'),
}}
for name, call in attempts.items():
    try:
        call()
        print('ESCAPED', name)
    except OSError as e:
        print('blocked', name, e.errno)
for name, args in raw.items():
    r = libc.syscall(*args)
    print('blocked', name, ctypes.get_errno()) if r == -1 else print('ESCAPED', name, r)
"""


def test_metadata_outside_the_folder_stays_unchanged(box: PythonSandbox, tmp_path: Path) -> None:
    folder = tmp_path / "home"
    folder.mkdir(mode=0o755)
    target = folder / ".bashrc"
    target.write_text("alias ls='ls --color'\n")
    target.chmod(0o644)
    os.utime(target, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    try:
        os.setxattr(target, "user.keep", b"original")
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EPERM):
            raise
    before, folder_before = _metadata(target), _metadata(folder)
    time.sleep(0.02)  # a change now would show in ctime
    result = box.run(_METADATA_ATTACK.format(target=str(target), folder=str(folder)))
    assert result.error is None, result.error
    assert "ESCAPED" not in result.stdout, result.stdout
    assert result.stdout.count("blocked") == 15
    # The evidence: everything read back from outside is as it was.
    assert _metadata(target) == before
    assert _metadata(folder) == folder_before
    assert target.read_text() == "alias ls='ls --color'\n"
    _still_answers(box)


def test_metadata_inside_the_folder_is_refused_too_but_copying_works(box: PythonSandbox) -> None:
    """Refused everywhere (a filter cannot tell paths apart safely); shutil.copy and copy2
    still copy the contents, as a notebook expects."""
    code = (
        "import os, shutil\nopen('mine.txt', 'w').write('data')\n"
        "try:\n    os.chmod('mine.txt', 0o700)\n    print('changed')\n"
        "except PermissionError:\n    print('refused')\n"
        "shutil.copy('mine.txt', 'copy.txt')\nshutil.copy2('mine.txt', 'copy2.txt')\n"
        "print(open('copy.txt').read(), open('copy2.txt').read())"
    )
    result = box.run(code)
    assert result.error is None, result.error
    assert result.stdout == "refused\ndata data\n"
    mode_before = os.stat(box.scratch / "mine.txt").st_mode
    box.run("import os\ntry:\n    os.chmod('mine.txt', 0o777)\nexcept OSError:\n    pass")
    assert os.stat(box.scratch / "mine.txt").st_mode == mode_before
    assert (box.scratch / "copy2.txt").read_text() == "data"


# --- item 3: System V IPC -----------------------------------------------------------------------

_IPC_CREAT, _IPC_NOWAIT, _IPC_RMID = 0o1000, 0o4000, 0
_SHM_SIZE = 4096
_PAYLOAD = b"X11 MIT-SHM pixels: secret screen contents".ljust(64, b".")


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    libc.shmdt.argtypes = (ctypes.c_void_p,)
    libc.msgrcv.restype = ctypes.c_ssize_t
    libc.msgrcv.argtypes = (
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_long,
        ctypes.c_int,
    )
    libc.msgsnd.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return libc


def _sysvipc_row(kind: str, ident: int) -> dict[str, str]:
    """The kernel's view of one segment or queue (read in the test's own IPC namespace)."""
    lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
    header = lines[0].split()
    for line in lines[1:]:
        row = dict(zip(header, line.split(), strict=False))
        id_key = "shmid" if kind == "shm" else "msqid"
        if int(row[id_key]) == ident:
            return row
    raise AssertionError(f"{kind} {ident} is gone")


@dataclass
class SysV:
    shm_key: int
    shm_id: int
    shm_addr: int
    msg_key: int
    msg_id: int


@pytest.fixture
def sysv() -> Iterator[SysV]:
    if not Path("/proc/sysvipc/shm").exists():
        pytest.skip("this kernel shows no /proc/sysvipc (no System V IPC)")
    libc = _libc()
    shm_key, msg_key = random.randrange(1 << 20, 1 << 30), random.randrange(1 << 20, 1 << 30)
    shm_id = libc.shmget(shm_key, _SHM_SIZE, _IPC_CREAT | 0o600)
    msg_id = libc.msgget(msg_key, _IPC_CREAT | 0o600)
    assert shm_id >= 0 and msg_id >= 0, os.strerror(ctypes.get_errno())
    addr = libc.shmat(shm_id, None, 0)
    assert addr not in (None, ctypes.c_void_p(-1).value)
    ctypes.memmove(addr, _PAYLOAD, len(_PAYLOAD))
    message = struct.pack("l", 7) + b"queued secret"
    buffer = ctypes.create_string_buffer(message, len(message))
    assert libc.msgsnd(msg_id, buffer, len(message) - 8, 0) == 0
    try:
        yield SysV(shm_key, shm_id, addr, msg_key, msg_id)
    finally:
        libc.shmdt(ctypes.c_void_p(addr))
        libc.shmctl(shm_id, _IPC_RMID, None)
        libc.msgctl(msg_id, _IPC_RMID, None)


_SYSV_ATTACK = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.msgrcv.restype = ctypes.c_ssize_t
def report(name, ok):
    print(('ESCAPED ' if ok else 'blocked ') + name, ctypes.get_errno())
report('shmget-key', libc.shmget({shm_key}, 0, 0) != -1)
report('shmget-new', libc.shmget(0, 4096, 0o1600) != -1)
addr = libc.shmat({shm_id}, None, 0)
report('shmat', addr not in (None, ctypes.c_void_p(-1).value))
if addr not in (None, ctypes.c_void_p(-1).value):
    print('READ', ctypes.string_at(addr, 64))
    ctypes.memset(addr, 0x41, 64)
report('shmctl-rmid', libc.shmctl({shm_id}, 0, None) != -1)
report('msgget-key', libc.msgget({msg_key}, 0) != -1)
buf = ctypes.create_string_buffer(256)
n = libc.msgrcv({msg_id}, buf, 200, 0, 0o4000)
report('msgrcv', n != -1)
if n != -1:
    print('READ', buf.raw[8:8 + n])
forged = ctypes.create_string_buffer(b'\\x07' + b'\\x00' * 7 + b'forged', 14)
report('msgsnd', libc.msgsnd({msg_id}, forged, 6, 0o4000) != -1)
report('msgctl-rmid', libc.msgctl({msg_id}, 0, None) != -1)
report('semget', libc.semget(0, 1, 0o1600) != -1)
report('semop', libc.semop(0, None, 0) != -1 or ctypes.get_errno() not in (1,))
"""


def test_sysv_ipc_of_other_processes_is_out_of_reach(box: PythonSandbox, sysv: SysV) -> None:
    shm_before = _sysvipc_row("shm", sysv.shm_id)
    msg_before = _sysvipc_row("msg", sysv.msg_id)
    time.sleep(1.1)  # attach and message times have a resolution of one second
    code = _SYSV_ATTACK.format(
        shm_key=sysv.shm_key, shm_id=sysv.shm_id, msg_key=sysv.msg_key, msg_id=sysv.msg_id
    )
    result = box.run(code)
    assert result.error is None, result.error
    assert "ESCAPED" not in result.stdout and "READ" not in result.stdout, result.stdout
    assert result.stdout.count("blocked") == 10
    # Evidence from outside: contents unchanged, nobody attached, nothing received or sent.
    assert ctypes.string_at(sysv.shm_addr, len(_PAYLOAD)) == _PAYLOAD
    shm_after = _sysvipc_row("shm", sysv.shm_id)
    for field in ("nattch", "lpid", "atime", "dtime", "ctime", "perms"):
        assert shm_after[field] == shm_before[field], field
    msg_after = _sysvipc_row("msg", sysv.msg_id)
    for field in ("qnum", "cbytes", "lspid", "lrpid", "stime", "rtime", "ctime", "perms"):
        assert msg_after[field] == msg_before[field], field
    libc = _libc()
    buffer = ctypes.create_string_buffer(64)
    received = libc.msgrcv(sysv.msg_id, buffer, 56, 0, _IPC_NOWAIT)
    assert buffer.raw[8 : 8 + received] == b"queued secret"
    _still_answers(box)


# --- item 4: nothing runs after the call returns; the folder's total; inotify ------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_LINGERING_THREAD = """
import threading, time
def linger():
    out = open('lingering.bin', 'ab')
    last = time.monotonic()
    while True:  # burns CPU, and writes 16 KiB every 50 ms
        if time.monotonic() - last > 0.05:
            out.write(b'x' * 16384)
            out.flush()
            last = time.monotonic()
threading.Thread(target=linger, daemon=True).start()
time.sleep(0.3)
print('returned')
"""


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_threads_do_not_run_after_the_call_returns(mode: str, tmp_path: Path) -> None:
    require_sandbox_support()
    quota = 1024 * 1024
    limits = replace(TEST_LIMITS, scratch_bytes=quota, wall_s=20.0, cpu_s=20.0)
    with PythonSandbox(tmp_path, limits, namespaces=mode) as box:
        result = box.run(_LINGERING_THREAD)
        assert result.stdout == "returned\n" and result.error is None
        pid = box.sandbox_pid
        assert pid is not None
        written = tmp_path / "lingering.bin"
        size_at_return = written.stat().st_size
        cpu_at_return = _cpu_seconds(pid)
        time.sleep(2.0)
        cpu_after = _cpu_seconds(pid) - cpu_at_return
        assert cpu_after < 0.1, f"the sandbox used {cpu_after:.2f} s of CPU after returning"
        assert written.stat().st_size == size_at_return
        # The thread goes on only during the next call, under that call's limits: the
        # folder's quota stops it.
        result = box.run("import time\ntime.sleep(15)")
        assert result.state_lost and "wrote more than 1048576 bytes" in (result.error or "")
        margin = 512 * 1024  # what it writes between two checks of the folder
        assert written.stat().st_size <= quota + margin


def test_many_empty_files_do_not_hide_a_big_write(box: PythonSandbox, tmp_path: Path) -> None:
    limits = replace(TEST_LIMITS, scratch_bytes=8 * 1024 * 1024, wall_s=60.0, cpu_s=30.0)
    with PythonSandbox(tmp_path, limits, namespaces=box.namespaces) as small:
        code = (
            "import os\nos.mkdir('many')\n"
            "for i in range(20500):\n    open(f'many/{i}', 'w').close()\n"
            "block = b'y' * (1024 * 1024)\n"
            "for i in range(16):\n    open(f'big-{i}.bin', 'wb').write(block)\n"
            "print('done')"
        )
        result = small.run(code)
        assert result.state_lost and "wrote more than 8388608 bytes" in (result.error or "")
        assert len(os.listdir(tmp_path / "many")) == 20500
        assert small.run("print('fresh')").stdout == "fresh\n"


def test_an_unlistable_folder_does_not_hide_a_big_write(box: PythonSandbox, tmp_path: Path) -> None:
    limits = replace(TEST_LIMITS, scratch_bytes=4 * 1024 * 1024, wall_s=60.0, cpu_s=30.0)
    with PythonSandbox(tmp_path, limits, namespaces=box.namespaces) as small:
        code = (
            "import os\nos.mkdir('hidden', 0o300)\nblock = b'z' * (1024 * 1024)\n"
            "for i in range(8):\n    open(f'hidden/{i}.bin', 'wb').write(block)\n"
        )
        result = small.run(code)
        assert result.state_lost and "wrote more than" in (result.error or "")


def test_too_many_entries_are_stopped(box: PythonSandbox, tmp_path: Path) -> None:
    limits = replace(TEST_LIMITS, scratch_entries=1000, wall_s=60.0, cpu_s=30.0)
    with PythonSandbox(tmp_path, limits, namespaces=box.namespaces) as small:
        result = small.run("for i in range(3000):\n    open(f'e{i}', 'w').close()\nprint('all')")
        assert result.state_lost and "more than 1000 files and folders" in (result.error or "")
        assert small.run("print('again')").stdout == "again\n"


_WATCH = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
watches = []
for name, call in (('inotify_init1', lambda: libc.inotify_init1(0o4000)),
                   ('inotify_init', lambda: libc.syscall(253) if os.uname().machine == 'x86_64' else -1),
                   ('fanotify_init', lambda: libc.syscall(300 if os.uname().machine == 'x86_64' else 262, 0, 0))):
    fd = call()
    if fd >= 0:
        watches.append(fd)
        libc.inotify_add_watch(fd, {folder!r}.encode(), 0xFFF)
    print(name, 'ESCAPED' if fd >= 0 else 'blocked')
"""

_READ_WATCHES = """
import os
for fd in watches:
    try:
        print('EVENTS', os.read(fd, 65536))
    except OSError as e:
        print('nothing', e)
print('watches', len(watches))
"""


def test_inotify_sees_nothing(box: PythonSandbox, tmp_path: Path) -> None:
    folder = tmp_path / ".ssh"
    folder.mkdir()
    result = box.run(_WATCH.format(folder=str(folder)))
    assert result.error is None and "ESCAPED" not in result.stdout, result.stdout
    # Evidence from outside: the sandbox process holds no inotify or fanotify descriptor.
    pid = box.sandbox_pid
    assert pid is not None
    links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    assert not [link for link in links if "inotify" in link or "fanotify" in link], links
    (folder / "id_ed25519").write_text("new key")
    (folder / "id_ed25519").unlink()
    later = box.run(_READ_WATCHES)
    assert "EVENTS" not in later.stdout and "id_ed25519" not in later.stdout
    assert later.stdout.strip().endswith("watches 0")


# --- item 9: forged result frames ---------------------------------------------------------------

_FORGE = """
import os, struct, sys
cell = int(sys._getframe().f_code.co_filename.strip('<>').split()[1])
body = {body}
header = {header}
for fd in range(3, 64):
    try:
        os.write(fd, (struct.pack('>I', len(body)) if header is None else header) + body)
    except OSError:
        pass
import time
time.sleep(0.5)
print('forged')
"""

FORGED_FRAMES = {
    "deep-nesting": ("b'[' * 200000 + b']' * 200000", "None"),
    "invalid-utf8": ("b'\\xff\\xfe{\"cell\": ' + str(cell).encode() + b'}'", "None"),
    "huge-length": ("b'{}'", "struct.pack('>I', 0xFFFFFFFF)"),
    "zero-length": ("b''", "None"),
    "not-an-object": ("b'[1, 2, 3]'", "None"),
    "not-json": ("b'{cell: 1'", "None"),
    "too-many-digits": (
        "b'{\"cell\": ' + str(cell).encode() + b', \"cpu_s\": ' + b'9' * 5000 + b'}'",
        "None",
    ),
    "wrong-types": (
        '(\'{"cell": %d, "ok": true, "error": ["x"], "cpu_s": "fast"}\' % cell).encode()',
        "None",
    ),
    "timed-out-not-bool": (
        '(\'{"cell": %d, "error": null, "timed_out": "yes"}\' % cell).encode()',
        "None",
    ),
    "cpu-nan": ('(\'{"cell": %d, "error": null, "cpu_s": NaN}\' % cell).encode()', "None"),
}


@pytest.mark.parametrize("name", sorted(FORGED_FRAMES))
def test_forged_frames_become_a_clean_error(name: str, box: PythonSandbox) -> None:
    body, header = FORGED_FRAMES[name]
    result = box.run(_FORGE.format(body=body, header=header))  # never raises
    assert result.error is not None and "sent a malformed result" in result.error, result
    assert result.state_lost
    _still_answers(box)


# --- item 14 of #16: a call stopped for time says so --------------------------------------------


def test_cpu_limit_is_a_timeout(box: PythonSandbox) -> None:
    result = box.run("while True:\n    pass")
    assert result.timed_out and "CPUTimeLimitExceeded" in (result.error or "")
    assert not result.state_lost
    caught = box.run(
        "try:\n    while True:\n        pass\nexcept BaseException as e:\n    print(type(e).__name__)"
    )
    assert caught.stdout == "CPUTimeLimitExceeded\n" and not caught.timed_out


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_process_cpu_budget_is_a_timeout(mode: str, tmp_path: Path) -> None:
    """At the end of the process's CPU budget the kernel ends it (SIGXCPU, or SIGKILL for
    the init of a pid namespace, which ignores SIGXCPU): reported as timed out."""
    require_sandbox_support()
    limits = replace(TEST_LIMITS, cpu_s=30.0, cpu_s_total=2, wall_s=30.0)
    with PythonSandbox(tmp_path, limits, namespaces=mode) as box:
        result = box.run("while True:\n    pass")
        assert result.timed_out and result.state_lost
        assert "CPU time of 2 s" in (result.error or "")


# --- the python tool still runs numpy --------------------------------------------------------


def test_numpy_imports_and_computes(box: PythonSandbox) -> None:
    pytest.importorskip("numpy")
    code = (
        "import numpy as np\na = np.arange(12, dtype=float).reshape(3, 4)\n"
        "m = np.array([[2.0, 1.0], [1.0, 3.0]])\n"
        "print(a.sum(), np.linalg.solve(m, [3.0, 5.0]).round(6).tolist())\n"
        "np.save('arr.npy', a)\nprint(np.load('arr.npy').shape)"
    )
    result = box.run(code)
    assert result.error is None, result.error
    assert result.stdout == "66.0 [0.8, 1.4]\n(3, 4)\n"
