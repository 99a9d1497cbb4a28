"""The escape battery: attempts to get out of the python sandbox. None may succeed.

Each attempt runs through the real sandbox of one "chat" (a module-wide sandbox). For every
attempt: nothing escapes (checked from outside where possible), a clear error comes back,
the test process is unharmed, and the sandbox answers correctly afterwards (or was reset
cleanly). Attempts print ESCAPED if the forbidden thing worked.
"""

from __future__ import annotations

import os
import platform
import resource
import socket
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.sandbox.process import ExecutionResult, PythonSandbox
from tests.core.tools.conftest import TEST_LIMITS, require_sandbox_support

FAKE_TOKEN = "hf_FAKEsecretTOKEN1234567890"


@pytest.fixture(scope="module", params=["auto", "off"], ids=["namespaces", "no-namespaces"])
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PythonSandbox]:
    """The chat's sandbox, with the namespaces the kernel allows and without any."""
    require_sandbox_support()
    box = PythonSandbox(tmp_path_factory.mktemp("scratch"), TEST_LIMITS, namespaces=request.param)
    box.start()
    yield box
    box.close()


@dataclass
class Outside:
    """Things outside the sandbox that attempts aim at."""

    port: int
    connections: list[object]
    secret_dir: Path
    secret_file: Path
    target_dir: Path
    app_pid: int


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outside]:
    base = tmp_path_factory.mktemp("outside")
    secret_dir = base / "home"
    (secret_dir / ".ssh").mkdir(parents=True)
    secret_file = secret_dir / ".ssh" / "id_ed25519"
    secret_file.write_text("PRIVATE KEY secret-material\n")
    target = base / "target"
    target.mkdir()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, addr = server.accept()
            except OSError:
                continue
            connections.append(addr)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    old_token = os.environ.get("HF_TOKEN")
    os.environ["HF_TOKEN"] = FAKE_TOKEN
    os.environ["OPENAI_API_KEY"] = FAKE_TOKEN
    try:
        yield Outside(
            port=server.getsockname()[1],
            connections=connections,
            secret_dir=secret_dir,
            secret_file=secret_file,
            target_dir=target,
            app_pid=os.getpid(),
        )
    finally:
        stop.set()
        thread.join(2)
        server.close()
        os.environ.pop("OPENAI_API_KEY", None)
        if old_token is None:
            os.environ.pop("HF_TOKEN", None)
        else:
            os.environ["HF_TOKEN"] = old_token


def guarded(body: str) -> str:
    """Run ``body``; print ESCAPED if it completes, else the error that stopped it."""
    return (
        "try:\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        + "\n    print('ESCAPED')\nexcept BaseException as e:\n"
        + "    print('blocked:', type(e).__name__, e)\n"
    )


def libc_call(expr: str) -> str:
    """Call libc through ctypes; print ESCAPED unless it returns -1 (refused)."""
    return (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"r = {expr}\n"
        "print('blocked: errno', ctypes.get_errno(), os.strerror(ctypes.get_errno()))"
        " if r == -1 else print('ESCAPED', r)\n"
    )


_RAW_SOCKET_X86_64 = bytes.fromhex(
    "b829000000"  # mov eax, 41 (socket)
    "bf02000000"  # mov edi, AF_INET
    "be01000000"  # mov esi, SOCK_STREAM
    "31d2"  # xor edx, edx
    "0f05"  # syscall
    "c3"  # ret
)

