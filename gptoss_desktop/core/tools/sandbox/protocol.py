"""Framing between the app and its python sandbox: 4-byte big-endian length + UTF-8 JSON.

Commands go app -> sandbox on one pipe, results come back on another; stdout and stderr of
the sandbox are separate pipes read by the app, so nothing the sandboxed code prints can be
mistaken for a result. Stdlib only.

The sandboxed code can write to the result pipe too, so the app treats every byte from it as
hostile: any malformed frame (bad length, invalid UTF-8, JSON nested too deeply, numbers too
long, not an object) becomes :class:`FrameError`, never another exception.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

MAX_FRAME = 4 * 1024 * 1024
_HEADER = struct.Struct(">I")


class FrameError(ValueError):
    """A frame was malformed, too large, or the pipe closed in the middle of one."""


def encode(message: dict[str, Any]) -> bytes:
    # ASCII only: lone surrogates (an exception text may hold one) travel as \u escapes.
    body = json.dumps(message, ensure_ascii=True).encode("ascii")
    if len(body) > MAX_FRAME:
        raise FrameError(f"message of {len(body)} bytes is larger than {MAX_FRAME}")
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, message: dict[str, Any]) -> None:
    data = memoryview(encode(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(fd, remaining)
        if not chunk:
            if remaining == size:
                return None
            raise FrameError("pipe closed in the middle of a frame")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> dict[str, Any] | None:
    """Read one message (blocking); ``None`` at end of file."""
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes announced; the limit is {MAX_FRAME}")
    body = _read_exact(fd, size) or b""
    return decode(body)


def decode(body: bytes) -> dict[str, Any]:
    """One frame's body as a dict; anything else raises :class:`FrameError`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"frame is not UTF-8: {exc}") from None
    try:
        message = json.loads(text)
    except RecursionError:
        raise FrameError("frame is nested too deeply") from None
    except (ValueError, MemoryError) as exc:  # ValueError: bad JSON, too many digits
        raise FrameError(f"frame is not JSON: {str(exc)[:200]}") from None
    if not isinstance(message, dict):
        raise FrameError("frame is not a JSON object")
    return message


class FrameReader:
    """Incremental decoder for a non-blocking reader: feed bytes, take whole messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            if size > MAX_FRAME:
                raise FrameError(f"frame of {size} bytes announced; the limit is {MAX_FRAME}")
            end = _HEADER.size + size
            if len(self._buffer) < end:
                break
            messages.append(decode(bytes(self._buffer[_HEADER.size : end])))
            del self._buffer[:end]
        return messages
