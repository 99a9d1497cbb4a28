"""MCP server configuration: the mcpServers JSON of other apps, the app's own file, checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.mcp import (
    McpConfigError,
    McpServerConfig,
    McpSettings,
    TrustedCommands,
    load_servers_file,
    parse_servers,
    parse_servers_text,
)

CLAUDE_DESKTOP = {
    "mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone=Europe/Paris"]},
        "git": {
            "command": "python",
            "args": ["-m", "mcp_server_git", "--repository", "/home/me/project"],
            "env": {"GIT_AUTHOR_NAME": "Me"},
        },
        "notes": {"url": "http://127.0.0.1:8123/mcp"},
    }
}


def test_a_claude_desktop_file_is_imported(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(CLAUDE_DESKTOP), encoding="utf-8")
    servers = load_servers_file(path)
    assert [s.name for s in servers] == ["time", "git", "notes"]
    time_server, git, notes = servers
    assert (time_server.transport, time_server.command, time_server.args) == (
        "stdio", "uvx", ("mcp-server-time", "--local-timezone=Europe/Paris"),
    )  # fmt: skip
    assert git.env == {"GIT_AUTHOR_NAME": "Me"}
    assert git.command_line == (
        "GIT_AUTHOR_NAME=Me python -m mcp_server_git --repository /home/me/project"
    )
    assert (notes.transport, notes.url, notes.is_local) == (
        "http",
        "http://127.0.0.1:8123/mcp",
        True,
    )


def test_other_apps_dialects() -> None:
    # Cursor / LM Studio: type "streamable-http" or "http"; Jan: "active": false; Cline: disabled
    servers = parse_servers({
        "mcpServers": {
            "a": {"type": "streamable-http", "url": "http://localhost:9000/mcp", "headers": {"X-Key": "1"}},
            "b": {"command": "node", "args": ["server.js"], "active": False},
            "c": {"command": "node", "disabled": True, "timeout": 120000},
        }
    })  # fmt: skip
    assert servers[0].transport == "http" and servers[0].headers == {"X-Key": "1"}
    assert not servers[1].enabled and not servers[2].enabled
    assert servers[2].timeout_s == 120.0  # milliseconds, as Cursor writes them
    vscode = parse_servers({"servers": {"t": {"type": "stdio", "command": "mcp-server-time"}}})
    assert vscode[0].command == "mcp-server-time"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"something": 1}, "no MCP servers found"),
        ({"mcpServers": {"x": {"args": ["a"]}}}, 'needs a "command"'),
        (
            {"mcpServers": {"x": {"type": "sse", "url": "http://127.0.0.1/sse"}}},
            "SSE transport is not supported",
        ),
        ({"mcpServers": {"x": {"url": "https://mcp.example.com/mcp"}}}, "is not this computer"),
        ({"mcpServers": {"bad name!": {"command": "x"}}}, "server name uses letters"),
        ({"mcpServers": {"x": {"command": "x", "args": "not a list"}}}, "args must be a list"),
        ({"mcpServers": {"x": {"command": "x", "timeout": "soon"}}}, "timeout must be a number"),
    ],
)
def test_bad_entries_say_what_to_fix(data: object, says: str) -> None:
    with pytest.raises(McpConfigError, match=says):
        parse_servers(data)


def test_remote_servers_only_on_explicit_request() -> None:
    (server,) = parse_servers(
        {"mcpServers": {"far": {"url": "https://mcp.example.com/mcp", "allowRemote": True}}}
    )
    assert server.allow_remote and not server.is_local


def test_bad_json_text_names_the_line() -> None:
    with pytest.raises(McpConfigError, match=r"not valid JSON .*line 2"):
        parse_servers_text('{"mcpServers":\n {,}}')


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="cannot read the MCP configuration"):
        load_servers_file(tmp_path / "missing.json")


def test_settings_round_trip_in_the_same_form(tmp_path: Path) -> None:
    settings = McpSettings().with_servers(parse_servers(CLAUDE_DESKTOP))
    settings = settings.with_servers(
        [McpServerConfig("time", command="mcp-server-time", enabled=False)]
    )
    settings = settings.trusting("mcp-server-time").without("git")
    settings.save(tmp_path)
    written = json.loads((tmp_path / "mcp.json").read_text())
    assert written["mcpServers"]["time"] == {"command": "mcp-server-time", "disabled": True}
    assert written["trustedCommands"] == ["mcp-server-time"]
    again = McpSettings.load(tmp_path)
    assert again == settings
    assert [s.name for s in load_servers_file(tmp_path / "mcp.json")] == ["time", "notes"]


def test_trusted_commands_are_remembered_in_the_settings(tmp_path: Path) -> None:
    McpSettings(servers=(McpServerConfig("t", command="x"),)).save(tmp_path)
    TrustedCommands(tmp_path).remember("x --flag")
    assert "x --flag" in TrustedCommands(tmp_path)
    assert "x" not in TrustedCommands(tmp_path)
    assert [s.name for s in McpSettings.load(tmp_path).servers] == ["t"]  # servers kept


def test_a_broken_settings_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "mcp.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(McpConfigError, match="fix or delete it"):
        McpSettings.load(tmp_path)
