"""Real MCP servers for the tests: the SDK-written test server (stdio and streamable HTTP on
loopback) and the third-party mcp-server-time from PyPI (stdio)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.mcp import McpRuntime, McpServerConfig

pytest.importorskip("mcp", reason="needs the mcp SDK (a dependency of the app)")

SERVER_APP = Path(__file__).with_name("server_app.py")


def stdio_config(name: str = "testsrv", **kw: object) -> McpServerConfig:
    kw.setdefault("timeout_s", 5.0)
    return McpServerConfig(name, command=sys.executable, args=(str(SERVER_APP),), **kw)  # type: ignore[arg-type]


def time_config(name: str = "time") -> McpServerConfig:
    pytest.importorskip("mcp_server_time", reason="needs mcp-server-time (a dev dependency)")
    return McpServerConfig(
        name, command=sys.executable,
        args=("-m", "mcp_server_time", "--local-timezone", "Europe/Paris"), timeout_s=20,
    )  # fmt: skip


@pytest.fixture
def runtime() -> Iterator[McpRuntime]:
    rt = McpRuntime()
    yield rt
    rt.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    """The test server over streamable HTTP on 127.0.0.1."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER_APP), "http", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the HTTP test server exited: {proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
