"""Request bodies of ``/v1/chat/completions`` and ``/v1/responses`` to one :class:`TurnRequest`.

Messages become Harmony messages, the way gpt-oss was trained to read them:

* ``system`` and ``developer`` messages (and ``instructions``) become the developer message's
  instructions; the system message itself (identity, dates, reasoning effort) is the app's.
* an assistant message's ``reasoning_content`` (or ``reasoning``) is its analysis, its
  ``tool_calls`` are ``commentary`` calls to ``functions.NAME`` with ``<|constrain|>json``, its
  ``content`` the final answer (or, beside tool calls, a commentary preamble). Earlier analysis
  is then dropped or kept by the same rule as the chat window (:mod:`core.harmony.conversation`).
  A tool call sent back without its reasoning gets the reasoning the model wrote for it back
  from ``restore`` (kept by id), since during a tool loop gpt-oss sees its own analysis.
* ``tool`` messages (``function_call_output`` items) are results from ``functions.NAME``,
  NAME found through the call id.

Unknown fields are ignored, as OpenAI does; wrong types and values raise :class:`ApiError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.api.errors import ApiError, bad_request
from gptoss_desktop.core.engine.options import SamplingOptions
from gptoss_desktop.core.harmony.model import (
    FUNCTIONS_NAMESPACE,
    Author,
    Message,
    ReasoningEffort,
    Role,
    TextContent,
    ToolDescription,
)

JSON_CONTENT_TYPE = "<|constrain|>json"
MAX_STOP_STRINGS = 4
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EFFORTS = {
    "low": ReasoningEffort.LOW,
    "medium": ReasoningEffort.MEDIUM,
    "high": ReasoningEffort.HIGH,
    "minimal": ReasoningEffort.LOW,  # gpt-oss knows three efforts; OpenAI's lower ones map down
    "none": ReasoningEffort.LOW,
}
#: Reasoning messages remembered for a call id (the model's analysis before that call).
Restore = Callable[[str], Sequence[Message]]


@dataclass
class TurnRequest:
    """What one API request asks of the model, whichever endpoint it came through."""

    model: str
    history: list[Message]  # user, assistant and tool messages, in order
    instructions: str | None = None
    effort: ReasoningEffort | None = None
    functions: list[ToolDescription] = field(default_factory=list)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool = False
    include_usage: bool = False
    #: call id -> function name, for every call in the history
    call_names: dict[str, str] = field(default_factory=dict)


# --- shared field readers ------------------------------------------------------------------------
def _obj(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise bad_request("the request body must be a JSON object")
    return body


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request(
            "you must provide a model parameter (GET /v1/models lists them)", param="model"
        )
    return model


def _number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{name} must be a number from {low:g} to {high:g}", param=name)
    return float(value)


def _positive_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request(f"{name} must be a positive integer", param=name)
    return value


def _sampling(body: Mapping[str, Any]) -> SamplingOptions:
    temperature = _number(body, "temperature", 0.0, 2.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise bad_request("seed must be an integer", param="seed")
    bias = body.get("logit_bias") or {}
    if not isinstance(bias, Mapping):
        raise bad_request("logit_bias must map token ids to numbers", param="logit_bias")
    logit_bias: dict[int, float] = {}
    for key, value in bias.items():
        if (
            not str(key).isdigit()
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not -100 <= value <= 100
        ):
            raise bad_request(
                "logit_bias must map token ids to numbers from -100 to 100", param="logit_bias"
            )
        logit_bias[int(key)] = float(value)
    return SamplingOptions(
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        seed=None if seed is None else seed % (2**32),
        logit_bias=logit_bias,
    )


def _effort(value: Any, param: str) -> ReasoningEffort | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in _EFFORTS:
        raise bad_request(f"{param} must be one of 'low', 'medium' or 'high'", param=param)
    return _EFFORTS[value.lower()]


def _text_of(content: Any, param: str) -> str:
    """Text of a message's content: a string, or an array of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad_request(f"{param} must be a string or an array of content parts", param=param)
    texts: list[str] = []
    for i, part in enumerate(content):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, Mapping):
            raise bad_request(f"{param}[{i}] must be a content part object", param=param)
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text", "reasoning_text", "summary_text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise bad_request(f"{param}[{i}].text must be a string", param=param)
            texts.append(text)
        elif kind == "refusal":
            texts.append(str(part.get("refusal", "")))
        else:
            raise bad_request(
                f"{param}[{i}] is a {kind!r} part; this model reads text only "
                "(send the text, or describe the image or file in words)",
                param=param,
            )
    return "".join(texts)


