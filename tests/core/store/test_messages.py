"""The message tree: threads, Harmony turns, branches, switching and deleting."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store import Message, Store


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


def harmony_turn(store: Store, chat_id: int) -> list[Message]:
    """A user question answered with reasoning, a tool call, its result and a final answer."""
    q = store.messages.append(chat_id, "user", "Weather in Oslo?")
    a = store.messages.append(chat_id, "assistant", "Need the tool.", channel="analysis", model="m")
    call = store.messages.append(
        chat_id, "assistant", '{"city":"Oslo"}', channel="commentary",
        recipient="functions.get_weather", content_type="<|constrain|>json", model="m",
    )  # fmt: skip
    result = store.messages.append(
        chat_id, "tool", '{"celsius":3}', author_name="functions.get_weather",
        channel="commentary", recipient="assistant",
    )  # fmt: skip
    final = store.messages.append(
        chat_id, "assistant", "3 °C in Oslo.", channel="final", model="m",
        metrics={"ttft_s": 0.5, "tokens_per_s": 30.0, "completion_tokens": 12},
    )  # fmt: skip
    return [q, a, call, result, final]


def test_harmony_turn_rows_share_a_turn_id(store: Store) -> None:
    chat = store.conversations.create()
    q, a, call, result, final = harmony_turn(store, chat.id)
    assert q.turn_id != a.turn_id
    assert a.turn_id == call.turn_id == result.turn_id == final.turn_id
    assert [m.id for m in store.messages.turn(final.id)] == [a.id, call.id, result.id, final.id]
    assert store.messages.turn_start(final.id).id == a.id
    assert store.messages.get(call.id).recipient == "functions.get_weather"
    assert store.messages.get(result.id).author_name == "functions.get_weather"
    assert store.messages.get(final.id).metrics == {
        "ttft_s": 0.5,
        "tokens_per_s": 30.0,
        "completion_tokens": 12,
    }
    assert [m.id for m in store.messages.active_path(chat.id)] == [
        q.id,
        a.id,
        call.id,
        result.id,
        final.id,
    ]
    # A follow-up question starts a new turn.
    follow = store.messages.append(chat.id, "user", "And tomorrow?")
    assert follow.turn_id != final.turn_id and follow.parent_id == final.id


def test_edit_and_resend_keeps_the_old_branch(store: Store) -> None:
    chat = store.conversations.create()
    q1 = store.messages.append(chat.id, "user", "first question")
    a1 = store.messages.append(chat.id, "assistant", "first answer", channel="final")
    q2 = store.messages.append(chat.id, "user", "second question")
    a2 = store.messages.append(chat.id, "assistant", "second answer", channel="final")

    edited = store.messages.edit_and_resend(q2.id, "second question, edited")
    assert edited.parent_id == a1.id
    assert contents(store.messages.active_path(chat.id)) == [
        "first question",
        "first answer",
        "second question, edited",
    ]
    reply = store.messages.append(chat.id, "assistant", "answer to the edit", channel="final")
    assert reply.parent_id == edited.id
    assert [m.id for m in store.messages.siblings(edited.id)] == [q2.id, edited.id]

    # Switch back to the first version: its newest leaf (a2) becomes visible again.
    thread = store.messages.switch_to(q2.id)
    assert [m.id for m in thread] == [q1.id, a1.id, q2.id, a2.id]
    assert store.conversations.get(chat.id).active_leaf_id == a2.id
    # And forward again.
    assert store.messages.switch_to(edited.id)[-1].id == reply.id


def test_edit_first_message_creates_a_second_root(store: Store) -> None:
    chat = store.conversations.create()
    q = store.messages.append(chat.id, "user", "hi")
    store.messages.append(chat.id, "assistant", "hello")
    other = store.messages.edit_and_resend(q.id, "hey")
    assert other.parent_id is None
    assert [m.id for m in store.messages.siblings(q.id)] == [q.id, other.id]
    assert contents(store.messages.active_path(chat.id)) == ["hey"]


def test_regenerate_adds_a_sibling_of_the_whole_turn(store: Store) -> None:
    chat = store.conversations.create()
    q, a, _call, _result, final = harmony_turn(store, chat.id)
    new = store.messages.regenerate(final.id, model="other-model")
    assert new.parent_id == q.id
    assert new.status == "streaming" and new.content == "" and new.model == "other-model"
    assert new.turn_id != final.turn_id
    assert [m.id for m in store.messages.siblings(new.id)] == [a.id, new.id]
    assert [m.id for m in store.messages.active_path(chat.id)] == [q.id, new.id]
    with pytest.raises(StoreError, match="only an answer can be regenerated"):
        store.messages.regenerate(q.id)


def test_newest_leaf_follows_the_latest_activity(store: Store) -> None:
    chat = store.conversations.create()
    q = store.messages.append(chat.id, "user", "q")
    a1 = store.messages.append(chat.id, "assistant", "a1")
    a2 = store.messages.regenerate(a1.id)
    # Continue on branch 1 after branch 2 was made: q's newest leaf is now on branch 1.
    store.messages.switch_to(a1.id)
    deeper = store.messages.append(chat.id, "user", "more")
    assert store.messages.newest_leaf(q.id).id == deeper.id
    assert store.messages.newest_leaf(a2.id).id == a2.id


def test_delete_message_keeps_replies(store: Store) -> None:
    chat = store.conversations.create()
    q1 = store.messages.append(chat.id, "user", "one")
    a1 = store.messages.append(chat.id, "assistant", "two")
    q2 = store.messages.append(chat.id, "user", "three")
    store.messages.delete(a1.id)
    assert contents(store.messages.active_path(chat.id)) == ["one", "three"]
    assert store.messages.get(q2.id).parent_id == q1.id
    # Deleting the active leaf makes its parent active.
    store.messages.delete(q2.id)
    assert store.conversations.get(chat.id).active_leaf_id == q1.id
    store.messages.delete(q1.id)
    assert store.messages.active_path(chat.id) == []
    with pytest.raises(StoreError, match="does not exist"):
        store.messages.get(q1.id)


def test_delete_root_active_leaf_falls_back_to_newest(store: Store) -> None:
    chat = store.conversations.create()
    first = store.messages.append(chat.id, "user", "first")
    second = store.messages.edit_and_resend(first.id, "second")
    store.messages.delete(second.id)
    assert store.conversations.get(chat.id).active_leaf_id == first.id


def test_update_and_append_text(store: Store) -> None:
    chat = store.conversations.create()
    m = store.messages.append(chat.id, "assistant", "Hel", status="streaming")
    store.messages.append_text(m.id, "lo")
    updated = store.messages.update(
        m.id, status="error", error="worker crashed", metrics={"ttft_s": 1}
    )
    assert (updated.content, updated.status, updated.error) == ("Hello", "error", "worker crashed")
    assert updated.metrics == {"ttft_s": 1}
    assert updated.updated_at >= m.updated_at


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"role": "robot"}, "role"),
        ({"role": "assistant", "channel": "secret"}, "channel"),
        ({"role": "assistant", "status": "done"}, "status"),
        ({"role": "assistant", "metrics": {"bad": float("nan")}}, "not plain JSON"),
        ({"role": "assistant", "metrics": {"obj": object()}}, "not plain JSON"),
    ],
)
def test_bad_message_fields_are_refused(
    store: Store, kwargs: dict[str, object], problem: str
) -> None:
    chat = store.conversations.create()
    with pytest.raises(StoreError, match=problem):
        store.messages.append(chat.id, **kwargs)  # type: ignore[arg-type]
    assert store.messages.all(chat.id) == []


def test_parent_from_another_chat_is_refused(store: Store) -> None:
    a = store.conversations.create("a")
    b = store.conversations.create("b")
    m = store.messages.append(a.id, "user", "x")
    with pytest.raises(StoreError, match="another chat"):
        store.messages.add(b.id, "assistant", "y", parent_id=m.id)
    with pytest.raises(StoreError, match="another chat"):
        store.messages.set_active_leaf(b.id, m.id)


def test_recover_interrupted_marks_only_streaming(store: Store) -> None:
    chat = store.conversations.create()
    done = store.messages.append(chat.id, "user", "q")
    left = store.messages.append(chat.id, "assistant", "partial", status="streaming")
    assert store.messages.recover_interrupted() == 1
    assert store.messages.get(left.id).status == "interrupted"
    assert store.messages.get(done.id).status == "complete"
