"""A Jinja environment for untrusted chat templates, with hard limits.

Chat templates come from model files: untrusted code. The base is Jinja's
``ImmutableSandboxedEnvironment`` (no ``_``-attributes, no ``__class__``/``__globals__``
escapes, no mutation of lists and dicts, ``range`` capped). On top of it:

- no loader, so ``include``/``import``/``extends`` cannot reach a file;
- no ``lipsum``, ``cycler``, ``joiner`` (nothing a chat template needs);
- every operator, call, filter and ``~`` concatenation is checked: an integer argument or a
  result larger than the limits, or more bytes made in total than the allocation budget,
  stops the render (``'x' * 10**10``, doubling a string in a loop, ``center(10**9)``...);
- a time limit, enforced by a line tracer on the template's own frames (a loop of loops
  cannot spin for ever);
- a cap on the template's size and on the rendered output.

Every violation raises :class:`TemplateLimitExceeded` inside the render; the caller turns
it into a :class:`~gptoss_desktop.core.errors.ChatTemplateError`.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import Any

from jinja2 import Environment, FunctionLoader, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import loopcontrols
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATE_FILENAME = "<template>"


class TemplateLimitExceeded(Exception):
    """A chat template went past a size, allocation or time limit."""


class TemplateRaised(Exception):
    """The template called ``raise_exception(message)`` (it refuses the conversation)."""


@dataclass(frozen=True)
class TemplateLimits:
    max_source_chars: int = 1_000_000
    max_output_chars: int = 4_000_000
    max_value_len: int = 4_000_000  # longest string/list any single operation may produce
    max_int_arg: int = 100_000  # largest integer argument to a call or filter
    max_pow_bits: int = 256  # ``a ** b`` may not need more bits than this
    alloc_budget: int = 64_000_000  # total length of everything checked operations make
    time_s: float = 2.0
    #: address-space cap of the helper process that renders (templates.py); POSIX only
    memory_bytes: int = 768 * 1024 * 1024


class _Budget:
    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.used = 0
        self.deadline = time.monotonic() + limits.time_s

    def check_value(self, value: object) -> object:
        if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
            n = len(value)
            if n > self.limits.max_value_len:
                raise TemplateLimitExceeded(f"a value of {n} items is over the size limit")
            self.used += n
            if self.used > self.limits.alloc_budget:
                raise TemplateLimitExceeded("the template built too much text (allocation limit)")
        elif isinstance(value, int) and value.bit_length() > self.limits.max_pow_bits:
            raise TemplateLimitExceeded("a number in the template is over the size limit")
        return value

    def check_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for value in (*args, *kwargs.values()):
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and abs(value) > self.limits.max_int_arg
            ):
                raise TemplateLimitExceeded(f"the argument {value} is over the size limit")

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(
                f"the template ran longer than {self.limits.time_s:g} s (endless loop?)"
            )


_local = threading.local()


def _budget() -> _Budget:
    budget: _Budget | None = getattr(_local, "budget", None)
    if budget is None:  # rendering outside guarded(): use a fresh default budget
        budget = _Budget(TemplateLimits())
        _local.budget = budget
    return budget


def _check_pow(left: Any, right: Any, max_bits: int) -> None:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and abs(left) > 1
        and abs(left).bit_length() * right > max_bits
    ):
        raise TemplateLimitExceeded(f"{left} ** {right} is over the size limit")


def _check_repeat(left: Any, right: Any, max_len: int) -> None:
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > max_len:
            raise TemplateLimitExceeded(f"repeating a value {n} times is over the size limit")


_FORMAT_WIDTH = re.compile(r"%[-+ #0]*\d{6,}|%[-+ #0]*\d*\.\d{6,}|\{[^{}]*\d{6,}[^{}]*\}")


def check_amplifier(name: str, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse, before it runs, a string operation whose result would be huge.

    ``target`` is the string the operation works on (a method's ``self`` or a filter's first
    argument). Only operations whose output can be much larger than their inputs matter.
    """
    if not isinstance(target, str):
        return
    limit = _budget().limits.max_value_len
    estimate = len(target)
    if name == "replace" and args:
        old, new = (*args, "", "")[:2]
        if isinstance(old, str) and isinstance(new, str):
            hits = target.count(old) if old else len(target) + 1
            estimate = len(target) + hits * len(new)
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        pad = len(width) if isinstance(width, str) else int(width) if isinstance(width, int) else 4
        estimate = len(target) + (target.count("\n") + 1) * pad
    elif name == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        estimate = len(target) + target.count("\t") * size
    elif name in ("format", "format_map", "__mod__") and _FORMAT_WIDTH.search(target):
        raise TemplateLimitExceeded("a format width in the template is over the size limit")
    if estimate > limit:
        raise TemplateLimitExceeded(f"{name} would make {estimate:,} characters (over the limit)")


