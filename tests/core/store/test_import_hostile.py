"""Issue #17 item 8: hostile chat/comparison imports are refused and write nothing.

Evidence is the database itself: the row counts of every table are the same before and
after each refused import. A normal export still imports, and a Harmony prompt can still be
rendered for the imported chat (a time like 1e300 used to import, then break every turn).
"""

from __future__ import annotations

import copy
import json
import sys
import time

import pytest

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.compare_export import (
    export_comparison_json,
    import_comparison_json,
)
from gptoss_desktop.core.store.export import export_conversation_json, import_conversation_json
from gptoss_desktop.core.store.records import ChatSettings, ColumnSpec

TABLES = ("conversations", "messages", "comparisons", "comparison_columns", "votes")


def _counts(store) -> dict[str, int]:
    return {t: store.db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def chat_export(store):
    chat = store.conversations.create("Trip", ChatSettings(model="gpt-oss-20b"))
    u = store.messages.append(chat.id, "user", "Where to?")
    store.messages.append(chat.id, "assistant", "Lisbon.", channel="final")
    assert u.id
    return export_conversation_json(store, chat.id)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _hostile_chats(good: dict) -> list[tuple[str, object]]:
    cases: list[tuple[str, object]] = []

    def variant(name: str, change) -> None:
        d = copy.deepcopy(good)
        change(d)
        cases.append((name, d))

    variant("parent is a list", lambda d: d["messages"][1].update(parent=[0]))
    variant("parent is a dict", lambda d: d["messages"][1].update(parent={"a": 0}))
    variant("parent is a bool", lambda d: d["messages"][1].update(parent=True))
    variant("key is a list", lambda d: d["messages"][0].update(key=[0]))
    variant("active_leaf is a list", lambda d: d["conversation"].update(active_leaf=[1]))
    variant("active_leaf is a dict", lambda d: d["conversation"].update(active_leaf={"k": 1}))
    variant("created_at 1e300", lambda d: d["conversation"].update(created_at=1e300))
    variant("message created_at 1e300", lambda d: d["messages"][0].update(created_at=1e300))
    variant("updated_at negative", lambda d: d["messages"][0].update(updated_at=-1e18))
    variant(
        "context_length huge", lambda d: d["conversation"]["settings"].update(context_length=10**12)
    )
    variant("max_tokens huge", lambda d: d["conversation"]["settings"].update(max_tokens=2**40))
    variant("settings a list", lambda d: d["conversation"].update(settings=[1, 2]))
    variant("role a list", lambda d: d["messages"][0].update(role=["user"]))
    variant("channel a dict", lambda d: d["messages"][1].update(channel={"x": 1}))
    variant("pinned a dict", lambda d: d["conversation"].update(pinned={"x": 1}))
    variant("title a list", lambda d: d["conversation"].update(title=["x"]))
    variant("turn_id huge", lambda d: d["messages"][0].update(turn_id="t" * 10_000))
    text = json.dumps(good)
    deep = text.replace('"metrics": null', f'"metrics": {{"x": {_deep(100_000)}}}', 1)
    assert deep != text
    cases.append(("nesting depth 100,000 in metrics (text)", deep))
    cases.append(("nesting depth 100,000 (whole file)", _deep(100_000)))
    cases.append(("infinite number", text.replace('"version": 1', '"version": 1, "x": 1e999')))
    return cases


def test_each_hostile_chat_import_is_refused_and_writes_nothing(store, chat_export):
    for name, data in _hostile_chats(chat_export):
        before = _counts(store)
        with pytest.raises(StoreError, match="not a valid gptoss-desktop chat export") as err:
            import_conversation_json(store, data)
        assert _counts(store) == before, name
        assert "\n" not in str(err.value), name


def test_deep_nesting_in_an_already_parsed_dict_is_refused(store, chat_export):
    deep: list = []
    inner = deep
    for _ in range(sys.getrecursionlimit() * 2):
        inner.append([])
        inner = inner[0]
    chat_export["messages"][0]["metrics"] = {"deep": deep}
    before = _counts(store)
    with pytest.raises(StoreError, match="nests deeper than 32 levels"):
        import_conversation_json(store, chat_export)
    assert _counts(store) == before


def test_a_normal_export_still_imports_and_renders_a_harmony_prompt(store, chat_export):
    from gptoss_desktop.core.chat.session import (
        SessionSettings,
        first_message_at,
        harmony_message,
        start_date,
        system_content,
    )
    from gptoss_desktop.core.harmony import Message as HMessage
    from gptoss_desktop.core.harmony.render import render_conversation_text

    before = _counts(store)
    new = import_conversation_json(store, json.dumps(chat_export))
    assert _counts(store)["conversations"] == before["conversations"] + 1
    history = store.messages.active_path(new.id)
    assert [m.content for m in history] == ["Where to?", "Lisbon."]
    rules = SessionSettings.from_chat(new.settings)
    date = start_date(rules, first_message_at(history))
    assert date == time.strftime("%Y-%m-%d", time.localtime(history[0].created_at))
    msgs = [HMessage.system(system_content(rules, date))]
    msgs += [h for m in history if (h := harmony_message(m)) is not None]
    msgs.append(HMessage.user("And then?"))
    text = render_conversation_text(msgs)
    assert f"Current date: {date}" in text and "And then?" in text


def test_hostile_comparison_imports_are_refused_and_write_nothing(store):
    comp = store.comparisons.create("hi", [ColumnSpec("a"), ColumnSpec("b")])
    good = export_comparison_json(store, comp.id)
    cases = []
    for change in (
        lambda d: d["comparison"].update(created_at=1e300),
        lambda d: d["columns"][0].update(position=[0]),
        lambda d: d["columns"][0].update(updated_at=float("1e308") * 10),
    ):
        d = copy.deepcopy(good)
        change(d)
        cases.append(d)
    cases.append(_deep(100_000))
    for data in cases:
        before = _counts(store)
        with pytest.raises(StoreError, match="not a valid gptoss-desktop comparison export"):
            import_comparison_json(store, data)
        assert _counts(store) == before
    import_comparison_json(store, json.dumps(good))