ATTEMPTS: dict[str, str] = {
    # --- network -----------------------------------------------------------------------------
    "connect-loopback-server": guarded(
        "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
    ),
    "connect-loopback-urllib": guarded(
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)"
    ),
    "resolve-a-name": guarded("import socket\nprint(socket.getaddrinfo('example.com', 443))"),
    "resolve-localhost": guarded("import socket\nprint(socket.gethostbyname('localhost'))"),
    "udp-socket": guarded("import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)"),
    "unix-socket": guarded("import socket\nsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM)"),
    "socketpair": guarded("import socket\nsocket.socketpair()"),
    "libc-socket-syscall": libc_call(
        "libc.syscall(41 if os.uname().machine == 'x86_64' else 198, 2, 1, 0)"
    ),
    # --- files ---------------------------------------------------------------------------------
    "read-etc-shadow": guarded("open('/etc/shadow').read()"),
    "read-etc-passwd": guarded("print(open('/etc/passwd').read()[:40])"),
    "read-ssh-key": guarded("print(open({secret_file!r}).read())"),
    "list-home-folder": guarded("import os\nprint(os.listdir({secret_dir!r}))"),
    "list-real-home": guarded("import os\nprint(os.listdir({real_home!r}))"),
    "list-root": guarded("import os\nprint(os.listdir('/'))"),
    "read-app-source": guarded("print(open({app_source!r}).read()[:40])"),
    "write-outside-scratch": guarded("open({target_file!r}, 'w').write('pwned')"),
    "write-tmp": guarded("open('/tmp/gptoss-sandbox-pwned', 'w').write('pwned')"),
    "mkdir-outside": guarded("import os\nos.mkdir({target_subdir!r})"),
    "climb-with-chdir": guarded(
        "import os\nos.chdir('..')\nos.chdir('..')\nprint(os.listdir('.'))"
    ),
    "symlink-out-of-scratch": guarded("import os\nos.symlink({secret_file!r}, 'key-link')"),
    "hard-link-out-of-scratch": guarded("import os\nos.link({secret_file!r}, 'key-hardlink')"),
    "rename-out-of-scratch": guarded(
        "open('moved.txt', 'w').write('x')\nimport os\nos.rename('moved.txt', {target_file!r})"
    ),
    "proc-self-root": guarded("print(open('/proc/self/root/etc/hostname').read())"),
    "proc-app-environ": guarded("print(open('/proc/{app_pid}/environ').read())"),
    "proc-pid-1-cmdline": guarded("print(open('/proc/1/cmdline').read())"),
    "make-device-node": guarded(
        "import os, stat\nos.mknod('disk', stat.S_IFBLK | 0o600, os.makedev(8, 0))"
    ),
    "huge-file": guarded("open('big.bin', 'wb').write(b'x' * (8 * 1024 * 1024))"),
    # --- processes -----------------------------------------------------------------------------
    "subprocess-run": guarded("import subprocess\nsubprocess.run(['id'])"),
    "os-system": "import os\nr = os.system('echo pwned > system-marker')\n"
    "print('ESCAPED' if r == 0 else f'blocked: status {{r}}')",
    "os-fork": guarded("import os\npid = os.fork()\nif pid == 0: os._exit(0)"),
    "fork-bomb": guarded("import os\nwhile True:\n    os.fork()"),
    "posix-spawn": guarded("import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'true'], {{}})"),
    "exec-shell": guarded("import os\nos.execv('/bin/sh', ['sh', '-c', 'echo pwned'])"),
    "multiprocessing": guarded(
        "import multiprocessing as mp\np = mp.Process(target=print)\np.start()\np.join()"
    ),
    "setsid-leave-group": guarded("import os\nos.setsid()"),
    # --- resources -----------------------------------------------------------------------------
    "infinite-loop": "while True:\n    pass\n",
    "memory-bomb": "x = bytearray(1 << 34)\n",
    "memory-growth": "chunks = []\nwhile True:\n    chunks.append(bytearray(1 << 24))\n",
    "huge-output": "for _ in range(2000):\n    print('x' * 999)\n",
    "raise-memory-limit": guarded(
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)"
    ),
    # --- ctypes, syscalls, signals ----------------------------------------------------------------
    "ctypes-unshare-user": libc_call("libc.unshare(0x10000000)"),
    "ctypes-mount-tmpfs": libc_call("libc.mount(b'none', b'.', b'tmpfs', 0, None)"),
    "ctypes-chroot": libc_call("libc.chroot(b'.')"),
    "ctypes-ptrace-app": libc_call("libc.ptrace(16, {app_pid}, None, None)"),
    "ctypes-bpf": libc_call(
        "libc.syscall(321 if os.uname().machine == 'x86_64' else 280, 0, None, 0)"
    ),
    "ctypes-io-uring": libc_call("libc.syscall(425, 8, None)"),
    "ctypes-open-by-handle": libc_call(
        "libc.syscall(304 if os.uname().machine == 'x86_64' else 265, -100, None, 0)"
    ),
    "ctypes-prlimit-app": libc_call(
        "libc.prlimit(ctypes.c_int({app_pid}), 7, (ctypes.c_ulong * 2)(0, 0), None)"
    ),
    "ioctl-tiocsti": guarded("import fcntl, termios\nfcntl.ioctl(0, termios.TIOCSTI, b'x')"),
    "kill-app": guarded("import os, signal\nos.kill({app_pid}, signal.SIGKILL)"),
    "kill-parent": guarded("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)"),
    "kill-everything": guarded("import os, signal\nos.kill(-1, signal.SIGKILL)"),
    "kill-process-group": guarded("import os, signal\nos.killpg(os.getpgid(0), signal.SIGKILL)"),
    "sigstop-self": "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\nprint('still here')\n",
    "environment-secrets": "import os\nprint(sorted(os.environ))\n"
    "print('ESCAPED' if any('FAKEsecret' in v for v in os.environ.values()) else 'blocked: clean')",
    "proc-self-environ": guarded("print(open('/proc/self/environ').read())"),
    # --- metadata, IPC and watches (issue #17; evidence in test_sandbox_hardening.py) ------
    "chmod-outside": guarded("import os\nos.chmod({secret_dir!r}, 0o777)"),
    "utime-outside": guarded("import os\nos.utime({secret_file!r}, (0, 0))"),
    "setxattr-outside": guarded("import os\nos.setxattr({secret_file!r}, 'user.x', b'1')"),
    "chattr-ioctl": guarded(
        "import fcntl, os, struct\nfd = os.open('.', os.O_RDONLY)\n"
        "fcntl.ioctl(fd, 0x40086602, struct.pack('l', 0x10))"
    ),
    "sysv-shmget": libc_call("libc.shmget(0, 4096, 0o1600)"),
    "sysv-msgget": libc_call("libc.msgget(0, 0o1600)"),
    "sysv-semget": libc_call("libc.semget(0, 1, 0o1600)"),
    "posix-mq-open": libc_call(
        "libc.syscall(240 if os.uname().machine == 'x86_64' else 180, b'q', 0o100, 0o600, None)"
    ),
    "inotify-watch-home": libc_call("libc.inotify_init1(0)"),
    "future-syscall": libc_call("libc.syscall(470)"),
}

