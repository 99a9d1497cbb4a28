"""Tool calls the model makes: reading them, asking for approval, running the handler.

A handler is a plain callable ``(name, arguments) -> str``; ``arguments`` is the decoded JSON
object for a JSON call, the raw text otherwise. Handlers are found by the full recipient
(``functions.get_weather``, ``browser.search``, ``python``) and, for functions, also by the bare
function name (``get_weather``). Whatever goes wrong (arguments that are not
JSON, an unknown function, a denied call, a handler that raises) becomes an error result the
model reads (``{"error": "..."}``) and the caller sees as ``ToolOutcome.is_error``; it is never
swallowed and never raised into the chat loop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from gptoss_desktop.core.harmony.model import FUNCTIONS_NAMESPACE, Message

Arguments = dict[str, Any] | str


class ToolHandler(Protocol):
    def __call__(self, name: str, arguments: Arguments) -> str: ...


@dataclass(frozen=True)
class ToolCall:
    """One call, as the model wrote it."""

    recipient: str  # "functions.get_weather", "browser.search", "python"
    arguments_text: str
    content_type: str | None

    @property
    def namespace(self) -> str:
        return self.recipient.split(".", 1)[0] if "." in self.recipient else self.recipient

    @property
    def name(self) -> str:
        """The function name for ``functions.NAME``; the whole recipient otherwise."""
        prefix = FUNCTIONS_NAMESPACE + "."
        return (
            self.recipient[len(prefix) :] if self.recipient.startswith(prefix) else self.recipient
        )

    @property
    def is_function(self) -> bool:
        return self.recipient.startswith(FUNCTIONS_NAMESPACE + ".")

    @property
    def wants_json(self) -> bool:
        return self.is_function or "json" in (self.content_type or "")

    @classmethod
    def from_message(cls, message: Message) -> ToolCall:
        return cls(message.recipient or "", message.text, message.content_type)


@dataclass(frozen=True)
class Approved:
    pass


@dataclass(frozen=True)
class Denied:
    reason: str = "the user denied this tool call"


@dataclass(frozen=True)
class Edited:
    """Run the call with these arguments instead of the model's."""

    arguments: Arguments


Approval = Approved | Denied | Edited
ApprovalHook = Callable[[ToolCall], Approval]


@dataclass(frozen=True)
class ToolOutcome:
    call: ToolCall
    output: str  # what the model reads back
    is_error: bool
    arguments: Arguments | None = None  # what the handler got (None: it did not run)
    approval: Approval | None = None


def error_output(message: str) -> str:
    return json.dumps({"error": message}, ensure_ascii=False)


def decode_arguments(call: ToolCall) -> tuple[Arguments | None, str | None]:
    """The call's arguments, or an error text for the model."""
    text = call.arguments_text
    if not call.wants_json:
        return text, None
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            None,
            f"the arguments are not valid JSON ({exc.msg} at position {exc.pos}); call {call.recipient} again with a JSON object",
        )
    if not isinstance(value, dict):
        return None, f"the arguments must be a JSON object, not {type(value).__name__}"
    return value, None


def run_tool_call(
    call: ToolCall,
    tools: Mapping[str, ToolHandler],
    approve: ApprovalHook | None = None,
) -> ToolOutcome:
    """Validate, approve and run one call; every failure becomes an error outcome."""
    handler = tools.get(call.recipient)
    if handler is None and call.is_function:
        handler = tools.get(call.name)
    if handler is None:
        known = ", ".join(sorted(tools)) or "none"
        return ToolOutcome(
            call, error_output(f"unknown tool {call.recipient}; available: {known}"), True
        )
    arguments, problem = decode_arguments(call)
    if problem is not None or arguments is None:
        return ToolOutcome(call, error_output(problem or "no arguments"), True)
    approval: Approval | None = None
    if approve is not None:
        approval = approve(call)
        if isinstance(approval, Denied):
            return ToolOutcome(call, error_output(approval.reason), True, None, approval)
        if isinstance(approval, Edited):
            arguments = approval.arguments
    try:
        output = handler(call.name, arguments)
    except Exception as exc:  # the model is told; the caller sees is_error
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return ToolOutcome(
            call, error_output(f"{call.name} failed: {detail}"), True, arguments, approval
        )
    if not isinstance(output, str):
        output = json.dumps(output, ensure_ascii=False, default=str)
    return ToolOutcome(call, output, False, arguments, approval)
