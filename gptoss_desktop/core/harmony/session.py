"""ChatSession: a Harmony conversation with one engine, tool loop and KV-cache reuse.

``send(text)`` appends the user message, renders the history to token ids, generates until
the model stops with ``<|return|>`` (answer done) or ``<|call|>`` (tool call), runs called
tools through their handlers, appends the results and continues, up to ``max_tool_calls``.

KV reuse: the session keeps every history message as the exact token ids the worker saw (the
model's own messages as it generated them, with ``<|return|>`` turned into ``<|end|>``), so
each prompt shares its longest possible prefix with what the worker has evaluated. Only the
new messages are evaluated again, plus, after a final answer, everything from the first
dropped analysis message on. The events report what each generation evaluated.

No Qt: progress goes to a plain ``on_event`` callback, cancellation comes through a
:class:`~gptoss_desktop.core.harmony.cancel.CancelToken`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gptoss_desktop.core.engine.options import (
    GenerateRequest,
    GenerationMetrics,
    SamplingOptions,
    TokenBatch,
)
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.conversation import DropPolicy, kept_indices
from gptoss_desktop.core.harmony.model import (
    DeveloperContent,
    Message,
    Role,
    SystemContent,
)
from gptoss_desktop.core.harmony.parse import MessageEnd, ParseEvent, StreamParser
from gptoss_desktop.core.harmony.render import (
    conversation_has_function_tools,
    end_token,
    message_segments,
    segments_tokens,
)
from gptoss_desktop.core.harmony.toolcall import (
    ApprovalHook,
    ToolCall,
    ToolHandler,
    ToolOutcome,
    error_output,
    run_tool_call,
)
from gptoss_desktop.core.harmony.vocab import (
    CALL,
    END,
    ENDOFTEXT,
    RETURN,
    START,
    EngineVocabulary,
    HarmonyVocabulary,
)

#: Malformations that leave the generated tokens a faithful history entry.
_HARMLESS = ("no_stop_token", "unknown_channel")


class GenerationLike(Protocol):
    result: GenerationMetrics | None

    def __iter__(self) -> Any: ...

    def cancel(self) -> None: ...


class HarmonyEngine(Protocol):
    """What the session needs of an ``EngineClient`` (see docs/ENGINE_API.md)."""

    evaluated_tokens: list[int]

    def generate(self, request: GenerateRequest) -> GenerationLike: ...

    def tokenize(self, text: str, *, special: bool = False, add_bos: bool = False) -> list[int]: ...

    def token_pieces(self, tokens: list[int]) -> list[bytes]: ...

    def special_tokens(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ToolCallRequested:
    call: ToolCall


@dataclass(frozen=True)
class ToolCallFinished:
    outcome: ToolOutcome


@dataclass(frozen=True)
class GenerationFinished:
    metrics: GenerationMetrics
    prompt_tokens: int
    #: Tokens of the prompt that were already in the worker's KV cache before this generation.
    cached_tokens: int


SessionEvent = ParseEvent | ToolCallRequested | ToolCallFinished | GenerationFinished


class TurnText:
    """The final answer and the reasoning of a turn's ``messages`` (shared by every session)."""

    messages: list[Message]

    @property
    def final(self) -> str | None:
        finals = [
            m.text for m in self.messages if m.role is Role.ASSISTANT and m.channel == "final"
        ]
        return finals[-1] if finals else None

    @property
    def reasoning(self) -> str:
        return "\n".join(
            m.text for m in self.messages if m.role is Role.ASSISTANT and m.channel == "analysis"
        )


@dataclass
class TurnResult(TurnText):
    messages: list[Message] = field(default_factory=list)  # this turn's, user message first
    ends: list[MessageEnd] = field(default_factory=list)  # the model's messages, parsed
    tool_calls: list[ToolOutcome] = field(default_factory=list)
    generations: list[GenerationFinished] = field(default_factory=list)
    #: "final", "tool_call_limit", "max_tokens", "context_full", "cancelled", "no_final",
    #: or "tool_call" (a session that does not run tools).
    stop_reason: str = "no_final"

    @property
    def malformed(self) -> list[str]:
        return [note for end in self.ends for note in end.malformed]

    @property
    def prompt_evaluated(self) -> int:
        return sum(g.metrics.prompt_evaluated for g in self.generations)

    @property
    def ttft_s(self) -> float | None:
        return self.generations[0].metrics.ttft_s if self.generations else None


