"""The tools of one chat in one place: which are on, what the model is told, who answers.

``ToolBox.run(call)`` routes a call by its recipient (``python``, ``browser.*``,
``functions.*``) through the approval policy to the handler and returns a ToolResult;
``on_result`` hears every result (the tool panel listens there). ``harmony_handlers()``
gives the same tools in the form the Harmony chat session takes (name -> text).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.harmony.model import ToolNamespace
from gptoss_desktop.core.tools.approval import ApprovalPolicy
from gptoss_desktop.core.tools.browser.session import BrowserSession
from gptoss_desktop.core.tools.functions import FunctionSpec, FunctionTools
from gptoss_desktop.core.tools.namespaces import (
    browser_namespace,
    functions_namespace,
    python_namespace,
)
from gptoss_desktop.core.tools.python_tool import PythonTool
from gptoss_desktop.core.tools.results import Arguments, ToolCall, ToolHandler, ToolResult

if TYPE_CHECKING:
    from gptoss_desktop.core.tools.mcp import McpTools


class ToolBox:
    """The enabled tools of one chat. Close it to stop the python sandbox."""

    def __init__(
        self,
        *,
        python: PythonTool | None = None,
        browser: BrowserSession | None = None,
        functions: FunctionTools | None = None,
        policy: ApprovalPolicy | None = None,
        on_result: Callable[[ToolCall, ToolResult], None] | None = None,
        mcp: McpTools | None = None,
    ) -> None:
        self.python = python
        self.browser = browser
        self.functions = functions
        self.mcp = mcp  # MCP servers' tools, offered as functions
        self.policy = policy
        self.on_result = on_result

    def system_namespaces(self) -> dict[str, ToolNamespace]:
        """Built-in tools for the system message."""
        found: dict[str, ToolNamespace] = {}
        if self.browser is not None:
            found["browser"] = browser_namespace()
        if self.python is not None:
            found["python"] = python_namespace()
        return found

    def developer_namespace(self) -> ToolNamespace | None:
        """Function tools for the developer message (None when there are none)."""
        specs = self.function_specs()
        return functions_namespace(specs) if specs else None

    def function_specs(self) -> list[FunctionSpec]:
        """The user's function tools, then the MCP servers' tools."""
        specs = list(self.functions.specs) if self.functions is not None else []
        return specs + (self.mcp.specs if self.mcp is not None else [])

    def handler_for(self, recipient: str) -> ToolHandler | None:
        namespace = recipient.split(".", 1)[0]
        if namespace == "python" and self.python is not None:
            return self.python.handle
        if namespace == "browser" and self.browser is not None:
            return self.browser.handle
        if namespace == "functions" and self.mcp is not None and self.mcp.handles(recipient):
            return self.mcp.handle
        if namespace == "functions" and self.functions is not None:
            return self.functions.handle
        return None

    def run(self, call: ToolCall) -> ToolResult:
        """Approve and run one call; never raises for what the model did wrong."""
        started = time.monotonic()
        handler = self.handler_for(call.recipient)
        if handler is None:
            on = sorted(self.system_namespaces()) + (["functions"] if self.function_specs() else [])
            result = ToolResult(
                call.recipient,
                f"There is no tool {call.recipient!r} in this chat; available: {', '.join(on) or 'none'}.",
                untrusted=False,
                is_error=True,
            )
        else:
            allowed, final, message = True, call, ""
            if self.policy is not None:
                verdict = self.policy.review(call)
                allowed, final, message = verdict.allowed, verdict.call, verdict.message
            if allowed:
                result = handler(final.recipient, final.arguments)
            else:
                result = ToolResult(
                    call.recipient,
                    message,
                    untrusted=False,
                    is_error=True,
                    denied=True,
                    elapsed_s=time.monotonic() - started,
                )
        if self.on_result is not None:
            self.on_result(call, result)
        return result

    def harmony_handlers(self) -> dict[str, Callable[[str, Arguments], str]]:
        """Handlers keyed as the Harmony session looks them up, returning the result text.

        Approval is the session's job then (pass ``policy.hook()`` as its ``approve``).
        """

        def via(recipient: str) -> Callable[[str, Arguments], str]:
            handler = self.handler_for(recipient)
            assert handler is not None

            def run(name: str, arguments: Arguments) -> str:
                full = name if "." in name or name == "python" else f"functions.{name}"
                routed = recipient.startswith("functions")
                result = handler(full if routed else recipient, arguments)
                if self.on_result is not None:
                    self.on_result(ToolCall(full, arguments), result)
                if result.is_error and self.mcp is not None and handler == self.mcp.handle:
                    raise ToolError(result.text)  # the session tells the model {"error": ...}
                return result.text

            return run

        handlers: dict[str, Callable[[str, Arguments], str]] = {}
        if self.python is not None:
            handlers["python"] = via("python")
        if self.browser is not None:
            for function in ("search", "open", "find"):
                handlers[f"browser.{function}"] = via(f"browser.{function}")
        if self.functions is not None:
            for spec in self.functions.specs:
                handlers[spec.name] = via("functions")
        if self.mcp is not None:
            for spec in self.mcp.specs:
                handlers[spec.name] = via(f"functions.{spec.name}")
        return handlers

    def close(self) -> None:
        if self.python is not None:
            self.python.close()

    def __enter__(self) -> ToolBox:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
