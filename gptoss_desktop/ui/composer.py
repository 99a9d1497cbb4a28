"""Where the user writes: Enter sends, Shift+Enter makes a new line, Stop while generating."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget


class ComposerEdit(QPlainTextEdit):
    sig_submit = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not (event.modifiers() & Qt.KeyboardModifier.ShiftModifier):
            self.sig_submit.emit()
            return
        super().keyPressEvent(event)


class Composer(QFrame):
    """Emits ``sig_send(text)`` and ``sig_stop()``; ``set_generating`` swaps Send for Stop."""

    sig_send = Signal(str)
    sig_stop = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 8, 12, 6)
        outer.setSpacing(4)
        row = QHBoxLayout()
        outer.addLayout(row)
        #: A row under the text box for status (the window puts the context meter here).
        self.footer = QHBoxLayout()
        outer.addLayout(self.footer)
        self.edit = ComposerEdit()
        self.edit.setPlaceholderText("Message the model (Enter sends, Shift+Enter for a new line)")
        self.edit.setAccessibleName("Message")
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(72)
        self.edit.sig_submit.connect(self.submit)
        row.addWidget(self.edit, 1)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("Primary")
        self.send_button.setAccessibleName("Send message")
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop generating")
        self.stop_button.clicked.connect(self.sig_stop)
        self.stop_button.hide()
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.generating = False
        self._ready = True

    def submit(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text or self.generating or not self._ready:
            return
        self.edit.clear()
        self.sig_send.emit(text)

    def set_generating(self, on: bool) -> None:
        self.generating = on
        self.send_button.setVisible(not on)
        self.stop_button.setVisible(on)

    def set_ready(self, ready: bool, reason: str = "") -> None:
        """Sending needs a model (loaded, or picked: Send loads it first); ``reason`` says what
        is missing, or what Send will do."""
        self._ready = ready
        self.send_button.setEnabled(ready)
        self.send_button.setToolTip(reason)

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
