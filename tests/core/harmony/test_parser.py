"""The streaming parser at the token level: UTF-8 across tokens, malformed output, events."""

from __future__ import annotations

import pytest

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony.model import Author, Role
from gptoss_desktop.core.harmony.parse import (
    ContentDelta,
    MessageEnd,
    MessageStart,
    StreamParser,
    parse_text,
    parse_tokens,
)
from gptoss_desktop.core.harmony.vocab import ByteVocabulary

V = ByteVocabulary()


def ids(text: str) -> list[int]:
    return V.encode_with_specials(text)


def run(text: str, role: Role | None = Role.ASSISTANT, **kw: object) -> tuple[StreamParser, list]:
    parser = StreamParser(V, role, **kw)  # type: ignore[arg-type]
    events = parser.feed_many(ids(text))
    events += parser.finish()
    return parser, events


def test_events_in_order_with_header_fields_and_stop_tokens() -> None:
    text = (
        "<|channel|>analysis<|message|>think<|end|>"
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json"
        '<|message|>{"location": "Tokyo"}<|call|>'
    )
    parser, events = run(text)
    starts = [e for e in events if isinstance(e, MessageStart)]
    ends = [e for e in events if isinstance(e, MessageEnd)]
    assert starts == [
        MessageStart(Author(Role.ASSISTANT), "analysis", None, None),
        MessageStart(
            Author(Role.ASSISTANT), "commentary", "functions.get_weather", "<|constrain|>json"
        ),
    ]
    assert [e.stop_token for e in ends] == ["<|end|>", "<|call|>"]
    assert [e.malformed for e in ends] == [(), ()]
    assert ends[1].message.text == '{"location": "Tokyo"}'
    assert ends[1].raw.startswith("<|start|>assistant to=functions.get_weather<|channel|>")
    assert ends[1].raw.endswith("<|call|>")
    # the message token spans cover the whole input exactly
    assert [t for e in ends for t in e.tokens] == ids(text)
    assert parser.raw_text == text


def test_return_token_is_reported() -> None:
    _, events = run("<|channel|>final<|message|>Paris.<|return|>")
    end = events[-1]
    assert isinstance(end, MessageEnd) and end.stop_token == "<|return|>"
    assert end.message.channel == "final" and end.message.text == "Paris."


@pytest.mark.parametrize("split", [1, 2, 3])
def test_utf8_split_across_tokens_is_never_shown_broken(split: int) -> None:
    """A 4-byte emoji and 2/3-byte letters arrive byte by byte; deltas carry only whole chars."""
    content = "Grüße 😊 日本"
    parser = StreamParser(V, Role.ASSISTANT)
    deltas: list[str] = []
    for token_id in ids("<|channel|>final<|message|>"):
        parser.feed(token_id)
    data = content.encode()
    # feed multi-byte tokens of `split` bytes (tokens that cut characters in the middle)
    chunks = [data[i : i + split] for i in range(0, len(data), split)]
    fake_ids = [1000 + i for i in range(len(chunks))]
    for token_id, chunk in zip(fake_ids, chunks, strict=True):
        for e in parser.feed(token_id, chunk):
            if isinstance(e, ContentDelta):
                deltas.append(e.text)
    end = parser.feed(V.special_id("<|return|>"))[-1]
    assert isinstance(end, MessageEnd)
    assert "".join(deltas) == content
    assert all("\ufffd" not in d for d in deltas)
    assert end.message.text == content


def test_invalid_utf8_becomes_replacement_not_an_exception() -> None:
    parser = StreamParser(V, Role.ASSISTANT)
    parser.feed_many(ids("<|channel|>final<|message|>a"))
    parser.feed(0xFF)  # a lone invalid byte
    parser.feed(0xE6)  # an incomplete 3-byte sequence cut by the stop token
    end = parser.feed(V.special_id("<|end|>"))[-1]
    assert isinstance(end, MessageEnd)
    assert end.message.text == "a\ufffd\ufffd"


def test_recipient_after_channel_and_constrain_adjacent() -> None:
    _, events = run(
        '<|channel|>commentary to=functions.f<|constrain|>json<|message|>{"a": 1}<|call|>'
    )
    end = events[-1]
    assert isinstance(end, MessageEnd)
    m = end.message
    assert (m.channel, m.recipient, m.content_type) == (
        "commentary",
        "functions.f",
        "<|constrain|>json",
    )
    assert end.malformed == ()


def test_missing_message_token_keeps_text_and_marks_it() -> None:
    _, events = run("<|channel|>final The answer is 4.<|return|>")
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert end.message.channel == "final"
    assert end.message.text == "The answer is 4."
    assert any(n.startswith("missing_message_token") for n in end.malformed)
    assert end.stop_token == "<|return|>"


