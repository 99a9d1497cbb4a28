"""End to end in the window: the trained Harmony test model's get_weather call answered by a
tool of a real MCP server (the SDK-written test server over stdio), through the panel.

The chat uses the server ``weather`` (``mcp:weather`` in its enabled tools). The first turn
shows the server's exact command line and asks to start it, once; then the approval card
shows the call, marked as a tool of that MCP server; the result comes back marked untrusted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gptoss_desktop.core.tools.mcp import McpSettings, TrustedCommands
from gptoss_desktop.ui.tools.prompts import APPROVAL, START
from gptoss_desktop.ui.tools.trace import MESSAGE, NOTICE, TOOL_CALL, TOOL_RESULT, USER
from tests.core.tools.mcp.conftest import SERVER_APP, stdio_config
from tests.helpers import save_screenshot
from tests.ui.chat_app import harmony_demo_model, load_model, make_window, set_chat_settings
from tests.ui.test_tool_panel import CLOUDY, card_for, click, entries, turn

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")
pytest.importorskip("mcp", reason="needs the mcp SDK")


OTHER_TOOLS = ("plan_trip", "slow", "crash", "freeze", "huge", "picture", "grow", "junk", "fail",
               "whoami")  # fmt: skip
CHAT_TOOLS = ("mcp:weather", *(f"mcp-off:weather/{name}" for name in OTHER_TOOLS))


def server_calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def make(qtbot: Any, tmp_path: Path, **env: str) -> tuple[Any, Path]:
    log = tmp_path / "calls.jsonl"
    w = make_window(qtbot, tmp_path / "home")
    w.resize(1400, 860)
    load_model(qtbot, w, harmony_demo_model())
    server = stdio_config("weather", env={"GPTOSS_TEST_MCP_LOG": str(log), **env})
    w.tools.set_mcp_settings(McpSettings((server,)))
    # this chat offers only get_weather of the server's tools (the tiny model's context is
    # 1,024 tokens): the others are turned off for it, as the tool settings do
    set_chat_settings(w, temperature=0.0, max_tokens=200, enabled_tools=CHAT_TOOLS)
    w.tools.show_summary(w.chat.settings)
    w.tools.dock.show()
    w.tools.dock.raise_()
    return w, log


def allow_start(qtbot: Any, w: Any) -> str:
    card = card_for(qtbot, w, START)
    shown = card.editor.toPlainText()
    click(qtbot, card.allow_once)
    return shown


def test_an_mcp_tool_answers_the_trained_call_through_approval(qtbot, tmp_path) -> None:
    w, log = make(qtbot, tmp_path)
    panel = w.tools.panel
    assert "MCP weather" in panel.summary.text()
    with turn(qtbot, w, "What is the weather in Tokyo?") as done:
        shown = allow_start(qtbot, w)
        card = card_for(qtbot, w, APPROVAL)
        assert "functions.get_weather" in card.title.text()
        assert "It is a tool of MCP server weather (its tool get_weather)" in card.info.text()
        assert card.editor.toPlainText() == '{\n  "location": "Tokyo"\n}'
        assert server_calls(log) == []  # nothing ran before the user allowed it
        qtbot.wait(150)
        save_screenshot(w, "tool-panel-mcp.png", tmp_path, wider_than=1000)
        click(qtbot, card.allow_once)
    assert done[0].error is None
    assert shown == stdio_config("weather", env={"GPTOSS_TEST_MCP_LOG": str(log)}).command_line
    assert str(SERVER_APP) in shown
    assert [(e.kind, e.channel) for e in panel.trace.entries] == [
        (USER, None), (MESSAGE, "analysis"), (TOOL_CALL, "commentary"),
        (TOOL_RESULT, "commentary"), (MESSAGE, "final"),
    ]  # fmt: skip
    result = entries(w, TOOL_RESULT)[0]
    assert (result.author, result.text) == ("functions.get_weather", CLOUDY)
    assert result.untrusted and result.source == "MCP server weather"
    assert "UNTRUSTED tool output" in panel.trace_view.rows[3].head.text()
    assert panel.trace.entries[-1].text == "It is 17°C and cloudy in Tokyo."
    assert server_calls(log) == [{"location": "Tokyo"}]
    # the answer is remembered per command line, in the settings
    assert shown in TrustedCommands(w.paths.config_dir)
    with turn(qtbot, w, "What is the weather in Tokyo?"):
        click(qtbot, card_for(qtbot, w, APPROVAL).allow_once)  # no start question this time
    # the server changes its tools (notifications/tools/list_changed): the panel says so
    from gptoss_desktop.core.tools.mcp import ChatMcpChoice

    tools = w.tools.mcp.toolset(w.tools.chat_key(), ChatMcpChoice(("weather",)))
    assert tools.handle("grow", {"name": "forecast"}).text == "added forecast"
    qtbot.waitUntil(
        lambda: any("changed its tools" in e.text for e in entries(w, NOTICE)), timeout=10_000
    )
    notice = next(e.text for e in entries(w, NOTICE) if "changed its tools" in e.text)
    assert notice.startswith("MCP server weather changed its tools; the next turn has: ")
    assert "forecast" in notice and "get_weather" in notice
    assert "forecast" in [t.name for t in w.tools.mcp.known_tools("weather") or []]
    # a chat that stops using the server lets it stop
    set_chat_settings(w, enabled_tools=())
    with turn(qtbot, w, "What is the capital of France?"):
        pass
    assert w.tools.mcp.runtime.running() == []


def test_deny_and_edit_reach_the_server_as_chosen(qtbot, tmp_path) -> None:
    w, log = make(qtbot, tmp_path)
    with turn(qtbot, w, "What is the weather in Tokyo?"):
        allow_start(qtbot, w)
        click(qtbot, card_for(qtbot, w, APPROVAL).deny)
    assert server_calls(log) == []  # denied: the MCP tool never ran
    call = entries(w, TOOL_CALL)[0]
    assert call.status == "denied"
    with turn(qtbot, w, "What is the weather in Tokyo?"):
        card = card_for(qtbot, w, APPROVAL)
        card.editor.setPlainText('{"location": "Paris"}')
        click(qtbot, card.allow_once)
    assert server_calls(log) == [{"location": "Paris"}]
    assert entries(w, TOOL_RESULT)[0].text == '{"temperature": 21, "condition": "sunny"}'
    assert entries(w, TOOL_CALL)[0].approval == "allowed once, arguments edited"


def test_refusing_the_start_keeps_the_server_off(qtbot, tmp_path) -> None:
    w, _log = make(qtbot, tmp_path)
    with turn(qtbot, w, "What is the capital of France?"):
        click(qtbot, card_for(qtbot, w, START).deny)
    notices = [e.text for e in entries(w, NOTICE)]
    assert any("was not started: you did not allow its command" in n for n in notices)
    assert w.tools.mcp.runtime.running() == []
    assert entries(w, MESSAGE)[-1].text == "The capital of France is Paris."


def test_a_crashed_server_is_a_clear_line_and_the_window_goes_on(qtbot, tmp_path) -> None:
    w, log = make(qtbot, tmp_path, GPTOSS_TEST_MCP_CRASH_ONCE=str(tmp_path / "crashed"))
    with turn(qtbot, w, "What is the weather in Tokyo?") as done:
        allow_start(qtbot, w)
        click(qtbot, card_for(qtbot, w, APPROVAL).always)
    assert done[0].error is None  # the turn ended normally
    notices = [e.text for e in entries(w, NOTICE)]
    assert any("MCP server 'weather' stopped during the call" in n for n in notices)
    first = entries(w, TOOL_RESULT)[0]
    assert "stopped during the call" in first.text
    with turn(qtbot, w, "What is the weather in Tokyo?") as done:
        pass  # always allowed in this chat: no card; the server starts again
    assert done[0].error is None
    assert entries(w, TOOL_RESULT)[0].text == CLOUDY
    assert server_calls(log) == [{"location": "Tokyo"}, {"location": "Tokyo"}]
