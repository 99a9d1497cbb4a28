"""The one event stream of a chat turn: parts that start, grow and end, then the result.

A turn runner turns its session's events (Harmony's ``MessageStart``/``ContentDelta``/
``MessageEnd``/``ToolCallFinished``, or a template session's same-named events) into these:
:class:`PartStart` (a new message on a channel: ``analysis`` is reasoning, ``final`` the
answer, ``commentary`` a tool call; ``role="tool"`` a tool's result), :class:`PartDelta`
(text) and :class:`PartEnd`. The turn recorder stores them, the chat view shows them, the API
server streams them; none of them sees token ids or prompt formats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.harmony.parse import ContentDelta, MessageEnd, MessageStart
from gptoss_desktop.core.harmony.session import GenerationFinished, ToolCallFinished


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


def forward_event(event: object, emit: EmitEvent) -> None:
    """A session's event as the turn's: parts that start, grow and end."""
    if isinstance(event, MessageStart):
        emit(PartStart(event.channel or "final", event.recipient))
    elif isinstance(event, ContentDelta):
        if event.text:
            emit(PartDelta(event.text))
    elif isinstance(event, MessageEnd):
        emit(PartEnd())
    elif isinstance(event, ToolCallFinished):
        outcome = event.outcome
        emit(PartStart("commentary", "assistant", role="tool", author=outcome.call.recipient))
        emit(PartDelta(outcome.output))
        emit(PartEnd())


def turn_metrics(generations: list[GenerationFinished]) -> dict[str, Any]:
    """Metrics of a turn: time to first token of its first generation, totals over all."""
    if not generations:
        return {}
    first, last = generations[0].metrics, generations[-1].metrics
    tokens = sum(g.metrics.completion_tokens for g in generations)
    seconds = sum(g.metrics.total_s - g.metrics.ttft_s for g in generations)
    return {
        "ttft_s": first.ttft_s,
        "tokens_per_s": tokens / seconds if seconds > 0 else last.tokens_per_s,
        "completion_tokens": tokens,
        "prompt_tokens": generations[-1].prompt_tokens,
        "cached_tokens": generations[-1].cached_tokens,
        "prompt_evaluated": sum(g.metrics.prompt_evaluated for g in generations),
        "total_s": sum(g.metrics.total_s for g in generations),
        "stop_reason": last.stop_reason,
        "generations": len(generations),
    }


def context_used(generations: list[GenerationFinished]) -> int:
    if not generations:
        return 0
    last = generations[-1]
    return last.prompt_tokens + last.metrics.completion_tokens