# --- tools ---------------------------------------------------------------------------------------
def _tool_description(spec: Mapping[str, Any], param: str) -> ToolDescription:
    name = spec.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise ApiError(
            400,
            f"{param}.name must be 1 to 64 letters, digits, '_' or '-' (got {name!r})",
            param=param,
            code="invalid_function_name",
        )
    description = spec.get("description") or ""
    if not isinstance(description, str):
        raise bad_request(f"{param}.description must be a string", param=param)
    parameters = spec.get("parameters")
    if parameters is not None:
        _check_schema(parameters, f"{param}.parameters")
    return ToolDescription(name, description, parameters)


def _check_schema(schema: Any, param: str) -> None:
    def fail(problem: str) -> ApiError:
        return ApiError(
            400,
            f"Invalid schema for function: {param} {problem}",
            param=param,
            code="invalid_function_parameters",
        )

    if not isinstance(schema, Mapping):
        raise fail("must be a JSON Schema object")
    if schema.get("type", "object") != "object":
        raise fail(f"must have type 'object', not {schema.get('type')!r}")
    props = schema.get("properties", {})
    if not isinstance(props, Mapping):
        raise fail("has 'properties' that is not an object")
    for key, sub in props.items():
        if not isinstance(sub, Mapping):
            raise fail(f"has property {key!r} whose schema is not an object")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise fail("has 'required' that is not an array of strings")


