"""The offline guarantee holds with MCP on: local servers make no internet connection, and no
server starts or connects unless the user enabled it for the chat.

Uses the network guard of tests/core/library/netguard.py: an audit hook in this process and,
through a sitecustomize module passed in the server's environment, in the server processes;
on Linux also the kernel's list of internet sockets each server process holds.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.mcp import ChatMcpChoice, McpHub, McpServerConfig, McpSettings
from tests.core.library import netguard
from tests.core.tools.mcp.conftest import SERVER_APP, time_config


def _children() -> set[int]:
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def test_enabled_local_servers_make_no_connection(tmp_path: Path) -> None:
    env, log = netguard.child_env(tmp_path / "guard", base={})
    guarded = {k: env[k] for k in ("PYTHONPATH", netguard.LOG_ENV)}
    weather = McpServerConfig(
        "weather", command=sys.executable, args=(str(SERVER_APP),), env=guarded
    )
    base_time = time_config()
    clock = McpServerConfig("time", command=base_time.command, args=base_time.args, env=guarded)
    hub = McpHub(McpSettings((weather, clock)), confirm_start=lambda server: True)
    with netguard.guard() as seen:
        try:
            tools = hub.toolset("chat", ChatMcpChoice(("weather", "time")))
            assert tools.problems == []
            assert tools.handle("get_weather", {"location": "Tokyo"}).text.startswith("{")
            zone = tools.handle("get_current_time", {"timezone": "Asia/Tokyo"})
            assert "Asia/Tokyo" in zone.text and not zone.is_error
            tools.handle("grow", {"name": "extra"})  # list_changed round trip
            pids = [int(tools.handle("whoami", {}).text)]
            pids += sorted(_children() - set(pids))
            held = (
                {p: netguard.inet_sockets(p) for p in pids}
                if sys.platform.startswith("linux")
                else {}
            )
            active = [netguard.active_in(log, p) for p in pids[:1]]
        finally:
            hub.close()
    assert active == [True]  # the server ran with the guard installed
    assert seen == []  # nothing in this process
    assert netguard.logged(log) == []  # nothing in the servers, as Python sees it
    assert all(sockets == [] for sockets in held.values())  # nor as the kernel sees it


def test_nothing_starts_or_connects_unless_enabled(tmp_path: Path, http_url: str) -> None:
    web = McpServerConfig("web", "http", url=http_url, enabled=False)
    local = McpServerConfig("local", command=sys.executable, args=(str(SERVER_APP),))
    asked: list[str] = []
    hub = McpHub(McpSettings((web, local)), confirm_start=lambda s: asked.append(s.name) or False)
    before = _children()
    with netguard.guard() as seen:
        try:
            # a chat that uses no server, one whose server is off, one the user refused
            assert hub.toolset("chat-1", ChatMcpChoice()).specs == []
            assert hub.toolset("chat-2", ChatMcpChoice(("web",))).specs == []
            assert hub.toolset("chat-3", ChatMcpChoice(("local",))).specs == []
            after = _children()
        finally:
            hub.close()
    assert seen == []  # the disabled HTTP server was never contacted
    assert after == before  # no process was started
    assert asked == ["local"]  # the user was asked, said no, and nothing ran


def test_a_loopback_http_server_is_the_only_address_contacted(http_url: str) -> None:
    pytest.importorskip("httpx2")
    hub = McpHub(McpSettings((McpServerConfig("web", "http", url=http_url),)))
    with netguard.guard() as seen:
        try:
            tools = hub.toolset("chat", ChatMcpChoice(("web",)))
            assert "sunny" in tools.handle("get_weather", {"location": "Paris"}).text
        finally:
            hub.close()
    port = int(http_url.rsplit(":", 1)[1].split("/")[0])
    assert seen  # the guard saw the connections ...
    for event in seen:  # ... and every one went to the loopback server
        assert "127.0.0.1" in event and (str(port) in event or "getaddrinfo" in event), event
