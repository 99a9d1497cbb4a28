"""McpHub: servers start only for chats that use them, after the user allowed the command
line once; they stop when no chat uses them; a chat's tools become its function tools."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.approval import ApprovalMode, ApprovalPolicy
from gptoss_desktop.core.tools.functions import FunctionTools
from gptoss_desktop.core.tools.mcp import (
    ChatMcpChoice,
    McpHub,
    McpServerConfig,
    McpSettings,
    McpTool,
    TrustedCommands,
)
from gptoss_desktop.core.tools.results import ToolCall
from gptoss_desktop.core.tools.toolbox import ToolBox
from tests.core.tools.mcp.conftest import stdio_config, time_config


def test_the_chat_choice_lives_in_enabled_tools() -> None:
    choice = ChatMcpChoice(("time", "notes"), frozenset({("notes", "delete_note")}))
    enabled = choice.applied_to(("python", "mcp:old"))
    assert enabled == ("python", "mcp:time", "mcp:notes", "mcp-off:notes/delete_note")
    assert ChatMcpChoice.from_enabled(enabled) == choice
    assert not choice.tool_on("notes", "delete_note") and choice.tool_on("notes", "add_note")


def test_the_command_line_is_asked_once_and_remembered(tmp_path: Path) -> None:
    config = stdio_config()
    asked: list[str] = []

    def confirm(server: McpServerConfig) -> bool:
        asked.append(server.command_line)
        return True

    hub = McpHub(McpSettings((config,)), trust=TrustedCommands(tmp_path), confirm_start=confirm)
    try:
        assert "get_weather" in [t.name for t in hub.tools_of("testsrv")]
        hub.runtime.stop("testsrv")
        hub.tools_of("testsrv")
    finally:
        hub.close()
    assert asked == [config.command_line]
    # a new run of the app remembers the answer from the settings file
    again = McpHub(McpSettings((config,)), trust=TrustedCommands(tmp_path), confirm_start=confirm)
    try:
        again.tools_of("testsrv")
    finally:
        again.close()
    assert len(asked) == 1
    # a changed command line is a new question
    changed = stdio_config(env={"EXTRA": "1"})
    assert changed.command_line != config.command_line
    assert changed.command_line not in TrustedCommands(tmp_path)


def test_a_refused_server_never_starts(tmp_path: Path) -> None:
    hub = McpHub(McpSettings((stdio_config(),)), confirm_start=lambda server: False)
    try:
        tools = hub.toolset("chat", ChatMcpChoice(("testsrv",)))
        assert tools.specs == []
        assert tools.problems == [
            "MCP server 'testsrv' was not started: you did not allow its command "
            f"({stdio_config().command_line})"
        ]
        assert hub.runtime.running() == []
    finally:
        hub.close()


def test_disabled_and_unknown_servers_are_said_not_started() -> None:
    hub = McpHub(
        McpSettings((stdio_config(enabled=False),)), confirm_start=lambda s: pytest.fail("asked")
    )
    try:
        tools = hub.toolset("chat", ChatMcpChoice(("testsrv", "ghost")))
        assert tools.problems == [
            "MCP server 'testsrv' is turned off in the tool settings",
            "there is no MCP server named 'ghost'; add it in the tool settings",
        ]
        assert hub.runtime.running() == []
    finally:
        hub.close()


def test_servers_run_while_a_chat_uses_them() -> None:
    hub = McpHub(McpSettings((stdio_config("a"), stdio_config("b"))), confirm_start=lambda s: True)
    try:
        assert hub.runtime.running() == []  # nothing starts before a chat needs it
        hub.toolset("chat-1", ChatMcpChoice(("a", "b")))
        hub.toolset("chat-2", ChatMcpChoice(("a",)))
        assert sorted(hub.runtime.running()) == ["a", "b"]
        hub.release("chat-1")
        assert hub.runtime.running() == ["a"]  # chat-2 still uses it
        hub.use("chat-2", ())
        assert hub.runtime.running() == []
    finally:
        hub.close()


def test_changed_settings_stop_the_old_server() -> None:
    hub = McpHub(McpSettings((stdio_config(),)), confirm_start=lambda s: True)
    try:
        hub.toolset("chat", ChatMcpChoice(("testsrv",)))
        assert hub.runtime.running() == ["testsrv"]
        hub.set_settings(McpSettings((stdio_config(enabled=False),)))
        assert hub.runtime.running() == []
    finally:
        hub.close()


def test_mcp_tools_sit_beside_function_tools_in_the_toolbox() -> None:
    hub = McpHub(McpSettings((stdio_config(), time_config())), confirm_start=lambda s: True)
    try:
        functions = FunctionTools.with_builtins("calculator", "current_time")
        choice = ChatMcpChoice(
            ("testsrv", "time"), frozenset({("testsrv", "crash"), ("testsrv", "junk")})
        )
        mcp = hub.toolset("chat", choice, taken=[s.name for s in functions.specs])
        box = ToolBox(functions=functions, mcp=mcp, policy=ApprovalPolicy(ApprovalMode.ALL))
        names = [s.name for s in box.function_specs()]
        assert names[:2] == ["calculate", "get_current_time"]
        assert "crash" not in names and "junk" not in names  # turned off in this chat
        assert "time_get_current_time" in names  # the built-in has the plain name
        assert "get_weather" in names and "convert_time" in names
        assert len(names) == len(set(names))
        developer = box.developer_namespace()
        assert developer is not None and len(developer.tools) == len(names)
        weather = box.run(ToolCall("functions.get_weather", '{"location": "Tokyo"}'))
        assert (weather.text, weather.untrusted) == (
            '{"temperature": 17, "condition": "cloudy"}',
            True,
        )
        sum_ = box.run(ToolCall("functions.calculate", {"expression": "2+3"}))
        assert sum_.text == '{"result": 5}'
        zone = box.run(ToolCall("functions.time_get_current_time", {"timezone": "Asia/Tokyo"}))
        assert '"timezone": "Asia/Tokyo"' in zone.text
        bad = box.run(ToolCall("functions.get_weather", "{not json"))
        assert bad.is_error and "not valid JSON" in bad.text
        handlers = box.harmony_handlers()
        assert handlers["get_weather"]("get_weather", {"location": "Paris"}).startswith(
            '{"temperature": 21'
        )
    finally:
        hub.close()


def test_list_changed_reaches_the_hub_listener() -> None:
    changed = threading.Event()
    heard: list[tuple[str, list[McpTool]]] = []

    def listener(server: str, tools: list[McpTool]) -> None:
        heard.append((server, tools))
        changed.set()

    hub = McpHub(
        McpSettings((stdio_config(),)), confirm_start=lambda s: True, on_tools_changed=listener
    )
    try:
        tools = hub.toolset("chat", ChatMcpChoice(("testsrv",)))
        tools.handle("grow", {"name": "late_tool"})
        assert changed.wait(10)
        assert heard[-1][0] == "testsrv" and "late_tool" in [t.name for t in heard[-1][1]]
        # the next turn offers it
        assert "late_tool" in [
            s.name for s in hub.toolset("chat", ChatMcpChoice(("testsrv",))).specs
        ]
    finally:
        hub.close()
