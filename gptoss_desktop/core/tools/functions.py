"""Developer function tools: their definitions, and who answers a call.

A function the model may call is a :class:`FunctionSpec` (name, description, JSON-schema
parameters) that goes into the developer message (the ``functions`` namespace). When the
model calls it, the answer comes either from the user typing it (human in the loop) or from a
built-in implementation bound to it: the current time, a calculator, or reading a file from
the chat's scratch folder. Arguments are checked against the schema first; problems go back
to the model as an error result it can act on.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.tools import schema as json_schema
from gptoss_desktop.core.tools.calculator import calculate, format_number
from gptoss_desktop.core.tools.results import (
    Arguments,
    ToolCall,
    ToolResult,
    error_result,
    parse_arguments,
)
from gptoss_desktop.core.tools.scratch import read_scratch_file

HUMAN = "human"
#: The binding of a function answered by a handler the caller gave (MCP tools, the API server).
HANDLER = "handler"
NAMESPACE = "functions"


@dataclass(frozen=True)
class FunctionSpec:
    """One function tool as the model sees it."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] | None = None

    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.name or not self.name.replace("_", "a").isalnum() or self.name[0].isdigit():
            found.append(f"{self.name!r}: a function name uses letters, digits and _")
        if self.parameters is not None:
            found += json_schema.check_schema(self.parameters, f"{self.name}.parameters")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}


@dataclass(frozen=True)
class BuiltinFunction:
    """A ready implementation a function can be bound to, with the spec it suits best."""

    spec: FunctionSpec
    run: Callable[[dict[str, Any], FunctionContext], tuple[str, bool]]  # (text, untrusted)


@dataclass
class FunctionContext:
    """What built-in implementations may use: the scratch folder and a clock."""

    scratch: Path | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _current_time(args: dict[str, Any], ctx: FunctionContext) -> tuple[str, bool]:
    now = ctx.clock().astimezone(UTC)
    name = args.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris") from None
    local = now.astimezone(zone)
    return json.dumps(
        {"timezone": str(name), "local_time": local.isoformat(timespec="seconds"),
         "utc_time": now.isoformat(timespec="seconds"), "weekday": local.strftime("%A")}
    ), False  # fmt: skip


def _calculate(args: dict[str, Any], ctx: FunctionContext) -> tuple[str, bool]:
    value = calculate(str(args.get("expression", "")))
    result: Any = json.loads(format_number(value)) if math.isfinite(value) else str(value)
    return json.dumps({"result": result}), False


def _read_file(args: dict[str, Any], ctx: FunctionContext) -> tuple[str, bool]:
    if ctx.scratch is None:
        raise ToolError("this chat has no scratch folder, so no file can be read")
    max_bytes = int(args.get("max_bytes") or 64 * 1024)
    data, cut = read_scratch_file(
        ctx.scratch, str(args.get("path", "")), min(max_bytes, 256 * 1024)
    )
    text = data.decode("utf-8", "replace")
    if cut:
        text += f"\n[... the file is longer; only the first {len(data)} bytes are shown]"
    return text, True


BUILTINS: dict[str, BuiltinFunction] = {
    "current_time": BuiltinFunction(
        FunctionSpec(
            "get_current_time",
            "Gets the current date and time, optionally in a given time zone.",
            {
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "description": "IANA time zone name, e.g. Europe/Paris. Default UTC.",
                    }
                },
            },
        ),
        _current_time,
    ),
    "calculator": BuiltinFunction(
        FunctionSpec(
            "calculate",
            "Evaluates an arithmetic expression exactly (+ - * / // % **, parentheses, "
            "sqrt, log, sin, cos, factorial, pi, e ...).",
            {
                "type": "object",
                "properties": {
                    "expression": {"type": "string", "description": "e.g. 2 * (3 + 4) ** 2"}
                },
                "required": ["expression"],
            },
        ),
        _calculate,
    ),
    "read_file": BuiltinFunction(
        FunctionSpec(
            "read_file",
            "Reads a text file from the chat's scratch folder.",
            {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path inside the scratch folder"},
                    "max_bytes": {"type": "integer", "description": "At most this many bytes"},
                },
                "required": ["path"],
            },
        ),
        _read_file,
    ),
}

HumanAnswer = Callable[[ToolCall], str]
FunctionHandler = Callable[[dict[str, Any]], str]


