"""A turn saved as it streams: what the chat window's generation job stores.

:class:`TurnRecorder` takes a turn's events (:mod:`.events`) on the turn's thread and writes
each part as a message row with a :class:`StreamingWriter` (committed at least every
``interval_s``, so a kill -9 loses at most that), under the message it answers and sharing one
``turn_id``. Every change goes to ``on_update`` as a typed row update (:data:`RowUpdate`):
:class:`RowStarted` (the new row), :class:`RowDelta` (text added to a row), :class:`RowEnded`
(its final status). Front ends show them (the chat window hands them to its GUI thread).
The turn's events (:mod:`.events`) say what the model did; these say what was saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gptoss_desktop.core.chat.events import PartDelta, PartEnd, PartStart, TurnEvent, TurnResult
from gptoss_desktop.core.store.records import Channel, Message, MessageStatus
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.store.streaming import StreamingWriter
from gptoss_desktop.core.store.tree import new_turn_id

SAVE_INTERVAL_S = 0.5


@dataclass(frozen=True)
class RowCreated:
    """A row the turn added before the model ran (the user's message): already complete."""

    message: Message


@dataclass(frozen=True)
class RowStarted:
    """A part of the answer got its row (status ``streaming``, empty so far)."""

    message: Message


@dataclass(frozen=True)
class RowDelta:
    message_id: int
    text: str


@dataclass(frozen=True)
class RowEnded:
    message_id: int
    status: MessageStatus


RowUpdate = RowCreated | RowStarted | RowDelta | RowEnded


def coalesce(updates: list[RowUpdate]) -> list[RowUpdate]:
    """Merge consecutive deltas of the same row into one (one view append per batch)."""
    out: list[RowUpdate] = []
    for update in updates:
        last = out[-1] if out else None
        if (
            isinstance(update, RowDelta)
            and isinstance(last, RowDelta)
            and last.message_id == update.message_id
        ):
            out[-1] = RowDelta(update.message_id, last.text + update.text)
        else:
            out.append(update)
    return out


def channel_of(name: str) -> Channel | None:
    """A stored channel; a channel the model made up is kept as None (shown as text)."""
    for known in ("analysis", "commentary", "final"):
        if name == known:
            return known
    return None


class TurnRecorder:
    """Stores one turn's parts under ``parent_id`` of chat ``conversation_id``."""

    def __init__(
        self,
        store: Store,
        conversation_id: int,
        parent_id: int,
        *,
        model_label: str | None = None,
        on_update: Callable[[RowUpdate], None] = lambda update: None,
        cancelled: Callable[[], bool] = lambda: False,
        interval_s: float = SAVE_INTERVAL_S,
    ) -> None:
        self.store = store
        self.conversation_id = conversation_id
        self.turn_id = new_turn_id()
        self._parent_id = parent_id
        self._model_label = model_label
        self._on_update = on_update
        self._cancelled = cancelled
        self._interval = interval_s
        self._writer: StreamingWriter | None = None
        self._last: Message | None = None
        #: Every row of the turn, as last saved.
        self.rows: list[Message] = []

    def __call__(self, event: TurnEvent) -> None:
        if isinstance(event, PartStart):
            self.close_part("complete")
            parent = self._last.id if self._last is not None else self._parent_id
            row = self.store.messages.add(
                self.conversation_id,
                "tool" if event.role == "tool" else "assistant",
                "",
                parent_id=parent,
                turn_id=self.turn_id,
                author_name=event.author,
                channel=channel_of(event.channel),
                recipient=event.recipient,
                status="streaming",
                model=self._model_label,
            )
            self._last = row
            self.rows.append(row)
            self._writer = StreamingWriter(self.store, row.id, interval_s=self._interval)
            self._on_update(RowStarted(row))
        elif isinstance(event, PartDelta):
            if self._writer is None:  # text before any header: open an answer for it
                self(PartStart("final"))
            assert self._writer is not None
            self._writer.append(event.text)
            self._on_update(RowDelta(self._writer.message_id, event.text))
        elif isinstance(event, PartEnd):
            self.close_part("cancelled" if self._cancelled() else "complete")

    def close_part(self, status: MessageStatus, *, error: str | None = None) -> None:
        """End the part being written (if any) with ``status``."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        row = writer.finish(status, error=error)
        self._last = row
        if self.rows and self.rows[-1].id == row.id:
            self.rows[-1] = row
        self._on_update(RowEnded(row.id, status))

    def finish(self, result: TurnResult | None, *, cancelled: bool) -> None:
        """The turn ended: close its last part and keep the turn's metrics on its last row."""
        self.close_part("cancelled" if cancelled else "complete")
        if self._last is not None and result is not None:
            metrics = dict(result.metrics)
            metrics["context_used"] = result.context_used
            self._last = self.store.messages.update(self._last.id, metrics=metrics)
            self.rows[-1] = self._last

    def fail(self, error: str) -> None:
        """The turn failed: the row being written keeps what was saved, marked as an error."""
        self.close_part("error", error=error)
