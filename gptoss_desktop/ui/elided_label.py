"""A one-line label that never widens its window: long text is elided with "…" and shown
whole in the tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """Plain text, one line, elided at the right to the width it is given."""

    def __init__(self, text: str = "", parent: QWidget | None = None, min_chars: int = 6) -> None:
        super().__init__(parent)
        self._full = ""
        self._min_chars = min_chars
        self.setTextFormat(Qt.TextFormat.PlainText)
        # Preferred: it asks for its whole text, and may be squeezed down to a few characters.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        super().setText(text)
        self.setToolTip(text if text else "")

    def full_text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What fits in the current width."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)

    def minimumSizeHint(self) -> QSize:
        fm = self.fontMetrics()
        return QSize(fm.averageCharWidth() * self._min_chars, fm.height())

    def sizeHint(self) -> QSize:
        fm = self.fontMetrics()
        # Capped, so a long line never asks for a wide dock or window; the rest is elided.
        width = min(fm.horizontalAdvance(self._full) + 4, fm.averageCharWidth() * 48)
        return QSize(width, fm.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(
            self.contentsRect(),
            int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
            self.shown_text(),
        )
