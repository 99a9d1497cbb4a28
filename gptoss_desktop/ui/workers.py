"""Running core calls off the main thread and getting the answer back on it.

``BackgroundTasks.submit(fn, on_done, on_error)`` runs ``fn()`` on a pool thread; the
callbacks run on the main thread (through queued signals), so they may touch widgets.
Loading models, search, export/import, token counting and database reads of whole chats
all go through here; nothing slow runs on the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class _Relay(QObject):
    """Lives on the main thread; its signals carry a task's outcome back there."""

    sig_done = Signal(object)
    sig_failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to on_error on the main thread
            self._relay.sig_failed.emit(exc)
        else:
            self._relay.sig_done.emit(result)


class BackgroundTasks(QObject):
    """A small thread pool for core calls, owned by the main window."""

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 3) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relays: set[_Relay] = set()
        self._lock = threading.Lock()

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        relay = _Relay()
        self._relays.add(relay)

        @Slot(object)
        def done(result: Any) -> None:
            self._relays.discard(relay)
            # A window closed while its task ran: its widgets are gone, drop the answer.
            if on_done is not None and shiboken6.isValid(self):
                on_done(result)

        @Slot(object)
        def failed(exc: BaseException) -> None:
            self._relays.discard(relay)
            if not shiboken6.isValid(self):
                return
            if on_error is not None:
                on_error(exc)
            else:
                raise exc

        relay.sig_done.connect(done)
        relay.sig_failed.connect(failed)
        self._pool.start(_Task(fn, relay))

    @property
    def pending(self) -> int:
        return len(self._relays)

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Wait for every task to finish (shutdown, tests). Callbacks still need the event loop."""
        return self._pool.waitForDone(timeout_ms)
