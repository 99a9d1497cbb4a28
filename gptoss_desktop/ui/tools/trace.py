"""The trace of one chat turn, as the tool panel shows it: every Harmony message, tool call
and tool result with its channel, recipient, arguments, approval, timings and raw tokens.

Qt-free. A :class:`TraceRecorder` is fed on the turn's worker thread (session events, what
approval and the tools did) and keeps a :class:`TurnTrace` under a lock; the panel reads
:meth:`TraceRecorder.snapshot` on the GUI thread after ``listener`` tells it something changed.
Exports (:func:`trace_to_dict`, :func:`trace_to_text`) live in :mod:`.trace_export`.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.harmony import (
    ContentDelta,
    Denied,
    Edited,
    MessageEnd,
    MessageStart,
    ToolCallFinished,
    ToolCallRequested,
)
from gptoss_desktop.core.tools.approval import Verdict
from gptoss_desktop.core.tools.results import ToolResult

#: Kinds of entry: the user's message, a model message (any channel), a tool call the model
#: made, the tool's result as the model reads it, and a note from the app (limit, error).
USER, MESSAGE, TOOL_CALL, TOOL_RESULT, NOTICE = (
    "user",
    "message",
    "tool_call",
    "tool_result",
    "notice",
)

#: What stopped a turn, in words for the panel.
KEPT_CHATS = 8  # chats whose last turn the panel can show again
STOP_WORDS = {
    "final": "answered",
    "tool_call_limit": "stopped: the tool call limit was reached",
    "max_tokens": "stopped: the answer reached the token limit",
    "context_full": "stopped: the context window is full",
    "cancelled": "stopped by you",
    "no_final": "ended without a final answer",
}


@dataclass
class RawSpan:
    """A run of text in a raw prompt or completion; ``special`` for a control token."""

    text: str
    special: bool = False


@dataclass
class TraceEntry:
    kind: str
    author: str
    text: str = ""
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None
    started_s: float = 0.0  # since the turn began
    ended_s: float | None = None
    tokens: int = 0
    arguments: str | None = None  # tool calls: pretty-printed as the model sent them
    ran_with: str | None = None  # tool calls: the arguments that ran, when edited
    approval: str | None = None  # "asked", "always allowed", "mode all", "denied", ...
    waited_s: float | None = None  # tool calls: time spent waiting for the user
    status: str = ""  # "streaming", "awaiting approval", "running", "done", "denied", ...
    untrusted: bool = False
    source: str = ""  # tool results: who produced the text ("python", "typed by you"...)
    is_error: bool = False
    malformed: tuple[str, ...] = ()
    raw: str = ""
    links: tuple[tuple[str, str], ...] = ()  # citations: (label, url)
    version: int = 0  # bumped on every change (the view redraws changed rows only)

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_s is None else max(self.ended_s - self.started_s, 0.0)


@dataclass
class GenerationRecord:
    """One call to the model within the turn: the exact prompt and completion tokens."""

    prompt: list[RawSpan]
    completion: list[RawSpan]
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnTrace:
    user_text: str = ""
    started_at: float = 0.0  # wall clock (time.time())
    entries: list[TraceEntry] = field(default_factory=list)
    generations: list[GenerationRecord] = field(default_factory=list)
    stop_reason: str | None = None  # None while the turn runs
    error: str | None = None
    calls: int = 0
    max_calls: int = 0

    @property
    def running(self) -> bool:
        return self.stop_reason is None and self.error is None

    def status_line(self) -> str:
        if self.error:
            return f"Failed: {self.error}"
        for entry in reversed(self.entries):
            if entry.status == "awaiting approval":
                return f"Waiting for your approval of {entry.recipient}"
            if entry.status == "awaiting your result":
                return f"Waiting for you to give the result of {entry.recipient}"
        if self.stop_reason is None:
            return "Running…" if self.entries else "No turn yet"
        took = max((e.ended_s or e.started_s for e in self.entries), default=0.0)
        calls = f" · {self.calls} tool call{'s' if self.calls != 1 else ''}" if self.calls else ""
        words = STOP_WORDS.get(self.stop_reason, self.stop_reason)
        return f"{words.capitalize()} in {took:.1f} s{calls}"


def pretty_arguments(text: str) -> str:
    """JSON arguments indented for reading; anything else (python code) as it is."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text
    return json.dumps(value, indent=2, ensure_ascii=False)


