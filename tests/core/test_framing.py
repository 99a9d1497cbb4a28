"""The one frame codec (core/framing.py) of the worker and sandbox protocols: round trips,
and every malformed or hostile frame becomes FrameError, never another exception."""

from __future__ import annotations

import io
import os
import struct

import pytest

from gptoss_desktop.core.engine import protocol as engine_protocol
from gptoss_desktop.core.framing import FrameCodec, FrameError
from gptoss_desktop.core.tools.sandbox import protocol as sandbox_protocol

CODEC = FrameCodec(1024)


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def test_both_protocols_use_the_one_codec() -> None:
    assert isinstance(engine_protocol.CODEC, FrameCodec)
    assert isinstance(sandbox_protocol.CODEC, FrameCodec)
    assert engine_protocol.ProtocolError is FrameError is sandbox_protocol.FrameError


def test_round_trip_by_stream_by_fd_and_incrementally() -> None:
    message = {"op": "x", "text": "ø ✓ \x00", "bytes": b"\xff\x00".decode("latin-1")}
    data = engine_protocol.encode_frame(message) * 2
    stream = io.BytesIO(data)
    assert engine_protocol.read_frame(stream) == message
    assert engine_protocol.read_frame(stream) == message
    assert engine_protocol.read_frame(stream) is None
    r, w = os.pipe()
    try:
        sandbox_protocol.write_frame(w, {"lone": "\ud800"})
        os.close(w)
        assert sandbox_protocol.read_frame(r) == {"lone": "\ud800"}
        assert sandbox_protocol.read_frame(r) is None
    finally:
        os.close(r)
    reader = sandbox_protocol.FrameReader()
    whole = sandbox_protocol.encode({"a": 1}) + sandbox_protocol.encode({"b": 2})
    got = [m for i in range(len(whole)) for m in reader.feed(whole[i : i + 1])]
    assert got == [{"a": 1}, {"b": 2}]


@pytest.mark.parametrize(
    "data",
    [
        frame(b"\xff\xfe"),  # not UTF-8
        frame(b"[1, 2]"),  # not an object
        frame(b"{nope"),  # not JSON
        frame(b"[" * 100_000),  # nested too deeply: too long for this codec anyway
        struct.pack(">I", 2048),  # announces more than the limit
        frame(b'{"a": 1}')[:-2],  # cut short
    ],
    ids=["utf8", "array", "json", "deep", "too-long", "cut"],
)
def test_hostile_frames_raise_frame_error(data: bytes, request: pytest.FixtureRequest) -> None:
    with pytest.raises(FrameError):
        CODEC.read(io.BytesIO(data).read)
    reader = CODEC.reader()
    if request.node.callspec.id == "cut":
        assert reader.feed(data) == []  # the incremental reader waits for the rest
    else:
        with pytest.raises(FrameError):
            reader.feed(data)


def test_deep_nesting_and_huge_numbers_within_the_limit() -> None:
    big = FrameCodec(4 * 1024 * 1024)
    with pytest.raises(FrameError, match=r"nested too deeply|not JSON"):
        big.decode(b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    with pytest.raises(FrameError, match="not JSON"):
        big.decode(b'{"n": ' + b"9" * 100_000 + b"}")
    with pytest.raises(FrameError, match="larger than"):
        CODEC.encode({"x": "y" * 2000})
