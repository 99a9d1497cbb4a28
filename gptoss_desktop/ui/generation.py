"""One chat turn running on its own thread, saved as it streams, shown in batches.

The job's thread does the database work of the turn (adding the user's message, an edit,
the lookups of a regenerate), runs the turn runner, and writes each assistant message with
a :class:`StreamingWriter` (committed at least every ``SAVE_INTERVAL_S``, so a kill -9
loses at most that). What the view needs goes into a :class:`StreamBuffer`; the main
thread drains it on a timer, at most about 60 times a second, and never waits on the job.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal

from gptoss_desktop.core.store.messages import new_turn_id
from gptoss_desktop.core.store.records import Channel, ChatSettings, Message
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.store.streaming import StreamingWriter
from gptoss_desktop.ui.turns import PartDelta, PartEnd, PartStart, TurnEvent, TurnResult, TurnRunner

SAVE_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Prepared:
    """What a job's ``prepare`` returns: the thread to answer and the message to answer under."""

    conversation_id: int
    history: Sequence[Message]
    parent_id: int
    #: Rows created by prepare that the view should learn about (the user's message).
    created: tuple[Message, ...] = ()


@dataclass
class JobOutcome:
    conversation_id: int | None = None
    result: TurnResult | None = None
    error: BaseException | None = None
    rows: list[Message] = field(default_factory=list)
    cancelled: bool = False


def channel_of(name: str) -> Channel | None:
    """A stored channel; a channel the model made up is kept as None (shown as text)."""
    for known in ("analysis", "commentary", "final"):
        if name == known:
            return known
    return None


class StreamBuffer:
    """Thread-safe hand-over of view updates from the job thread to the main thread.

    Items: ``("created", Message)``, ``("start", Message)``, ``("delta", message_id, text)``,
    ``("end", message_id, status)``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[Any, ...]] = []

    def push(self, item: tuple[Any, ...]) -> None:
        with self._lock:
            self._items.append(item)

    def drain(self) -> list[tuple[Any, ...]]:
        with self._lock:
            items, self._items = self._items, []
        return coalesce(items)


def coalesce(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Merge consecutive deltas of the same message into one (one view append per flush)."""
    out: list[tuple[Any, ...]] = []
    for item in items:
        if item[0] == "delta" and out and out[-1][0] == "delta" and out[-1][1] == item[1]:
            out[-1] = ("delta", item[1], out[-1][2] + item[2])
        else:
            out.append(item)
    return out


class GenerationJob(QObject):
    """Runs ``prepare`` then one turn on a thread; ``sig_finished(JobOutcome)`` on the main thread."""

    sig_finished = Signal(object)

    def __init__(
        self,
        store: Store,
        runner: TurnRunner,
        settings: ChatSettings,
        prepare: Callable[[], Prepared],
        *,
        model_label: str | None = None,
        save_interval_s: float = SAVE_INTERVAL_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.runner = runner
        self.settings = settings
        self.buffer = StreamBuffer()
        self.outcome = JobOutcome()
        self._prepare = prepare
        self._model_label = model_label
        self._interval = save_interval_s
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chat-turn", daemon=True)
        self._writer: StreamingWriter | None = None
        self._last: Message | None = None

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()
        self.runner.cancel()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- the job thread --------------------------------------------------------------------
    def _run(self) -> None:
        outcome = self.outcome
        try:
            prepared = self._prepare()
            outcome.conversation_id = prepared.conversation_id
            for row in prepared.created:
                self.buffer.push(("created", row))
            self._turn_id = new_turn_id()
            self._parent_id = prepared.parent_id
            if self._cancel.is_set():
                outcome.cancelled = True
            else:
                outcome.result = self.runner.run(prepared.history, self.settings, self._on_event)
                outcome.cancelled = (
                    self._cancel.is_set() or outcome.result.stop_reason == "cancelled"
                )
            self._close_writer("cancelled" if outcome.cancelled else "complete")
            if self._last is not None and outcome.result is not None:
                metrics = dict(outcome.result.metrics)
                metrics["context_used"] = outcome.result.context_used
                self._last = self.store.messages.update(self._last.id, metrics=metrics)
                outcome.rows[-1] = self._last
        except BaseException as exc:  # shown by the window as a banner, never as chat text
            outcome.error = exc
            # The row keeps what was saved; a second failure here must not hide the first.
            with contextlib.suppress(BaseException):
                self._close_writer("error", error=str(exc) or type(exc).__name__)
        finally:
            self.sig_finished.emit(outcome)

    def _on_event(self, event: TurnEvent) -> None:
        if isinstance(event, PartStart):
            self._close_writer("complete")
            parent = self._last.id if self._last is not None else self._parent_id
            assert self.outcome.conversation_id is not None
            row = self.store.messages.add(
                self.outcome.conversation_id,
                "tool" if event.role == "tool" else "assistant",
                "",
                parent_id=parent,
                turn_id=self._turn_id,
                author_name=event.author,
                channel=channel_of(event.channel),
                recipient=event.recipient,
                status="streaming",
                model=self._model_label,
            )
            self._last = row
            self.outcome.rows.append(row)
            self._writer = StreamingWriter(self.store, row.id, interval_s=self._interval)
            self.buffer.push(("start", row))
        elif isinstance(event, PartDelta):
            if self._writer is None:  # text before any header: open an answer for it
                self._on_event(PartStart("final"))
            assert self._writer is not None
            self._writer.append(event.text)
            self.buffer.push(("delta", self._writer.message_id, event.text))
        elif isinstance(event, PartEnd):
            self._close_writer("cancelled" if self._cancel.is_set() else "complete")

    def _close_writer(self, status: Any, *, error: str | None = None) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        row = writer.finish(status, error=error)
        self._last = row
        if self.outcome.rows and self.outcome.rows[-1].id == row.id:
            self.outcome.rows[-1] = row
        self.buffer.push(("end", row.id, status))