def _source(result: ToolResult | None) -> str:
    if result is None:
        return "the app (the tool did not run)"
    binding = result.data.get("binding")
    if binding == "human":
        return "typed by you"
    if binding:
        return f"built-in {binding}"
    return result.tool_name.split(".", 1)[0]


class TraceRecorder:
    """Builds the current turn's trace from the worker thread; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._trace = TurnTrace()
        self._t0 = clock()
        self._open: TraceEntry | None = None  # the model message being streamed
        self._call: TraceEntry | None = None  # the tool call being handled
        self._pending_result: ToolResult | None = None
        #: Called (on the recording thread) after every change; the Qt side coalesces.
        self.listener: Callable[[], None] | None = None
        #: The chat the shown trace belongs to, and the last trace of other recent chats.
        self.chat: str | None = None
        self._by_chat: OrderedDict[str, TurnTrace] = OrderedDict()

    def show_chat(self, key: str, unsaved: str = "unsaved") -> None:
        """Show chat ``key``'s last turn (or nothing): the panel follows the open chat."""
        with self._lock:
            if key == self.chat:
                return
            if self.chat in (None, unsaved) and key not in self._by_chat:
                self.chat = key  # a new chat got its id: the trace is its own
                return
            if self.chat is not None and self._trace.entries:
                self._by_chat[self.chat] = self._trace
                self._by_chat.move_to_end(self.chat)
                while len(self._by_chat) > KEPT_CHATS:
                    self._by_chat.popitem(last=False)
            self._trace = self._by_chat.pop(key, None) or TurnTrace()
            self.chat = key
            self._open = self._call = None
            self._pending_result = None
        self._changed()

    # --- reading (any thread) ------------------------------------------------------------
    def snapshot(self) -> TurnTrace:
        with self._lock:
            return copy.deepcopy(self._trace)

    # --- recording (the turn's thread) -----------------------------------------------------
    def begin_turn(self, user_text: str, max_calls: int = 0, chat: str | None = None) -> None:
        with self._lock:
            if chat is not None:
                self.chat = chat
            self._t0 = self._clock()
            self._trace = TurnTrace(user_text, time.time(), max_calls=max_calls)
            self._trace.entries.append(TraceEntry(USER, "user", user_text, ended_s=0.0))
            self._open = self._call = None
            self._pending_result = None
        self._changed()

    def on_event(self, event: object) -> None:
        with self._lock:
            now = self._clock() - self._t0
            if isinstance(event, MessageStart):
                self._open = self._add(
                    TraceEntry(
                        TOOL_CALL if event.recipient not in (None, "all") else MESSAGE,
                        event.author.role.value,
                        channel=event.channel,
                        recipient=event.recipient,
                        content_type=event.content_type,
                        started_s=now,
                        status="streaming",
                    )
                )
            elif isinstance(event, ContentDelta) and self._open is not None:
                self._open.text += event.text
                self._open.version += 1
            elif isinstance(event, MessageEnd):
                self._end_message(event, now)
            elif isinstance(event, ToolCallRequested):
                self._on_call_requested(event, now)
            elif isinstance(event, ToolCallFinished):
                self._on_call_finished(event, now)
            else:
                return
        self._changed()

    def _end_message(self, event: MessageEnd, now: float) -> None:
        entry = self._open
        if entry is None:  # a message without a header event (malformed output)
            entry = self._add(TraceEntry(MESSAGE, event.message.role.value, started_s=now))
        message = event.message
        entry.text = message.text
        entry.channel = message.channel
        entry.recipient = message.recipient
        entry.content_type = message.content_type
        entry.ended_s = now
        entry.tokens = len(event.tokens)
        entry.raw = event.raw
        entry.malformed = tuple(event.malformed)
        entry.status = "done"
        if message.is_tool_call:
            entry.kind = TOOL_CALL
            entry.arguments = pretty_arguments(message.text)
            entry.status = "requested"
        entry.version += 1
        self._open = None

    def _last_call(self, recipient: str) -> TraceEntry | None:
        for entry in reversed(self._trace.entries):
            if entry.kind == TOOL_CALL and entry.recipient == recipient:
                return entry
        return None

    def _on_call_requested(self, event: ToolCallRequested, now: float) -> None:
        entry = self._last_call(event.call.recipient)
        if entry is not None:
            entry.status = "checking"
            entry.version += 1
            self._call = entry
        self._trace.calls += 1

    def _on_call_finished(self, event: ToolCallFinished, now: float) -> None:
        outcome = event.outcome
        call = self._call or self._last_call(outcome.call.recipient)
        denied = isinstance(outcome.approval, Denied)
        result = self._pending_result
        failed = outcome.is_error or (result is not None and result.is_error)
        if call is not None:
            if isinstance(outcome.approval, Edited):
                edit = outcome.approval.arguments
                call.ran_with = (
                    edit if isinstance(edit, str) else pretty_arguments(json.dumps(edit))
                )
            if denied:
                call.status = "denied"
            elif outcome.arguments is None:
                call.status = "not run"
            else:
                call.status = "error" if failed else "ran"
            call.version += 1
        self._add(
            TraceEntry(
                TOOL_RESULT,
                outcome.call.recipient,
                outcome.output,
                channel="commentary",
                recipient="assistant",
                started_s=now - (result.elapsed_s if result else 0.0),
                ended_s=now,
                status="denied" if denied else "done",
                untrusted=True,  # tool output is data from outside the conversation
                source=_source(result),
                is_error=failed,
            )
        )
        self._pending_result = None
        self._call = None

    # --- what approval and the tools did (the wiring calls these) ---------------------------
    def awaiting_approval(self, recipient: str) -> None:
        with self._lock:
            entry = self._call or self._last_call(recipient)
            if entry is None:
                return
            entry.status = "awaiting approval"
            entry.waited_s = self._clock() - self._t0  # start of the wait, for now
            entry.version += 1
        self._changed()

    def awaiting_result(self, recipient: str) -> None:
        """The user is asked to type the result of a function call."""
        with self._lock:
            entry = self._call or self._last_call(recipient)
            if entry is None:
                return
            entry.status = "awaiting your result"
            entry.version += 1
        self._changed()

    def reviewed(self, recipient: str, verdict: Verdict, decision: str | None = None) -> None:
        """How approval went: ``decision`` is the user's answer when they were asked."""
        with self._lock:
            entry = self._call or self._last_call(recipient)
            if entry is None:
                return
            if entry.status == "awaiting approval" and entry.waited_s is not None:
                entry.waited_s = self._clock() - self._t0 - entry.waited_s
            words = decision or verdict.reason
            entry.approval = f"{words}, arguments edited" if verdict.edited else words
            entry.status = "running" if verdict.allowed else "denied"
            entry.version += 1
        self._changed()

    def tool_result(self, result: ToolResult) -> None:
        with self._lock:
            self._pending_result = result
        self._changed()

    def notice(self, text: str) -> None:
        """A note from the app in the trace (a tool that is off, a limit)."""
        with self._lock:
            now = self._clock() - self._t0
            self._add(TraceEntry(NOTICE, "app", text, started_s=now, ended_s=now))
        self._changed()

    def add_generation(self, record: GenerationRecord) -> None:
        with self._lock:
            self._trace.generations.append(record)
        self._changed()

    def end_turn(
        self,
        stop_reason: str | None = None,
        *,
        error: str | None = None,
        notice: str | None = None,
        links: tuple[tuple[str, str], ...] = (),
    ) -> None:
        with self._lock:
            now = self._clock() - self._t0
            if self._open is not None:
                self._open.status = "cut off"
                self._open.ended_s = now
                self._open.version += 1
                self._open = None
            for entry in self._trace.entries:
                if entry.status in (
                    "awaiting approval",
                    "awaiting your result",
                    "checking",
                    "running",
                    "requested",
                ):
                    entry.status = "not run"
                    entry.version += 1
            if notice:
                self._add(TraceEntry(NOTICE, "app", notice, started_s=now, ended_s=now))
            if links:
                finals = [e for e in self._trace.entries if e.channel == "final"]
                if finals:
                    finals[-1].links = links
                    finals[-1].version += 1
            self._trace.stop_reason = stop_reason or ("error" if error else "no_final")
            self._trace.error = error
        self._changed()

    # --- helpers ----------------------------------------------------------------------------
    def _add(self, entry: TraceEntry) -> TraceEntry:
        self._trace.entries.append(entry)
        return entry

    def _changed(self) -> None:
        listener = self.listener
        if listener is not None:
            listener()
