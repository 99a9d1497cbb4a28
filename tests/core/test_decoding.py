"""Incremental UTF-8 decoding and stop-string hold-back (pure functions of the engine)."""

from __future__ import annotations

import random

from gptoss_desktop.core.engine.decoding import Utf8Stream, hold_back_for_stops

SAMPLES = ["17°C", "naïve café", "日本語のテキスト", "emoji 🙂👍🏽 end", "mixed é日🙂"]


def test_every_split_of_multibyte_text_decodes_intact() -> None:
    rng = random.Random(0)
    for text in SAMPLES:
        data = text.encode()
        for _ in range(50):
            cuts = sorted(rng.sample(range(1, len(data)), k=min(len(data) - 1, rng.randint(1, 6))))
            parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
            stream = Utf8Stream()
            out = "".join(stream.feed(p) for p in parts) + stream.flush()
            assert out == text


def test_byte_by_byte_emits_each_character_once_complete() -> None:
    stream = Utf8Stream()
    outs = [stream.feed(bytes([b])) for b in "°".encode()]
    assert outs == ["", "°"]


def test_incomplete_tail_is_replaced_only_at_flush() -> None:
    stream = Utf8Stream()
    assert stream.feed(b"ok\xe6\x97") == "ok"
    assert stream.flush() == "\ufffd"


def test_hold_back_keeps_possible_stop_prefix() -> None:
    assert hold_back_for_stops("Hello <|en", ["<|end|>"]) == 4
    assert hold_back_for_stops("Hello", ["<|end|>"]) == 0
    assert hold_back_for_stops("abc User", ["User:", "\nUser"]) == 4
    assert hold_back_for_stops("x\nUs", ["User:", "\nUser"]) == 3
