"""Streaming Harmony parser over token ids.

Feed the model's tokens one at a time; get events as soon as they are known:
:class:`MessageStart` when a header is complete, :class:`ContentDelta` for text (UTF-8 is
decoded incrementally, so a character split across tokens arrives whole), and
:class:`MessageEnd` with the message, its stop token and what was malformed about it.

Two modes. *Lenient* (the default, for live model output) never raises: a missing
``<|start|>`` or ``<|message|>``, a recipient before or after the channel, an unknown channel,
leftover header words, a ``<|start|>`` inside content, output cut at max tokens all still give
messages, marked in ``MessageEnd.malformed``; the raw text is kept. *Strict* reproduces the
reference library's parser (``strict=True`` there), errors included, as the conformance kit
expects; it raises :class:`~gptoss_desktop.core.errors.HarmonyError`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony.header import LEFTOVER_ERROR, ParsedHeader, parse_header
from gptoss_desktop.core.harmony.model import Author, Message, Role, TextContent
from gptoss_desktop.core.harmony.vocab import (
    MESSAGE,
    MESSAGE_STOPS,
    START,
    ByteVocabulary,
    HarmonyVocabulary,
)

KNOWN_CHANNELS = ("analysis", "commentary", "final")


@dataclass(frozen=True)
class MessageStart:
    author: Author
    channel: str | None
    recipient: str | None
    content_type: str | None


@dataclass(frozen=True)
class ContentDelta:
    text: str
    channel: str | None


@dataclass(frozen=True)
class MessageEnd:
    message: Message
    #: ``<|end|>``, ``<|call|>`` or ``<|return|>``; None when the output stopped without one.
    stop_token: str | None
    #: What was wrong, one entry per problem, each starting with a stable key.
    malformed: tuple[str, ...]
    #: The message as the model wrote it, special tokens written out.
    raw: str
    #: The ids fed for this message, stop token included.
    tokens: tuple[int, ...]


ParseEvent = MessageStart | ContentDelta | MessageEnd

_EXPECT_START, _HEADER, _CONTENT = "expect_start", "header", "content"
_NO_STOP = "no_stop_token: the output ended before the message's stop token"


class StreamParser:
    """Parse Harmony messages from token ids, one token at a time.

    ``role``: the author of the first message when the prompt already wrote its
    ``<|start|>ROLE`` (a completion prompt ends in ``<|start|>assistant``).
    """

    def __init__(
        self,
        vocab: HarmonyVocabulary,
        role: Role | None = None,
        *,
        strict: bool = False,
        valid_channels: Sequence[str] = KNOWN_CHANNELS,
        max_header_bytes: int = 256,
    ) -> None:
        self._vocab = vocab
        self._strict = strict
        self._valid_channels = tuple(valid_channels)
        self._max_header = max_header_bytes
        self._start_id = vocab.special_id(START)
        self._message_id = vocab.special_id(MESSAGE)
        self._stop_ids = {vocab.special_id(t): t for t in MESSAGE_STOPS}
        self._default_role = role or Role.ASSISTANT
        self.messages: list[Message] = []
        self.ends: list[MessageEnd] = []
        self.tokens: list[int] = []
        self._raw_all = bytearray()
        self._stray: list[str] = []
        self._reset_message()
        self._state = _HEADER if role is not None else _EXPECT_START
        self._role: Role | None = role

    # --- public -----------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def raw_text(self) -> str:
        """Everything fed so far, special tokens written out."""
        return self._raw_all.decode("utf-8", "replace")

    @property
    def current_channel(self) -> str | None:
        return self._parsed.channel if self._parsed else None

    @property
    def current_recipient(self) -> str | None:
        return self._parsed.recipient if self._parsed else None

    @property
    def current_content(self) -> str:
        return "".join(self._content)

    def feed(self, token_id: int, piece: bytes | None = None) -> list[ParseEvent]:
        """Process one token; ``piece`` (its bytes) saves a vocabulary lookup when known."""
        events: list[ParseEvent] = []
        self.tokens.append(token_id)
        special = self._vocab.special_text(token_id)
        if special is not None:
            data = special.encode("utf-8")
        elif piece is not None:
            data = bytes(piece)
        else:
            data = self._piece(token_id)
        self._raw_all += data
        self._step(token_id, special, data, events)
        return events

    def feed_many(self, token_ids: Iterable[int]) -> list[ParseEvent]:
        events: list[ParseEvent] = []
        for token_id in token_ids:
            events += self.feed(token_id)
        return events

    def finish(self) -> list[ParseEvent]:
        """End of output: complete the open message (marked when it had no stop token)."""
        events: list[ParseEvent] = []
        if self._state == _HEADER:
            if self._strict:
                raise HarmonyError("Unexpected EOS while waiting for message header to complete")
            self._header_without_message(None, events, [_NO_STOP])
        elif self._state == _CONTENT:
            self._notes.append(_NO_STOP)
            self._end_message(None, events)
        return events

    # --- states -------------------------------------------------------------------------
    def _step(
        self, token_id: int, special: str | None, data: bytes, events: list[ParseEvent]
    ) -> None:
        if self._state == _EXPECT_START:
            if token_id == self._start_id:
                self._begin(token_id, data, role=None)
                return
            if self._strict:
                raise HarmonyError(
                    f"Unexpected token {token_id} while expecting start token {self._start_id}"
                )
            if token_id in self._stop_ids:
                self._stray.append(f"stray_stop_token: {special} outside a message")
                return
            self._begin(None, b"", role=self._default_role)
            self._notes.append("missing_start: a message began without <|start|>")
        if self._state == _HEADER:
            self._header_token(token_id, special, data, events)
        else:
            self._content_token(token_id, special, data, events)

    def _header_token(
        self, token_id: int, special: str | None, data: bytes, events: list[ParseEvent]
    ) -> None:
        if token_id == self._message_id:
            self._keep(token_id, data)
            self._open_content(self._header_text(final=True), events)
            return
        if token_id in self._stop_ids and not self._strict:
            self._keep(token_id, data)
            self._header_without_message(self._stop_ids[token_id], events, [])
            return
        if token_id == self._start_id and not self._strict:
            self._notes.append("restarted_header: <|start|> inside a header")
            self._header = bytearray()
            self._role = None
            self._keep(token_id, data)
            return
        self._keep(token_id, data)
        self._header += data
        if not self._strict and len(self._header) > self._max_header:
            # No <|message|> in sight: the model is writing content. Show it as such.
            parsed = self._parse(self._header_text(final=False), metadata=False)
            parsed.problems.append("missing_message_token: header too long, read as content")
            self._start_content(parsed, events)
            if parsed.leftover:
                self._delta(parsed.leftover, events)

    def _content_token(
        self, token_id: int, special: str | None, data: bytes, events: list[ParseEvent]
    ) -> None:
        if token_id in self._stop_ids:
            self._keep(token_id, data)
            self._end_message(self._stop_ids[token_id], events)
            return
        if special is not None and not self._strict:
            if token_id == self._start_id:
                self._notes.append("missing_end: <|start|> inside content ended the message")
                self._end_message(None, events)
                self._begin(token_id, data, role=None)
                return
            self._keep(token_id, data)
            self._notes.append(f"control_token_in_content: {special} left out of the text")
            return
        self._keep(token_id, data)
        text = self._decoder.decode(data, final=False)
        if text:
            self._delta(text, events)

    # --- helpers ------------------------------------------------------------------------
    def _reset_message(self) -> None:
        self._header = bytearray()
        self._msg_tokens: list[int] = []
        self._msg_raw = bytearray()
        self._notes: list[str] = []
        self._parsed: ParsedHeader | None = None
        self._content: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def _begin(self, token_id: int | None, data: bytes, role: Role | None) -> None:
        self._reset_message()
        if self._stray:
            self._notes += self._stray
            self._stray = []
        if token_id is not None:
            self._keep(token_id, data)
        self._role = role
        self._state = _HEADER

    def _keep(self, token_id: int, data: bytes) -> None:
        self._msg_tokens.append(token_id)
        self._msg_raw += data

    def _header_text(self, *, final: bool) -> str:
        # Through the content decoder: a character cut at the end stays pending for content.
        return self._decoder.decode(bytes(self._header), final=final)

    def _parse(self, header: str, *, metadata: bool) -> ParsedHeader:
        parsed = parse_header(
            header, self._role, metadata=metadata, fallback_role=self._default_role
        )
        if self._strict and parsed.problems:
            problem = parsed.problems[0]
            raise HarmonyError(
                problem if problem.startswith(LEFTOVER_ERROR) else problem.split(": ", 1)[-1]
            )
        return parsed

    def _open_content(self, header: str, events: list[ParseEvent]) -> None:
        self._start_content(self._parse(header, metadata=True), events)

    def _start_content(self, parsed: ParsedHeader, events: list[ParseEvent]) -> None:
        if parsed.channel is not None and parsed.channel not in self._valid_channels:
            parsed.problems.append(f"unknown_channel: {parsed.channel!r}")
        self._notes += parsed.problems
        self._parsed = parsed
        self._role = None
        self._state = _CONTENT
        events.append(
            MessageStart(parsed.author, parsed.channel, parsed.recipient, parsed.content_type)
        )

    def _header_without_message(
        self, stop: str | None, events: list[ParseEvent], notes: list[str]
    ) -> None:
        """A stop token (or the end) came before ``<|message|>``: the header was content."""
        header = self._header_text(final=True)
        self._notes += notes
        if not header.strip():
            self._stray.append(
                f"empty_message: {stop or 'end of output'} right after a header start"
            )
            self._state = _EXPECT_START
            self._role = None
            return
        parsed = self._parse(header, metadata=False)
        parsed.problems.append("missing_message_token: no <|message|> before the end")
        self._start_content(parsed, events)
        if parsed.leftover:
            self._delta(parsed.leftover, events)
        self._end_message(stop, events)

    def _delta(self, text: str, events: list[ParseEvent]) -> None:
        self._content.append(text)
        events.append(ContentDelta(text, self._parsed.channel if self._parsed else None))

    def _end_message(self, stop: str | None, events: list[ParseEvent]) -> None:
        tail = self._decoder.decode(b"", final=True)
        if tail:
            self._delta(tail, events)
        parsed = self._parsed
        assert parsed is not None
        message = Message(
            parsed.author,
            (TextContent("".join(self._content)),),
            channel=parsed.channel,
            recipient=parsed.recipient,
            content_type=parsed.content_type,
        )
        end = MessageEnd(
            message,
            stop,
            tuple(self._notes),
            self._msg_raw.decode("utf-8", "replace"),
            tuple(self._msg_tokens),
        )
        self.messages.append(message)
        self.ends.append(end)
        events.append(end)
        self._reset_message()
        self._role = None
        self._state = _EXPECT_START

    def _piece(self, token_id: int) -> bytes:
        try:
            return self._vocab.token_bytes(token_id)
        except HarmonyError:
            if self._strict:
                raise
            self._notes.append(f"unknown_token: id {token_id} has no bytes")
            return b""


def parse_text(
    text: str, role: Role | None = None, *, strict: bool = True, eos: bool = True
) -> list[Message]:
    """Parse written-out Harmony text (every special-token text recognised), byte by byte."""
    vocab = ByteVocabulary()
    parser = StreamParser(vocab, role, strict=strict)
    for token_id in vocab.encode_with_specials(text):
        parser.feed(token_id)
    if eos:
        parser.finish()
    return parser.messages


def parse_tokens(
    token_ids: Iterable[int],
    vocab: HarmonyVocabulary,
    role: Role | None = None,
    *,
    strict: bool = False,
) -> list[MessageEnd]:
    """Parse a whole completion given as token ids; returns every message with its details."""
    parser = StreamParser(vocab, role, strict=strict)
    parser.feed_many(token_ids)
    parser.finish()
    return parser.ends