def parse_tools(tools: Any, tool_choice: Any, *, nested: bool) -> list[ToolDescription]:
    """Function tools (``nested``: chat's ``{"function": {...}}`` form, else the responses
    form), narrowed by ``tool_choice`` ("none" offers none, a named choice only that one)."""
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise bad_request("tools must be an array", param="tools")
    functions: list[ToolDescription] = []
    for i, tool in enumerate(tools):
        param = f"tools[{i}]"
        if not isinstance(tool, Mapping):
            raise bad_request(f"{param} must be an object", param=param)
        if tool.get("type", "function") != "function":
            raise ApiError(
                400,
                f"{param} has type {tool.get('type')!r}; only function tools are supported",
                param=param,
                code="unsupported_tool_type",
            )
        spec = tool.get("function") if nested else tool
        if not isinstance(spec, Mapping):
            raise bad_request(f"{param}.function must be an object", param=param)
        functions.append(_tool_description(spec, param + (".function" if nested else "")))
    names = [f.name for f in functions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise bad_request(
            f"tools has more than one function named {duplicates[0]!r}", param="tools"
        )
    if tool_choice is None or tool_choice in ("auto", "required"):
        return functions
    if tool_choice == "none":
        return []
    if isinstance(tool_choice, Mapping) and tool_choice.get("type") == "function":
        inner = tool_choice.get("function") if nested else tool_choice
        name = inner.get("name") if isinstance(inner, Mapping) else None
        chosen = [f for f in functions if f.name == name]
        if not chosen:
            raise bad_request(
                f"tool_choice names {name!r}, which is not in tools", param="tool_choice"
            )
        return chosen
    raise bad_request(
        "tool_choice must be 'none', 'auto', 'required' or a function", param="tool_choice"
    )


def call_message(name: str, arguments: str) -> Message:
    return Message.assistant(
        arguments,
        channel="commentary",
        recipient=f"{FUNCTIONS_NAMESPACE}.{name}",
        content_type=JSON_CONTENT_TYPE,
    )


def tool_result_message(name: str, output: str) -> Message:
    return Message.tool_result(f"{FUNCTIONS_NAMESPACE}.{name}", output)


def function_name(message: Message) -> str:
    """``get_weather`` for a call to ``functions.get_weather``."""
    recipient = message.recipient or ""
    prefix = FUNCTIONS_NAMESPACE + "."
    return recipient[len(prefix) :] if recipient.startswith(prefix) else recipient


# --- /v1/chat/completions ------------------------------------------------------------------------
def parse_chat_request(body: Any, restore: Restore | None = None) -> TurnRequest:
    body = _obj(body)
    model = _model(body)
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise bad_request("messages must be a non-empty array", param="messages")
    n = body.get("n")
    if n is not None and n != 1:
        raise bad_request("n must be 1: the local model writes one choice at a time", param="n")
    functions = parse_tools(body.get("tools"), body.get("tool_choice"), nested=True)
    instructions: list[str] = []
    history: list[Message] = []
    call_names: dict[str, str] = {}
    for i, raw in enumerate(raw_messages):
        param = f"messages[{i}]"
        if not isinstance(raw, Mapping):
            raise bad_request(f"{param} must be an object", param=param)
        role = raw.get("role")
        if role in ("system", "developer"):
            instructions.append(_text_of(raw.get("content"), f"{param}.content"))
        elif role == "user":
            history.append(Message.user(_text_of(raw.get("content"), f"{param}.content")))
        elif role == "assistant":
            history += _assistant_messages(raw, param, call_names, restore)
        elif role in ("tool", "function"):
            history.append(_chat_tool_result(raw, param, call_names))
        else:
            raise bad_request(
                f"{param}.role must be system, developer, user, assistant or tool (got {role!r})",
                param=f"{param}.role",
            )
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop
    if stops is None:
        stops = []
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise bad_request("stop must be a string or an array of strings", param="stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise bad_request(f"stop takes at most {MAX_STOP_STRINGS} strings", param="stop")
    stream = bool(body.get("stream", False))
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    max_tokens = _positive_int(body, "max_completion_tokens") or _positive_int(body, "max_tokens")
    return TurnRequest(
        model=model,
        history=history,
        instructions="\n\n".join(t for t in instructions if t) or None,
        effort=_effort(body.get("reasoning_effort"), "reasoning_effort"),
        functions=functions,
        sampling=_sampling(body),
        max_tokens=max_tokens,
        stop=list(stops),
        stream=stream,
        include_usage=include_usage,
        call_names=call_names,
    )


def _assistant_messages(
    raw: Mapping[str, Any], param: str, call_names: dict[str, str], restore: Restore | None
) -> list[Message]:
    out: list[Message] = []
    reasoning = raw.get("reasoning_content")
    if reasoning is None:
        reasoning = raw.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        raise bad_request(f"{param}.reasoning_content must be a string", param=param)
    content = _text_of(raw.get("content"), f"{param}.content")
    calls = raw.get("tool_calls") or []
    legacy = raw.get("function_call")
    if isinstance(legacy, Mapping):
        calls = [*calls, {"id": None, "type": "function", "function": legacy}]
    if not isinstance(calls, list):
        raise bad_request(f"{param}.tool_calls must be an array", param=param)
    call_messages: list[Message] = []
    first_id: str | None = None
    for j, call in enumerate(calls):
        cparam = f"{param}.tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise bad_request(f"{cparam}.function.name is missing", param=cparam)
        arguments = fn.get("arguments", "")
        if not isinstance(arguments, str):
            raise bad_request(f"{cparam}.function.arguments must be a JSON string", param=cparam)
        call_id = call.get("id")
        if isinstance(call_id, str) and call_id:
            call_names[call_id] = fn["name"]
            first_id = first_id or call_id
        call_messages.append(call_message(fn["name"], arguments))
    if reasoning:
        out.append(Message.assistant(reasoning, channel="analysis"))
    elif first_id is not None and restore is not None:
        out += restore(first_id)
    if content:
        out.append(Message.assistant(content, channel="commentary" if calls else "final"))
    return out + call_messages


def _chat_tool_result(raw: Mapping[str, Any], param: str, call_names: Mapping[str, str]) -> Message:
    call_id = raw.get("tool_call_id")
    name = call_names.get(call_id) if isinstance(call_id, str) else None
    if name is None and isinstance(raw.get("name"), str):
        name = raw["name"]
    if name is None:
        raise bad_request(
            f"{param}.tool_call_id {call_id!r} matches no tool call of an earlier assistant "
            "message; send the assistant message with its tool_calls first",
            param=f"{param}.tool_call_id",
        )
    return tool_result_message(name, _text_of(raw.get("content"), f"{param}.content"))


# --- /v1/responses -------------------------------------------------------------------------------
def parse_responses_request(
    body: Any,
    *,
    previous: Sequence[Message] = (),
    previous_calls: Mapping[str, str] | None = None,
    restore: Restore | None = None,
) -> TurnRequest:
    """A responses request; ``previous`` is the stored history of ``previous_response_id``."""
    body = _obj(body)
    model = _model(body)
    functions = parse_tools(body.get("tools"), body.get("tool_choice"), nested=False)
    instructions: list[str] = []
    top = body.get("instructions")
    if top is not None and not isinstance(top, str):
        raise bad_request("instructions must be a string", param="instructions")
    if top:
        instructions.append(top)
    history = list(previous)
    call_names = dict(previous_calls or {})
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise bad_request("input must be a string or a non-empty array of items", param="input")
    pending_reasoning: list[Message] = []
    for i, item in enumerate(items):
        param = f"input[{i}]"
        if not isinstance(item, Mapping):
            raise bad_request(f"{param} must be an object", param=param)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            text = _text_of(item.get("content"), f"{param}.content")
            if role in ("system", "developer"):
                instructions.append(text)
            elif role == "user":
                history.append(Message.user(text))
            elif role == "assistant":
                history += pending_reasoning
                pending_reasoning = []
                history.append(Message.assistant(text, channel="final"))
            else:
                raise bad_request(f"{param}.role {role!r} is not supported", param=f"{param}.role")
        elif kind == "reasoning":
            text = _text_of(item.get("content"), f"{param}.content") or _text_of(
                item.get("summary"), f"{param}.summary"
            )
            if text:
                pending_reasoning.append(Message.assistant(text, channel="analysis"))
        elif kind == "function_call":
            name, call_id, arguments = (
                item.get("name"),
                item.get("call_id"),
                item.get("arguments", ""),
            )
            if not isinstance(name, str) or not isinstance(call_id, str):
                raise bad_request(f"{param} needs a name and a call_id", param=param)
            if not isinstance(arguments, str):
                raise bad_request(f"{param}.arguments must be a JSON string", param=param)
            if not pending_reasoning and restore is not None:
                pending_reasoning = list(restore(call_id))
            history += pending_reasoning
            pending_reasoning = []
            call_names[call_id] = name
            history.append(call_message(name, arguments))
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            name = call_names.get(call_id) if isinstance(call_id, str) else None
            if name is None:
                raise bad_request(
                    f"{param}.call_id {call_id!r} matches no function call; pass "
                    "previous_response_id or send the function_call item first",
                    param=f"{param}.call_id",
                )
            output = item.get("output", "")
            text = output if isinstance(output, str) else _text_of(output, f"{param}.output")
            history.append(tool_result_message(name, text))
        else:
            raise bad_request(
                f"{param} has type {kind!r}; supported: message, reasoning, function_call, "
                "function_call_output",
                param=param,
            )
    reasoning = body.get("reasoning")
    effort = (
        _effort(reasoning.get("effort"), "reasoning.effort")
        if isinstance(reasoning, Mapping)
        else None
    )
    return TurnRequest(
        model=model,
        history=history,
        instructions="\n\n".join(t for t in instructions if t) or None,
        effort=effort,
        functions=functions,
        sampling=_sampling(body),
        max_tokens=_positive_int(body, "max_output_tokens"),
        stream=bool(body.get("stream", False)),
        include_usage=True,
        call_names=call_names,
    )


# --- messages as JSON (stored responses) ---------------------------------------------------------
def message_to_json(message: Message) -> dict[str, Any]:
    return {
        "role": message.role.value,
        "name": message.author.name,
        "channel": message.channel,
        "recipient": message.recipient,
        "content_type": message.content_type,
        "text": message.text,
    }


def message_from_json(d: Mapping[str, Any]) -> Message:
    return Message(
        Author(Role(d["role"]), d.get("name")),
        (TextContent(str(d.get("text", ""))),),
        channel=d.get("channel"),
        recipient=d.get("recipient"),
        content_type=d.get("content_type"),
    )
