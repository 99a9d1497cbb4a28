"""After a turn the chat window extends the thread it shows instead of reading it again:
``continue_thread`` must give exactly what ``load_thread`` reads from the database, for every
way a turn starts (send, regenerate, edit, answer the last message), and fall back when it
cannot know."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gptoss_desktop.core.chat.events import PartDelta, PartEnd, PartStart, TurnResult
from gptoss_desktop.core.chat.recorder import TurnRecorder
from gptoss_desktop.core.chat.thread import ThreadSnapshot, continue_thread, load_thread
from gptoss_desktop.core.store import Store
from gptoss_desktop.core.store.records import Message


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "chat.sqlite3")
    yield s
    s.close()


def answer(store: Store, chat_id: int, parent_id: int, text: str, *, tool: bool = False):
    """Save one answer the way the chat window does: reasoning, maybe a tool call and its
    result, then the final text, through the turn recorder."""
    recorder = TurnRecorder(store, chat_id, parent_id, model_label="m")
    recorder(PartStart("analysis"))
    recorder(PartDelta("thinking about " + text))
    recorder(PartEnd())
    if tool:
        recorder(PartStart("commentary", recipient="functions.lookup"))
        recorder(PartDelta('{"q": 1}'))
        recorder(PartEnd())
        recorder(PartStart("commentary", role="tool", author="functions.lookup"))
        recorder(PartDelta("42"))
        recorder(PartEnd())
    recorder(PartStart("final"))
    recorder(PartDelta(text))
    recorder(PartEnd())
    recorder.finish(TurnResult("stop", {"tokens": 3}, context_used=99), cancelled=False)
    return recorder.rows


def send(store: Store, shown: ThreadSnapshot | None, chat_id: int, text: str, **kw: bool):
    parent = store.messages.active_path(chat_id)[-1].id
    user = store.messages.append(chat_id, "user", text)
    assert user.parent_id == parent
    rows = [user, *answer(store, chat_id, user.id, "re: " + text, **kw)]
    return continue_thread(store, shown, chat_id, rows)


def test_every_way_a_turn_starts_gives_what_the_database_holds(store: Store) -> None:
    chat = store.conversations.create("t")
    first = store.messages.append(chat.id, "user", "hello")
    rows = [first, *answer(store, chat.id, first.id, "hi")]
    # A new chat: nothing shown yet, so the thread is read.
    shown = continue_thread(store, None, chat.id, rows)
    assert shown == load_thread(store, chat.id)

    # Send: the turns shown, then the new ones.
    shown = send(store, shown, chat.id, "weather?", tool=True)
    assert shown == load_thread(store, chat.id)
    shown = send(store, shown, chat.id, "thanks")
    assert shown == load_thread(store, chat.id) and len(shown.turns) == 6

    # Regenerate the middle answer: the turns after it go, the new version has two versions.
    user_turn = shown.turns[2]
    shown = continue_thread(
        store, shown, chat.id, answer(store, chat.id, user_turn.first.id, "again", tool=True)
    )
    assert shown == load_thread(store, chat.id)
    assert len(shown.turns) == 4 and len(shown.turns[3].versions) == 2
    assert shown.turns[3].version_index == 1

    # Edit the first message: a sibling of it, answered.
    edited = store.messages.edit_and_resend(shown.turns[0].first.id, "hello again")
    shown = continue_thread(
        store, shown, chat.id, [edited, *answer(store, chat.id, edited.id, "hi again")]
    )
    assert shown == load_thread(store, chat.id)
    assert [t.role for t in shown.turns] == ["user", "assistant"]
    assert shown.turns[0].versions == (first.id, edited.id)

    # Answer the last message (written before the model was loaded).
    waiting = store.messages.append(chat.id, "user", "are you there?")
    shown = continue_thread(store, load_thread(store, chat.id), chat.id, [])
    shown = continue_thread(store, shown, chat.id, answer(store, chat.id, waiting.id, "yes"))
    assert shown == load_thread(store, chat.id)
    assert shown.context_used == 99 and shown.turns[-1].answer == "yes"


def test_a_cancelled_turn_with_an_empty_row_matches_too(store: Store) -> None:
    chat = store.conversations.create("t")
    user = store.messages.append(chat.id, "user", "hello")
    shown = load_thread(store, chat.id)
    recorder = TurnRecorder(store, chat.id, user.id)
    recorder(PartStart("analysis"))
    recorder(PartDelta("half a thought"))
    recorder.finish(None, cancelled=True)
    after = continue_thread(store, shown, chat.id, recorder.rows)
    assert after == load_thread(store, chat.id)
    assert after.turns[-1].status == "cancelled"


def test_what_it_cannot_know_is_read_from_the_database(store: Store) -> None:
    chat = store.conversations.create("t")
    other = store.conversations.create("other")
    user = store.messages.append(chat.id, "user", "hello")
    rows = answer(store, chat.id, user.id, "hi")
    expected = load_thread(store, chat.id)
    # another chat shown, nothing saved, or a parent that is not on the shown path
    other_shown = load_thread(store, other.id)
    assert continue_thread(store, other_shown, chat.id, rows) == expected
    assert continue_thread(store, expected, chat.id, []) == expected
    stray: list[Message] = [store.messages.append(other.id, "user", "elsewhere")]
    assert continue_thread(store, other_shown, other.id, stray) == load_thread(store, other.id)
    empty = ThreadSnapshot(store.conversations.get(chat.id), ())
    assert continue_thread(store, empty, chat.id, rows) == expected
