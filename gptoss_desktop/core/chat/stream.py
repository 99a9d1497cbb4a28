"""From a session's events to the turn's (:mod:`.events`): forwarding, metrics, one turn.

Harmony's ``ChatSession`` and the template ``TemplateChatSession`` report the same event
types; :func:`run_turn` sends one user message in either and reports the turn as
``PartStart`` / ``PartDelta`` / ``PartEnd``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gptoss_desktop.core.chat.events import EmitEvent, PartDelta, PartEnd, PartStart, TurnResult
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.parse import ContentDelta, MessageEnd, MessageStart
from gptoss_desktop.core.harmony.session import GenerationFinished, ToolCallFinished


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


class _Outcome(Protocol):
    stop_reason: str


class SendsTurns(Protocol):
    """A Harmony ``ChatSession`` or a ``TemplateChatSession``."""

    def send(
        self,
        user_text: str,
        *,
        on_event: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> _Outcome: ...


def run_turn(
    session: SendsTurns, text: str, emit: EmitEvent, cancel: CancelToken | None = None
) -> TurnResult:
    """Send ``text`` in ``session`` and report the turn as this module's events; its result.

    ``cancel.cancel()`` from any thread stops the turn (``stop_reason`` "cancelled")."""
    finished: list[GenerationFinished] = []

    def on_event(event: object) -> None:
        if isinstance(event, GenerationFinished):
            finished.append(event)
        else:
            forward_event(event, emit)

    result = session.send(text, on_event=on_event, cancel=cancel)
    return TurnResult(result.stop_reason, turn_metrics(finished), context_used(finished))
