"""Framing of the messages between the app and a worker process.

Each message is one JSON object, UTF-8, preceded by its length as a 4-byte big-endian
unsigned integer. Token bytes travel as latin-1 strings (one char per byte), which JSON
carries losslessly. Both sides use these functions; nothing here imports llama_cpp or Qt.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

MAX_FRAME = 256 * 1024 * 1024
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The byte stream is not a valid frame sequence (the peer is broken or gone)."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    stream.write(encode_frame(message))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = n
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            if chunks or remaining != n:
                raise ProtocolError(f"stream ended inside a frame ({n - remaining}/{n} bytes)")
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """Read one message; ``None`` at a clean end of stream."""
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is larger than the limit")
    body = _read_exact(stream, length)
    if body is None:
        raise ProtocolError("stream ended after a frame header")
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    return message


def bytes_to_wire(data: bytes) -> str:
    return data.decode("latin-1")


def bytes_from_wire(text: str) -> bytes:
    return text.encode("latin-1")
