"""Chat export to Markdown and JSON, and JSON import."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store import ChatSettings, Store
from gptoss_desktop.core.store.export import (
    conversation_json_text,
    export_conversation_json,
    export_conversation_markdown,
    fence,
    import_conversation_json,
)


@pytest.fixture
def chat_id(store: Store) -> int:
    """A chat with a Harmony tool turn, an interrupted answer and an edited branch."""
    settings = ChatSettings(
        model="gpt-oss-20b", reasoning_effort="high", system_prompt="Be kind.",
        enabled_tools=("functions",), function_tools=({"name": "get_weather"},),
    )  # fmt: skip
    chat = store.conversations.create("Weather", settings)
    store.conversations.set_pinned(chat.id, True)
    m = store.messages
    q = m.append(chat.id, "user", "Weather in Oslo? Use `get_weather`.")
    m.append(
        chat.id,
        "assistant",
        "I should call the tool </details> now.",
        channel="analysis",
        model="gpt-oss-20b",
    )
    m.append(
        chat.id, "assistant", '{"city":"Oslo","note":"```"}', channel="commentary",
        recipient="functions.get_weather", content_type="<|constrain|>json", model="gpt-oss-20b",
    )  # fmt: skip
    m.append(
        chat.id, "tool", '{"celsius":3}', author_name="functions.get_weather", channel="commentary"
    )
    m.append(
        chat.id, "assistant", "It is **3 °C** in Oslo.", channel="final", model="gpt-oss-20b",
        metrics={"ttft_s": 0.42, "tokens_per_s": 55.25, "completion_tokens": 17, "stop_reason": "stop_token"},
    )  # fmt: skip
    m.append(chat.id, "user", "And in Bergen?")
    m.append(
        chat.id,
        "assistant",
        "Rain, proba",
        channel="final",
        status="interrupted",
        model="gpt-oss-20b",
    )
    # An older branch: the first question edited and answered differently.
    m.edit_and_resend(q.id, "Weather in Oslo today?")
    m.append(chat.id, "assistant", "Cold.", channel="final")
    m.switch_to(q.id)  # show the original branch again
    return chat.id


def test_markdown_is_readable_and_collapses_reasoning(store: Store, chat_id: int) -> None:
    md = export_conversation_markdown(store, chat_id)
    assert md.startswith("# Weather\n")
    assert "- Model: gpt-oss-20b · reasoning effort high" in md
    assert "<details>\n<summary>System prompt</summary>\n\nBe kind.\n\n</details>" in md
    assert "### User\n\nWeather in Oslo? Use `get_weather`." in md
    assert "### Assistant · gpt-oss-20b" in md
    # Reasoning is folded; a "</details>" inside it cannot close the block early.
    assert "<summary>Reasoning</summary>\n\nI should call the tool &lt;/details> now." in md
    assert "**Tool call** → `functions.get_weather`\n\n````json\n" in md  # fence longer than ```
    assert "**Tool result** from `functions.get_weather`" in md
    assert "It is **3 °C** in Oslo." in md
    assert "*first token 0.42 s · 55.2 tokens/s · 17 tokens*" in md
    assert "Rain, proba\n\n*(interrupted: the app stopped while this was being written)*" in md
    # Only the visible branch is in the Markdown.
    assert "Cold." not in md and "Oslo today" not in md
    # Rows of one turn share one heading: user, assistant, user, assistant.
    assert md.count("### ") == 4


def test_json_round_trip_equals_in_content(store: Store, chat_id: int) -> None:
    exported = export_conversation_json(store, chat_id)
    text = json.dumps(exported)  # plain JSON
    new = import_conversation_json(store, text)
    assert new.id != chat_id
    again = export_conversation_json(store, new.id)
    exported.pop("exported_at")
    again.pop("exported_at")
    assert again == exported
    # And field by field on the records, ignoring database ids.
    old_chat, new_chat = store.conversations.get(chat_id), store.conversations.get(new.id)
    assert (
        dataclasses.replace(new_chat, id=old_chat.id, active_leaf_id=old_chat.active_leaf_id)
        == old_chat
    )
    old_path = store.messages.active_path(chat_id)
    new_path = store.messages.active_path(new.id)
    strip = ("id", "conversation_id", "parent_id")
    assert [
        {k: v for k, v in dataclasses.asdict(x).items() if k not in strip} for x in new_path
    ] == [{k: v for k, v in dataclasses.asdict(x).items() if k not in strip} for x in old_path]
    assert len(store.messages.all(new.id)) == len(store.messages.all(chat_id)) == 9
    # Turns of the copy stay inside the copy although turn ids were kept.
    final_row = next(m for m in new_path if m.channel == "final" and m.model)
    assert {m.conversation_id for m in store.messages.turn(final_row.id)} == {new.id}
    assert len(store.messages.turn(final_row.id)) == 4
    # The branches came along: the edited first question is a sibling again.
    assert [s.content for s in store.messages.siblings(new_path[0].id)] == [
        "Weather in Oslo? Use `get_weather`.",
        "Weather in Oslo today?",
    ]


def test_json_is_versioned(store: Store, chat_id: int) -> None:
    data = json.loads(conversation_json_text(store, chat_id))
    assert data["format"] == "gptoss-desktop/conversation" and data["version"] == 1
    assert data["conversation"]["settings"]["function_tools"] == [{"name": "get_weather"}]


def test_streaming_message_imports_as_interrupted(store: Store) -> None:
    chat = store.conversations.create("live")
    store.messages.append(chat.id, "assistant", "half", status="streaming")
    new = import_conversation_json(store, export_conversation_json(store, chat.id))
    assert [m.status for m in store.messages.all(new.id)] == ["interrupted"]


def _mutations() -> list[tuple[str, object]]:
    return [
        ("format", "something/else"),
        ("version", 99),
        ("version", None),
        ("messages", "nope"),
        ("messages.0.role", "wizard"),
        ("messages.0.channel", "side"),
        ("messages.0.status", "weird"),
        ("messages.0.content", 5),
        ("messages.0.metrics", [1]),
        ("messages.0.created_at", "yesterday"),
        ("messages.0.key", "k"),
        ("messages.1.parent", 99),
        ("messages.1.key", 0),
        ("messages.0.parent", 1),  # a message answering one that comes after it (a cycle)
        ("conversation.active_leaf", 42),
        ("conversation.title", ""),
        ("conversation.settings", {"temperature": "hot"}),
    ]


@pytest.mark.parametrize(("where", "value"), _mutations())
def test_bad_files_are_refused_without_writing(
    store: Store, chat_id: int, where: str, value: object
) -> None:
    data = copy.deepcopy(export_conversation_json(store, chat_id))
    *path, last = where.split(".")
    target: object = data
    for part in path:
        target = target[int(part)] if isinstance(target, list) else target[part]  # type: ignore[index]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value  # type: ignore[index]
    before = len(store.conversations.list_live())
    with pytest.raises(StoreError):
        import_conversation_json(store, data)
    assert len(store.conversations.list_live()) == before


def test_not_json_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="not JSON"):
        import_conversation_json(store, "{nope")
    with pytest.raises(StoreError, match="newer gptoss-desktop"):
        import_conversation_json(
            store,
            {
                "format": "gptoss-desktop/conversation",
                "version": 2,
                "conversation": {},
                "messages": [],
            },
        )


def test_fence_outgrows_backticks_inside() -> None:
    assert fence("a ``` b", "json") == "````json\na ``` b\n````"
    assert fence("plain") == "```\nplain\n```"
