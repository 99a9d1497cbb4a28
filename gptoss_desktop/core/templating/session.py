"""A chat with a non-Harmony model through its own chat template (or ChatML, or plain text).

``TemplateChatSession`` has the shape of the Harmony :class:`~gptoss_desktop.core.harmony.
session.ChatSession` and reports with the same event types, so the compare view and the
main chat window treat both alike: ``send(text, on_event=..., cancel=CancelToken)`` runs
one turn and returns its result; events are ``MessageStart``, ``ContentDelta``,
``MessageEnd`` (from :mod:`core.harmony.parse`) and ``GenerationFinished``. Reasoning
(``<think>...</think>``) arrives on the ``analysis`` channel, the answer on ``final``.
On an error the history is left as it was; a cancelled turn keeps its partial answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gptoss_desktop.core.engine.options import GenerateRequest, ModelInfo, SamplingOptions
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.model import Author, Message, Role
from gptoss_desktop.core.harmony.parse import ContentDelta, MessageEnd, MessageStart
from gptoss_desktop.core.harmony.session import GenerationFinished, HarmonyEngine, TurnText
from gptoss_desktop.core.templating.prompting import PreparedPrompt, PromptBuilder, PromptFormat
from gptoss_desktop.core.templating.reasoning import ReasoningSplitter, TextPiece
from gptoss_desktop.core.templating.sandbox import TemplateLimits
from gptoss_desktop.core.templating.templates import ChatMessage

SessionEvent = MessageStart | ContentDelta | MessageEnd | GenerationFinished


class TemplateEngine(HarmonyEngine, Protocol):
    """What the session needs of an ``EngineClient``: the Harmony session's needs and ``info``."""

    info: ModelInfo | None


@dataclass
class TemplateTurnResult(TurnText):
    """One turn: the model's messages (reasoning, answer) and how it ended."""

    messages: list[Message] = field(default_factory=list)  # user message first
    generations: list[GenerationFinished] = field(default_factory=list)
    #: "final", "max_tokens", "context_full" or "cancelled"
    stop_reason: str = "final"


class MarkerFilter:
    """Drops the model's marker-token literals (``<|end_story|>``) from streamed text, also
    when the model spells one out over several ordinary tokens and batches: a tail that may
    still become a marker is held back until the next piece (or :meth:`finish`)."""

    def __init__(self, markers: Sequence[str]) -> None:
        self.markers = tuple(m for m in markers if m)
        self._held = ""

    def feed(self, text: str) -> str:
        if not self.markers:
            return text
        buf = self._held + text
        for marker in self.markers:
            buf = buf.replace(marker, "")
        hold = 0
        for marker in self.markers:
            for n in range(min(len(marker) - 1, len(buf)), hold, -1):
                if buf.endswith(marker[:n]):
                    hold = n
                    break
        self._held = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold] if hold else buf

    def finish(self) -> str:
        held, self._held = self._held, ""
        return held


class TemplateChatSession:
    """One conversation with one non-Harmony model; not thread-safe (cancel from any thread is)."""

    def __init__(
        self,
        engine: TemplateEngine,
        *,
        system_prompt: str = "",
        history: Sequence[ChatMessage] = (),
        sampling: SamplingOptions | None = None,
        max_tokens: int = 1024,
        template_override: str | None = None,
        limits: TemplateLimits | None = None,
        builder: PromptBuilder | None = None,
    ) -> None:
        self.engine = engine
        self.builder = builder or PromptBuilder(
            engine, template_override=template_override, limits=limits
        )
        self.sampling = sampling or SamplingOptions()
        self.max_tokens = max_tokens
        self.messages: list[ChatMessage] = []
        if system_prompt:
            self.messages.append(ChatMessage("system", system_prompt))
        self.messages.extend(history)
        self.last_prompt: PreparedPrompt | None = None

    @property
    def format(self) -> PromptFormat:
        return self.builder.format

    def send(
        self,
        user_text: str,
        *,
        on_event: Callable[[SessionEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> TemplateTurnResult:
        """One user turn. Raises ``ChatTemplateError`` before anything is sent when the
        template fails, and the engine's errors (``WorkerCrashed``...) while streaming."""
        emit = on_event or (lambda _event: None)
        cancel = cancel or CancelToken()
        messages = [*self.messages, ChatMessage("user", user_text)]
        prompt = self.builder.build(messages)
        self.last_prompt = prompt
        result = TemplateTurnResult(messages=[Message.user(user_text)])
        if cancel.cancelled:
            result.stop_reason = "cancelled"
            return result
        request = GenerateRequest(
            prompt_tokens=prompt.tokens,
            max_tokens=self.max_tokens,
            stop_tokens=prompt.stop_tokens,
            stop_strings=prompt.stop_strings,
            sampling=self.sampling,
        )
        cached = _common_prefix(prompt.tokens, self.engine.evaluated_tokens)
        generation = self.engine.generate(request)
        unsubscribe = cancel.on_cancel(generation.cancel)
        stream = _ChannelStream(emit, ReasoningSplitter(start_in_reasoning=prompt.opens_reasoning))
        markers = MarkerFilter(getattr(self.builder, "marker_literals", ()))
        try:
            for batch in generation:
                stream.feed(markers.feed(batch.text))
        finally:
            unsubscribe()
        stream.feed(markers.finish())
        stream.close()
        metrics = generation.result
        assert metrics is not None, "a finished generation has metrics"
        done = GenerationFinished(metrics, len(prompt.tokens), cached)
        result.generations.append(done)
        emit(done)
        result.messages.extend(stream.messages)
        if metrics.stop_reason in ("cancelled", "max_tokens", "context_full"):
            result.stop_reason = metrics.stop_reason
        answer = stream.splitter.answer
        self.messages = [*messages, ChatMessage("assistant", answer)]
        return result


class _ChannelStream:
    """Reasoning-split text as Harmony-style events: start, deltas, end per channel."""

    def __init__(self, emit: Callable[[SessionEvent], None], splitter: ReasoningSplitter) -> None:
        self.emit = emit
        self.splitter = splitter
        self.messages: list[Message] = []
        self._channel: str | None = None
        self._text: list[str] = []

    def feed(self, text: str) -> None:
        for piece in self.splitter.feed(text):
            self._piece(piece)

    def close(self) -> None:
        for piece in self.splitter.finish():
            self._piece(piece)
        self._end()

    def _piece(self, piece: TextPiece) -> None:
        if piece.channel != self._channel:
            self._end()
            self._channel = piece.channel
            self.emit(MessageStart(Author(Role.ASSISTANT), piece.channel, None, None))
        self._text.append(piece.text)
        self.emit(ContentDelta(piece.text, piece.channel))

    def _end(self) -> None:
        if self._channel is None:
            return
        text = "".join(self._text)
        message = Message.assistant(text, channel=self._channel)
        self.messages.append(message)
        self.emit(MessageEnd(message, None, (), text, ()))
        self._channel, self._text = None, []


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
