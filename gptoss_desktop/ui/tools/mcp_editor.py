"""MCP servers in the tool settings: the app's server list and which of them this chat uses.

A tree of servers (app-wide), each with the tools it offered when it last ran. Ticking a
server lets this chat use it; unticking one of its tools keeps that tool from the model in
this chat. Servers come in by importing an ``mcpServers`` JSON file or pasted text (the form
Claude Desktop, LM Studio, Jan and Cursor write). Nothing here starts a server: a server
starts when a turn of a chat that uses it needs it, after its command line was allowed once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.tools.mcp import (
    ChatMcpChoice,
    McpConfigError,
    McpServerConfig,
    McpSettings,
    McpTool,
    load_servers_file,
    parse_servers_text,
)

KnownTools = Callable[[str], "list[McpTool] | None"]
SERVER_ROLE = Qt.ItemDataRole.UserRole
TOOL_ROLE = Qt.ItemDataRole.UserRole + 1


class McpServersEditor(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("MCP servers (their tools go in with the functions)", parent)
        self.settings = McpSettings()
        self._known: KnownTools = lambda name: None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Server / tool", "Runs"])
        self.tree.setColumnWidth(0, 260)
        self.tree.setMinimumHeight(72)  # the dialog must fit a 1024x700 screen
        self.import_button = QPushButton("Import mcpServers file…")
        self.import_button.clicked.connect(self.choose_file)
        self.paste_button = QPushButton("Paste JSON…")
        self.paste_button.clicked.connect(self.paste)
        self.remove_button = QPushButton("Remove server")
        self.remove_button.clicked.connect(self.remove_selected)
        self.status = QLabel(
            "Tick a server to use it in this chat. A server starts only when a turn of such a "
            "chat needs it; the first time, you see its command and allow it."
        )
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for b in (self.import_button, self.paste_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)

    # --- values ----------------------------------------------------------------------------------
    def set_values(
        self, settings: McpSettings, choice: ChatMcpChoice, known: KnownTools | None = None
    ) -> None:
        self.settings = settings
        if known is not None:
            self._known = known
        self._fill(choice)

    def _fill(self, choice: ChatMcpChoice) -> None:
        self.tree.clear()
        for server in self.settings.servers:
            item = QTreeWidgetItem([server.name, _runs(server)])
            item.setData(0, SERVER_ROLE, server.name)
            item.setToolTip(0, server.command_line)
            item.setToolTip(1, server.command_line)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = server.name in choice.servers
            item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            if not server.enabled:
                item.setText(1, "turned off: " + _runs(server))
            tools = self._known(server.name)
            if tools is None:
                hint = QTreeWidgetItem(["(its tools show here after it has run)", ""])
                hint.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.addChild(hint)
            for tool in tools or []:
                child = QTreeWidgetItem([tool.name, (tool.description or "").split("\n")[0][:80]])
                child.setData(0, TOOL_ROLE, tool.name)
                child.setToolTip(1, tool.description or "")
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                state = choice.tool_on(server.name, tool.name)
                child.setCheckState(0, Qt.CheckState.Checked if state else Qt.CheckState.Unchecked)
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(on)

    def result_choice(self) -> ChatMcpChoice:
        servers: list[str] = []
        off: set[tuple[str, str]] = set()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            assert item is not None
            name = str(item.data(0, SERVER_ROLE))
            if item.checkState(0) == Qt.CheckState.Checked:
                servers.append(name)
            for j in range(item.childCount()):
                child = item.child(j)
                tool = child.data(0, TOOL_ROLE) if child is not None else None
                if tool and child is not None and child.checkState(0) != Qt.CheckState.Checked:
                    off.add((name, str(tool)))
        return ChatMcpChoice(tuple(servers), frozenset(off))

    def result_settings(self) -> McpSettings:
        return self.settings

    # --- importing ------------------------------------------------------------------------------
    def add_servers(self, servers: list[McpServerConfig], source: str) -> None:
        choice = self.result_choice()
        self.settings = self.settings.with_servers(servers)
        self._fill(choice)
        names = ", ".join(s.name for s in servers)
        self.status.setText(f"Imported from {source}: {names}. Tick the ones this chat may use.")
        self.status.setStyleSheet("")

    def import_text(self, text: str, source: str = "the pasted text") -> bool:
        try:
            servers = parse_servers_text(text, source)
        except McpConfigError as exc:
            self._problem(exc.message)
            return False
        self.add_servers(servers, source)
        return True

    def import_file(self, path: Path | str) -> bool:
        try:
            servers = load_servers_file(path)
        except McpConfigError as exc:
            self._problem(exc.message)
            return False
        self.add_servers(servers, Path(path).name)
        return True

    def _problem(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #cf222e;")

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import MCP servers (claude_desktop_config.json, mcp.json…)", "",
            "JSON (*.json);;All files (*)",
        )  # fmt: skip
        if path:
            self.import_file(path)

    def paste(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Paste an mcpServers configuration")
        edit = QPlainTextEdit()
        edit.setPlaceholderText(
            '{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}'
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(edit)
        layout.addWidget(buttons)
        dialog.resize(560, 320)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.import_text(edit.toPlainText())
        dialog.deleteLater()

    def remove_selected(self) -> None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None:
            return
        choice = self.result_choice()
        self.settings = self.settings.without(str(item.data(0, SERVER_ROLE)))
        self._fill(choice)


def _runs(server: McpServerConfig) -> str:
    return server.command_line if server.transport == "stdio" else f"HTTP {server.url}"