class FunctionTools:
    """The function tools of one chat and how each is answered."""

    def __init__(
        self,
        functions: Iterable[FunctionSpec] = (),
        *,
        bindings: Mapping[str, str] | None = None,
        human: HumanAnswer | None = None,
        context: FunctionContext | None = None,
    ) -> None:
        self._specs: dict[str, FunctionSpec] = {}
        self._bindings: dict[str, str] = {}
        self._handlers: dict[str, FunctionHandler] = {}
        self.human = human
        self.context = context or FunctionContext()
        for spec in functions:
            self.add(spec, (bindings or {}).get(spec.name, HUMAN))

    @classmethod
    def with_builtins(cls, *names: str, **kwargs: Any) -> FunctionTools:
        """Functions named after the built-ins (``current_time``, ``calculator``, ``read_file``)."""
        chosen = names or tuple(BUILTINS)
        tools = cls(**kwargs)
        for name in chosen:
            tools.add(BUILTINS[name].spec, name)
        return tools

    @property
    def specs(self) -> list[FunctionSpec]:
        return list(self._specs.values())

    def binding(self, name: str) -> str:
        return self._bindings[name]

    def add(self, spec: FunctionSpec, binding: str = HUMAN) -> None:
        problems = spec.problems()
        if problems:
            raise ToolError(f"function {spec.name!r} is not valid: {'; '.join(problems)}")
        self._specs[spec.name] = spec
        self.bind(spec.name, binding)

    def add_handled(self, spec: FunctionSpec, handler: FunctionHandler) -> None:
        """A function answered by ``handler(arguments) -> text`` (its text counts as untrusted).

        ``handler`` may raise ToolError: the model then gets the message as an error."""
        problems = spec.problems()
        if problems:
            raise ToolError(f"function {spec.name!r} is not valid: {'; '.join(problems)}")
        self._specs[spec.name] = spec
        self._bindings[spec.name] = HANDLER
        self._handlers[spec.name] = handler

    def bind(self, name: str, binding: str) -> None:
        """Answer ``name`` by the user (``human``) or by a built-in (a key of BUILTINS)."""
        if name not in self._specs:
            raise ToolError(f"no function named {name!r}")
        if binding != HUMAN and binding not in BUILTINS:
            raise ToolError(f"unknown binding {binding!r}; use human or {', '.join(BUILTINS)}")
        self._bindings[name] = binding

    def namespace(self) -> dict[str, Any]:
        """The ``functions`` namespace for the developer message (cases.json schema)."""
        return {
            "name": NAMESPACE,
            "description": None,
            "tools": [spec.to_dict() for spec in self._specs.values()],
        }

    def handle(self, name: str, arguments: Arguments) -> ToolResult:
        started = time.monotonic()
        short = name.removeprefix(NAMESPACE + ".")
        recipient = f"{NAMESPACE}.{short}"
        spec = self._specs.get(short)
        if spec is None:
            known = ", ".join(self._specs) or "none"
            return error_result(recipient, f"There is no function {short!r}; available: {known}.")
        try:
            args = parse_arguments(arguments)
        except ToolError as exc:
            return error_result(recipient, exc.message)
        problems = json_schema.validate(args, spec.parameters or {"type": "object"})
        if problems:
            return error_result(recipient, "Invalid arguments: " + "; ".join(problems))
        binding = self._bindings[short]
        try:
            if binding == HANDLER:
                text, untrusted = self._handlers[short](args), True
            elif binding == HUMAN:
                if self.human is None:
                    raise ToolError("nobody is there to answer this function")
                text, untrusted = self.human(ToolCall(recipient, args)), False
            else:
                text, untrusted = BUILTINS[binding].run(args, self.context)
        except ToolError as exc:
            return error_result(
                recipient, f"{short} failed: {exc.message}", time.monotonic() - started
            )
        return ToolResult(
            recipient,
            text,
            untrusted=untrusted,
            elapsed_s=time.monotonic() - started,
            data={"binding": binding, "arguments": args},
        )


def load_function_specs(
    source: Path | str | list[Any],
) -> tuple[list[FunctionSpec], dict[str, str]]:
    """Function definitions from a FUNCTIONS.json file (or its parsed content).

    Accepts a list of ``{"name", "description", "parameters", "binding"?}`` objects, the
    OpenAI ``{"type": "function", "function": {...}}`` form, or ``{"functions": [...]}``.
    Returns the specs and the bindings that were given.
    """
    data: Any = source
    if isinstance(source, Path | str):
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ToolError(f"{source}: cannot read the functions file ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ToolError(f"{source}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, Mapping) and "functions" in data:
        data = data["functions"]
    if not isinstance(data, list):
        raise ToolError("the functions file must hold a list of function definitions")
    specs: list[FunctionSpec] = []
    bindings: dict[str, str] = {}
    for item in data:
        if isinstance(item, Mapping) and item.get("type") == "function" and "function" in item:
            item = item["function"]
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ToolError('each function needs at least a "name"')
        spec = FunctionSpec(
            item["name"], str(item.get("description") or ""), item.get("parameters")
        )
        problems = spec.problems()
        if problems:
            raise ToolError(f"function {spec.name!r} is not valid: {'; '.join(problems)}")
        specs.append(spec)
        if isinstance(item.get("binding"), str):
            bindings[spec.name] = item["binding"]
    return specs, bindings


#: Starting points for the panel's function editor.
TEMPLATES: dict[str, FunctionSpec] = {
    "get_weather": FunctionSpec(
        "get_weather",
        "Gets the current weather for a location.",
        {
            "type": "object",
            "properties": {
                "location": {
                    "type": "string",
                    "description": "City and country, e.g. Paris, France",
                },
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            "required": ["location"],
        },
    ),
    "lookup_order": FunctionSpec(
        "lookup_order",
        "Looks up an order by its number.",
        {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    ),
    **{b.spec.name: b.spec for b in BUILTINS.values()},
}
