"""The result-pipe decoder takes hostile bytes: every malformed frame is a FrameError."""

from __future__ import annotations

import os
import struct

import pytest

from gptoss_desktop.core.tools.sandbox import protocol
from gptoss_desktop.core.tools.sandbox.process import _result_fields


def _frame(body: bytes, size: int | None = None) -> bytes:
    return struct.pack(">I", len(body) if size is None else size) + body


HOSTILE_BODIES = {
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep-in-a-dict": b'{"cell": 1, "error": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "invalid-utf8": b'{"cell": 1, "error": "\xff\xfe"}',
    "lone-surrogate-bytes": b'{"cell": 1, "error": "\xed\xb2\x80"}',
    "not-json": b"{cell: 1",
    "empty": b"",
    "array": b"[1, 2, 3]",
    "string": b'"text"',
    "number": b"42",
    "null": b"null",
    "too-many-digits": b'{"cpu_s": ' + b"9" * 5000 + b"}",
    "nul-bytes": b"\x00" * 64,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_decode_refuses_hostile_bodies(name: str) -> None:
    with pytest.raises(protocol.FrameError):
        protocol.decode(HOSTILE_BODIES[name])


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_frame_reader_refuses_hostile_frames(name: str) -> None:
    reader = protocol.FrameReader()
    with pytest.raises(protocol.FrameError):
        reader.feed(_frame(HOSTILE_BODIES[name]))


@pytest.mark.parametrize("size", [protocol.MAX_FRAME + 1, 0xFFFFFFFF])
def test_frame_reader_refuses_huge_lengths_at_once(size: int) -> None:
    with pytest.raises(protocol.FrameError, match="announced"):
        protocol.FrameReader().feed(struct.pack(">I", size) + b"{}")


def test_frame_reader_waits_for_the_rest_of_a_frame() -> None:
    reader = protocol.FrameReader()
    whole = _frame(b'{"cell": 3}')
    assert reader.feed(whole[:5]) == []
    assert reader.feed(whole[5:]) == [{"cell": 3}]


def test_read_frame_on_a_pipe_refuses_hostile_frames() -> None:
    for body in HOSTILE_BODIES.values():
        if len(body) > 60_000:
            continue  # more than a pipe holds without a reader
        read_fd, write_fd = os.pipe()
        try:
            os.write(write_fd, _frame(body))
            with pytest.raises(protocol.FrameError):
                protocol.read_frame(read_fd)
        finally:
            os.close(read_fd)
            os.close(write_fd)


def test_own_frames_round_trip_even_with_lone_surrogates() -> None:
    message = {"cell": 1, "error": "ValueError: \udc80 and ünïcødé", "cpu_s": 0.5}
    encoded = protocol.encode(message)
    assert encoded[4:].isascii()
    assert protocol.FrameReader().feed(encoded) == [message]


@pytest.mark.parametrize(
    "message",
    [
        {"error": ["x"]},
        {"error": {"a": 1}},
        {"error": 5},
        {"timed_out": "yes"},
        {"timed_out": 1},
        {"cpu_s": "fast"},
        {"cpu_s": True},
        {"cpu_s": [1]},
        {"cpu_s": float("nan")},
        {"cpu_s": float("inf")},
        {"cpu_s": -1},
        {"cpu_s": 10**30},
    ],
)
def test_result_fields_refuse_wrong_types(message: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _result_fields(message)


def test_result_fields_accept_the_real_thing() -> None:
    assert _result_fields({"cell": 1, "error": None, "cpu_s": 0.25}) == (None, False, 0.25)
    assert _result_fields({"error": "Traceback", "timed_out": True, "cpu_s": 1}) == (
        "Traceback",
        True,
        1.0,
    )
