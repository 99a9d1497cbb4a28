"""Sidebar operations and settings per chat."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store import ChatSettings, Store
from tests.core.store.support import committed


def test_create_and_list_pinned_first_then_recent(store: Store) -> None:
    a = store.conversations.create("A", created_at=100.0)
    b = store.conversations.create("B", created_at=200.0)
    c = store.conversations.create("C", created_at=300.0)
    assert [x.title for x in store.conversations.list_live()] == ["C", "B", "A"]
    store.conversations.set_pinned(a.id, True)
    assert [x.title for x in store.conversations.list_live()] == ["A", "C", "B"]
    # A new message moves its chat up (among the unpinned).
    store.messages.append(b.id, "user", "hello")
    assert [x.title for x in store.conversations.list_live()] == ["A", "B", "C"]
    assert [x.id for x in store.conversations.list_live(limit=2)] == [a.id, b.id]
    assert c.active_leaf_id is None


def test_rename_cleans_whitespace_and_refuses_empty(store: Store) -> None:
    chat = store.conversations.create()
    assert chat.title == "New chat"
    assert store.conversations.rename(chat.id, "  Trip \n to   Porto ").title == "Trip to Porto"
    with pytest.raises(StoreError, match="cannot be empty"):
        store.conversations.rename(chat.id, "   ")
    assert store.conversations.get(chat.id).title == "Trip to Porto"


def test_rename_does_not_reorder(store: Store) -> None:
    a = store.conversations.create("A", created_at=100.0)
    store.conversations.create("B", created_at=200.0)
    store.conversations.rename(a.id, "A2")
    assert [x.title for x in store.conversations.list_live()] == ["B", "A2"]


def test_delete_is_undoable_until_purged(store: Store, db_path: Path) -> None:
    chat = store.conversations.create("Doomed")
    msg = store.messages.append(chat.id, "user", "remember the aardvark")
    deleted = store.conversations.delete(chat.id)
    assert deleted.deleted_at is not None
    assert store.conversations.list_live() == []
    assert [c.id for c in store.conversations.list_deleted()] == [chat.id]
    assert store.search("aardvark") == []
    restored = store.conversations.restore(chat.id)
    assert restored.deleted_at is None
    assert [c.id for c in store.conversations.list_live()] == [chat.id]
    assert [h.message_id for h in store.search("aardvark")] == [msg.id]
    # Purge only removes what has been in the trash long enough.
    store.conversations.delete(chat.id)
    assert store.conversations.purge_deleted(older_than_s=3600) == 0
    assert store.conversations.purge_deleted() == 1
    with pytest.raises(StoreError, match="does not exist"):
        store.conversations.get(chat.id)
    assert committed(db_path, "SELECT COUNT(*) FROM messages") == [(0,)]
    # The full-text index followed the cascade delete.
    store.db.conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    assert store.db.conn.execute("SELECT COUNT(*) FROM messages_fts").fetchone()[0] == 0


def test_settings_round_trip(store: Store) -> None:
    settings = ChatSettings(
        model="gpt-oss-20b",
        reasoning_effort="low",
        system_prompt="You are terse.",
        instructions="Answer in French.",
        temperature=0.7,
        top_p=0.9,
        max_tokens=512,
        context_length=16384,
        seed=7,
        enabled_tools=("browser", "python"),
        function_tools=(
            {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
        ),
    )
    chat = store.conversations.create("S", settings)
    assert store.conversations.get(chat.id).settings == settings
    changed = dataclasses.replace(settings, temperature=0.0, seed=None)
    assert store.conversations.update_settings(chat.id, changed).settings == changed
    assert ChatSettings.from_dict(changed.to_dict()) == changed


def test_settings_from_newer_app_keep_known_keys() -> None:
    s = ChatSettings.from_dict({"temperature": 0.5, "future_knob": True})
    assert s.temperature == 0.5 and s.reasoning_effort == "medium"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"reasoning_effort": "extreme"}, "reasoning effort"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_p": float("nan")}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"context_length": None}, "context_length"),
        ({"seed": True}, "seed"),
        ({"enabled_tools": ["", "x"]}, "enabled_tools"),
        ({"function_tools": [{"description": "no name"}]}, "function tool"),
        ({"function_tools": "get_weather"}, "must be a list"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(StoreError, match=problem):
        ChatSettings.from_dict(changes)


def test_damaged_settings_blob_still_shows_the_chat(store: Store) -> None:
    chat = store.conversations.create("X")
    with store.db.transaction() as conn:
        conn.execute("UPDATE conversations SET settings = 'not json' WHERE id = ?", (chat.id,))
    assert store.conversations.get(chat.id).settings == ChatSettings()


def test_unknown_chat_is_a_store_error(store: Store) -> None:
    for call in (
        lambda: store.conversations.get(99),
        lambda: store.conversations.rename(99, "x"),
        lambda: store.conversations.delete(99),
        lambda: store.messages.append(99, "user", "x"),
    ):
        with pytest.raises(StoreError, match="Chat 99 does not exist"):
            call()
