"""The turn runner for Harmony models (gpt-oss and the project's Harmony test models).

Each turn builds a :class:`ChatSession` from the stored thread (system and developer
messages from the chat's settings, then every message), sends the last user message and
forwards the session's events: reasoning (``analysis``), the answer (``final``), tool calls
and their results. The engine keeps the longest common prefix in its KV cache, so resending
the thread costs only what changed. Qt-free.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gptoss_desktop.core.engine import EngineClient
from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony import (
    CancelToken,
    ChatSession,
    ContentDelta,
    DeveloperContent,
    EngineVocabulary,
    GenerationFinished,
    MessageEnd,
    MessageStart,
    ReasoningEffort,
    SystemContent,
    ToolCallFinished,
)
from gptoss_desktop.core.harmony import Message as HMessage
from gptoss_desktop.core.store.records import ChatSettings, Message
from gptoss_desktop.ui.turns import (
    EmitEvent,
    PartDelta,
    PartEnd,
    PartStart,
    TurnResult,
    check_fits,
    sampling_for,
)

if TYPE_CHECKING:
    from gptoss_desktop.ui.tools.wiring import ToolWiring as SessionTooling

#: Tokens a user message adds around its text (<|start|>user<|message|> ... <|end|>).
USER_FRAME_TOKENS = 4


def system_content(settings: ChatSettings, start_date: str | None) -> SystemContent:
    system = SystemContent(
        reasoning_effort=ReasoningEffort(settings.reasoning_effort),
        conversation_start_date=start_date,
    )
    if settings.system_prompt.strip():
        system = SystemContent(
            model_identity=settings.system_prompt.strip(),
            reasoning_effort=system.reasoning_effort,
            conversation_start_date=start_date,
        )
    return system


def developer_content(settings: ChatSettings) -> DeveloperContent | None:
    text = settings.instructions.strip()
    return DeveloperContent.create(text) if text else None


def harmony_message(m: Message) -> HMessage | None:
    """A stored row as a Harmony message (None for rows the model must not see again)."""
    if m.status == "error" or (not m.content and m.role != "user"):
        return None
    if m.role == "user":
        return HMessage.user(m.content)
    if m.role == "assistant":
        return HMessage.assistant(
            m.content,
            channel=m.channel or "final",
            recipient=m.recipient,
            content_type=m.content_type,
        )
    if m.role == "tool":
        return HMessage.tool_result(m.author_name or "tool", m.content)
    return None


def start_date_of(history: Sequence[Message]) -> str | None:
    """The chat's first day (stable for the whole chat, so the prompt prefix stays cached)."""
    if not history:
        return None
    return dt.datetime.fromtimestamp(history[0].created_at).strftime("%Y-%m-%d")


class HarmonyTurnRunner:
    kind = "harmony"

    def __init__(self, client: EngineClient) -> None:
        assert client.info is not None
        self._client = client
        self.n_ctx = client.info.n_ctx
        self._vocab = EngineVocabulary(client)
        self._cancel = CancelToken()
        #: The tool panel's wiring (ui/tools/wiring.py): tools, approval and a trace per turn.
        self.tooling: SessionTooling | None = None

    def session(
        self, history: Sequence[Message], settings: ChatSettings
    ) -> tuple[ChatSession, str]:
        """A session holding the thread up to its last user message, and that message's text."""
        if not history or history[-1].role != "user":
            raise HarmonyError("A turn must answer a user message: write one first.")
        engine: Any = self._client
        options: dict[str, Any] = {
            "system": system_content(settings, start_date_of(history)),
            "developer": developer_content(settings),
            "sampling": sampling_for(settings),
            "vocab": self._vocab,
        }
        if self.tooling is not None:
            engine, options = self.tooling.session_options(engine, history, settings, options)
        session = ChatSession(engine, **options)
        for m in history[:-1]:
            message = harmony_message(m)
            if message is not None:
                session.add_message(message)
        return session, history[-1].content

    def count_tokens(self, history: Sequence[Message], settings: ChatSettings) -> int:
        session, text = self.session(history, settings)
        return (
            len(session.prompt_tokens()) + len(self._vocab.tokenize_text(text)) + USER_FRAME_TOKENS
        )

    def run(
        self, history: Sequence[Message], settings: ChatSettings, emit: EmitEvent
    ) -> TurnResult:
        self._cancel = cancel = CancelToken()
        session, text = self.session(history, settings)
        prompt_len = (
            len(session.prompt_tokens()) + len(self._vocab.tokenize_text(text)) + USER_FRAME_TOKENS
        )
        session.max_tokens = check_fits(prompt_len, settings, self.n_ctx)
        finished: list[GenerationFinished] = []

        def on_event(event: object) -> None:
            if isinstance(event, GenerationFinished):
                finished.append(event)
            else:
                forward_event(event, emit)

        if self.tooling is not None:
            result = self.tooling.send(session, text, on_event, cancel)
        else:
            result = session.send(text, on_event=on_event, cancel=cancel)
        return TurnResult(result.stop_reason, turn_metrics(finished), context_used(finished))

    def cancel(self) -> None:
        self._cancel.cancel()


def forward_event(event: object, emit: EmitEvent) -> None:
    """A session's event as the chat window's: parts that start, grow and end."""
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
