"""The tool panel, its wiring into Harmony turns, and the tool settings dialog, for one window.

``attach_to(main_window)`` docks the panel beside the chat, gives every Harmony model's turn
runner the tool wiring (so the chat's tools, approval and the trace take part in each turn)
and adds the tool settings to the chat. Everything here runs on the GUI thread; turns run on
their own threads and reach the panel through the recorder and the prompt bridge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QWidget

from gptoss_desktop.core.chat.tools import ChatToolConfig, ToolPreferences
from gptoss_desktop.core.errors import GptossError, ToolError
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.store.records import ChatSettings
from gptoss_desktop.core.tools.browser import LinkedAnswer, link_citations
from gptoss_desktop.ui.tools.config_editor import ToolConfigEditor
from gptoss_desktop.ui.tools.prompts import PromptBridge
from gptoss_desktop.ui.tools.tool_panel import ToolPanel
from gptoss_desktop.ui.tools.trace import TraceRecorder
from gptoss_desktop.ui.tools.wiring import UNSAVED, ToolWiring

PANEL_TITLE = "Tool use"


def tools_summary(config: ChatToolConfig, prefs: ToolPreferences) -> str:
    names = [n for n, on in (("python", config.python), ("browser", config.browser)) if on]
    names += [f"functions.{s.name}" for s in config.functions]
    if not names:
        return "No tools in this chat"
    mode = {"ask": "ask first", "all": "no asking", "none": "tools off"}[prefs.approval.value]
    return f"{', '.join(names)} · {mode} · max {prefs.max_calls_per_turn} calls"


class ToolPanelController(QObject):
    """Owns the panel, the recorder, the prompt bridge and the wiring of one window."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        sandbox_namespaces: str = "auto",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.problem: str | None = None
        try:
            self.preferences = ToolPreferences.load(paths.config_dir)
        except ToolError as exc:
            self.preferences, self.problem = ToolPreferences(), exc.message
        self.recorder = TraceRecorder()
        self.prompts = PromptBridge(self)
        self.wiring = ToolWiring(
            paths, self.prompts, self.recorder, preferences=lambda: self.preferences,
            sandbox_namespaces=sandbox_namespaces,
        )  # fmt: skip
        self.panel = ToolPanel(self.recorder, self.prompts)
        self.panel.sig_reset_python.connect(self.reset_python)
        self.dock: QDockWidget | None = None
        self.chat_key: Callable[[], str] = lambda: UNSAVED
        self.editor: ToolConfigEditor | None = None

    # --- runners -----------------------------------------------------------------------------
    def install(self, runner: Any) -> bool:
        """Give an already loaded Harmony turn runner the tool wiring (runners made later get
        it from the engine manager); other runners are left alone."""
        if getattr(runner, "kind", None) != "harmony" or not hasattr(runner, "tooling"):
            return False
        runner.tooling = self.wiring
        return True

    # --- settings -----------------------------------------------------------------------------
    def show_summary(self, settings: ChatSettings) -> None:
        self.panel.set_summary(
            tools_summary(ChatToolConfig.from_settings(settings), self.preferences)
        )

    def edit(self, settings: ChatSettings, parent: QWidget | None = None) -> ChatSettings | None:
        """Ask for the chat's tools (a modal dialog); the new settings, or None if cancelled.
        The app-wide preferences are saved here."""
        key = self.chat_key()
        editor = ToolConfigEditor(
            ChatToolConfig.from_settings(settings),
            self.preferences,
            check_sandbox=lambda: self.wiring.chat_tools(key).check_python(),
            parent=parent or self.panel,
        )
        self.editor = editor
        try:
            if editor.exec() != QDialog.DialogCode.Accepted:
                return None
            self.set_preferences(editor.result_preferences())
            new = editor.result_config().applied_to(settings)
        finally:
            self.editor = None
            editor.deleteLater()
        self.show_summary(new)
        return new

    def set_preferences(self, prefs: ToolPreferences) -> None:
        self.preferences = prefs
        try:
            prefs.save(self.paths.config_dir)
        except OSError as exc:
            raise GptossError(f"The tool settings could not be saved: {exc.strerror}.") from None

    def linked_answer(self, text: str, chat_key: str | None = None) -> LinkedAnswer | None:
        """``text`` with its browser citations as Markdown links to the documents (for the
        chat view), or None when the chat has not browsed."""
        tools = self.wiring.chat_tools(chat_key or self.chat_key())
        browser = tools.browser_session
        return link_citations(text, browser) if browser is not None else None

    def reset_python(self) -> None:
        tools = self.wiring.chat_tools(self.chat_key())
        tools.reset_python()

    def close(self) -> None:
        """Answer open questions (the turn ends) and stop every sandbox."""
        self.prompts.cancel()
        self.wiring.close()


class _CloseWatcher(QObject):
    def __init__(self, on_close: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._on_close = on_close

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            self._on_close()
        return False


def attach_to(window: Any, *, sandbox_namespaces: str = "auto") -> ToolPanelController:
    """Dock the tool panel in ``window`` (the app's MainWindow) and wire it into its chats."""
    controller = ToolPanelController(
        window.paths, sandbox_namespaces=sandbox_namespaces, parent=window
    )
    dock = window.add_side_panel(controller.panel, PANEL_TITLE)
    controller.dock = dock

    def current_key() -> str:
        chat = window.chat.conversation
        return str(chat.id) if chat is not None else UNSAVED

    controller.chat_key = current_key

    window.engines.tooling = controller.wiring  # every Harmony model loaded from now on
    if window.engines.current is not None:
        controller.install(window.engines.current.runner)

    def configure() -> None:
        new = controller.edit(window.settings_panel.settings(), window)
        if new is not None:
            window.settings_panel.set_settings(new)
            window.chat.update_settings(new)

    def attention() -> None:
        dock.show()
        dock.raise_()

    controller.panel.sig_configure.connect(configure)
    controller.panel.sig_attention.connect(attention)
    window.settings_panel.sig_changed.connect(controller.show_summary)
    window.chat.sig_conversation.connect(lambda _c: controller.show_summary(window.chat.settings))
    # The panel shows the open chat's last turn, never another chat's.
    window.chat.sig_conversation.connect(lambda _c: controller.recorder.show_chat(current_key()))
    window.chat.sig_busy.connect(lambda _b: controller.show_summary(window.chat.settings))
    controller.show_summary(window.settings_panel.settings())
    if controller.problem:
        window.banner.show_message(controller.problem, kind="warning")
    for action in window.menuBar().actions():
        if action.text() == "&View" and action.menu() is not None:
            menu = action.menu()
            menu.addAction(dock.toggleViewAction())
            tools_action = QAction("Tools for this chat…", window)
            tools_action.triggered.connect(configure)
            menu.addAction(tools_action)
    window.installEventFilter(_CloseWatcher(controller.close, controller))
    return controller
