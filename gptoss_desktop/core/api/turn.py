"""One API request on one loaded model: the session it opens and the events it streams.

:func:`open_api_session` is the one place a request becomes a session: a Harmony
``ChatSession`` that does not run tools (a tool call ends the turn and goes back to the
client) for gpt-oss models, a ``TemplateChatSession`` for every other model. :class:`ApiTurn`
runs it and turns the session's events into :data:`ApiEvent`s: reasoning (the analysis
channel) and answer text never mix, each tool call gets an id and streams its arguments.
The caller holds the model's :class:`~gptoss_desktop.core.api.gate.EngineGate` turn.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.api.errors import ApiError
from gptoss_desktop.core.api.memo import GenerationMemo
from gptoss_desktop.core.api.requests import TurnRequest, function_name
from gptoss_desktop.core.chat.harmony_turns import open_harmony_session
from gptoss_desktop.core.chat.kind import is_harmony_model
from gptoss_desktop.core.chat.session import SessionSettings, history_message
from gptoss_desktop.core.chat.template_turns import open_template_session
from gptoss_desktop.core.errors import ContextOverflow
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.model import FUNCTIONS_NAMESPACE, Message, ReasoningEffort, Role
from gptoss_desktop.core.harmony.parse import ContentDelta, MessageEnd, MessageStart
from gptoss_desktop.core.harmony.session import ChatSession, GenerationFinished
from gptoss_desktop.core.harmony.vocab import EngineVocabulary
from gptoss_desktop.core.templating.session import TemplateChatSession, TemplateEngine

DEFAULT_MAX_TOKENS = 4096


# --- events --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnStarted:
    """The request has the model and its prompt fits: generation begins."""

    prompt_tokens: int


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    index: int
    call_id: str
    name: str


@dataclass(frozen=True)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str


@dataclass
class TurnDone:
    #: "stop", "length", "tool_calls" or "cancelled"
    finish_reason: str
    usage: Usage
    reasoning: str = ""
    text: str = ""
    calls: list[FunctionCall] = field(default_factory=list)
    #: the model's messages of this turn, in order (Harmony messages; for the stored history)
    output: list[Message] = field(default_factory=list)


ApiEvent = TurnStarted | ReasoningDelta | TextDelta | ToolCallStarted | ToolCallDelta | TurnDone
Emit = Callable[[ApiEvent], None]


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


# --- the session ---------------------------------------------------------------------------------
ApiSession = ChatSession | TemplateChatSession


def open_api_session(
    engine: TemplateEngine,
    request: TurnRequest,
    memo: GenerationMemo | None = None,
    *,
    date: str | None = None,
) -> ApiSession:
    """The session for ``request`` on ``engine``, history loaded, ready for one turn.

    The session rule is the chat core's (:mod:`core.chat.session`: instructions to the
    developer message, the default identity, effort and date in the system message), so the
    API and the window render the same prompt for the same settings. ``date``: the date told
    to gpt-oss (None: today; ``NO_DATE``: none)."""
    n_ctx = engine.info.n_ctx if engine.info is not None else 0
    n_vocab = engine.info.n_vocab if engine.info is not None else 0
    outside = [t for t in request.sampling.logit_bias if n_vocab and t >= n_vocab]
    if outside:
        raise ApiError(
            400,
            f"logit_bias names token {outside[0]}, but this model's vocabulary has {n_vocab}",
            param="logit_bias",
        )
    max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
    settings = SessionSettings(
        instructions=request.instructions or "",
        reasoning_effort=(request.effort or ReasoningEffort.MEDIUM).value,
        date=date,
        temperature=request.sampling.temperature,
        top_p=request.sampling.top_p,
        seed=request.sampling.seed,
        functions=tuple(request.functions),
    )
    if is_harmony_model(engine):
        vocab = None
        if memo is not None:
            if memo.vocab is None:
                memo.vocab = EngineVocabulary(engine)
            vocab = memo.vocab
        session = open_harmony_session(
            engine,
            settings,
            sampling=request.sampling,  # logit_bias too
            max_tokens=max_tokens,
            run_tools=False,
            vocab=vocab,
        )
        for message in request.history:
            tokens = memo.tokens_for(message) if memo is not None else None
            session.add_message(message, tokens)
        prompt = len(session.prompt_tokens())
        _check_context(prompt, n_ctx)
        session.max_tokens = max(1, min(max_tokens, n_ctx - prompt)) if n_ctx else max_tokens
        return session
    if request.functions:
        raise ApiError(
            400,
            f"{request.model} is not a gpt-oss model and cannot call tools through the API; "
            "send the request without tools",
            param="tools",
            code="tools_not_supported",
        )
    rows = []
    for message in request.history:
        if message.role is Role.USER or (
            message.role is Role.ASSISTANT and message.channel == "final"
        ):
            rows.append(history_message(message.role.value, message.text, channel=message.channel))
        elif message.role is not Role.ASSISTANT:
            raise ApiError(400, f"{request.model} takes user and assistant messages only")
    if not rows or rows[-1].role != "user":
        raise ApiError(400, "the last message must be the user's", param="messages")
    return open_template_session(
        engine, settings, rows[:-1], sampling=request.sampling, max_tokens=max_tokens
    )


def _check_context(prompt_tokens: int, n_ctx: int) -> None:
    if n_ctx and prompt_tokens >= n_ctx:
        raise ApiError(
            400,
            f"This model's maximum context length is {n_ctx} tokens. However, your messages "
            f"resulted in {prompt_tokens} tokens. Shorten the messages, or load the model with "
            "a larger context.",
            param="messages",
            code="context_length_exceeded",
        )


# --- running it ----------------------------------------------------------------------------------
class ApiTurn:
    """Run one request's turn and emit :data:`ApiEvent`s; ``run`` returns the TurnDone."""

    def __init__(
        self,
        engine: TemplateEngine,
        request: TurnRequest,
        memo: GenerationMemo | None = None,
        *,
        date: str | None = None,
    ) -> None:
        self.engine = engine
        self.request = request
        self.memo = memo
        self.session = open_api_session(engine, request, memo, date=date)
        self._stops = list(request.stop)
        self._hold = max((len(s) for s in self._stops), default=1) - 1
        self._pending = ""  # answer text held back while it could begin a stop string
        self._stopped = False
        self._kind: str | None = None  # "reasoning", "text", "call" for the current message
        self._calls: list[FunctionCall] = []
        self._call_args: list[str] = []
        self._reasoning: list[str] = []
        self._text: list[str] = []
        self._generations: list[GenerationFinished] = []
        self._reasoning_tokens = 0

    def run(self, emit: Emit, cancel: CancelToken | None = None) -> TurnDone:
        cancel = cancel or CancelToken()
        inner = CancelToken()  # also fired by a stop string
        unsubscribe = cancel.on_cancel(inner.cancel)
        self._emit = emit
        self._cancel_inner = inner
        if isinstance(self.session, ChatSession):
            emit(TurnStarted(len(self.session.prompt_tokens())))
        else:
            emit(TurnStarted(0))
        try:
            if isinstance(self.session, ChatSession):
                result = self.session.respond(on_event=self._on_event, cancel=inner)
                generated = result.messages
            else:
                last = self.request.history[-1].text
                result_t = self.session.send(last, on_event=self._on_event, cancel=inner)
                generated = result_t.messages[1:]
                result = None
        except ContextOverflow as exc:
            _check_context(exc.needed, exc.available)
            raise
        finally:
            unsubscribe()
        self._flush_text(final=True)
        stop_reason = result.stop_reason if result is not None else result_t.stop_reason
        if self._stopped:
            finish = "stop"
        elif stop_reason == "tool_call":
            finish = "tool_calls"
        elif stop_reason in ("max_tokens", "context_full"):
            finish = "length"
        elif stop_reason == "cancelled":
            finish = "cancelled"
        else:
            finish = "stop"
        if result is not None:
            self._remember(result.messages)
        done = TurnDone(
            finish_reason=finish,
            usage=self._usage(),
            reasoning="".join(self._reasoning),
            text="".join(self._text),
            calls=[
                FunctionCall(c.call_id, c.name, args)
                for c, args in zip(self._calls, self._call_args, strict=True)
            ],
            output=list(generated),
        )
        emit(done)
        return done

    # --- session events -----------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        if isinstance(event, ContentDelta):
            self._delta(event.text)
        elif isinstance(event, MessageStart):
            self._start(event)
        elif isinstance(event, MessageEnd):
            if self._kind == "reasoning":
                self._reasoning_tokens += len(event.tokens)
            self._kind = None
        elif isinstance(event, GenerationFinished):
            self._generations.append(event)

    def _start(self, event: MessageStart) -> None:
        if event.author.role is not Role.ASSISTANT:
            self._kind = None
        elif event.recipient not in (None, "all"):
            index = len(self._calls)
            prefix = FUNCTIONS_NAMESPACE + "."
            recipient = event.recipient
            name = recipient[len(prefix) :] if recipient.startswith(prefix) else recipient
            call = FunctionCall(new_call_id(), name, "")
            self._calls.append(call)
            self._call_args.append("")
            self._kind = "call"
            self._emit(ToolCallStarted(index, call.call_id, name))
        elif event.channel == "analysis":
            if self._reasoning:
                self._reasoning.append("\n")
                self._emit(ReasoningDelta("\n"))
            self._kind = "reasoning"
        else:
            self._kind = "text"

    def _delta(self, text: str) -> None:
        if not text or self._stopped:
            return
        if self._kind == "reasoning":
            self._reasoning.append(text)
            self._emit(ReasoningDelta(text))
        elif self._kind == "call":
            self._call_args[-1] += text
            self._emit(ToolCallDelta(len(self._calls) - 1, text))
        elif self._kind == "text":
            self._pending += text
            self._flush_text(final=False)

    def _flush_text(self, *, final: bool) -> None:
        if self._stopped or not self._pending:
            return
        for stop in self._stops:
            at = self._pending.find(stop)
            if at >= 0:
                self._send_text(self._pending[:at])
                self._pending = ""
                self._stopped = True
                self._cancel_inner.cancel()
                return
        keep = 0 if final else min(self._hold, len(self._pending))
        cut = len(self._pending) - keep
        if cut > 0:
            self._send_text(self._pending[:cut])
            self._pending = self._pending[cut:]

    def _send_text(self, text: str) -> None:
        if text:
            self._text.append(text)
            self._emit(TextDelta(text))

    # --- after the turn ----------------------------------------------------------------------
    def _usage(self) -> Usage:
        prompt = sum(g.prompt_tokens for g in self._generations)
        cached = sum(g.cached_tokens for g in self._generations)
        completion = sum(g.metrics.completion_tokens for g in self._generations)
        return Usage(prompt, cached, completion, self._reasoning_tokens)

    def _remember(self, generated: list[Message]) -> None:
        """Keep the exact tokens of the model's finished messages, and the reasoning before
        each call, for the next request of this conversation."""
        if self.memo is None or not isinstance(self.session, ChatSession) or self._stopped:
            return
        history = self.session.history_tokens()
        tail = history[len(history) - len(generated) :] if generated else []
        reasoning: list[Message] = []
        calls = iter(self._calls)
        for message, tokens in tail:
            if message.role is not Role.ASSISTANT:
                continue
            self.memo.remember(message, tokens)
            if message.channel == "analysis":
                reasoning.append(message)
            elif message.is_tool_call:
                call = next(calls, None)
                if call is not None and call.name == function_name(message):
                    self.memo.remember_call(call.call_id, reasoning)
                reasoning = []
