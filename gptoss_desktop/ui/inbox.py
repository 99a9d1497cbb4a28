"""The one way back to the GUI thread for streamed work: chat turns, compare runs, the tool
panel's trace.

A :class:`GuiInbox` lives on the GUI thread. Any thread may ``push`` items into it; it only
appends under a lock (no Qt object is touched there) and, when the inbox was empty, emits one
queued signal. On the GUI thread that starts a short single-shot timer; when it fires, the
inbox drains everything pushed since, in order (optionally merged: consecutive text joined),
and hands it to ``deliver`` in one call. A model writing thousands of tokens a second costs a
few repaints a second, and the GUI thread never waits on a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

Items = list[Any]


class GuiInbox(QObject):
    _sig_wake = Signal()

    def __init__(
        self,
        interval_ms: int,
        deliver: Callable[[Items], None] | None = None,
        *,
        merge: Callable[[Items], Items] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        #: Called on the GUI thread with what was pushed since the last delivery.
        self.deliver = deliver
        self._merge = merge
        self._lock = threading.Lock()
        self._items: Items = []
        self._armed = False
        self._interval = interval_ms
        self._sig_wake.connect(self._on_wake)

    def push(self, item: Any) -> None:
        """Safe from any thread."""
        with self._lock:
            self._items.append(item)
            wake = not self._armed
            self._armed = True
        if wake:
            self._sig_wake.emit()

    def drain(self) -> Items:
        """Take everything pushed so far (merged), without delivering it."""
        with self._lock:
            items, self._items = self._items, []
            self._armed = False
        return self._merge(items) if self._merge is not None and items else items

    @Slot()
    def flush(self) -> None:
        """Deliver what is there now (the timer calls this; so may the owner, on close)."""
        items = self.drain()
        if items and self.deliver is not None:
            self.deliver(items)

    @Slot()
    def _on_wake(self) -> None:
        # One wake per delivery (push only wakes when the inbox was not armed). A single-shot
        # with this object as context, not a child timer: nothing is left running when the
        # inbox goes away, whichever thread drops it.
        QTimer.singleShot(self._interval, self, self.flush)
