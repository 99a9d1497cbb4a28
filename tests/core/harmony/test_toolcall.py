"""Tool calls: argument decoding, routing, approval, failures as results; the cancel token."""

from __future__ import annotations

import json
import threading
from typing import Any

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.model import Message
from gptoss_desktop.core.harmony.toolcall import (
    Approved,
    Denied,
    Edited,
    ToolCall,
    decode_arguments,
    run_tool_call,
)


def call(recipient: str, args: str, content_type: str | None = "<|constrain|>json") -> ToolCall:
    return ToolCall.from_message(Message.assistant(args, "commentary", recipient, content_type))


def echo(name: str, arguments: Any) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def test_names_and_namespaces() -> None:
    c = call("functions.get_weather", "{}")
    assert (c.namespace, c.name, c.is_function, c.wants_json) == (
        "functions",
        "get_weather",
        True,
        True,
    )
    b = call("browser.search", "{}", None)
    assert (b.namespace, b.name, b.is_function, b.wants_json) == (
        "browser",
        "browser.search",
        False,
        False,
    )


def test_decode_arguments() -> None:
    assert decode_arguments(call("functions.f", '{"a": [1, "é"]}')) == ({"a": [1, "é"]}, None)
    assert decode_arguments(call("functions.f", "  ")) == ({}, None)
    args, problem = decode_arguments(call("functions.f", "{'a': 1}"))
    assert args is None and problem is not None and "not valid JSON" in problem
    args, problem = decode_arguments(call("functions.f", "[1, 2]"))
    assert args is None and problem == "the arguments must be a JSON object, not list"
    # a non-function tool with plain text (e.g. python code) gets the text
    assert decode_arguments(call("python", "print(1)", None)) == ("print(1)", None)


def test_routing_functions_by_name_and_builtins_by_recipient() -> None:
    tools = {"f": echo, "python": echo}
    out = run_tool_call(call("functions.f", '{"x": 1}'), tools)
    assert not out.is_error and json.loads(out.output) == {"name": "f", "arguments": {"x": 1}}
    out = run_tool_call(call("python", "1+1", None), tools)
    assert json.loads(out.output) == {"name": "python", "arguments": "1+1"}
    out = run_tool_call(call("functions.g", "{}"), tools)
    assert out.is_error and "unknown tool functions.g; available: f, python" in out.output
    # a full-recipient key wins over a bare name
    out = run_tool_call(call("functions.f", "{}"), {"f": echo, "functions.f": lambda n, a: "full"})
    assert out.output == "full"


def test_approval_outcomes() -> None:
    c = call("functions.f", '{"x": 1}')
    assert run_tool_call(c, {"f": echo}, lambda _: Approved()).arguments == {"x": 1}
    denied = run_tool_call(c, {"f": echo}, lambda _: Denied())
    assert denied.is_error and denied.arguments is None and isinstance(denied.approval, Denied)
    assert json.loads(denied.output) == {"error": "the user denied this tool call"}
    edited = run_tool_call(c, {"f": echo}, lambda _: Edited({"x": 2}))
    assert json.loads(edited.output)["arguments"] == {"x": 2}


def test_handler_errors_and_non_string_results() -> None:
    def typed_error(name: str, arguments: Any) -> str:
        raise ToolError("sandbox unavailable; enable it in settings")

    out = run_tool_call(call("functions.f", "{}"), {"f": typed_error})
    assert out.is_error and json.loads(out.output) == {
        "error": "f failed: sandbox unavailable; enable it in settings"
    }
    out = run_tool_call(call("functions.f", "{}"), {"f": lambda n, a: {"ok": True}})  # type: ignore[dict-item,return-value]
    assert not out.is_error and out.output == '{"ok": true}'


def test_cancel_token_callbacks_once_from_another_thread() -> None:
    token = CancelToken()
    hits: list[str] = []
    unsubscribe = token.on_cancel(lambda: hits.append("a"))
    token.on_cancel(lambda: hits.append("b"))
    unsubscribe()
    t = threading.Thread(target=token.cancel)
    t.start()
    t.join()
    token.cancel()
    assert token.cancelled and hits == ["b"]
    token.on_cancel(lambda: hits.append("late"))  # already cancelled: runs at once
    assert hits == ["b", "late"]
