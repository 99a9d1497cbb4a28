"""Full-text search: results, snippets, and no FTS syntax error for anything a user types."""

from __future__ import annotations

import random

import pytest

from gptoss_desktop.core.store import Store
from gptoss_desktop.core.store.search import fts_query


@pytest.fixture
def filled(store: Store) -> Store:
    trip = store.conversations.create("Trip to Porto")
    store.messages.append(trip.id, "user", "Which café in Porto serves the best pastel de nata?")
    store.messages.append(
        trip.id, "assistant", "Manteigaria is famous for its custard tarts.", channel="final"
    )
    code = store.conversations.create("Python help")
    store.messages.append(code.id, "user", 'How do I parse "quoted" CSV fields in Python?')
    store.messages.append(
        code.id, "assistant", "Use the csv module; it handles quoting.", channel="final"
    )
    store.messages.append(
        code.id, "assistant", "The user asks about csv parsing.", channel="analysis"
    )
    return store


def test_finds_messages_with_snippet_and_chat(filled: Store) -> None:
    hits = filled.search("custard")
    assert len(hits) == 1
    hit = hits[0]
    assert hit.conversation_title == "Trip to Porto"
    assert hit.role == "assistant" and hit.channel == "final"
    assert "[custard]" in hit.snippet


def test_title_hits_come_first(filled: Store) -> None:
    hits = filled.search("porto")
    assert hits[0].message_id is None and hits[0].snippet == "Trip to [Porto]"
    assert [h.message_id is None for h in hits] == [True, False]


def test_all_words_must_match_as_prefixes(filled: Store) -> None:
    assert {h.conversation_title for h in filled.search("csv pyth")} == {"Python help"}
    assert filled.search("csv porto") == []
    # Prefix search while typing.
    assert len(filled.search("manteig")) == 1


def test_diacritics_and_case_are_ignored(filled: Store) -> None:
    assert len(filled.search("CAFE")) == 1
    assert len(filled.search("café")) == 1


def test_reasoning_is_searchable_too(filled: Store) -> None:
    hits = filled.search("parsing")
    assert [(h.role, h.channel) for h in hits] == [("assistant", "analysis")]


def test_custom_markers(filled: Store) -> None:
    hit = filled.search("custard", mark=("<b>", "</b>"))[0]
    assert "<b>custard</b>" in hit.snippet


def test_edits_and_deletes_update_the_index(store: Store) -> None:
    chat = store.conversations.create("c")
    m = store.messages.append(chat.id, "assistant", "alpha", status="streaming")
    store.messages.append_text(m.id, " beta")
    assert [h.message_id for h in store.search("beta")] == [m.id]
    store.messages.update(m.id, content="gamma")
    assert store.search("alpha") == [] and len(store.search("gamma")) == 1
    store.conversations.rename(chat.id, "renamed delta")
    assert store.search("delta")[0].message_id is None
    store.messages.delete(m.id)
    assert store.search("gamma") == []
    conn = store.db.conn
    conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    conn.execute("INSERT INTO conversations_fts(conversations_fts) VALUES ('integrity-check')")


@pytest.mark.parametrize(
    "text",
    [
        '"', '""', "'", "*", "NEAR(", "a OR", "AND", "NOT x", "^start", "col:value", "(", ")",
        "{a b}", "a + b", "-x", "\x00", "\\", "😀", "a*b", '"unterminated', "::", "  ", "",
        "csv AND NOT", "\"csv\" OR", "c#", "1.5e3", "e.g.", "NEAR(a b, 3)",
    ],
)  # fmt: skip
def test_fts_syntax_never_leaks(filled: Store, text: str) -> None:
    filled.search(text)  # must not raise


def test_random_input_never_raises(filled: Store) -> None:
    rng = random.Random(1234)
    alphabet = "abcxyz AOR NEAR NOT \" ( ) * : ^ + - { } , . ' \\ \t\n é 😀 \x00 ■"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        filled.search(text)


def test_operators_are_searched_as_words(store: Store) -> None:
    chat = store.conversations.create("c")
    m = store.messages.append(chat.id, "user", "cats AND dogs NOT birds")
    store.messages.append(chat.id, "user", "cats only")
    assert [h.message_id for h in store.search("AND dogs")] == [m.id]
    assert [h.message_id for h in store.search('"dogs')] == [m.id]


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('say "hi" now') == '"say"* """hi"""* "now"*'
    assert fts_query("*** ---") is None
    assert fts_query("") is None
