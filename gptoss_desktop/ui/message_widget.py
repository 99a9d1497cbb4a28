"""The widgets of one turn: the user's message, or the assistant's reasoning and answer.

Each turn widget shows its text, a row of actions (copy, edit or regenerate, delete), a
version switcher "‹ 2/3 ›" when the turn has other versions, and for answers the metrics
(time to first token, tokens/s, tokens) and any status (stopped, interrupted, error).
Actions are signals; the chat controller does the work.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.chat.thread import DisplayTurn
from gptoss_desktop.core.store.records import Message
from gptoss_desktop.ui.markdown_view import MarkdownView

STATUS_TEXT = {
    "cancelled": "Stopped",
    "interrupted": "Interrupted: the app closed before this message was finished",
    "error": "Failed",
    "streaming": "Writing…",
}


def metrics_text(metrics: dict[str, object]) -> str:
    parts = []
    ttft = metrics.get("ttft_s")
    if isinstance(ttft, int | float):
        parts.append(
            f"{ttft * 1000:.0f} ms to first token" if ttft < 1 else f"{ttft:.2f} s to first token"
        )
    tps = metrics.get("tokens_per_s")
    if isinstance(tps, int | float) and tps > 0:
        parts.append(f"{tps:.1f} tokens/s")
    n = metrics.get("completion_tokens")
    if isinstance(n, int):
        parts.append(f"{n} tokens")
    memory = metrics.get("peak_rss_bytes")  # the worker's anonymous memory: what RAM must hold
    if isinstance(memory, int) and memory > 0:
        parts.append(f"{memory / 1e9:.1f} GB in RAM")
    reason = metrics.get("stop_reason")
    if reason == "max_tokens":
        parts.append("stopped at the max tokens setting")
    elif reason == "context_full":
        parts.append("stopped: the context is full")
    return " · ".join(parts)


def tool_button(text: str, name: str, tip: str = "") -> QToolButton:
    b = QToolButton()
    b.setText(text)
    b.setAccessibleName(name)
    b.setToolTip(tip or name)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    return b


class VersionSwitcher(QWidget):
    """ "‹ 2/3 ›": emits ``sig_step(-1 | +1)``."""

    sig_step = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.prev = tool_button("‹", "Previous version")
        self.label = QLabel()
        self.label.setObjectName("Muted")
        self.next = tool_button("›", "Next version")
        for w in (self.prev, self.label, self.next):
            row.addWidget(w)
        self.prev.clicked.connect(lambda: self.sig_step.emit(-1))
        self.next.clicked.connect(lambda: self.sig_step.emit(1))

    def set_position(self, index: int, count: int) -> None:
        self.setVisible(count > 1)
        self.label.setText(f"{index + 1}/{count}")
        self.prev.setEnabled(index > 0)
        self.next.setEnabled(index < count - 1)


class TurnWidget(QFrame):
    """Common parts: the action row, version switcher and a status line."""

    sig_copy = Signal()
    sig_delete = Signal()
    sig_switch = Signal(int)

    def __init__(self, turn: DisplayTurn | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turn = turn
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(12, 8, 12, 6)
        self.body.setSpacing(4)
        self.action_row = QHBoxLayout()
        self.action_row.setSpacing(2)
        self.versions = VersionSwitcher()
        self.versions.sig_step.connect(self.sig_switch)
        self.copy_button = tool_button("Copy", "Copy message")
        self.copy_button.clicked.connect(self.copy_text)
        self.delete_button = tool_button("Delete", "Delete message")
        self.delete_button.clicked.connect(self.sig_delete)
        self.status_label = QLabel()
        self.status_label.setObjectName("Muted")
        self.status_label.setAccessibleName("Message status")
        self.status_label.hide()
        if turn is not None:
            self.versions.set_position(turn.version_index, max(len(turn.versions), 1))
        else:
            self.versions.hide()

    def finish_actions(self, *extra: QWidget) -> None:
        self.action_row.addWidget(self.versions)
        for w in (*extra, self.copy_button, self.delete_button):
            self.action_row.addWidget(w)
        self.action_row.addStretch(1)
        self.body.addWidget(self.status_label)
        self.body.addLayout(self.action_row)

    def set_status(self, status: str, error: str | None = None) -> None:
        text = STATUS_TEXT.get(status, "")
        if status == "error" and error:
            text = f"Failed: {error}"
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def plain_text(self) -> str:
        return ""

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.plain_text())


class UserMessageWidget(TurnWidget):
    sig_edit = Signal(str)  # the new text: edit and resend

    def __init__(self, text: str, turn: DisplayTurn | None = None, parent: QWidget | None = None):
        super().__init__(turn, parent)
        self.setObjectName("UserTurn")
        self.bubble = QFrame()
        self.bubble.setObjectName("UserBubble")
        inner = QVBoxLayout(self.bubble)
        inner.setContentsMargins(12, 8, 12, 8)
        self.view = MarkdownView(text, plain=True)
        self.view.setAccessibleName("Your message")
        inner.addWidget(self.view)
        self._inner = inner
        self.editor: QPlainTextEdit | None = None  # made on the first edit
        self.save_button: QPushButton | None = None
        self.cancel_edit_button: QPushButton | None = None
        self.edit_row: QWidget | None = None
        self.body.addWidget(self.bubble)
        self.edit_button = tool_button("Edit", "Edit and resend")
        self.edit_button.clicked.connect(self.begin_edit)
        self.finish_actions(self.edit_button)

    def plain_text(self) -> str:
        return self.view.text

    def _make_editor(self) -> QPlainTextEdit:
        editor = QPlainTextEdit()
        editor.setAccessibleName("Edit message")
        self._inner.addWidget(editor)
        edit_row = QHBoxLayout()
        self.save_button = QPushButton("Save and send")
        self.save_button.setObjectName("Primary")
        self.cancel_edit_button = QPushButton("Cancel")
        edit_row.addStretch(1)
        edit_row.addWidget(self.cancel_edit_button)
        edit_row.addWidget(self.save_button)
        self.edit_row = QWidget()
        self.edit_row.setLayout(edit_row)
        self._inner.addWidget(self.edit_row)
        self.save_button.clicked.connect(self._save)
        self.cancel_edit_button.clicked.connect(self.end_edit)
        self.editor = editor
        return editor

    def begin_edit(self) -> None:
        if self.editor is None:
            self._make_editor()
        assert self.editor is not None and self.edit_row is not None
        self.editor.setPlainText(self.view.text)
        self.view.hide()
        self.editor.show()
        self.edit_row.show()
        self.editor.setFocus()
        # After the transcript has laid the taller editor out: scroll it (and its Save button)
        # into view, never leave it below the window's edge.
        QTimer.singleShot(0, self, self.reveal_editor)

    def reveal_editor(self) -> None:
        from PySide6.QtWidgets import QScrollArea

        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None and self.editor is not None and self.edit_row is not None:
            parent.ensureWidgetVisible(self.edit_row, 0, 16)
            parent.ensureWidgetVisible(self.editor, 0, 16)

    def end_edit(self) -> None:
        if self.editor is not None and self.edit_row is not None:
            self.editor.hide()
            self.edit_row.hide()
        self.view.show()

    def _save(self) -> None:
        if self.editor is None:
            return
        text = self.editor.toPlainText().strip()
        if text:
            self.end_edit()
            self.sig_edit.emit(text)


class ReasoningSection(QFrame):
    """The model's reasoning (analysis channel), collapsible, apart from the answer."""

    def __init__(self, text: str = "", *, expanded: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Reasoning")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 4)
        layout.setSpacing(0)
        self.toggle = tool_button("", "Show or hide reasoning")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.toggled.connect(self.set_expanded)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.view = MarkdownView(text, plain=True)
        self.view.setAccessibleName("Reasoning text")
        layout.addWidget(self.view)
        self._live = False
        self.toggle.setChecked(expanded)
        self.set_expanded(expanded)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def set_expanded(self, on: bool) -> None:
        if self.toggle.isChecked() != on:
            self.toggle.setChecked(on)
            return
        self.view.setVisible(on)
        self._label()

    def set_live(self, live: bool) -> None:
        self._live = live
        self._label()

    def _label(self) -> None:
        arrow = "▾" if self.expanded else "▸"
        state = "Thinking…" if self._live else "Reasoning"
        self.toggle.setText(f"{arrow} {state}")

    def append_text(self, text: str) -> None:
        self.view.append_text(text)


class ToolCallView(QLabel):
    """A tool call or tool result inside an assistant turn (tools arrive with issue 6)."""

    def __init__(self, row: Message, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Muted")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.row = row
        self.content = ""
        self.refresh(row.content)

    def refresh(self, content: str) -> None:
        self.content = content
        if self.row.role == "tool":
            head = f"Result from {self.row.author_name or 'tool'}"
        else:
            head = f"Tool call to {self.row.recipient}"
        self.setText(f"{head}: {content[:2000]}")

    def append_text(self, text: str) -> None:
        self.refresh(self.content + text)
