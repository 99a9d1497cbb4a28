"""One chat turn running on its own thread, saved as it streams, shown in batches.

The job's thread does the database work of the turn (adding the user's message, an edit,
the lookups of a regenerate), runs the turn runner, and saves each part with the core's
:class:`~gptoss_desktop.core.chat.recorder.TurnRecorder`. What the view needs goes into a
:class:`StreamBuffer`; the main thread drains it on a timer, at most about 60 times a second,
and never waits on the job.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from gptoss_desktop.core.api.gate import EngineGate, GateCancelled
from gptoss_desktop.core.chat.recorder import (
    SAVE_INTERVAL_S,
    RowCreated,
    TurnRecorder,
    channel_of,
    coalesce,
)
from gptoss_desktop.core.store.records import ChatSettings, Message
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.ui.inbox import GuiInbox

if TYPE_CHECKING:  # the runners are imported when a model loads, not at start-up
    from gptoss_desktop.core.chat.events import TurnResult
    from gptoss_desktop.core.chat.turns import TurnRunner

FLUSH_MS = 16  # at most ~60 view updates a second

__all__ = ["SAVE_INTERVAL_S", "GenerationJob", "JobOutcome", "Prepared", "StreamBuffer",
           "channel_of"]  # fmt: skip


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
    #: The rows ``prepare`` added (the user's message), then the answer's rows as saved.
    created: tuple[Message, ...] = ()
    rows: list[Message] = field(default_factory=list)
    cancelled: bool = False


class StreamBuffer(GuiInbox):
    """The turn's row updates (:data:`~gptoss_desktop.core.chat.recorder.RowUpdate`) from the
    job thread to the main thread (a :class:`GuiInbox`; deltas of one row coalesced)."""

    def __init__(
        self,
        deliver: Callable[[list[Any]], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(FLUSH_MS, deliver, merge=coalesce, parent=parent)


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
        gate: EngineGate | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.runner = runner
        self.settings = settings
        self.buffer = StreamBuffer(parent=self)
        self.outcome = JobOutcome()
        self._prepare = prepare
        self._model_label = model_label
        self._interval = save_interval_s
        self._cancel = threading.Event()
        #: the model's turn queue, shared with the local API (one generation at a time)
        self._gate = gate
        self._gate_cancel: Any = None  # a CancelToken while the job waits for the model
        self._thread = threading.Thread(target=self._run, name="chat-turn", daemon=True)
        self._recorder: TurnRecorder | None = None

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()
        if self._gate_cancel is not None:
            self._gate_cancel.cancel()
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
        recorder = None
        try:
            prepared = self._prepare()
            outcome.conversation_id = prepared.conversation_id
            outcome.created = prepared.created
            for row in prepared.created:
                self.buffer.push(RowCreated(row))
            recorder = self._recorder = TurnRecorder(
                self.store,
                prepared.conversation_id,
                prepared.parent_id,
                model_label=self._model_label,
                on_update=self.buffer.push,
                cancelled=self._cancel.is_set,
                interval_s=self._interval,
            )
            outcome.rows = recorder.rows
            if self._cancel.is_set():
                outcome.cancelled = True
            else:
                outcome.result = self._run_turn(prepared, recorder)
                outcome.cancelled = (
                    self._cancel.is_set()
                    or outcome.result is None
                    or outcome.result.stop_reason == "cancelled"
                )
            recorder.finish(outcome.result, cancelled=outcome.cancelled)
        except BaseException as exc:  # shown by the window as a banner, never as chat text
            outcome.error = exc
            # The row keeps what was saved; a second failure here must not hide the first.
            if recorder is not None:
                with contextlib.suppress(BaseException):
                    recorder.fail(str(exc) or type(exc).__name__)
        finally:
            self.sig_finished.emit(outcome)

    def _run_turn(self, prepared: Prepared, recorder: TurnRecorder) -> TurnResult | None:
        """Run the turn when the model is free (the local API may be using it)."""
        if self._gate is None:
            return self.runner.run(prepared.history, self.settings, recorder)
        from gptoss_desktop.core.harmony.cancel import CancelToken

        self._gate_cancel = cancel = CancelToken()
        if self._cancel.is_set():  # cancelled before the token existed
            cancel.cancel()
        try:
            with self._gate.turn("window", bounded=False, cancel=cancel):
                return self.runner.run(prepared.history, self.settings, recorder)
        except GateCancelled:
            return None
