"""Framing between the app and its python sandbox: 4-byte big-endian length + UTF-8 JSON.

Commands go app -> sandbox on one pipe, results come back on another; stdout and stderr of
the sandbox are separate pipes read by the app, so nothing the sandboxed code prints can be
mistaken for a result. The codec is the app's one frame codec
(:mod:`gptoss_desktop.core.framing`) with a 4 MiB limit and ASCII-only JSON (lone surrogates,
which an exception text may hold, travel as ``\\u`` escapes).

The sandboxed code can write to the result pipe too, so the app treats every byte from it as
hostile: any malformed frame (bad length, invalid UTF-8, JSON nested too deeply, numbers too
long, not an object) becomes :class:`FrameError`, never another exception. Stdlib only.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from gptoss_desktop.core.framing import FrameCodec, FrameError
from gptoss_desktop.core.framing import FrameReader as _Reader

MAX_FRAME = 4 * 1024 * 1024
CODEC = FrameCodec(MAX_FRAME, ascii_only=True)

__all__ = [
    "MAX_FRAME",
    "FrameError",
    "FrameReader",
    "decode",
    "encode",
    "read_frame",
    "write_frame",
]


def encode(message: dict[str, Any]) -> bytes:
    return CODEC.encode(message)


def decode(body: bytes) -> dict[str, Any]:
    """One frame's body as a dict; anything else raises :class:`FrameError`."""
    return CODEC.decode(body)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    data = memoryview(encode(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def read_frame(fd: int) -> dict[str, Any] | None:
    """Read one message (blocking); ``None`` at end of file."""
    return CODEC.read(functools.partial(os.read, fd))


class FrameReader(_Reader):
    """Incremental decoder for a non-blocking reader: feed bytes, take whole messages."""

    def __init__(self) -> None:
        super().__init__(CODEC)
