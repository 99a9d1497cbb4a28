"""The one frame codec of the app's process protocols: the inference worker
(:mod:`~gptoss_desktop.core.engine.protocol`) and the python sandbox
(:mod:`~gptoss_desktop.core.tools.sandbox.protocol`).

A frame is one JSON object, UTF-8, preceded by its length as a 4-byte big-endian unsigned
integer. Decoding is strict and bounded: the peer may be broken or hostile (sandboxed code can
write to its result pipe), so a length over the codec's limit, a body that is not UTF-8, JSON
that is malformed, nested too deeply or holds a number too long, or anything but an object
becomes :class:`FrameError`, never another exception, and no more than ``max_frame`` bytes are
ever buffered for one frame. Stdlib only.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct(">I")

#: Reads up to n bytes; b"" at end of stream (``stream.read``, ``functools.partial(os.read, fd)``).
ReadFn = Callable[[int], bytes]


class FrameError(ValueError):
    """The byte stream is not a valid frame sequence: malformed, too large, or cut short."""


class FrameCodec:
    """Encodes and decodes frames of at most ``max_frame`` body bytes.

    ``ascii_only`` writes JSON with ``\\u`` escapes only (lone surrogates then travel too)."""

    def __init__(self, max_frame: int, *, ascii_only: bool = False) -> None:
        self.max_frame = max_frame
        self.ascii_only = ascii_only

    def encode(self, message: dict[str, Any]) -> bytes:
        text = json.dumps(message, ensure_ascii=self.ascii_only, separators=(",", ":"))
        body = text.encode("ascii" if self.ascii_only else "utf-8")
        if len(body) > self.max_frame:
            raise FrameError(f"message of {len(body)} bytes is larger than {self.max_frame}")
        return HEADER.pack(len(body)) + body

    def length(self, header: bytes | bytearray) -> int:
        """The body length a header announces; FrameError past the limit."""
        (size,) = HEADER.unpack_from(header)
        if size > self.max_frame:
            raise FrameError(f"frame of {size} bytes announced; the limit is {self.max_frame}")
        return int(size)

    def decode(self, body: bytes) -> dict[str, Any]:
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

    def read(self, read: ReadFn) -> dict[str, Any] | None:
        """Read one frame (blocking); None at a clean end of stream."""
        header = _read_exact(read, HEADER.size)
        if header is None:
            return None
        size = self.length(header)
        body = _read_exact(read, size) if size else b""
        if body is None:
            raise FrameError("stream ended after a frame header")
        return self.decode(body)

    def reader(self) -> FrameReader:
        return FrameReader(self)


class FrameReader:
    """Incremental decoder for a non-blocking reader: feed bytes, take whole messages."""

    def __init__(self, codec: FrameCodec) -> None:
        self._codec = codec
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while len(self._buffer) >= HEADER.size:
            end = HEADER.size + self._codec.length(self._buffer)
            if len(self._buffer) < end:
                break
            messages.append(self._codec.decode(bytes(self._buffer[HEADER.size : end])))
            del self._buffer[:end]
        return messages


def _read_exact(read: ReadFn, n: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = n
    while remaining:
        chunk = read(remaining)
        if not chunk:
            if remaining == n:
                return None
            raise FrameError(f"stream ended inside a frame ({n - remaining}/{n} bytes)")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
