"""What a tool call is and what a tool gives back.

Every tool here is a plain callable ``handler(name, arguments) -> ToolResult``. A result's
``text`` is what goes back to the model, as the content of a Harmony tool message
(author ``tool_name``, recipient ``assistant``, channel ``commentary``). Tool output and
documents are data from outside the conversation: ``untrusted`` is True for them, the panel
marks them, and the Harmony renderer tokenizes them as plain text (never as control tokens).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.errors import ToolError

Arguments = Mapping[str, Any] | str


@dataclass(frozen=True)
class ToolCall:
    """A call the model made: ``recipient`` as in Harmony (``python``, ``browser.search``,
    ``functions.get_weather``), ``arguments`` as sent (a JSON object, or raw text such as
    python code)."""

    recipient: str
    arguments: Arguments = field(default_factory=dict)
    call_id: str = ""

    @property
    def namespace(self) -> str:
        return self.recipient.split(".", 1)[0]

    @property
    def function(self) -> str:
        """The part after the namespace (``search`` for ``browser.search``), else ''."""
        return self.recipient.split(".", 1)[1] if "." in self.recipient else ""

    def with_arguments(self, arguments: Arguments) -> ToolCall:
        return ToolCall(self.recipient, arguments, self.call_id)

    def arguments_text(self) -> str:
        """The arguments as shown to the user for approval: pretty JSON when they are a JSON
        object (given as one or as its text), else the raw text (python code)."""
        value: Any = self.arguments
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return self.arguments  # type: ignore[return-value]
            if not isinstance(value, dict):
                return self.arguments  # type: ignore[return-value]
        return json.dumps(dict(value), indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class ToolResult:
    """What a tool returns. ``text`` goes to the model; the flags are for the panel.

    ``untrusted``: the text came from outside the conversation (tool output, documents).
    ``is_error``: the tool could not do what was asked; ``text`` says why (the model reads it).
    ``denied``: the user (or the policy) refused the call; it never ran.
    ``data``: structured details for the panel and for citations (not sent to the model).
    """

    tool_name: str
    text: str
    untrusted: bool = True
    is_error: bool = False
    denied: bool = False
    elapsed_s: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def author(self) -> str:
        """The Harmony author name of the tool message (``functions.x``, ``browser.open``)."""
        return self.tool_name

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool_name": self.tool_name,
            "text": self.text,
            "untrusted": self.untrusted,
            "is_error": self.is_error,
            "denied": self.denied,
            "elapsed_s": self.elapsed_s,
            "data": dict(self.data),
        }


ToolHandler = Callable[[str, Arguments], ToolResult]


def parse_arguments(arguments: Arguments) -> dict[str, Any]:
    """A JSON object from what the model sent, parsed leniently.

    Accepts a mapping as is; for text, ignores surrounding whitespace, a Markdown code fence
    and trailing junk after the object. Raises ToolError with a message the model can act on.
    """
    if isinstance(arguments, Mapping):
        return dict(arguments)
    text = arguments.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.removeprefix("json").strip()
    if not text:
        return {}
    try:
        value, _end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise ToolError(
            f"the arguments are not valid JSON ({exc.msg} at {exc.pos}); send a JSON object"
        ) from None
    if not isinstance(value, dict):
        raise ToolError('the arguments must be a JSON object, like {"name": value}')
    return value


def error_result(tool_name: str, message: str, elapsed_s: float = 0.0) -> ToolResult:
    """A result that tells the model what went wrong (it is not an exception in the app)."""
    return ToolResult(tool_name, message, untrusted=False, is_error=True, elapsed_s=elapsed_s)
