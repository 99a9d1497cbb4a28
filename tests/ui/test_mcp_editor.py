"""The MCP part of the tool settings: import an mcpServers file or pasted JSON, tick servers
and tools for this chat; the app-wide list and the chat's choice come out."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from gptoss_desktop.core.chat.tools import ChatToolConfig, ToolPreferences
from gptoss_desktop.core.tools.mcp import ChatMcpChoice, McpServerConfig, McpSettings, McpTool
from gptoss_desktop.ui.tools.config_editor import ToolConfigEditor
from tests.helpers import save_screenshot

CLAUDE = {
    "mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
        "notes": {"url": "http://127.0.0.1:8123/mcp"},
    }
}


def test_import_tick_and_the_result(qtbot, tmp_path: Path) -> None:
    known = {"git": [McpTool("git", "git_status", "Shows the status"), McpTool("git", "git_log")]}
    settings = McpSettings((McpServerConfig("git", command="mcp-server-git"),))
    config = ChatToolConfig(mcp=ChatMcpChoice(("git",), frozenset({("git", "git_log")})))
    editor = ToolConfigEditor(config, ToolPreferences(), mcp=settings, known_tools=known.get)
    qtbot.addWidget(editor)
    tree = editor.mcp.tree
    git = tree.topLevelItem(0)
    assert (git.text(0), git.checkState(0)) == ("git", Qt.CheckState.Checked)
    assert [git.child(i).text(0) for i in range(git.childCount())] == ["git_status", "git_log"]
    assert git.child(1).checkState(0) == Qt.CheckState.Unchecked  # off in this chat
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(CLAUDE), encoding="utf-8")
    assert editor.mcp.import_file(path)
    assert [tree.topLevelItem(i).text(0) for i in range(3)] == ["git", "time", "notes"]
    assert "Imported from claude_desktop_config.json: time, notes" in editor.mcp.status.text()
    git, time_item = tree.topLevelItem(0), tree.topLevelItem(1)  # the tree was filled again
    assert time_item.checkState(0) == Qt.CheckState.Unchecked  # imported, not yet used
    assert time_item.text(1) == "uvx mcp-server-time"
    assert tree.topLevelItem(2).text(1) == "HTTP http://127.0.0.1:8123/mcp"
    time_item.setCheckState(0, Qt.CheckState.Checked)
    git.child(1).setCheckState(0, Qt.CheckState.Checked)
    git.child(0).setCheckState(0, Qt.CheckState.Unchecked)
    result = editor.result_config()
    assert result.mcp == ChatMcpChoice(("git", "time"), frozenset({("git", "git_status")}))
    assert [s.name for s in editor.result_mcp_settings().servers] == ["git", "time", "notes"]
    # kept in the chat's settings as enabled_tools entries
    from gptoss_desktop.core.store.records import ChatSettings

    stored = result.applied_to(ChatSettings())
    assert stored.enabled_tools == ("mcp:git", "mcp:time", "mcp-off:git/git_status")
    assert ChatToolConfig.from_settings(stored).mcp == result.mcp
    editor.show()
    git.setExpanded(True)
    qtbot.wait(50)
    save_screenshot(editor, "tool-config-mcp.png", tmp_path)
    # remove one
    tree.setCurrentItem(tree.topLevelItem(2))
    editor.mcp.remove_selected()
    assert [s.name for s in editor.result_mcp_settings().servers] == ["git", "time"]


def test_bad_pasted_json_says_what_is_wrong(qtbot) -> None:
    editor = ToolConfigEditor(ChatToolConfig(), ToolPreferences())
    qtbot.addWidget(editor)
    assert not editor.mcp.import_text('{"mcpServers": {"x": {"url": "https://far.example/mcp"}}}')
    assert "far.example is not this computer" in editor.mcp.status.text()
    assert not editor.mcp.import_text("{oops")
    assert "not valid JSON" in editor.mcp.status.text()
    assert editor.result_mcp_settings().servers == ()
    assert editor.mcp.import_text(json.dumps(CLAUDE))
    assert len(editor.result_mcp_settings().servers) == 2
