"""core/chat's one session rule: model kind, instructions, identity, dates, turn grouping."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from gptoss_desktop.core.chat.kind import model_kind, speaks_harmony
from gptoss_desktop.core.chat.session import (
    NO_DATE,
    SessionSettings,
    developer_content,
    history_message,
    start_date,
    system_content,
    template_system,
)
from gptoss_desktop.core.harmony.model import Message as HMessage
from gptoss_desktop.core.harmony.render import render_conversation_text
from gptoss_desktop.core.library.gguf_info import HARMONY_TOKENS
from gptoss_desktop.core.store.records import ChatSettings, Message
from gptoss_desktop.core.store.tree import group_turns

DEFAULT_IDENTITY = "You are ChatGPT, a large language model trained by OpenAI."


def special(*texts: str) -> dict[str, object]:
    return {"by_text": {t: i for i, t in enumerate(texts)}}


def test_harmony_needs_all_six_tokens_the_same_rule_as_the_gguf_check() -> None:
    assert speaks_harmony(special(*HARMONY_TOKENS))
    for missing in HARMONY_TOKENS:  # the two old detectors each accepted one of these
        assert not speaks_harmony(special(*(t for t in HARMONY_TOKENS if t != missing)))
    assert model_kind(special(*HARMONY_TOKENS), None) == "harmony"
    assert model_kind(special("<|start|>"), "{{ messages }}") == "template"
    assert model_kind({}, "  ") == "completion"


def rendered(settings: SessionSettings, date: str | None = "2026-12-06") -> str:
    messages = [HMessage.system(system_content(settings, date))]
    developer = developer_content(settings)
    if developer is not None:
        messages.append(HMessage.developer(developer))
    return render_conversation_text(messages)


def test_instructions_go_to_the_developer_message_and_the_identity_stays() -> None:
    text = rendered(SessionSettings(instructions="Be brief.", reasoning_effort="low"))
    assert DEFAULT_IDENTITY in text
    assert "Reasoning: low" in text and "Current date: 2026-12-06" in text
    assert "<|start|>developer<|message|># Instructions\n\nBe brief.<|end|>" in text


def test_an_identity_set_on_purpose_replaces_the_default() -> None:
    text = rendered(SessionSettings(model_identity="You are Ada, a ship's computer."))
    assert "<|start|>system<|message|>You are Ada, a ship's computer." in text
    assert DEFAULT_IDENTITY not in text
    assert "<|start|>developer" not in text  # no instructions, no developer message


def test_an_imported_chats_system_prompt_becomes_the_first_instructions() -> None:
    chat = ChatSettings(system_prompt="You are a pirate.", instructions="Answer in French.")
    settings = SessionSettings.from_chat(chat)
    text = rendered(settings)
    assert DEFAULT_IDENTITY in text  # it no longer replaces the identity
    assert "# Instructions\n\nYou are a pirate.\n\nAnswer in French.<|end|>" in text
    # Template models get the same text as their one system message.
    assert template_system(settings) == "You are a pirate.\n\nAnswer in French."
    # An identity chosen in the chat's settings goes to the system message.
    chosen = SessionSettings.from_chat(ChatSettings(model_identity="You are Ada."))
    assert "<|message|>You are Ada." in rendered(chosen)


def test_the_date_is_the_chats_first_day_today_for_a_new_chat() -> None:
    today = dt.date.today().isoformat()
    assert start_date(SessionSettings()) == today
    first = time.mktime((2025, 3, 14, 12, 0, 0, 0, 0, -1))
    assert start_date(SessionSettings(), first) == "2025-03-14"
    assert start_date(SessionSettings(date="2024-01-02"), first) == "2024-01-02"
    assert start_date(SessionSettings(date=NO_DATE), first) is None
    assert "Current date" not in rendered(SessionSettings(date=NO_DATE), None)


def row(id_: int, role: str, turn: str) -> Message:
    return Message(id_, 1, id_ - 1 or None, turn, role, f"m{id_}")  # type: ignore[arg-type]


def test_one_turn_grouping_rule_for_the_view_and_export() -> None:
    rows = [
        row(1, "user", "a"),
        row(2, "assistant", "b"),
        row(3, "tool", "b"),
        row(4, "assistant", "b"),
        row(5, "user", "b"),  # a user row sharing the turn id still starts its own turn
        row(6, "assistant", "c"),
    ]
    assert [[m.id for m in g] for g in group_turns(rows)] == [[1], [2, 3, 4], [5], [6]]


def test_history_message_makes_an_unsaved_row() -> None:
    m = history_message("assistant", "Hi", channel="final")
    assert (m.id, m.role, m.channel, m.content) == (0, "assistant", "final", "Hi")
    with pytest.raises(ValueError):
        system_content(SessionSettings(reasoning_effort="extreme"), None)
