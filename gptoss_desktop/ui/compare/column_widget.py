"""One compare column: model choice, state, reasoning apart (collapsible), answer, metrics."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.compare.metrics import ColumnMetrics
from gptoss_desktop.core.compare.runner import ColumnSetup
from gptoss_desktop.ui.errors import WrappingLabel

STATE_WORDS = {
    "pending": "Waiting",
    "queued": "Queued",
    "loading": "Loading model…",
    "streaming": "Writing…",
    "done": "Done",
    "error": "Error",
    "cancelled": "Stopped",
}


def _append(edit: QPlainTextEdit, text: str) -> None:
    """Append at the end without moving the user's selection; follow the end if it was there."""
    bar = edit.verticalScrollBar()
    at_end = bar.value() >= bar.maximum() - 4
    cursor = QTextCursor(edit.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertText(text)
    if at_end:
        bar.setValue(bar.maximum())


class CompareColumnWidget(QFrame):
    """Shows one column; the view feeds it text, states and metrics."""

    #: the user asked to stop this column
    sig_cancel = Signal(int)
    #: the user asked for this column's own settings
    sig_settings = Signal(int)

    def __init__(
        self, position: int, models: Sequence[ColumnSetup], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.position = position
        self.setObjectName("CompareColumn")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Compare column {position + 1}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)

        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("CompareColumnTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        head.addWidget(self.title, 1)
        self.state_label = QLabel("")
        self.state_label.setObjectName("Muted")
        head.addWidget(self.state_label)
        self.settings_button = QToolButton()
        self.settings_button.setText("⚙")
        self.settings_button.setToolTip("This column's own sampling settings")
        self.settings_button.setAccessibleName(f"Settings of column {position + 1}")
        self.settings_button.clicked.connect(lambda: self.sig_settings.emit(self.position))
        head.addWidget(self.settings_button)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("■")
        self.cancel_button.setToolTip("Stop this column")
        self.cancel_button.setAccessibleName(f"Stop column {position + 1}")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: self.sig_cancel.emit(self.position))
        head.addWidget(self.cancel_button)
        layout.addLayout(head)

        self.model_box = QComboBox()
        self.model_box.setAccessibleName(f"Model of column {position + 1}")
        for setup in models:
            self.model_box.addItem(setup.name, setup)
        if models:
            self.model_box.setCurrentIndex(position % len(models))
        layout.addWidget(self.model_box)

        self.reasoning_toggle = QToolButton()
        self.reasoning_toggle.setCheckable(True)
        self.reasoning_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.reasoning_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.reasoning_toggle.toggled.connect(self._on_reasoning_toggled)
        self.reasoning_toggle.hide()
        layout.addWidget(self.reasoning_toggle)
        self.reasoning = QPlainTextEdit()
        self.reasoning.setObjectName("Reasoning")
        self.reasoning.setReadOnly(True)
        self.reasoning.setAccessibleName(f"Reasoning of column {position + 1}")
        self.reasoning.setMaximumHeight(160)
        self.reasoning.hide()
        layout.addWidget(self.reasoning)

        self.answer = QPlainTextEdit()
        self.answer.setReadOnly(True)
        self.answer.setAccessibleName(f"Answer of column {position + 1}")
        layout.addWidget(self.answer, 1)

        self.error_label = WrappingLabel()  # long paths in errors wrap too
        self.error_label.setObjectName("CompareColumnError")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(
            "background: #ffe3e3; color: #1f2328; border-radius: 6px; padding: 6px;"
        )
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.metrics_label = QLabel("")
        self.metrics_label.setObjectName("Muted")
        self.metrics_label.setWordWrap(True)  # a long line wraps; it never widens the window
        self.metrics_label.setAccessibleName(f"Speed of column {position + 1}")
        layout.addWidget(self.metrics_label)
        self.metrics = ColumnMetrics()
        self.state = "pending"
        self._reasoning_chars = 0
        self.blind = False
        self.set_title(self.selected.name if self.selected else f"Column {position + 1}")

    # --- model --------------------------------------------------------------------------------
    @property
    def selected(self) -> ColumnSetup | None:
        data = self.model_box.currentData()
        return data if isinstance(data, ColumnSetup) else None

    def select_model(self, setup: ColumnSetup) -> None:
        for i in range(self.model_box.count()):
            data = self.model_box.itemData(i)
            if (
                isinstance(data, ColumnSetup)
                and data.model_path == setup.model_path
                and data.name == setup.name
            ):
                self.model_box.setCurrentIndex(i)
                return

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    # --- streaming ----------------------------------------------------------------------------
    def clear(self) -> None:
        self.answer.clear()
        self.reasoning.clear()
        self._reasoning_chars = 0
        self.reasoning_toggle.hide()
        self.reasoning_toggle.setChecked(False)
        self.error_label.hide()
        self.metrics = ColumnMetrics()
        self.metrics_label.setText("")
        self.set_state("pending")

    def append_text(self, channel: str, text: str) -> None:
        if channel == "analysis":
            _append(self.reasoning, text)
            self._reasoning_chars += len(text)
            self._update_reasoning_toggle()
        else:
            _append(self.answer, text)

    def set_texts(self, answer: str, reasoning: str) -> None:
        self.answer.setPlainText(answer)
        self.reasoning.setPlainText(reasoning)
        self._reasoning_chars = len(reasoning)
        self._update_reasoning_toggle()

    def set_state(self, state: str, message: str = "") -> None:
        self.state = state
        word = STATE_WORDS.get(state, state)
        self.state_label.setText(word)
        self.state_label.setToolTip(message)
        running = state in ("queued", "loading", "streaming")
        self.cancel_button.setEnabled(running)
        self.model_box.setEnabled(not running)
        self.settings_button.setEnabled(not running)
        if state == "queued" and message:
            self.metrics_label.setText(message)

    def show_error(self, message: str, details: str = "") -> None:
        self.error_label.setText(message)
        self.error_label.setToolTip(details[-2000:] if details else "")
        self.error_label.show()

    def set_metrics(self, metrics: ColumnMetrics) -> None:
        self.metrics = metrics
        self._show_metrics()

    def _show_metrics(self) -> None:
        m = self.metrics
        if self.blind:  # a model's memory use would give its name away
            from dataclasses import replace

            m = replace(m, peak_rss_bytes=None)
        self.metrics_label.setText(m.summary())

    def set_blind(self, hidden: bool) -> None:
        """Blind until the vote: no reasoning row (whether and how long a model reasons names
        it) and no memory figure."""
        self.blind = hidden
        if hidden:
            self.reasoning_toggle.setChecked(False)
        self._update_reasoning_toggle()
        self._show_metrics()

    # --- reasoning ------------------------------------------------------------------------------
    def _update_reasoning_toggle(self) -> None:
        n = self._reasoning_chars
        self.reasoning_toggle.setVisible(n > 0 and not self.blind)
        self.reasoning_toggle.setText(f"Reasoning ({n:,} characters)")

    def _on_reasoning_toggled(self, shown: bool) -> None:
        self.reasoning.setVisible(shown)
        self.reasoning_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
