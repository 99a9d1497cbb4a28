"""EngineGate: one generation at a time on a worker, callers served first come, first served.

The chat window and the API share the loaded model's worker, which runs one generation at a
time. Every caller takes a ticket and waits for its turn (FIFO, so neither side starves the
other). API callers are *bounded*: when ``max_waiting`` of them already wait, the next is
refused at once with :class:`GateBusy` and a retry estimate (the HTTP layer answers 429 with
``Retry-After``). The window's turns are never refused. A waiter whose cancel token fires
leaves the queue. ``on_change`` listeners hear who holds the worker and how many wait (the
window shows "API busy" from it).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gptoss_desktop.core.errors import GptossError

if TYPE_CHECKING:  # the window imports the gate at start-up: keep it light
    from gptoss_desktop.core.harmony.cancel import CancelToken


class GateBusy(GptossError):
    """Too many requests wait for the model; try again after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class GateCancelled(GptossError):
    """The caller gave up (cancelled) while waiting for its turn."""


@dataclass(frozen=True)
class GateState:
    holder: str | None  # "api", "window" or None
    waiting: int
    api_active: bool  # an API request holds or waits for the worker


Listener = Callable[[GateState], None]


class EngineGate:
    def __init__(self, max_waiting: int = 8) -> None:
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, str]] = deque()
        self._tickets = itertools.count(1)
        self._holder: str | None = None
        self._listeners: list[Listener] = []
        self._hold_avg_s = 5.0  # running estimate of how long one turn holds the worker

    # --- state --------------------------------------------------------------------------------
    @property
    def state(self) -> GateState:
        with self._cond:
            return self._state()

    def _state(self) -> GateState:
        api = self._holder == "api" or any(who == "api" for _, who in self._queue)
        return GateState(self._holder, len(self._queue), api)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._cond:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._cond:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _notify(self) -> None:
        state = self.state
        for listener in list(self._listeners):
            listener(state)

    # --- taking a turn --------------------------------------------------------------------------
    @contextmanager
    def turn(
        self, who: str, *, bounded: bool = True, cancel: CancelToken | None = None
    ) -> Iterator[None]:
        """Hold the worker for the ``with`` block; raises GateBusy or GateCancelled."""
        self.acquire(who, bounded=bounded, cancel=cancel)
        started = time.monotonic()
        try:
            yield
        finally:
            self.release(time.monotonic() - started)

    def acquire(self, who: str, *, bounded: bool = True, cancel: CancelToken | None = None) -> None:
        with self._cond:
            waiting_api = sum(1 for _, w in self._queue if w == "api")
            if bounded and waiting_api >= self.max_waiting:
                ahead = len(self._queue) + (1 if self._holder else 0)
                retry = max(1, round(self._hold_avg_s * ahead))
                raise GateBusy(
                    f"{waiting_api} requests are already waiting for the model; "
                    f"try again in {retry} s",
                    retry,
                )
            ticket = next(self._tickets)
            self._queue.append((ticket, who))
        self._notify()
        unsubscribe = cancel.on_cancel(self._wake) if cancel is not None else None
        got = False
        try:
            with self._cond:
                while not (self._holder is None and self._queue[0][0] == ticket):
                    if cancel is not None and cancel.cancelled:
                        break
                    self._cond.wait(0.5)
                else:
                    self._queue.popleft()
                    self._holder = who
                    got = True
        finally:
            if unsubscribe is not None:
                unsubscribe()
            if not got:  # cancelled, or interrupted while waiting: leave no ticket behind
                with self._cond:
                    if (ticket, who) in self._queue:
                        self._queue.remove((ticket, who))
                    self._cond.notify_all()
        self._notify()
        if not got:
            raise GateCancelled("the request was cancelled while it waited for the model")

    def release(self, held_s: float = 0.0) -> None:
        with self._cond:
            self._holder = None
            if held_s > 0:
                self._hold_avg_s = 0.8 * self._hold_avg_s + 0.2 * held_s
            self._cond.notify_all()
        self._notify()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
