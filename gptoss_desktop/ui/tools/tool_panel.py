"""The Harmony tool-use panel: the current turn live, the approval card, raw view, export.

``ToolPanel(recorder, prompts)`` wraps one :class:`TraceRecorder` (fed on the turn's thread)
and one :class:`PromptBridge` (questions from that thread). The recorder's change notices
arrive by a queued signal and are coalesced to at most one redraw per ``REDRAW_MS``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.ui.elided_label import ElidedLabel
from gptoss_desktop.ui.inbox import GuiInbox
from gptoss_desktop.ui.tools.approval_card import ApprovalCard
from gptoss_desktop.ui.tools.prompts import PendingPrompt, PromptBridge
from gptoss_desktop.ui.tools.trace import TraceRecorder, TurnTrace
from gptoss_desktop.ui.tools.trace_export import export_trace, trace_to_text
from gptoss_desktop.ui.tools.trace_view import RawView, TraceView

REDRAW_MS = 40


class ToolPanel(QWidget):
    #: The user wants to change this chat's tools.
    sig_configure = Signal()
    #: The user wants a fresh python process for this chat.
    sig_reset_python = Signal()
    #: A question needs the user: the dock should come to the front.
    sig_attention = Signal()

    def __init__(
        self, recorder: TraceRecorder, prompts: PromptBridge, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ToolPanel")
        self.recorder = recorder
        self.prompts = prompts
        self.trace = TurnTrace()
        self._build()
        # The recorder's change notices come from the turn's thread: through the app's one
        # way back to the GUI thread, one redraw at most every REDRAW_MS.
        self._inbox = GuiInbox(REDRAW_MS, lambda _notices: self.refresh(), parent=self)
        recorder.listener = lambda: self._inbox.push(None)
        self._queue: list[PendingPrompt] = []
        prompts.sig_prompt.connect(self._on_prompt)
        prompts.sig_settled.connect(self._on_settled)
        self.card.sig_answered.connect(self._on_answered)
        self.refresh()

    def _build(self) -> None:
        self.title = QLabel("<b>Current turn</b>")
        self.summary = ElidedLabel("")  # one line, elided: never widens the window
        self.summary.setObjectName("Muted")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.configure_button = QPushButton("Tools…")
        self.configure_button.setToolTip("Choose this chat's tools, documents and functions")
        self.configure_button.clicked.connect(self.sig_configure.emit)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setToolTip("Copy the whole trace as text")
        self.copy_button.clicked.connect(self.copy_trace)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("As JSON…", lambda: self.ask_export("json"))
        menu.addAction("As text…", lambda: self.ask_export("txt"))
        self.export_button.setMenu(menu)
        self.reset_button = QToolButton()
        self.reset_button.setText("Reset")
        self.reset_button.setAccessibleName("Reset python")
        self.reset_button.setToolTip("Forget python variables of this chat (files stay)")
        self.reset_button.clicked.connect(self.sig_reset_python.emit)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.configure_button)
        tools = QHBoxLayout()
        tools.addWidget(self.summary, 1)
        for b in (self.copy_button, self.export_button, self.reset_button):
            tools.addWidget(b)
        self.card = ApprovalCard()
        self.trace_view = TraceView()
        self.raw_view = RawView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.trace_view, "Trace")
        self.tabs.addTab(self.raw_view, "Raw tokens")
        self.tabs.currentChanged.connect(lambda _i: self.refresh())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(tools)
        layout.addWidget(self.status)
        layout.addWidget(self.card)
        layout.addWidget(self.tabs, 1)

    # --- the trace ---------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw from the recorder's latest snapshot."""
        self.trace = self.recorder.snapshot()
        self.trace_view.show_trace(self.trace)
        if self.tabs.currentWidget() is self.raw_view:
            self.raw_view.show_trace(self.trace)
        self.status.setText(self.trace.status_line())
        color = "#cf222e" if self.trace.error or self.trace.stop_reason == "tool_call_limit" else ""
        self.status.setStyleSheet(f"color: {color};" if color else "")
        has_trace = bool(self.trace.entries)
        self.copy_button.setEnabled(has_trace)
        self.export_button.setEnabled(has_trace)

    def set_summary(self, text: str) -> None:
        """A line saying which tools this chat has."""
        self.summary.setText(text)

    def show_raw(self) -> None:
        self.tabs.setCurrentWidget(self.raw_view)

    # --- copy and export ------------------------------------------------------------------------
    def copy_trace(self) -> str:
        text = trace_to_text(self.recorder.snapshot())
        QGuiApplication.clipboard().setText(text)
        return text

    def export_to(self, path: Path) -> Path:
        return export_trace(self.recorder.snapshot(), path)

    def ask_export(self, kind: str) -> None:
        name = "tool-trace.json" if kind == "json" else "tool-trace.txt"
        filters = "JSON (*.json)" if kind == "json" else "Text (*.txt)"
        path, _ = QFileDialog.getSaveFileName(self, "Export the tool trace", name, filters)
        if path:
            self.export_to(Path(path))

    # --- questions from the turn ----------------------------------------------------------------
    def _on_prompt(self, pending: PendingPrompt) -> None:
        if pending.answered:
            return
        self._queue.append(pending)
        if self.card.pending is None:
            self._next_prompt()
        self.sig_attention.emit()

    def _next_prompt(self) -> None:
        while self._queue:
            pending = self._queue.pop(0)
            if not pending.answered:
                self.card.show_prompt(pending)
                self.tabs.setCurrentWidget(self.trace_view)
                return
        self.card.close_prompt()

    def _on_settled(self, pending: PendingPrompt) -> None:
        if pending in self._queue:
            self._queue.remove(pending)
        if self.card.pending is pending:  # cancelled while shown
            self.card.close_prompt()
            self._next_prompt()

    def _on_answered(self, _pending: PendingPrompt) -> None:
        self._next_prompt()
        self._inbox.push(None)  # redraw soon

    @property
    def waiting(self) -> bool:
        return self.card.pending is not None
