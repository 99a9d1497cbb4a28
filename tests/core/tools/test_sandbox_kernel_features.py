"""The sandbox on kernels that lack a feature: it runs with fewer layers, or not at all.

A helper process first installs a seccomp filter that refuses the feature's system calls, as
a kernel without it (or a container that forbids it) would, then starts the sandbox from
there with the real code. Namespaces are optional layers; Landlock, no_new_privs and the
seccomp filter are required, and without them the tool stays off (SandboxUnavailable).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.core.tools.conftest import require_sandbox_support

_HELPER = """
import json, sys
from pathlib import Path
from gptoss_desktop.core.errors import SandboxUnavailable
from gptoss_desktop.core.tools.sandbox import seccomp
from gptoss_desktop.core.tools.sandbox.process import PythonSandbox
denied, scratch, mode = json.loads(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
seccomp.install(seccomp.build_deny_filter(denied))
try:
    with PythonSandbox(scratch, namespaces=mode) as box:
        a = box.run("import socket\\ntry:\\n socket.socket()\\nexcept OSError as e: print(e)")
        b = box.run("open('/etc/passwd')")
        c = box.run("import os\\nos.fork()")
        print(json.dumps({"layers": list(box.info.layers), "socket": a.stdout,
                          "passwd": b.error, "fork": c.error}))
except SandboxUnavailable as exc:
    print(json.dumps({"unavailable": exc.message}))
"""


def _run_helper(tmp_path: Path, denied: dict[str, int], mode: str = "auto") -> dict[str, Any]:
    require_sandbox_support()
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, "-c", _HELPER, json.dumps(denied), str(tmp_path), mode],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_without_namespaces_the_other_layers_hold(tmp_path: Path) -> None:
    report = _run_helper(tmp_path, {"unshare": errno.EPERM})
    layers = report["layers"]
    assert not {"userns", "netns", "mntns", "pidns"} & set(layers)
    assert {"landlock-fs", "seccomp", "no-capabilities", "rlimits"} <= set(layers)
    assert "Operation not permitted" in report["socket"]
    assert "PermissionError" in report["passwd"]
    assert "PermissionError" in report["fork"]


def test_namespaces_can_be_required(tmp_path: Path) -> None:
    report = _run_helper(tmp_path, {"unshare": errno.EPERM}, mode="require")
    assert "namespaces" in report["unavailable"]
    assert "stays off" in report["unavailable"]


def test_without_landlock_the_tool_stays_off(tmp_path: Path) -> None:
    report = _run_helper(tmp_path, {"landlock_create_ruleset": errno.ENOSYS})
    assert "Landlock" in report["unavailable"]
    assert "stays off" in report["unavailable"]


def test_without_seccomp_the_tool_stays_off(tmp_path: Path) -> None:
    report = _run_helper(tmp_path, {"seccomp": errno.ENOSYS, "prctl": errno.EINVAL})
    assert "unavailable" in report
    assert "stays off" in report["unavailable"]


@pytest.mark.parametrize("mode", ["auto", "off"])
def test_both_ways_on_this_machine(tmp_path: Path, mode: str) -> None:
    """With the kernel as it is: namespaces used where allowed, or explicitly not."""
    report = _run_helper(tmp_path, {}, mode=mode)
    assert "seccomp" in report["layers"]
    assert ("netns" in report["layers"]) == (mode == "auto" and _kernel_allows_netns())


def _kernel_allows_netns() -> bool:
    """Asked of the kernel directly, in a throwaway process."""
    probe = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000 | 0x40000000) == 0 or libc.unshare(0x40000000) == 0)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return out.stdout.strip() == "True"