def test_missing_message_token_with_long_text_streams_as_content() -> None:
    body = "word " * 80
    parser = StreamParser(V, Role.ASSISTANT, max_header_bytes=64)
    events = parser.feed_many(ids("<|channel|>final " + body))
    assert any(isinstance(e, MessageStart) for e in events), (
        "content must not wait for a stop token"
    )
    assert any(isinstance(e, ContentDelta) for e in events)
    events += parser.feed_many(ids("<|return|>"))
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert end.message.channel == "final"
    assert end.message.text.split() == body.split()
    assert any(n.startswith("missing_message_token") for n in end.malformed)


def test_unknown_channel_is_kept_and_marked() -> None:
    _, events = run("<|channel|>thoughts<|message|>hmm<|end|>")
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert end.message.channel == "thoughts"
    assert any(n.startswith("unknown_channel") for n in end.malformed)


def test_output_cut_at_max_tokens() -> None:
    parser = StreamParser(V, Role.ASSISTANT)
    parser.feed_many(ids("<|channel|>final<|message|>The capital is Par"))
    events = parser.finish()
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert end.stop_token is None
    assert end.message.text == "The capital is Par"
    assert any(n.startswith("no_stop_token") for n in end.malformed)


def test_cut_inside_header_still_gives_the_text() -> None:
    parser = StreamParser(V, Role.ASSISTANT)
    parser.feed_many(ids("<|channel|>analysis thinking without end"))
    (*_, end) = parser.finish()
    assert isinstance(end, MessageEnd)
    assert end.message.channel == "analysis"
    assert end.message.text == "thinking without end"


def test_start_inside_content_ends_the_message() -> None:
    _parser, events = run(
        "<|channel|>analysis<|message|>think<|start|>assistant<|channel|>final<|message|>4<|return|>"
    )
    ends = [e for e in events if isinstance(e, MessageEnd)]
    assert [(e.message.channel, e.message.text) for e in ends] == [
        ("analysis", "think"),
        ("final", "4"),
    ]
    assert any(n.startswith("missing_end") for n in ends[0].malformed)
    assert ends[1].malformed == ()


def test_text_without_start_after_a_message_is_an_implicit_assistant_message() -> None:
    _, events = run("<|channel|>analysis<|message|>a<|end|><|channel|>final<|message|>b<|return|>")
    ends = [e for e in events if isinstance(e, MessageEnd)]
    assert [(e.message.author.role, e.message.channel, e.message.text) for e in ends] == [
        (Role.ASSISTANT, "analysis", "a"),
        (Role.ASSISTANT, "final", "b"),
    ]
    assert any(n.startswith("missing_start") for n in ends[1].malformed)


def test_leftover_header_words_are_marked_not_raised() -> None:
    _, events = run("<|channel|>commentary to=functions.f json extra words<|message|>{}<|call|>")
    end = events[-1]
    assert isinstance(end, MessageEnd)
    assert end.message.recipient is not None
    assert any("unexpected tokens remaining" in n for n in end.malformed)


def test_lenient_parser_never_raises_on_garbage() -> None:
    """Every special token in every position, random order: no exception, raw text kept."""
    import random

    rng = random.Random(7)
    specials = [
        "<|start|>",
        "<|end|>",
        "<|message|>",
        "<|channel|>",
        "<|constrain|>",
        "<|return|>",
        "<|call|>",
    ]
    words = [
        "assistant",
        "user",
        "to=functions.x",
        " ",
        "final",
        "analysis",
        "json",
        "é",
        "😊",
        "x y",
    ]
    for _ in range(300):
        text = "".join(rng.choice(specials + words) for _ in range(rng.randint(0, 25)))
        for role in (None, Role.ASSISTANT):
            parser = StreamParser(V, role)
            for token_id in ids(text):
                parser.feed(token_id)
            parser.finish()
            assert parser.raw_text == text
            for end in parser.ends:
                assert end.raw  # every message keeps its raw text


def test_strict_mode_raises_the_reference_errors() -> None:
    with pytest.raises(HarmonyError, match="expecting start token"):
        parse_text("hello", None, strict=True)
    with pytest.raises(HarmonyError, match="Unexpected EOS"):
        parse_text("<|start|>assistant", None, strict=True)
    with pytest.raises(HarmonyError, match="channel"):
        parse_text("<|start|>assistant<|channel|><|message|>x<|end|>", None, strict=True)


def test_parse_tokens_with_a_tool_message_without_recipient() -> None:
    """The reference cannot parse its own rendering of a tool result without recipient; we can."""
    ends = parse_tokens(ids('<|start|>functions.lookup<|message|>{"t": 1}<|end|>'), V)
    assert ends[0].message.author == Author(Role.TOOL, "functions.lookup")
    assert ends[0].message.text == '{"t": 1}'
