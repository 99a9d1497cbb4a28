"""Approval of tool calls: ask first, remember "always allow" per chat, cap calls per turn.

Qt-free. The policy decides for each call whether it runs, with which arguments, and what
the model is told otherwise. Asking is a plain callable ``ask(request) -> Approval`` that
may block (the UI adapter shows the call with its full arguments and waits for the user;
the CLI prompts y/n on the terminal). Modes: ``ask`` (ask unless always-allowed), ``all``
(run everything without asking), ``none`` (run nothing). :meth:`ApprovalPolicy.hook` adapts
the policy to the Harmony chat session's approval hook.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gptoss_desktop.core.tools.results import Arguments, ToolCall

if TYPE_CHECKING:
    from gptoss_desktop.core.harmony import toolcall as harmony_toolcall


class ApprovalMode(enum.StrEnum):
    ASK = "ask"
    ALL = "all"
    NONE = "none"


class Decision(enum.StrEnum):
    ALLOW_ONCE = "allow_once"
    ALWAYS_ALLOW = "always_allow"  # this tool, for the rest of this chat
    DENY = "deny"


@dataclass(frozen=True)
class ApprovalRequest:
    """What the user is shown: the call, its arguments in full, and where the turn stands."""

    call: ToolCall
    call_number: int  # 1 for the first call of this turn
    max_calls_per_turn: int
    source: str = ""  # where the tool comes from when not the app ("MCP server time")

    @property
    def arguments_text(self) -> str:
        return self.call.arguments_text()


@dataclass(frozen=True)
class Approval:
    """The user's answer. ``arguments`` replaces the model's arguments when not None."""

    decision: Decision
    arguments: Arguments | None = None
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    """What happens to one call. ``message`` is what the model is told when it does not run."""

    allowed: bool
    call: ToolCall  # with the arguments that will run (possibly edited)
    reason: str  # "asked", "always allowed", "mode all", "denied", "mode none", "limit"
    message: str = ""
    edited: bool = False

    @property
    def limit_reached(self) -> bool:
        return self.reason == "limit"


Asker = Callable[[ApprovalRequest], Approval]

DENIED_MESSAGE = "The user denied this tool call; do not retry it. Continue without it."
OFF_MESSAGE = "Tool calls are turned off for this chat; answer without tools."


class ApprovalPolicy:
    """The approval state of one chat. Thread-safe: asking may block on another thread."""

    def __init__(
        self,
        mode: ApprovalMode | str = ApprovalMode.ASK,
        *,
        ask: Asker | None = None,
        max_calls_per_turn: int = 8,
        always_allowed: frozenset[str] = frozenset(),
    ) -> None:
        self.mode = ApprovalMode(mode)
        if self.mode is ApprovalMode.ASK and ask is None:
            raise ValueError("mode 'ask' needs an ask callable")
        if max_calls_per_turn < 1:
            raise ValueError("max_calls_per_turn must be at least 1")
        self.ask = ask
        self.max_calls_per_turn = max_calls_per_turn
        self._always: set[str] = set(always_allowed)
        self._calls = 0
        self._lock = threading.Lock()

    @property
    def always_allowed(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._always)

    @property
    def calls_this_turn(self) -> int:
        return self._calls

    def begin_turn(self) -> None:
        """A new user turn: the per-turn count starts again (always-allow stays)."""
        with self._lock:
            self._calls = 0

    def forget(self, recipient: str | None = None) -> None:
        """Withdraw "always allow" for one tool, or for all."""
        with self._lock:
            if recipient is None:
                self._always.clear()
            else:
                self._always.discard(recipient)

    def review(self, call: ToolCall) -> Verdict:
        """Decide one call; asks (and may block) in mode ``ask``. Counts toward the limit."""
        with self._lock:
            if self._calls >= self.max_calls_per_turn:
                return Verdict(
                    False,
                    call,
                    "limit",
                    f"Tool call limit of {self.max_calls_per_turn} per turn reached; "
                    "answer with what you have.",
                )
            self._calls += 1
            number = self._calls
            if self.mode is ApprovalMode.NONE:
                return Verdict(False, call, "mode none", OFF_MESSAGE)
            if self.mode is ApprovalMode.ALL:
                return Verdict(True, call, "mode all")
            if call.recipient in self._always:
                return Verdict(True, call, "always allowed")
        assert self.ask is not None
        answer = self.ask(ApprovalRequest(call, number, self.max_calls_per_turn))
        if answer.decision is Decision.DENY:
            message = DENIED_MESSAGE
            if answer.reason:
                message = f"The user denied this tool call: {answer.reason}"
            return Verdict(False, call, "denied", message)
        if answer.decision is Decision.ALWAYS_ALLOW:
            with self._lock:
                self._always.add(call.recipient)
        edited = answer.arguments is not None and answer.arguments != call.arguments
        final = call.with_arguments(answer.arguments) if answer.arguments is not None else call
        return Verdict(True, final, "asked", edited=edited)

    def hook(self) -> Callable[[harmony_toolcall.ToolCall], harmony_toolcall.Approval]:
        """This policy as the Harmony chat session's ``approve`` hook."""
        from gptoss_desktop.core.harmony import toolcall as harmony

        def approve(call: harmony.ToolCall) -> harmony.Approval:
            verdict = self.review(ToolCall(call.recipient, call.arguments_text))
            if not verdict.allowed:
                return harmony.Denied(verdict.message)
            if verdict.edited:
                return harmony.Edited(verdict.call.arguments)  # type: ignore[arg-type]
            return harmony.Approved()

        return approve


def terminal_asker(
    input_fn: Callable[[str], str] = input, print_fn: Callable[[str], None] = print
) -> Asker:
    """An asker for the command line: shows the call and reads y (once), a (always) or n."""

    def ask(request: ApprovalRequest) -> Approval:
        print_fn(
            f"\nTool call {request.call_number}/{request.max_calls_per_turn}: "
            f"{request.call.recipient}\n{request.arguments_text}"
        )
        while True:
            try:
                answer = input_fn("Run it? [y]es once / [a]lways for this chat / [n]o: ")
            except EOFError:
                return Approval(Decision.DENY, reason="no answer (end of input)")
            answer = answer.strip().lower()
            if answer in ("y", "yes"):
                return Approval(Decision.ALLOW_ONCE)
            if answer in ("a", "always"):
                return Approval(Decision.ALWAYS_ALLOW)
            if answer in ("n", "no", ""):
                return Approval(Decision.DENY)

    return ask
