"""Errors in words: a banner above the chat, a dialog with details and Copy, a global hook.

Errors are never written into the transcript. ``describe`` turns any exception into a one
line message and a details text; ``install_exception_hook`` catches whatever nobody else
caught and shows it in the dialog (and on stderr, for logs).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.errors import GptossError
from gptoss_desktop.resources import APP_TITLE


def describe(exc: BaseException) -> tuple[str, str]:
    """(one-line message, details) for an exception."""
    if isinstance(exc, GptossError):
        details = exc.details or ""
        return exc.message, details
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = str(exc) or type(exc).__name__
    return f"Something went wrong: {text}. The details show where; please report it.", tb


_ZWSP = "\u200b"


def breakable(text: str, run: int = 24) -> str:
    """``text`` with a zero-width space every ``run`` characters inside long unbroken words
    (paths, file names), so a word-wrapped label can wrap them instead of widening its
    window."""
    out = []
    for word in text.split(" "):
        if len(word) > run:
            word = _ZWSP.join(word[i : i + run] for i in range(0, len(word), run))
        out.append(word)
    return " ".join(out)


class WrappingLabel(QLabel):
    """A word-wrapped label that also wraps long paths and names (see :func:`breakable`);
    ``text()`` gives back the text as it was set."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setWordWrap(True)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        super().setText(breakable(text))

    def text(self) -> str:
        return self._full


class ErrorDialog(QDialog):
    """A readable error: the message, an expandable details pane and a Copy button."""

    def __init__(self, title: str, message: str, details: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName("Error")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        self.message_label = WrappingLabel(message)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message_label)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Error details")
        self.details.setVisible(False)
        self.details.setMinimumHeight(180)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.toggle = buttons.addButton("Show details", QDialogButtonBox.ButtonRole.ActionRole)
        self.toggle.setEnabled(bool(details))
        self.toggle.clicked.connect(self._toggle_details)
        self.copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._text = f"{message}\n\n{details}".strip()

    def _toggle_details(self) -> None:
        show = self.details.isHidden()
        self.details.setVisible(show)
        self.toggle.setText("Hide details" if show else "Show details")

    def copy_to_clipboard(self) -> None:
        QApplication.clipboard().setText(self._text)


class Banner(QFrame):
    """A message above the chat: error, warning or info, with optional actions."""

    sig_action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setAccessibleName("Notice")
        self._details = ""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 6, 6)
        outer.setSpacing(4)
        row = QHBoxLayout()
        outer.addLayout(row)
        self.label = WrappingLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.details_button = QPushButton("Details")
        self.details_button.clicked.connect(self._show_details)
        row.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName("Dismiss notice")
        close.clicked.connect(self.hide)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        # Choices go on a row of their own, so a long set never widens the window.
        self._actions = QHBoxLayout()
        outer.addLayout(self._actions)
        self.hide()

    @property
    def kind(self) -> str:
        return str(self.property("kind") or "")

    def show_message(
        self,
        message: str,
        *,
        kind: str = "error",
        details: str = "",
        actions: list[tuple[str, str]] | None = None,
    ) -> None:
        """Show ``message``; ``actions`` are (key, label) buttons that emit ``sig_action(key)``."""
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(message)
        self._details = details
        self.details_button.setVisible(bool(details))
        while self._actions.count():
            item = self._actions.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for key, label in actions or []:
            button = QPushButton(label)
            button.setObjectName(f"banner-action-{key}")
            button.clicked.connect(lambda _=False, k=key: self.sig_action.emit(k))
            self._actions.addWidget(button)
        if actions:
            self._actions.addStretch(1)
        self.show()

    def show_error(self, exc: BaseException) -> None:
        message, details = describe(exc)
        self.show_message(message, kind="error", details=details)

    def _show_details(self) -> None:
        ErrorDialog("Details", self.label.text(), self._details, self.window()).exec()


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def install_exception_hook(parent: Callable[[], QWidget | None]) -> ExceptHook:
    """Show uncaught exceptions in an ErrorDialog (and print them to stderr); return the old hook."""
    previous = sys.excepthook
    showing = [False]

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        traceback.print_exception(kind, exc, tb, file=sys.stderr)
        if showing[0] or QApplication.instance() is None:
            return
        exc.__traceback__ = tb
        message, details = describe(exc)
        showing[0] = True
        try:
            ErrorDialog(f"{APP_TITLE}: unexpected error", message, details, parent()).exec()
        finally:
            showing[0] = False

    sys.excepthook = hook
    return previous
