"""The visible thread of a chat, grouped into turns, with its branch switchers.

A user message is one turn; an assistant turn is the rows sharing one ``turn_id``
(reasoning, tool calls, the answer). Each turn knows its versions (siblings of its first
row) so the view can show "‹ 2/3 ›" and switch. Built on a worker thread. The grouping
rule is the store's (:func:`~gptoss_desktop.core.store.tree.group_turns`), shared with export.

After a turn the thread is not read again: :func:`continue_thread` puts the rows the turn
saved after the turns already shown (one query for the chat, one per new turn for its
versions), where :func:`load_thread` reads the whole path and every turn's versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptoss_desktop.core.store.records import Conversation, Message
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.store.tree import group_turns

__all__ = [
    "DisplayTurn",
    "ThreadSnapshot",
    "continue_thread",
    "delete_turn",
    "group_turns",
    "load_thread",
    "switch_version",
]


@dataclass(frozen=True)
class DisplayTurn:
    role: str  # "user" or "assistant" (tool rows join the assistant turn)
    rows: tuple[Message, ...]
    #: Ids of the first rows of every version of this turn, oldest first.
    versions: tuple[int, ...] = ()

    @property
    def first(self) -> Message:
        return self.rows[0]

    @property
    def version_index(self) -> int:
        try:
            return self.versions.index(self.first.id)
        except ValueError:
            return 0

    @property
    def answer(self) -> str:
        return "".join(m.content for m in self.rows if m.channel in (None, "final"))

    @property
    def reasoning(self) -> str:
        return "".join(m.content for m in self.rows if m.channel == "analysis")

    @property
    def metrics(self) -> dict[str, object]:
        for m in reversed(self.rows):
            if m.metrics:
                return dict(m.metrics)
        return {}

    @property
    def status(self) -> str:
        """The worst status of the turn's rows (interrupted beats cancelled beats complete)."""
        order = ("error", "interrupted", "streaming", "cancelled", "complete")
        return min((m.status for m in self.rows), key=order.index, default="complete")


@dataclass(frozen=True)
class ThreadSnapshot:
    conversation: Conversation
    turns: tuple[DisplayTurn, ...]

    @property
    def messages(self) -> list[Message]:
        return [m for t in self.turns for m in t.rows]

    @property
    def context_used(self) -> int:
        """Tokens in context after the last answer (0 when unknown)."""
        for turn in reversed(self.turns):
            used = turn.metrics.get("context_used")
            if isinstance(used, int):
                return used
        return 0


def load_thread(store: Store, conversation_id: int) -> ThreadSnapshot:
    """The chat and its visible thread (database work: call off the main thread)."""
    conversation = store.conversations.get(conversation_id)
    thread = store.messages.active_path(conversation_id)
    return ThreadSnapshot(conversation, tuple(_turns(store, thread)))


def _turns(store: Store, rows: Sequence[Message]) -> list[DisplayTurn]:
    """``rows`` grouped into turns, each with its versions (one store query per turn)."""
    turns = []
    for group in group_turns(rows):
        versions = tuple(m.id for m in store.messages.siblings(group[0].id))
        role = "user" if group[0].role == "user" else "assistant"
        turns.append(DisplayTurn(role, tuple(group), versions))
    return turns


def continue_thread(
    store: Store, shown: ThreadSnapshot | None, conversation_id: int, rows: Sequence[Message]
) -> ThreadSnapshot:
    """The thread after a turn that saved ``rows`` (the user's message if it added one, then
    the answer's rows, in order): the turns of ``shown`` up to the message the rows answer,
    then the rows as new turns. The same snapshot :func:`load_thread` would read; it falls
    back to that when ``shown`` is another chat, the rows are empty, or their parent is not
    on the shown path."""
    if shown is None or shown.conversation.id != conversation_id or not rows:
        return load_thread(store, conversation_id)
    parent = rows[0].parent_id
    kept: list[DisplayTurn] = []
    for turn in shown.turns:
        kept.append(turn)
        if turn.rows[-1].id == parent:
            break
    else:
        return load_thread(store, conversation_id)
    conversation = store.conversations.get(conversation_id)
    return ThreadSnapshot(conversation, (*kept, *_turns(store, rows)))


def switch_version(store: Store, turn: DisplayTurn, step: int) -> ThreadSnapshot:
    """Show the previous (-1) or next (+1) version of ``turn``; return the new thread."""
    versions = turn.versions or (turn.first.id,)
    index = max(0, min(len(versions) - 1, turn.version_index + step))
    store.messages.switch_to(versions[index])
    return load_thread(store, turn.first.conversation_id)


def delete_turn(store: Store, turn: DisplayTurn) -> ThreadSnapshot:
    for m in reversed(turn.rows):
        store.messages.delete(m.id)
    return load_thread(store, turn.first.conversation_id)
