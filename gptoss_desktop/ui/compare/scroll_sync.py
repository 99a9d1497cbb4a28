"""Synchronized scrolling: moving one column's answer moves the others to the same place."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QAbstractScrollArea, QScrollBar


class ScrollSync(QObject):
    """Keeps the vertical scroll bars of some views at the same relative position."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = False
        self._bars: list[QScrollBar] = []
        self._busy = False

    def set_editors(self, views: Sequence[QAbstractScrollArea]) -> None:
        for bar in self._bars:
            with contextlib.suppress(RuntimeError, TypeError):  # a bar of a deleted column
                bar.valueChanged.disconnect(self._on_value)
        self._bars = [v.verticalScrollBar() for v in views]
        for bar in self._bars:
            bar.valueChanged.connect(self._on_value)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled

    def _on_value(self, value: int) -> None:
        source = self.sender()
        if not self.enabled or self._busy or not isinstance(source, QScrollBar):
            return
        span = source.maximum() - source.minimum()
        fraction = (value - source.minimum()) / span if span > 0 else 0.0
        self._busy = True
        try:
            for bar in self._bars:
                if bar is not source:
                    bar.setValue(bar.minimum() + round(fraction * (bar.maximum() - bar.minimum())))
        finally:
            self._busy = False
