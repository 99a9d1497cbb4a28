"""What happens when the user sends, stops, regenerates, edits, switches or deletes.

The controller owns the shown chat and the turn in progress. Database work and generation
run off the main thread (a :class:`GenerationJob`, :class:`BackgroundTasks`); a 16 ms timer
moves streamed text from the job's buffer into the view while a turn runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from gptoss_desktop.core.chat.thread import (
    DisplayTurn,
    ThreadSnapshot,
    continue_thread,
    delete_turn,
    group_turns,
    load_thread,
    switch_version,
)
from gptoss_desktop.core.errors import ContextOverflow, GptossError
from gptoss_desktop.core.store.records import ChatSettings, Conversation, Message
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.ui.chat_view import ChatView
from gptoss_desktop.ui.engine_manager import EngineManager
from gptoss_desktop.ui.generation import GenerationJob, JobOutcome, Prepared
from gptoss_desktop.ui.workers import BackgroundTasks

TITLE_WORDS = 8


def title_from(text: str) -> str:
    words = text.split()
    title = " ".join(words[:TITLE_WORDS])
    return (title[:60] + "…") if len(title) > 60 or len(words) > TITLE_WORDS else title


def drop_turns(history: Sequence[Message], skip: int) -> list[Message]:
    """The history without its first ``skip`` turns (the "drop oldest turns" choice)."""
    groups = group_turns(history)
    return [m for g in groups[skip:] for m in g] if skip else list(history)


class ChatController(QObject):
    sig_busy = Signal(bool)
    sig_conversation = Signal(object)  # Conversation | None: the shown chat changed
    sig_error = Signal(object)  # an exception for the banner
    sig_context = Signal(int, int)  # used, n_ctx
    sig_context_full = Signal(object)  # ContextOverflow: ask the user what to do
    sig_chats_changed = Signal()
    sig_turn_finished = Signal(object)  # JobOutcome

    def __init__(
        self,
        store: Store,
        engines: EngineManager,
        tasks: BackgroundTasks,
        view: ChatView,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.engines = engines
        self.tasks = tasks
        self.view = view
        self.conversation: Conversation | None = None
        self.snapshot: ThreadSnapshot | None = None
        self.settings = ChatSettings()
        self.job: GenerationJob | None = None
        self.dropped_turns: dict[int, int] = {}
        view.sig_regenerate.connect(self.regenerate)
        view.sig_edit.connect(self.edit)
        view.sig_switch.connect(self.switch)
        view.sig_delete.connect(self.delete)

    @property
    def busy(self) -> bool:
        return self.job is not None

    # --- chats ---------------------------------------------------------------------------------
    def new_chat(self, settings: ChatSettings | None = None) -> None:
        if self.busy:
            return
        self.conversation = None
        self.snapshot = None
        self.settings = settings or ChatSettings(model=self.settings.model)
        self.view.show_thread(None)
        self.sig_conversation.emit(None)
        self._emit_context(0)

    def open(self, chat_id: int, then: Callable[[], None] | None = None) -> None:
        if self.busy:
            return
        store = self.store

        def done(snapshot: ThreadSnapshot) -> None:
            self._show(snapshot)
            if then is not None:
                then()

        self.tasks.submit(lambda: load_thread(store, chat_id), done, self.sig_error.emit)

    def open_message(self, chat_id: int, message_id: int) -> None:
        """Open a chat on the branch that holds ``message_id`` (a search result)."""
        store = self.store

        def work() -> ThreadSnapshot:
            store.messages.switch_to(message_id)
            return load_thread(store, chat_id)

        if not self.busy:
            self.tasks.submit(work, self._show, self.sig_error.emit)

    def _show(self, snapshot: ThreadSnapshot) -> None:
        self.snapshot = snapshot
        self.conversation = snapshot.conversation
        self.settings = snapshot.conversation.settings
        self.view.show_thread(snapshot)
        self.sig_conversation.emit(snapshot.conversation)
        self._emit_context(snapshot.context_used)

    def update_settings(self, settings: ChatSettings) -> None:
        self.settings = settings
        chat = self.conversation
        if chat is not None:
            store = self.store
            self.tasks.submit(
                lambda: store.conversations.update_settings(chat.id, settings),
                None,
                self.sig_error.emit,
            )

    # --- turns ---------------------------------------------------------------------------------
    def send(self, text: str) -> bool:
        """Send ``text`` as the user's message and stream the answer; False if not possible."""
        if self.busy or not text.strip() or not self._model_ready():
            return False
        chat_id = self.conversation.id if self.conversation else None
        settings, store = self.settings, self.store
        skip = self.dropped_turns.get(chat_id or -1, 0)

        def prepare() -> Prepared:
            cid = chat_id
            if cid is None:
                cid = store.conversations.create(title_from(text), settings).id
            user = store.messages.append(cid, "user", text)
            history = drop_turns(store.messages.path_to(user.id), skip)
            return Prepared(cid, history, user.id, (user,))

        self.view.add_user(text)
        self._start(prepare)
        return True

    def regenerate(self, turn: DisplayTurn) -> None:
        if self.busy or not self._model_ready() or turn.first.parent_id is None:
            return
        store, parent_id, chat_id = self.store, turn.first.parent_id, turn.first.conversation_id
        skip = self.dropped_turns.get(chat_id, 0)

        def prepare() -> Prepared:
            return Prepared(chat_id, drop_turns(store.messages.path_to(parent_id), skip), parent_id)

        self.view.truncate_at(turn)
        self._start(prepare)

    def edit(self, turn: DisplayTurn, text: str) -> None:
        """Edit a user message and send it again; the earlier version stays as a branch."""
        if self.busy or not self._model_ready():
            return
        store, message_id, chat_id = self.store, turn.first.id, turn.first.conversation_id
        skip = self.dropped_turns.get(chat_id, 0)

        def prepare() -> Prepared:
            user = store.messages.edit_and_resend(message_id, text)
            history = drop_turns(store.messages.path_to(user.id), skip)
            return Prepared(chat_id, history, user.id, (user,))

        self.view.truncate_at(turn)
        self.view.add_user(text)
        self._start(prepare)

    def answer_last(self) -> bool:
        """Answer the shown thread's last message if it is the user's (after a context choice)."""
        chat = self.conversation
        if self.busy or chat is None or not self._model_ready():
            return False
        store, skip = self.store, self.dropped_turns.get(chat.id, 0)

        def prepare() -> Prepared:
            thread = store.messages.active_path(chat.id)
            if not thread or thread[-1].role != "user":
                raise GptossError("There is no unanswered message in this chat: write one.")
            return Prepared(chat.id, drop_turns(thread, skip), thread[-1].id)

        self._start(prepare)
        return True

    def continue_in_new_chat(self, keep_turns: int = 3) -> None:
        """A new chat with the same settings holding the latest turns (answers only), then open it."""
        chat = self.conversation
        if self.busy or chat is None:
            return
        store = self.store

        def work() -> ThreadSnapshot:
            thread = store.messages.active_path(chat.id)
            groups = group_turns(thread)[-keep_turns:]
            new = store.conversations.create(f"{chat.title} (continued)", chat.settings)
            for g in groups:
                for m in g:
                    if m.role == "user" or m.channel in (None, "final"):
                        store.messages.append(
                            new.id, m.role, m.content, channel=m.channel, model=m.model
                        )
            return load_thread(store, new.id)

        def done(snapshot: ThreadSnapshot) -> None:
            self._show(snapshot)
            self.sig_chats_changed.emit()

        self.tasks.submit(work, done, self.sig_error.emit)

    def switch(self, turn: DisplayTurn, step: int) -> None:
        if not self.busy:
            store = self.store
            self.tasks.submit(
                lambda: switch_version(store, turn, step), self._show, self.sig_error.emit
            )

    def delete(self, turn: DisplayTurn) -> None:
        if not self.busy:
            store = self.store
            self.tasks.submit(lambda: delete_turn(store, turn), self._show, self.sig_error.emit)

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def drop_oldest_turns(self, count: int = 2) -> None:
        """Leave the oldest turns out of what the model sees (shown, kept, not sent)."""
        if self.conversation is not None:
            cid = self.conversation.id
            self.dropped_turns[cid] = self.dropped_turns.get(cid, 0) + count

    # --- the job ---------------------------------------------------------------------------------
    def _model_ready(self) -> bool:
        if self.engines.current is None:
            self.sig_error.emit(GptossError("No model is loaded: pick one above and press Load."))
            return False
        return True

    def _start(self, prepare: Callable[[], Prepared]) -> None:
        model = self.engines.current
        assert model is not None
        # Parented here so that Qt, on this thread, deletes it (and its inbox), never the
        # job's own thread dropping the last Python reference.
        job = GenerationJob(
            self.store,
            model.runner,
            self.settings,
            prepare,
            model_label=model.label,
            gate=self.engines.gate,
            parent=self,
        )
        job.sig_finished.connect(self._on_finished)
        job.buffer.deliver = self.view.apply  # at most ~60 view updates a second
        self.job = job
        self.view.begin_assistant(model.label)
        self.sig_busy.emit(True)
        job.start()

    def flush(self) -> None:
        """Move streamed text from the job to the view now (its inbox does this by itself)."""
        if self.job is not None:
            self.job.buffer.flush()

    def _on_finished(self, outcome: JobOutcome) -> None:
        self.flush()
        if self.job is not None:
            self.job.deleteLater()
        self.job = None
        widget = self.view.current
        error = outcome.error
        if widget is not None:
            if not widget.parts and error is not None:
                widget.setParent(None)
                widget.deleteLater()
                self.view.current = None
            else:
                status = "error" if error else ("cancelled" if outcome.cancelled else "complete")
                metrics = outcome.result.metrics if outcome.result else {}
                widget.finish(status, metrics, str(error) if error else None)
        if isinstance(error, ContextOverflow):
            self.sig_context_full.emit(error)
        elif error is not None:
            self.sig_error.emit(error)
        if outcome.result is not None:
            used = outcome.result.context_used
            QTimer.singleShot(0, self, lambda: self._emit_context(used))  # its own turn of the loop
        self.sig_busy.emit(False)
        if outcome.conversation_id is not None:
            store, cid, shown = self.store, outcome.conversation_id, self.snapshot
            rows = [*outcome.created, *outcome.rows]
            self.tasks.submit(
                lambda: continue_thread(store, shown, cid, rows),
                lambda s: self._synced(s, outcome),
                self.sig_error.emit,
            )
        else:
            self.sig_turn_finished.emit(outcome)

    def _synced(self, snapshot: ThreadSnapshot, outcome: JobOutcome) -> None:
        new_chat = self.conversation is None or self.conversation.id != snapshot.conversation.id
        self.snapshot = snapshot
        self.conversation = snapshot.conversation
        self.view.sync(snapshot)
        if new_chat:
            self.sig_conversation.emit(snapshot.conversation)
        QTimer.singleShot(0, self, self.sig_chats_changed.emit)
        self.sig_turn_finished.emit(outcome)

    def _emit_context(self, used: int) -> None:
        model = self.engines.current
        self.sig_context.emit(used, model.info.n_ctx if model else 0)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop the turn in progress and wait for its thread (closing the window)."""
        job = self.job
        if job is None:
            return True
        job.cancel()
        return job.join(timeout)
