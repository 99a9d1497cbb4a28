"""A CompareRun seen from the GUI thread: its updates as Qt signals, batched.

Column threads call the listener; it pushes into a :class:`~gptoss_desktop.ui.inbox.GuiInbox`
(the app's one way back to the GUI thread), which delivers on the GUI thread about 30 times a
second (``FLUSH_MS``); the delivery keeps the order, joins consecutive text of the same column
and channel and keeps only the latest metrics, so a model writing thousands of tokens a second
costs a few repaints a second.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gptoss_desktop.core.compare.runner import (
    ColumnEnded,
    ColumnMetricsChanged,
    ColumnStateChanged,
    ColumnText,
    RunEnded,
    RunPlanned,
    RunUpdate,
)
from gptoss_desktop.ui.inbox import GuiInbox

FLUSH_MS = 33


class CompareRunAdapter(QObject):
    """Turns run updates (from any thread) into signals on the GUI thread."""

    #: SchedulePlan: all at once or one by one, and why
    sig_planned = Signal(object)
    #: (position, state, message)
    sig_state = Signal(int, str, str)
    #: (position, channel, text): channel "analysis" (reasoning) or "final"
    sig_text = Signal(int, str, str)
    #: (position, ColumnMetrics)
    sig_metrics = Signal(int, object)
    #: ColumnResult of a column that ended
    sig_column_ended = Signal(object)
    #: tuple of every ColumnResult, once
    sig_run_ended = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._inbox = GuiInbox(FLUSH_MS, self._deliver, parent=self)
        self.flushes = 0

    def __call__(self, update: RunUpdate) -> None:
        """The run's listener; safe from any thread."""
        self._inbox.push(update)

    def flush(self) -> None:
        """Deliver everything queued, in order (also called directly by tests and on close)."""
        self._inbox.flush()

    def _deliver(self, updates: list[RunUpdate]) -> None:
        self.flushes += 1
        text: list[str] = []
        text_key: tuple[int, str] | None = None
        latest_metrics: dict[int, object] = {}

        def emit_text() -> None:
            nonlocal text_key
            if text_key is not None and text:
                self.sig_text.emit(text_key[0], text_key[1], "".join(text))
            text.clear()
            text_key = None

        for update in updates:
            if isinstance(update, ColumnText):
                key = (update.position, update.channel)
                if key != text_key:
                    emit_text()
                    text_key = key
                text.append(update.text)
                continue
            if isinstance(update, ColumnMetricsChanged):
                latest_metrics[update.position] = update.metrics
                continue
            emit_text()
            self._emit_metrics(latest_metrics)
            if isinstance(update, RunPlanned):
                self.sig_planned.emit(update.plan)
            elif isinstance(update, ColumnStateChanged):
                self.sig_state.emit(update.position, update.state, update.message)
            elif isinstance(update, ColumnEnded):
                self.sig_column_ended.emit(update.result)
            elif isinstance(update, RunEnded):
                self.sig_run_ended.emit(update.results)
        emit_text()
        self._emit_metrics(latest_metrics)

    def _emit_metrics(self, latest: dict[int, object]) -> None:
        for position, metrics in latest.items():
            self.sig_metrics.emit(position, metrics)
        latest.clear()