if platform.machine() == "x86_64":
    ATTEMPTS["mprotect-raw-syscall"] = (
        "import ctypes, mmap\n"
        "page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        f"page.write({_RAW_SOCKET_X86_64!r})\n"
        "addr = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
        "r = ctypes.CFUNCTYPE(ctypes.c_long)(addr)()\n"
        "print('blocked: raw syscall returned', r) if r < 0 else print('ESCAPED', r)\n"
    )


def _fill(code: str, outside: Outside) -> str:
    import gptoss_desktop

    return code.format(
        port=outside.port,
        secret_file=str(outside.secret_file),
        secret_dir=str(outside.secret_dir),
        real_home=str(Path.home()),
        app_source=str(Path(gptoss_desktop.__file__).resolve()),
        target_file=str(outside.target_dir / "pwned.txt"),
        target_subdir=str(outside.target_dir / "made-by-sandbox"),
        app_pid=outside.app_pid,
    )


def _check_clear_error(name: str, result: ExecutionResult) -> None:
    text = result.stdout + result.stderr + (result.error or "")
    assert "ESCAPED" not in text, f"{name} escaped: {text[:500]}"
    if name == "infinite-loop":
        assert result.timed_out or "CPUTimeLimitExceeded" in (result.error or "")
    elif name in ("memory-bomb", "memory-growth"):
        assert "MemoryError" in (result.error or "")
    elif name == "huge-output":
        assert result.truncated and "more bytes of output were cut" in result.stdout
    elif name == "sigstop-self":
        # As pid 1 of its own pid namespace the signal is ignored; without one it stops
        # and the wall clock ends it. Either way the app is told clearly.
        assert "still here" in result.stdout or result.timed_out
    else:
        assert "blocked" in result.stdout, f"{name}: no clear error: {text[:500]}"


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_escape_attempt_fails(name: str, sandbox: PythonSandbox, outside: Outside) -> None:
    limits_before = resource.getrlimit(resource.RLIMIT_NOFILE)
    result = sandbox.run(_fill(ATTEMPTS[name], outside))
    _check_clear_error(name, result)
    # Nothing reached the outside.
    assert outside.connections == []
    assert not (outside.target_dir / "pwned.txt").exists()
    assert not (outside.target_dir / "made-by-sandbox").exists()
    assert not Path("/tmp/gptoss-sandbox-pwned").exists()
    assert not (sandbox.scratch / "system-marker").exists()
    assert not (sandbox.scratch / "key-link").is_symlink()
    assert not (sandbox.scratch / "key-hardlink").exists()
    assert FAKE_TOKEN not in result.stdout + result.stderr + (result.error or "")
    assert "secret-material" not in result.stdout
    # The app is unharmed and the chat's sandbox still answers (state may have been reset).
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == limits_before
    after = sandbox.run("print(6 * 7)")
    assert after.stdout == "42\n" and after.error is None
    assert sandbox.info is not None
    sandbox.run(f"chunks = x = None\nimport os\nos.chdir({sandbox.info.cwd!r})")


def test_battery_is_big_enough() -> None:
    assert len(ATTEMPTS) >= 30


def test_state_survives_blocked_attempts(sandbox: PythonSandbox) -> None:
    sandbox.run("kept = 'still-here'")
    sandbox.run(guarded("import os\nos.fork()"))
    sandbox.run(guarded("open('/etc/shadow')"))
    assert sandbox.run("print(kept)").stdout == "still-here\n"


def test_preplanted_symlink_is_not_followed(sandbox: PythonSandbox, outside: Outside) -> None:
    """A symlink that already sits in the scratch folder (made from outside) leads nowhere."""
    link = sandbox.scratch / "planted-link"
    link.symlink_to(outside.secret_file)
    try:
        assert sandbox.info is not None
        path = f"{sandbox.info.cwd}/planted-link"
        result = sandbox.run(guarded(f"print(open({path!r}).read())"))
        assert "blocked: PermissionError" in result.stdout
        assert "secret-material" not in result.stdout
    finally:
        link.unlink()
