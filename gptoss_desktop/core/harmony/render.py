"""Render messages and conversations to Harmony text and to token ids.

Rendering first builds a list of *segments*: control tokens (:class:`Special`) and maximal
runs of plain text between them. The text form writes control tokens out; the token form
inserts them by id and tokenizes each text run separately as plain text, so nothing a user,
a tool or a document writes can become a control token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony.content_text import (
    declares_function_tools,
    developer_text,
    system_text,
)
from gptoss_desktop.core.harmony.conversation import DropPolicy, kept_indices
from gptoss_desktop.core.harmony.model import (
    DeveloperContent,
    Message,
    Role,
    SystemContent,
    TextContent,
)
from gptoss_desktop.core.harmony.vocab import (
    CALL,
    CHANNEL,
    CONSTRAIN,
    END,
    MESSAGE,
    RETURN,
    START,
    HarmonyVocabulary,
)


@dataclass(frozen=True)
class Special:
    """A control token in a rendered sequence, by its text (``<|start|>``...)."""

    text: str


Segment = str | Special


class SegmentBuilder:
    """Collects segments, merging adjacent text into one run."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    def special(self, text: str) -> None:
        self.segments.append(Special(text))

    def text(self, text: str) -> None:
        if not text:
            return
        if self.segments and isinstance(self.segments[-1], str):
            self.segments[-1] += text
        else:
            self.segments.append(text)

    def extend(self, segments: Iterable[Segment]) -> None:
        for seg in segments:
            if isinstance(seg, Special):
                self.segments.append(seg)
            else:
                self.text(seg)


def conversation_has_function_tools(messages: Iterable[Message]) -> bool:
    """True when a developer message declares a non-empty ``functions`` namespace."""
    return any(
        isinstance(c, DeveloperContent) and declares_function_tools(c)
        for m in messages
        for c in m.content
    )


def end_token(message: Message) -> str:
    """How a message ends in history: ``<|call|>`` for a tool call, else ``<|end|>``.

    A final answer ends in ``<|end|>`` in history, never in ``<|return|>``.
    """
    if message.author.role is Role.ASSISTANT and message.recipient is not None:
        return CALL
    return END


def header_segments(message: Message) -> list[Segment]:
    """``<|start|>`` and the header, up to and including ``<|message|>``."""
    b = SegmentBuilder()
    b.special(START)
    author = message.author
    if author.role is Role.TOOL:
        if not author.name:
            raise HarmonyError("a tool message needs the tool's name as its author name")
        b.text(author.name)
    else:
        b.text(author.role.value)
        if author.name is not None:
            b.text(f":{author.name}")
    if message.recipient is not None and message.recipient != "all":
        b.text(f" to={message.recipient}")
    if message.channel is not None:
        b.special(CHANNEL)
        b.text(message.channel)
    if message.content_type is not None:
        if message.content_type.startswith(CONSTRAIN):
            b.text(" ")
            b.special(CONSTRAIN)
            b.text(message.content_type[len(CONSTRAIN) :])
        else:
            b.text(f" {message.content_type}")
    b.special(MESSAGE)
    return b.segments


def message_segments(message: Message, *, has_function_tools: bool = False) -> list[Segment]:
    """One message: header, content, and its history end token."""
    b = SegmentBuilder()
    b.extend(header_segments(message))
    for content in message.content:
        if isinstance(content, TextContent):
            b.text(content.text)
        elif isinstance(content, SystemContent):
            if message.author.role is not Role.SYSTEM:
                raise HarmonyError("system content may only appear in a system message")
            b.text(system_text(content, has_function_tools=has_function_tools))
        elif isinstance(content, DeveloperContent):
            if message.author.role is not Role.DEVELOPER:
                raise HarmonyError("developer content may only appear in a developer message")
            b.text(developer_text(content))
        else:  # pragma: no cover - the Content union is closed
            raise HarmonyError(f"unknown content item {type(content).__name__}")
    b.special(end_token(message))
    return b.segments


def conversation_segments(
    messages: Sequence[Message],
    *,
    drop_policy: DropPolicy = DropPolicy.BEFORE_LAST_FINAL,
    next_turn_role: Role | None = None,
    for_training: bool = False,
) -> list[Segment]:
    """A conversation, with analysis dropped by ``drop_policy``.

    ``next_turn_role``: append ``<|start|>ROLE`` (a completion prompt). ``for_training``: if
    the last message is an assistant final answer, close it with ``<|return|>``.
    """
    has_functions = conversation_has_function_tools(messages)
    b = SegmentBuilder()
    for i in kept_indices(messages, drop_policy):
        b.extend(message_segments(messages[i], has_function_tools=has_functions))
    if for_training and messages:
        last = messages[-1]
        if last.author.role is Role.ASSISTANT and last.channel == "final":
            b.segments[-1] = Special(RETURN)
    if next_turn_role is not None:
        b.special(START)
        b.text(next_turn_role.value)
    return b.segments


def segments_text(segments: Iterable[Segment]) -> str:
    return "".join(s.text if isinstance(s, Special) else s for s in segments)


def segments_tokens(segments: Iterable[Segment], vocab: HarmonyVocabulary) -> list[int]:
    ids: list[int] = []
    for seg in segments:
        if isinstance(seg, Special):
            ids.append(vocab.special_id(seg.text))
        else:
            ids += vocab.tokenize_text(seg)
    return ids


def render_conversation_text(
    messages: Sequence[Message],
    *,
    drop_policy: DropPolicy = DropPolicy.BEFORE_LAST_FINAL,
    next_turn_role: Role | None = None,
    for_training: bool = False,
) -> str:
    return segments_text(
        conversation_segments(
            messages,
            drop_policy=drop_policy,
            next_turn_role=next_turn_role,
            for_training=for_training,
        )
    )


def render_conversation_tokens(
    messages: Sequence[Message],
    vocab: HarmonyVocabulary,
    *,
    drop_policy: DropPolicy = DropPolicy.BEFORE_LAST_FINAL,
    next_turn_role: Role | None = None,
) -> list[int]:
    segments = conversation_segments(
        messages, drop_policy=drop_policy, next_turn_role=next_turn_role
    )
    return segments_tokens(segments, vocab)
