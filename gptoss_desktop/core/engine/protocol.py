"""Framing of the messages between the app and a worker process.

Each message is one JSON object, UTF-8, preceded by its length as a 4-byte big-endian
unsigned integer: the app's one frame codec (:mod:`gptoss_desktop.core.framing`, shared with
the python sandbox) with a 256 MiB limit. Token bytes travel as latin-1 strings (one char per
byte), which JSON carries losslessly. Both sides use these functions; nothing here imports
llama_cpp or Qt.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from gptoss_desktop.core.framing import FrameCodec, FrameError

MAX_FRAME = 256 * 1024 * 1024
CODEC = FrameCodec(MAX_FRAME)

#: The byte stream is not a valid frame sequence (the peer is broken or gone).
ProtocolError = FrameError


def encode_frame(message: dict[str, Any]) -> bytes:
    return CODEC.encode(message)


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    stream.write(encode_frame(message))
    stream.flush()


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """Read one message; ``None`` at a clean end of stream."""
    return CODEC.read(stream.read)


def bytes_to_wire(data: bytes) -> str:
    return data.decode("latin-1")


def bytes_from_wire(text: str) -> bytes:
    return text.encode("latin-1")
