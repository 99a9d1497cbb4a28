"""The one event stream of a chat turn: parts that start, grow and end, then the result.

A turn runner turns its session's events (Harmony's ``MessageStart``/``ContentDelta``/
``MessageEnd``/``ToolCallFinished``, or a template session's same-named events) into these:
:class:`PartStart` (a new message on a channel: ``analysis`` is reasoning, ``final`` the
answer, ``commentary`` a tool call; ``role="tool"`` a tool's result), :class:`PartDelta`
(text) and :class:`PartEnd`. The turn recorder stores them, the chat view shows them, the API
server streams them; none of them sees token ids or prompt formats. From a session's events
to these: :mod:`.stream`. (Light on purpose: the chat window imports it at start-up.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PartStart:
    """A new message of the turn: the model's (``assistant``) or a tool's result (``tool``)."""

    channel: str
    recipient: str | None = None
    role: str = "assistant"
    author: str | None = None


@dataclass(frozen=True)
class PartDelta:
    text: str


@dataclass(frozen=True)
class PartEnd:
    pass


TurnEvent = PartStart | PartDelta | PartEnd
EmitEvent = Callable[[TurnEvent], None]


@dataclass(frozen=True)
class TurnResult:
    """How a turn ended. ``context_used`` counts every token in the model's context after it."""

    stop_reason: str
    metrics: dict[str, Any] = field(default_factory=dict)
    context_used: int = 0
