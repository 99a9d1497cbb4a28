"""A chat with a non-Harmony model through its own chat template (or ChatML, or plain text).

``TemplateChatSession`` has the shape of the Harmony ``ChatSession``: ``send(text)`` returns
an iterator of events for one turn (iterate it on one thread), ``cancel()`` works from any
thread, the history grows turn by turn. The compare runner and the main chat window can
treat both alike. Reasoning (``<think>...</think>``) arrives on the ``analysis`` channel,
the answer on ``final``, the same channel names Harmony uses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gptoss_desktop.core.compare.prompting import PreparedPrompt, PromptBuilder, PromptFormat
from gptoss_desktop.core.compare.reasoning import ReasoningSplitter, TextChannel
from gptoss_desktop.core.compare.sandbox import TemplateLimits
from gptoss_desktop.core.compare.templates import ChatMessage
from gptoss_desktop.core.engine import EngineClient, GenerateRequest, Generation, SamplingOptions
from gptoss_desktop.core.engine.options import GenerationMetrics


@dataclass(frozen=True)
class TurnStarted:
    """The prompt is built and sent; ``prompt_tokens`` is its length."""

    prompt_tokens: int
    format: str


@dataclass(frozen=True)
class TokenProgress:
    """A batch of tokens arrived: ``tokens`` generated so far, ``t`` seconds since the request."""

    tokens: int
    t: float


@dataclass(frozen=True)
class TextDelta:
    """New text on ``analysis`` (reasoning) or ``final`` (the answer)."""

    channel: TextChannel
    text: str


@dataclass(frozen=True)
class TurnFinished:
    answer: str
    reasoning: str
    metrics: GenerationMetrics
    cancelled: bool


SessionEvent = TurnStarted | TokenProgress | TextDelta | TurnFinished


class TemplateChatSession:
    def __init__(
        self,
        client: EngineClient,
        *,
        system_prompt: str = "",
        history: Sequence[ChatMessage] = (),
        sampling: SamplingOptions | None = None,
        max_tokens: int = 1024,
        template_override: str | None = None,
        limits: TemplateLimits | None = None,
    ) -> None:
        self.client = client
        self.builder = PromptBuilder(client, template_override=template_override, limits=limits)
        self.sampling = sampling or SamplingOptions()
        self.max_tokens = max_tokens
        self.messages: list[ChatMessage] = []
        if system_prompt:
            self.messages.append(ChatMessage("system", system_prompt))
        self.messages.extend(history)
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._cancelled = False
        self.last_prompt: PreparedPrompt | None = None

    @property
    def format(self) -> PromptFormat:
        return self.builder.format

    def cancel(self) -> None:
        """Stop the turn in progress (from any thread); its partial answer is kept."""
        with self._lock:
            self._cancelled = True
            generation = self._generation
        if generation is not None:
            generation.cancel()

    def send(self, text: str) -> Iterator[SessionEvent]:
        """Add a user message and stream the model's answer as events.

        Raises :class:`ChatTemplateError` before anything is sent when the template fails,
        and the engine's errors (``WorkerCrashed``...) while streaming.
        """
        with self._lock:
            self._cancelled = False
        messages = [*self.messages, ChatMessage("user", text)]
        prompt = self.builder.build(messages)
        self.last_prompt = prompt
        return self._stream(messages, prompt)

    def _stream(
        self, messages: list[ChatMessage], prompt: PreparedPrompt
    ) -> Iterator[SessionEvent]:
        request = GenerateRequest(
            prompt_tokens=prompt.tokens,
            max_tokens=self.max_tokens,
            stop_tokens=prompt.stop_tokens,
            stop_strings=prompt.stop_strings,
            sampling=self.sampling,
        )
        splitter = ReasoningSplitter(start_in_reasoning=prompt.opens_reasoning)
        self.messages = messages
        with self._lock:
            if self._cancelled:
                return
            generation = self.client.generate(request)
            self._generation = generation
        yield TurnStarted(len(prompt.tokens), str(self.format))
        try:
            for batch in generation:
                yield TokenProgress(len(generation.tokens), batch.t)
                for piece in splitter.feed(batch.text):
                    yield TextDelta(piece.channel, piece.text)
            for piece in splitter.finish():
                yield TextDelta(piece.channel, piece.text)
        finally:
            with self._lock:
                self._generation = None
        metrics = generation.result
        assert metrics is not None
        self.messages = [*messages, ChatMessage("assistant", splitter.answer)]
        yield TurnFinished(
            answer=splitter.answer,
            reasoning=splitter.reasoning,
            metrics=metrics,
            cancelled=metrics.stop_reason == "cancelled",
        )
