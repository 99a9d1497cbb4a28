"""Every case of the Harmony conformance kit, byte for byte: render and parse."""

from __future__ import annotations

from typing import Any

import pytest

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony.codec import message_from_dict, message_to_dict
from gptoss_desktop.core.harmony.conversation import DropPolicy
from gptoss_desktop.core.harmony.model import Role
from gptoss_desktop.core.harmony.parse import ContentDelta, MessageEnd, StreamParser, parse_text
from gptoss_desktop.core.harmony.render import (
    conversation_segments,
    message_segments,
    segments_text,
    segments_tokens,
)
from gptoss_desktop.core.harmony.vocab import ByteVocabulary
from tests.core.harmony import kit

RENDER_KINDS = (
    "render_conversation",
    "render_conversation_for_completion",
    "render_conversation_for_training",
    "render_message",
)


def render_case(case: dict[str, Any]):
    msgs = kit.messages(case)
    if case["kind"] == "render_message":
        assert len(msgs) == 1
        opts = case["render_options"] or {}
        return message_segments(
            msgs[0], has_function_tools=opts.get("conversation_has_function_tools", False)
        )
    policy = DropPolicy.REFERENCE if case["config"]["auto_drop_analysis"] else DropPolicy.KEEP
    role = case.get("next_turn_role")
    return conversation_segments(
        msgs,
        drop_policy=policy,
        next_turn_role=Role(role) if role else None,
        for_training=case["kind"] == "render_conversation_for_training",
    )


@pytest.mark.parametrize("case", kit.cases(*RENDER_KINDS))
def test_render_case(case: dict[str, Any]) -> None:
    text = segments_text(render_case(case))
    suffix = case.get("strip_suffix")
    if suffix:
        assert text.endswith(suffix)
        text = text[: -len(suffix)]
    assert text.encode("utf-8") == kit.expected_text(case).encode("utf-8")


@pytest.mark.parametrize("case", kit.cases(*RENDER_KINDS))
def test_render_case_tokens_match_text(case: dict[str, Any]) -> None:
    """The token rendering is the text rendering with specials by id (byte vocabulary)."""
    vocab = ByteVocabulary()
    segments = render_case(case)
    ids = segments_tokens(segments, vocab)
    decoded = b"".join(vocab.token_bytes(i) for i in ids).decode("utf-8")
    assert decoded == segments_text(segments)
    # and the specials came out as single ids, never as their bytes
    assert ids == vocab.encode_with_specials(segments_text(segments))


@pytest.mark.parametrize("case", kit.cases("parse_completion", "stream_parse"))
def test_parse_case(case: dict[str, Any]) -> None:
    text = kit.input_text(case)
    role = Role(case["role"]) if case["role"] else None
    eos = case["kind"] == "parse_completion"
    assert case["eos"] == eos
    if case["expected_messages"] is None:
        with pytest.raises(HarmonyError) as info:
            parse_text(text, role, strict=case["strict"], eos=eos)
        assert case["expected_error"] in str(info.value)
        return
    got = parse_text(text, role, strict=case["strict"], eos=eos)
    assert [message_to_dict(m) for m in got] == case["expected_messages"]


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in kit.cases("stream_parse")
        if c.values[0] is None or c.values[0]["expected_messages"]
    ],
)
def test_stream_deltas_concatenate_to_content(case: dict[str, Any]) -> None:
    vocab = ByteVocabulary()
    role = Role(case["role"]) if case["role"] else None
    parser = StreamParser(vocab, role, strict=case["strict"])
    per_message: list[str] = [""]
    for token_id in vocab.encode_with_specials(kit.input_text(case)):
        for event in parser.feed(token_id):
            if isinstance(event, ContentDelta):
                assert "\ufffd" not in event.text
                per_message[-1] += event.text
            elif isinstance(event, MessageEnd):
                per_message.append("")
    expected = [m["content"][0]["text"] for m in case["expected_messages"]]
    assert per_message[:-1] == expected


def test_kit_has_43_cases_and_codec_round_trips() -> None:
    data = kit.kit_or_skip()
    assert len(data["cases"]) == 43
    for case in data["cases"]:
        for m in case.get("messages") or []:
            assert message_to_dict(message_from_dict(m)) == m
