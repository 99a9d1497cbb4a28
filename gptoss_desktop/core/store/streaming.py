"""Saving streamed text as it arrives, so a crash or kill -9 loses at most the last second.

Text appended to a writer is buffered in memory and committed at most once per
``interval_s`` (1 s): the first append is committed at once, later ones when the interval
since the last commit has passed. A timer commits buffered text even when the stream
stalls (a slow prompt, a paused tool call), so nothing waits longer than the interval.
``finish()`` commits the rest together with the final status and metrics.

A write that fails on the timer thread is kept and raised by the next ``append``,
``flush`` or ``finish`` on the writer, never dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.records import ColumnStatus, Message, MessageStatus

if TYPE_CHECKING:
    from gptoss_desktop.core.store.store import Store

FLUSH_INTERVAL_S = 1.0


class ThrottledBuffer:
    """Collects text per stream name and hands it to ``write`` at most once per interval."""

    def __init__(
        self,
        write: Callable[[dict[str, str]], None],
        *,
        interval_s: float = FLUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._interval = float(interval_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, list[str]] = {}
        self._last_write = float("-inf")
        self._timer: threading.Timer | None = None
        self._closed = False
        self._failure: BaseException | None = None
        self.writes = 0

    def add(self, stream: str, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._raise_if_unusable()
            self._pending.setdefault(stream, []).append(text)
            now = self._clock()
            due = self._last_write + self._interval
            if now >= due:
                self._write_locked(now)
            elif self._timer is None:
                self._start_timer(due - now)

    @property
    def closed(self) -> bool:
        return self._closed

    def flush(self) -> None:
        with self._lock:
            self._raise_if_unusable()
            if self._pending:
                self._write_locked(self._clock())

    def close(self, final_write: Callable[[dict[str, str]], None]) -> None:
        """Stop the timer and hand whatever is still buffered to ``final_write`` (once)."""
        with self._lock:
            if self._closed:
                raise StoreError("This stream was already finished: start a new one.")
            self._cancel_timer()
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise StoreError(
                    f"Saving streamed text failed earlier: {failure}", details=repr(failure)
                ) from failure
            pending = self._take()
            final_write(pending)
            self._closed = True

    # --- inside the lock ---------------------------------------------------------------------
    def _raise_if_unusable(self) -> None:
        if self._closed:
            raise StoreError("This stream was already finished: start a new one.")
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise StoreError(
                f"Saving streamed text failed: {failure}", details=repr(failure)
            ) from failure

    def _take(self) -> dict[str, str]:
        return {name: "".join(parts) for name, parts in self._pending.items()}

    def _write_locked(self, now: float) -> None:
        self._write(self._take())  # on failure the text stays pending and is retried
        self._pending.clear()
        self._last_write = now
        self.writes += 1

    def _start_timer(self, delay: float) -> None:
        timer = threading.Timer(max(delay, 0.0), self._on_timer)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed or self._failure is not None or not self._pending:
                return
            now = self._clock()
            due = self._last_write + self._interval
            if now < due:  # an append wrote in the meantime: wait for the next slot
                self._start_timer(due - now)
                return
            try:
                self._write_locked(now)
            except BaseException as exc:  # kept, raised by the next call on this writer
                self._failure = exc


class _FinishOnExit:
    """``with writer:`` finishes the stream: complete on a clean exit, error otherwise."""

    _buffer: ThrottledBuffer

    def finish(self, status: Any = ..., *, error: str | None = None) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._buffer.closed:
            return
        if exc is None:
            self.finish()
        else:
            self.finish("error", error=str(exc) or type(exc).__name__)


class StreamingWriter(_FinishOnExit):
    """Streams text into one chat message. Use as a context manager or call ``finish``.

    ``StreamingWriter(store, message_id)`` sets the message to ``streaming``. Leaving the
    ``with`` block by an exception finishes it with status ``error``. ``append`` may be
    called from any one thread; the timer commits from its own thread (the store is
    thread-safe).
    """

    def __init__(
        self, store: Store, message_id: int, *, interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self._store = store
        self.message_id = message_id
        store.messages.update(message_id, status="streaming")
        self._buffer = ThrottledBuffer(self._write, interval_s=interval_s)

    def append(self, text: str) -> None:
        self._buffer.add("content", text)

    def flush(self) -> None:
        self._buffer.flush()

    def finish(
        self,
        status: MessageStatus = "complete",
        *,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> Message:
        if status == "streaming":
            raise StoreError("finish() needs a final status, not 'streaming'.")

        def final(pending: dict[str, str]) -> None:
            with self._store.db.transaction():
                self._write(pending)
                self._store.messages.update(
                    self.message_id, status=status, metrics=metrics, error=error
                )

        self._buffer.close(final)
        return self._store.messages.get(self.message_id)

    def _write(self, pending: dict[str, str]) -> None:
        text = pending.get("content", "")
        if text:
            self._store.messages.append_text(self.message_id, text)


class ColumnStreamingWriter(_FinishOnExit):
    """Streams output and reasoning into one compare column (same rules as StreamingWriter)."""

    def __init__(
        self, store: Store, column_id: int, *, interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self._store = store
        self.column_id = column_id
        store.comparisons.update_column(column_id, status="streaming")
        self._buffer = ThrottledBuffer(self._write, interval_s=interval_s)

    def append_output(self, text: str) -> None:
        self._buffer.add("output", text)

    def append_reasoning(self, text: str) -> None:
        self._buffer.add("reasoning", text)

    def flush(self) -> None:
        self._buffer.flush()

    def finish(
        self,
        status: ColumnStatus = "done",
        *,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        if status in ("pending", "streaming"):
            raise StoreError(f"finish() needs a final status, not {status!r}.")

        def final(pending: dict[str, str]) -> None:
            with self._store.db.transaction():
                self._write(pending)
                self._store.comparisons.update_column(
                    self.column_id, status=status, metrics=metrics, error=error
                )

        self._buffer.close(final)

    def _write(self, pending: dict[str, str]) -> None:
        if pending.get("output") or pending.get("reasoning"):
            self._store.comparisons.append_column_text(
                self.column_id,
                output=pending.get("output", ""),
                reasoning=pending.get("reasoning", ""),
            )
