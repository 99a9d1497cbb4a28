"""Incremental UTF-8 decoding of token bytes.

A multi-byte character often spans two or more tokens; decoding each token alone would
produce replacement characters. :class:`Utf8Stream` keeps the incomplete tail between calls.
"""

from __future__ import annotations

import codecs


class Utf8Stream:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._decoder.decode(data, final=False)

    def flush(self) -> str:
        """Whatever is still pending (an incomplete sequence becomes U+FFFD)."""
        return self._decoder.decode(b"", final=True)


def hold_back_for_stops(text: str, stops: list[str]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a stop string.

    That suffix must not be shown yet: the next token may complete the stop string.
    """
    keep = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), keep, -1):
            if text.endswith(stop[:n]):
                keep = n
                break
    return keep
