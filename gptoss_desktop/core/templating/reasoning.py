"""Split streamed model text into reasoning and answer (``<think>...</think>`` and kin).

Reasoning models that are not Harmony models write their thoughts between tags
(DeepSeek-R1, Qwen3, QwQ: ``<think>``; others ``<thinking>``, ``<reasoning>``, Magistral
``[THINK]``). The splitter takes text as it streams, in pieces of any size, and hands out
pieces labelled ``analysis`` (reasoning, the same name Harmony uses) or ``final`` (the
answer). A tag split across two pieces is recognised: text that could be the start of a tag
is held back until the next piece decides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

TextChannel = Literal["analysis", "final"]

REASONING_TAGS: tuple[tuple[str, str], ...] = (
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
    ("<reasoning>", "</reasoning>"),
    ("[THINK]", "[/THINK]"),
    ("◁think▷", "◁/think▷"),
)


@dataclass(frozen=True)
class TextPiece:
    channel: TextChannel
    text: str


def opens_reasoning(prompt_text: str, tags: Sequence[tuple[str, str]] = REASONING_TAGS) -> bool:
    """True when a rendered prompt ends inside a reasoning section (the template opened it)."""
    tail = prompt_text.rstrip()
    return any(tail.endswith(open_tag) for open_tag, _ in tags)


class ReasoningSplitter:
    def __init__(
        self,
        tags: Sequence[tuple[str, str]] = REASONING_TAGS,
        *,
        start_in_reasoning: bool = False,
    ) -> None:
        self._tags = tuple(tags)
        self._buffer = ""
        self._close: str | None = None
        self._strip_next = False
        if start_in_reasoning:
            self._close = self._tags[0][1]
            self._strip_next = True
        self.reasoning = ""
        self.answer = ""

    @property
    def in_reasoning(self) -> bool:
        return self._close is not None

    def feed(self, text: str) -> list[TextPiece]:
        self._buffer += text
        out: list[TextPiece] = []
        while True:
            if self._close is not None:
                at = self._buffer.find(self._close)
                if at < 0:
                    break
                self._emit(out, "analysis", self._buffer[:at])
                self._buffer = self._buffer[at + len(self._close) :]
                self._close = None
                self._strip_next = True
            else:
                found = self._find_open()
                if found is None:
                    break
                at, open_tag, close_tag = found
                self._emit(out, "final", self._buffer[:at])
                self._buffer = self._buffer[at + len(open_tag) :]
                self._close = close_tag
                self._strip_next = True
        keep = self._partial_tag_length()
        ready, self._buffer = (
            self._buffer[: len(self._buffer) - keep],
            self._buffer[len(self._buffer) - keep :],
        )
        self._emit(out, "analysis" if self._close else "final", ready)
        return out

    def finish(self) -> list[TextPiece]:
        """The held-back tail, once the stream has ended."""
        out: list[TextPiece] = []
        self._emit(out, "analysis" if self._close else "final", self._buffer)
        self._buffer = ""
        return out

    # --- internals ------------------------------------------------------------------------
    def _find_open(self) -> tuple[int, str, str] | None:
        best: tuple[int, str, str] | None = None
        for open_tag, close_tag in self._tags:
            at = self._buffer.find(open_tag)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, open_tag, close_tag)
        return best

    def _partial_tag_length(self) -> int:
        """Length of the longest buffer suffix that is a proper prefix of a tag we look for."""
        wanted = [self._close] if self._close else [o for o, _ in self._tags]
        longest = 0
        for tag in wanted:
            for n in range(min(len(tag) - 1, len(self._buffer)), longest, -1):
                if self._buffer.endswith(tag[:n]):
                    longest = n
                    break
        return longest

    def _emit(self, out: list[TextPiece], channel: TextChannel, text: str) -> None:
        if self._strip_next:
            text = text.lstrip()
            if not text:
                return
            self._strip_next = False
        if not text:
            return
        if channel == "analysis":
            self.reasoning += text
        else:
            self.answer += text
        if out and out[-1].channel == channel:
            out[-1] = TextPiece(channel, out[-1].text + text)
        else:
            out.append(TextPiece(channel, text))