@dataclass
class _Entry:
    message: Message
    tokens: list[int]


class ChatSession:
    """One conversation with one model; not thread-safe (cancel from any thread is)."""

    def __init__(
        self,
        engine: HarmonyEngine,
        *,
        system: SystemContent | None = None,
        developer: DeveloperContent | None = None,
        sampling: SamplingOptions | None = None,
        tools: Mapping[str, ToolHandler] | None = None,
        approve: ApprovalHook | None = None,
        max_tool_calls: int = 8,
        max_tokens: int = 2048,
        drop_policy: DropPolicy = DropPolicy.BEFORE_LAST_FINAL,
        vocab: HarmonyVocabulary | None = None,
        run_tools: bool = True,
    ) -> None:
        self.engine = engine
        #: False: a tool call ends the turn (stop reason "tool_call") for the caller to run it.
        self.run_tools = run_tools
        self.vocab: HarmonyVocabulary = vocab or EngineVocabulary(engine)
        self.sampling = sampling or SamplingOptions()
        self.tools: dict[str, ToolHandler] = dict(tools or {})
        self.approve = approve
        self.max_tool_calls = max_tool_calls
        self.max_tokens = max_tokens
        self.drop_policy = drop_policy
        system = system or SystemContent()
        config = system.channel_config
        self._channels = config.valid_channels if config else ("analysis", "commentary", "final")
        preamble = [Message.system(system)]
        if developer is not None:
            preamble.append(Message.developer(developer))
        self._has_functions = conversation_has_function_tools(preamble)
        self._entries: list[_Entry] = [self._rendered(m) for m in preamble]
        v = self.vocab
        self._start_id = v.special_id(START)
        self._end_id = v.special_id(END)
        self._call_id = v.special_id(CALL)
        self._stop_ids = [v.special_id(RETURN), self._call_id]
        if isinstance(v, EngineVocabulary) and v.has_special(ENDOFTEXT):
            self._stop_ids.append(v.special_id(ENDOFTEXT))
        self._open_assistant = [self._start_id, *v.tokenize_text(Role.ASSISTANT.value)]

    # --- state --------------------------------------------------------------------------
    @property
    def history(self) -> tuple[Message, ...]:
        """Every message so far, dropped analysis included (the prompt leaves it out)."""
        return tuple(e.message for e in self._entries)

    def prompt_tokens(self) -> list[int]:
        """The prompt for the model's next message: the kept history, then ``<|start|>assistant``."""
        messages = [e.message for e in self._entries]
        ids: list[int] = []
        for i in kept_indices(messages, self.drop_policy):
            ids += self._entries[i].tokens
        return ids + self._open_assistant

    @property
    def open_assistant_tokens(self) -> list[int]:
        """``<|start|>assistant`` as token ids: every prompt ends with it."""
        return list(self._open_assistant)

    def add_message(self, message: Message, tokens: Sequence[int] | None = None) -> None:
        """Append a message rendered from its fields (a tool result, a restored history...),
        or given as the exact ``tokens`` the model generated for it (KV-cache reuse)."""
        entry = self._rendered(message) if tokens is None else _Entry(message, list(tokens))
        self._entries.append(entry)

    def history_tokens(self) -> list[tuple[Message, list[int]]]:
        """Every history message with the token ids it is rendered as."""
        return [(e.message, list(e.tokens)) for e in self._entries]

    # --- a turn -------------------------------------------------------------------------
    def send(
        self,
        user_text: str,
        *,
        on_event: Callable[[SessionEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> TurnResult:
        """One user turn, tool loop included. On an error the history is left as it was."""
        emit = on_event or (lambda _event: None)
        cancel = cancel or CancelToken()
        mark = len(self._entries)
        result = TurnResult()
        try:
            self._append(Message.user(user_text), result)
            self._run_turn(result, emit, cancel)
        except BaseException:
            del self._entries[mark:]
            raise
        return result

    def respond(
        self,
        *,
        on_event: Callable[[SessionEvent], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> TurnResult:
        """The model's next messages for the history as it stands (it ends with a user
        message or a tool result): a turn without a new user message."""
        emit = on_event or (lambda _event: None)
        cancel = cancel or CancelToken()
        mark = len(self._entries)
        result = TurnResult()
        try:
            self._run_turn(result, emit, cancel)
        except BaseException:
            del self._entries[mark:]
            raise
        return result

    def _run_turn(
        self, result: TurnResult, emit: Callable[[SessionEvent], None], cancel: CancelToken
    ) -> None:
        calls = 0
        while True:
            if cancel.cancelled:
                result.stop_reason = "cancelled"
                return
            ends, metrics = self._generate(result, emit, cancel)
            last = ends[-1] if ends else None
            if metrics.stop_reason in ("cancelled", "max_tokens", "context_full"):
                result.stop_reason = metrics.stop_reason
                return
            if last is None or not (last.stop_token == CALL and last.message.is_tool_call):
                final = last is not None and last.message.channel == "final"
                result.stop_reason = "final" if final else "no_final"
                return
            call = ToolCall.from_message(last.message)
            if not self.run_tools:
                result.stop_reason = "tool_call"
                return
            if calls >= self.max_tool_calls:
                limit = f"tool call limit of {self.max_tool_calls} reached; answer without tools"
                outcome = ToolOutcome(call, error_output(limit), True)
                self._append(_result_message(call, outcome), result)
                result.tool_calls.append(outcome)
                emit(ToolCallFinished(outcome))
                result.stop_reason = "tool_call_limit"
                return
            emit(ToolCallRequested(call))
            outcome = run_tool_call(call, self.tools, self.approve)
            calls += 1
            result.tool_calls.append(outcome)
            self._append(_result_message(call, outcome), result)
            emit(ToolCallFinished(outcome))

    def _generate(
        self, result: TurnResult, emit: Callable[[SessionEvent], None], cancel: CancelToken
    ) -> tuple[list[MessageEnd], GenerationMetrics]:
        prompt = self.prompt_tokens()
        cached = _common_prefix(prompt, self.engine.evaluated_tokens)
        request = GenerateRequest(
            prompt_tokens=prompt,
            max_tokens=self.max_tokens,
            stop_tokens=list(self._stop_ids),
            sampling=self.sampling,
        )
        generation = self.engine.generate(request)
        unsubscribe = cancel.on_cancel(generation.cancel)
        parser = StreamParser(self.vocab, Role.ASSISTANT, valid_channels=self._channels)
        try:
            for batch in generation:
                self._feed(parser, batch, emit)
        finally:
            unsubscribe()
        metrics = generation.result
        assert metrics is not None, "a finished generation has metrics"
        stop = metrics.stop_token
        if stop is not None and (not parser.tokens or parser.tokens[-1] != stop):
            for event in parser.feed(stop):  # an engine that does not send the stop token
                emit(event)
        for event in parser.finish():
            emit(event)
        done = GenerationFinished(metrics, len(prompt), cached)
        result.generations.append(done)
        emit(done)
        for i, end in enumerate(parser.ends):
            self._append_generated(end, first=i == 0, result=result)
        return parser.ends, metrics

    def _feed(
        self, parser: StreamParser, batch: TokenBatch, emit: Callable[[SessionEvent], None]
    ) -> None:
        if isinstance(self.vocab, EngineVocabulary):
            self.vocab.remember_pieces(batch.ids, batch.pieces)
        pieces: Sequence[bytes | None] = (
            batch.pieces if len(batch.pieces) == len(batch.ids) else [None] * len(batch.ids)
        )
        for token_id, piece in zip(batch.ids, pieces, strict=True):
            for event in parser.feed(token_id, piece):
                emit(event)

    # --- history entries ------------------------------------------------------------------
    def _append(self, message: Message, result: TurnResult) -> None:
        self._entries.append(self._rendered(message))
        result.messages.append(message)

    def _append_generated(self, end: MessageEnd, *, first: bool, result: TurnResult) -> None:
        """Keep the model's own tokens as history, closed the way history closes a message."""
        message = end.message
        faithful = all(note.split(":", 1)[0] in _HARMLESS for note in end.malformed)
        if faithful:
            body = list(end.tokens)
            if end.stop_token is not None:
                body.pop()
            tokens = (self._open_assistant if first else []) + body
            tokens.append(self.vocab.special_id(end_token(message)))
            self._entries.append(_Entry(message, tokens))
        else:
            self._entries.append(self._rendered(message))
        result.messages.append(message)
        result.ends.append(end)

    def _rendered(self, message: Message) -> _Entry:
        segments = message_segments(message, has_function_tools=self._has_functions)
        return _Entry(message, segments_tokens(segments, self.vocab))


def _result_message(call: ToolCall, outcome: ToolOutcome) -> Message:
    return Message.tool_result(call.recipient, outcome.output)


def _common_prefix(a: Iterable[int], b: Iterable[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