class _GuardedCodeGenerator(CodeGenerator):
    """Routes ``a ~ b`` through the environment so its result is checked too."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.check_args(args, kwargs)
        values = [a for a in args if not isinstance(a, Context | Environment | EvalContext)]
        if values:
            check_amplifier(name, values[0], tuple(values[1:]), kwargs)
        return budget.check_value(func(*args, **kwargs))

    # Keep Jinja's pass_context/pass_environment markers and the name.
    for attr in ("jinja_pass_arg", "__name__", "__doc__"):
        if hasattr(func, attr):
            setattr(guarded, attr, getattr(func, attr))
    return guarded


def _tojson(
    value: Any, indent: int | None = None, separators: Any = None, sort_keys: bool = False
) -> str:
    """HF-style ``tojson``: non-ASCII kept, optional indent."""
    if isinstance(indent, int) and indent > 16:
        raise TemplateLimitExceeded("tojson indent is over the limit of 16")
    return json.dumps(
        value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _no_file(name: str) -> None:
    return None


def _raise_exception(message: object) -> None:
    raise TemplateRaised(str(message))


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(str(fmt))


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every chat template renders in (see the module docstring)."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, limits: TemplateLimits | None = None) -> None:
        super().__init__(
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[loopcontrols],
            autoescape=False,
            keep_trailing_newline=False,
            loader=FunctionLoader(_no_file),  # include/import/extends: always "not found"
        )
        self.limits = limits or TemplateLimits()
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals["raise_exception"] = _raise_exception
        self.globals["strftime_now"] = _strftime_now
        self.filters["tojson"] = _tojson
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        if operator == "**":
            _check_pow(left, right, self.limits.max_pow_bits)
        elif operator == "*":
            _check_repeat(left, right, self.limits.max_value_len)
        elif operator == "%" and isinstance(left, str):
            budget.check_args(right if isinstance(right, tuple) else (right,), {})
            check_amplifier("__mod__", left, (), {})
        return budget.check_value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.check_args(args, kwargs)
        method = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        check_amplifier(
            getattr(method, "__name__", ""), getattr(method, "__self__", None), args, kwargs
        )
        return budget.check_value(super().call(__context, __obj, *args, **kwargs))

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        budget = _budget()
        total = 0
        for part in parts:
            total += len(part) if isinstance(part, str) else 32
            if total > self.limits.max_value_len:
                raise TemplateLimitExceeded("joining text with ~ is over the size limit")
        return str(budget.check_value("".join(str(p) for p in parts)))


@contextmanager
def guarded(limits: TemplateLimits) -> Iterator[_Budget]:
    """Run a render under a fresh budget and the time-limit tracer (this thread only)."""
    budget = _Budget(limits)
    previous_budget = getattr(_local, "budget", None)
    _local.budget = budget

    def local_trace(frame: FrameType, event: str, arg: Any) -> Any:
        budget.check_time()
        return local_trace

    def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == TEMPLATE_FILENAME:
            budget.check_time()
            return local_trace
        return None

    previous_trace = sys.gettrace()
    sys.settrace(global_trace)
    try:
        yield budget
    finally:
        sys.settrace(previous_trace)
        _local.budget = previous_budget
